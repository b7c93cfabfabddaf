// Subtitles end to end through the HTTP API: segmented WebVTT renditions in two
// languages (one with a shifted X-TIMESTAMP-MAP, a cue repeated across a
// segment boundary) become `<name>.<lang>.vtt` and `.srt` sidecars holding the
// source cues at the right times, and subtitle streams in MP4 (mov_text) and
// MKV (SRT) with language and name tags. Skip rules cut the cues like the video.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseVtt, type SubtitleCue } from '../src/downloader/webvtt.js';
import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, SUBTITLE_CUES, type FixtureInfo } from './helpers/hls-fixtures.js';
import { waitFor } from './helpers/wait-for.js';
import { closeTo, ffmpegCopyDuration, startStreamService, type StreamService } from './helpers/stream-task.js';

let fixture: FixtureInfo;
let service: StreamService;
let videoSeconds: number;
beforeAll(async () => {
  fixture = await ensureFixture('subtitles');
  service = await startStreamService(fixture.dir);
  videoSeconds = await ffmpegCopyDuration(service.hls.url('video.m3u8'), service.tmp);
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await service?.close();
});

/** The sidecar's cues; `.srt` is read through the same parser (its commas are accepted). */
async function sidecarCues(file: string): Promise<SubtitleCue[]> {
  const text = await readFile(file, 'utf8');
  return parseVtt(file.endsWith('.srt') ? `WEBVTT\n\n${text.replace(/^\d+\n(?=\d)/gm, '')}` : text).cues;
}

function expectCues(actual: SubtitleCue[], expected: ReadonlyArray<{ start: number; end: number; text: string }>): void {
  expect(actual.map((c) => c.text)).toEqual(expected.map((c) => c.text));
  for (const [i, cue] of actual.entries()) {
    expect(Math.abs(cue.start - expected[i]!.start), `cue ${i} start`).toBeLessThan(0.02);
    expect(Math.abs(cue.end - expected[i]!.end), `cue ${i} end`).toBeLessThan(0.02);
  }
}

describe('streams: subtitles', () => {
  it.each([
    ['mp4', 'mov_text'],
    ['mkv', 'subrip'],
  ] as const)('muxes both languages into the %s and writes .vtt and .srt sidecars with the source cues', async (format, codec) => {
    const task = await service.runTask(service.hls.url('master.m3u8'), { format }, `film-${format}.${format}`);
    expect(task.err_msg).toBe('');
    expect(task.status).toBe('已完成');
    const media = await ffprobe(task.output_path);
    expect(media.streams.filter((s) => s.type !== 'subtitle').map((s) => s.type).sort()).toEqual(['audio', 'video']);
    expect(media.streams.filter((s) => s.type === 'subtitle').map((s) => [s.codec, s.language, s.isDefault])).toEqual([
      [codec, 'eng', true],
      [codec, 'fre', false],
    ]);
    expect(closeTo(media.duration, videoSeconds), `duration ${media.duration} s, expected ${videoSeconds} s ± 1 %`).toBe(true);
    expect(await decodeErrors(task.output_path)).toBe('');
    const stem = task.output_path.slice(0, -path.extname(task.output_path).length);
    for (const lang of ['en', 'fr'] as const) {
      for (const ext of ['vtt', 'srt']) expectCues(await sidecarCues(`${stem}.${lang}.${ext}`), SUBTITLE_CUES[lang]!);
    }
  });

  it("reads the WebVTT segments ffmpeg's hls muxer writes (no timestamp map: playlist time)", async () => {
    const task = await service.runTask(service.hls.url('master-de.m3u8'), { format: 'mkv' }, 'deutsch.mkv');
    expect(task.status).toBe('已完成');
    expect((await ffprobe(task.output_path)).streams.filter((s) => s.type === 'subtitle').map((s) => [s.codec, s.language])).toEqual([['subrip', 'ger']]);
    expectCues(await sidecarCues(path.join(path.dirname(task.output_path), 'deutsch.de.vtt')), SUBTITLE_CUES.de!);
  });

  it('subtitles ["fr"] takes only French; "none" takes none and writes no sidecar', async () => {
    const french = await service.runTask(service.hls.url('master.m3u8'), { subtitles: ['fr'] }, 'only-fr.mp4');
    expect((await ffprobe(french.output_path)).streams.filter((s) => s.type === 'subtitle').map((s) => s.language)).toEqual(['fre']);
    expect((await readdir(path.dirname(french.output_path))).filter((f) => f.startsWith('only-fr.')).sort()).toEqual(['only-fr.fr.srt', 'only-fr.fr.vtt', 'only-fr.mp4']);

    const none = await service.runTask(service.hls.url('master.m3u8'), { subtitles: 'none' }, 'no-subs.mp4');
    expect((await ffprobe(none.output_path)).streams.filter((s) => s.type === 'subtitle')).toEqual([]);
    expect((await readdir(path.dirname(none.output_path))).filter((f) => f.startsWith('no-subs.'))).toEqual(['no-subs.mp4']);
  });

  it('skip rules cut the cues like the video: what follows a cut moves up with it', async () => {
    // Segments 2-3 (1 s – 3 s) are left out: 0–1 s stays, 3–6 s becomes 1–4 s.
    const task = await service.runTask(service.hls.url('master.m3u8'), { skip_ts_info: '2-3' }, 'cut.mp4');
    expect(task.status).toBe('已完成');
    const moved = (t: number) => (t <= 1 ? t : t - 2);
    const expected = SUBTITLE_CUES.en!.flatMap((c) => {
      const parts = [];
      if (c.start < 1) parts.push({ start: c.start, end: Math.min(c.end, 1), text: c.text });
      if (c.end > 3) parts.push({ start: moved(Math.max(c.start, 3)), end: moved(c.end), text: c.text });
      return parts;
    });
    expectCues(await sidecarCues(path.join(path.dirname(task.output_path), 'cut.en.srt')), expected);
    expect(closeTo((await ffprobe(task.output_path)).duration, videoSeconds - 2)).toBe(true);
  });

  it('no_merge_ts writes the sidecars beside the segment folder', async () => {
    const task = await service.runTask(service.hls.url('master.m3u8'), { no_merge_ts: true }, 'loose.mp4');
    expect(task.status).toBe('已完成');
    expect(path.basename(task.output_path)).toBe('loose');
    expectCues(await sidecarCues(path.join(path.dirname(task.output_path), 'loose.fr.srt')), SUBTITLE_CUES.fr!);
  });

  it('a compat API task gets the subtitles by default', async () => {
    const res = await fetch(`${service.svc.url}/api/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: service.hls.url('master.m3u8'), filename: 'compat-film' }),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    await waitFor(async () => {
      const list = (await (await fetch(`${service.svc.url}/api/tasks`)).json()) as Array<{ id: string; status: string }>;
      return list.find((t) => String(t.id) === String(id) && (t.status === '已完成' || t.status === '失败'));
    }, { timeoutMs: 60_000, intervalMs: 200, what: 'the compat task to end' });
    const files = await readdir(service.downloads);
    expect(files.filter((f) => f.startsWith('compat-film.')).sort()).toEqual(['compat-film.en.srt', 'compat-film.en.vtt', 'compat-film.fr.srt', 'compat-film.fr.vtt', 'compat-film.mp4']);
  });
});
