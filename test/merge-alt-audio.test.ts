// Merging a separate audio track: the engine downloads an alternate audio
// rendition beside the video and the merge muxes it in as a second input, or
// keeps its segments in an `audio/` subfolder. Real ffmpeg, real HTTP.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { HlsEngine } from '../src/manager/engine.js';
import { mergeSegments } from '../src/merge/index.js';
import type { DownloadJob, OutputFormat, ProgressSnapshot, TaskOptions } from '../src/types.js';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { downloadResultFrom } from './helpers/merge-fixtures.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { taskOptions } from './helpers/task-options.js';
import { withService } from './helpers/with-service.js';

const VIDEO_SEGMENTS = 8;
const AUDIO_SEGMENTS = 9;

let tmp: TempDir;
let fixture: FixtureInfo;
let server: HlsServer | undefined;
beforeAll(async () => {
  tmp = await tempDir('m3u8dm-alt-audio-');
  fixture = await ensureFixture('alt-audio');
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(async () => {
  await tmp.cleanup();
});

let counter = 0;
async function runEngine(options: Partial<TaskOptions>, filename = 'show.mp4') {
  server = await startHlsServer({ root: fixture.dir });
  const base = path.join(tmp.path, `case-${++counter}`);
  const progress: ProgressSnapshot[] = [];
  const job: DownloadJob = {
    taskId: counter,
    url: server.url(fixture.playlist),
    headers: {},
    options: taskOptions({ download_threads: 4, ...options }),
    workDir: path.join(base, 'work'),
    saveDir: path.join(base, 'save'),
    filename,
    signal: new AbortController().signal,
    onProgress: (s) => progress.push(s),
  };
  const result = await new HlsEngine({ dataDir: path.join(base, 'data') }).run(job);
  return { job, result, progress };
}

describe('merge: alternate audio rendition', () => {
  it.each<OutputFormat>(['mp4', 'mkv', 'ts'])('muxes the audio track into a %s with one video and one audio stream', async (format) => {
    const { job, result, progress } = await runEngine({ format }, `show.${format}`);
    expect(result.outputPath).toBe(path.join(job.saveDir, `show.${format}`));
    const media = await ffprobe(result.outputPath);
    expectMedia(media, format, fixture.duration);
    expect(media.streams.map((s) => s.codec).sort()).toEqual(['aac', 'h264']);
    expect(result.segments_total).toBe(VIDEO_SEGMENTS + AUDIO_SEGMENTS);
    expect(progress.filter((s) => s.phase === 'merging').at(-1)).toMatchObject({
      segments_total: VIDEO_SEGMENTS + AUDIO_SEGMENTS,
      segments_done: VIDEO_SEGMENTS + AUDIO_SEGMENTS,
      merge_fraction: 1,
    });
    expect(await readdir(path.dirname(job.workDir))).not.toContain('work');
  });

  it('keep_ts_files keeps the audio segments in an audio/ subfolder beside the MP4', async () => {
    const { job, result } = await runEngine({ keep_ts_files: true });
    expectMedia(await ffprobe(result.outputPath), 'mp4', fixture.duration);
    const kept = path.join(job.saveDir, 'show');
    expect((await readdir(kept)).filter((f) => f.endsWith('.ts'))).toHaveLength(VIDEO_SEGMENTS);
    expect((await readdir(path.join(kept, 'audio'))).filter((f) => f.endsWith('.ts'))).toHaveLength(AUDIO_SEGMENTS);
  });

  it('no_merge_ts moves the audio segments into an audio/ subfolder of the segment folder', async () => {
    const { job, result } = await runEngine({ no_merge_ts: true });
    expect(result.outputPath).toBe(path.join(job.saveDir, 'show'));
    expect((await readdir(result.outputPath)).sort()).toEqual([...[...Array(VIDEO_SEGMENTS).keys()].map((i) => `000${i}.ts`), 'audio']);
    expect((await readdir(path.join(result.outputPath, 'audio'))).sort()).toEqual([...Array(AUDIO_SEGMENTS).keys()].map((i) => `000${i}.ts`));
  });

  it('muxes the audio beside video split into runs by skipped segments', async () => {
    const { result } = await runEngine({ skip_ts_info: '3' });
    const media = await ffprobe(result.outputPath);
    expect(media.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
    expect(result.segments_skipped).toBe(1);
  });

  it('takes audio only from the audio track, fMP4 with its init section included', async () => {
    // Video: the alt-audio fixture's video-only TS. Audio track: the fmp4 fixture (A/V, 8 s), whose video must be left out.
    const fmp4 = await ensureFixture('fmp4');
    const base = path.join(tmp.path, `case-${++counter}`);
    const download = await downloadResultFrom(path.join(fixture.dir, 'video', 'index.m3u8'));
    const audio = await downloadResultFrom(path.join(fmp4.dir, fmp4.playlist));
    download.audio = { container: audio.container, segments: audio.segments, duration: audio.duration, ...(audio.initFile ? { initFile: audio.initFile } : {}) };
    const merged = await mergeSegments({
      download,
      workDir: path.join(base, 'work'),
      saveDir: path.join(base, 'save'),
      filename: 'mixed.mp4',
      format: 'mp4',
      noMerge: false,
      keepSegments: false,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    const media = await ffprobe(merged.outputPath);
    expectMedia(media, 'mp4', fixture.duration);
    expect(media.streams.map((s) => s.codec).sort()).toEqual(['aac', 'h264']);
  });
});

describe('service: alternate audio rendition', () => {
  it('a v1 task on a master with alternate audio completes with sound, counting both tracks', async () => {
    server = await startHlsServer({ root: fixture.dir });
    const base = path.join(tmp.path, `case-${++counter}`);
    // In the suite's folder, which goes at the end.
    const svc = await withService({ maxActive: 2 }, { dir: base });
    const downloads = svc.downloadDir;
    try {
      const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', body: JSON.stringify({ url: server.url(fixture.playlist), filename: 'episode.mp4' }) });
      expect(res.status).toBe(200);
      const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0];
      interface V1Task { status_text: string; segments_total: number; segments_done: number; output_path: string }
      const task = await waitFor(async () => {
        const t = ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: V1Task }).data;
        return t.status_text === 'completed' || t.status_text === 'failed' ? t : undefined;
      }, { timeoutMs: 30_000, what: 'the task to end' });
      expect(task).toMatchObject({ status_text: 'completed', segments_total: VIDEO_SEGMENTS + AUDIO_SEGMENTS, segments_done: VIDEO_SEGMENTS + AUDIO_SEGMENTS });
      expect(task.output_path).toBe(path.join(downloads, 'episode.mp4'));
      expectMedia(await ffprobe(task.output_path), 'mp4', fixture.duration);
      expect(server.hits('/audio/index.m3u8')).toBe(1);
    } finally {
      await svc.close();
    }
  });
});
