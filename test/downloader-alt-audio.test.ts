// Alternate audio renditions: a master whose variant names an AUDIO group with a
// rendition that has its own playlist is downloaded as two tracks, the audio in
// the work folder's `audio/` subfolder, resumable like the video.
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { downloadStream } from '../src/downloader/index.js';
import type { HlsServer } from './helpers/hls-server.js';
import { useDownloaderHarness } from './helpers/downloader-harness.js';

const { serve, request } = useDownloaderHarness({ download_threads: 4 });

const VIDEO_SEGMENTS = 8;
/** ffmpeg cuts the 8 s of AAC into 9 pieces (the last one 23 ms). */
const AUDIO_SEGMENTS = 9;

const segmentPaths = (server: HlsServer) => server.requests.filter((r) => r.path.endsWith('.ts')).map((r) => r.path).sort();
/** The fixture's name of a work folder's segment file: `seg00003.ts` was `seg003.ts`. */
const servedName = (workName: string) => `seg${String(Number(workName.slice(3, 8))).padStart(3, '0')}.ts`;
const finishedIn = async (dir: string) => (await readdir(dir).catch(() => [])).filter((n) => /^seg\d+\.ts$/.test(n));

async function until(ready: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !ready(); waited += 10) {
    if (waited >= timeoutMs) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('downloader: alternate audio rendition', () => {
  it('asks for the audio rendition\'s playlist beside the variant\'s, not after it', async () => {
    const latencyMs = 250;
    const { fixture, server } = await serve('alt-audio', { latencyMs });
    await downloadStream(await request(server.url(fixture.playlist)));
    const asked = (p: string) => server.requests.find((r) => r.path === p)!.at;
    const master = asked('/master.m3u8');
    // Both one answer after the master: one round trip before the segments, not two in a row.
    expect(asked('/video/index.m3u8') - master).toBeGreaterThanOrEqual(latencyMs - 5);
    expect(Math.abs(asked('/audio/index.m3u8') - asked('/video/index.m3u8'))).toBeLessThan(latencyMs / 2);
  });

  it('downloads the DEFAULT rendition of the variant\'s audio group as a second track', async () => {
    const { fixture, server } = await serve('alt-audio');
    const req = await request(server.url(fixture.playlist));
    const result = await downloadStream(req);

    expect(server.hits('/master.m3u8')).toBe(1);
    expect(server.hits('/video/index.m3u8')).toBe(1);
    expect(server.hits('/audio/index.m3u8')).toBe(1);
    expect(server.hits('/missing/index.m3u8')).toBe(0);
    expect(server.requests.some((r) => r.path.startsWith('/low/'))).toBe(false);

    expect(result.container).toBe('ts');
    expect(result.segments).toHaveLength(VIDEO_SEGMENTS);
    expect(result.duration).toBeCloseTo(8, 5);
    const audio = result.audio!;
    expect(audio.container).toBe('ts');
    expect(audio.initFile).toBeUndefined();
    expect(audio.segments.map((s) => s.index)).toEqual([...Array(AUDIO_SEGMENTS).keys()]);
    expect(audio.duration).toBeGreaterThan(7.9);
    for (const [track, segments] of [['video', result.segments], ['audio', audio.segments]] as const) {
      for (const segment of segments) {
        const original = await readFile(path.join(fixture.dir, track, `seg${String(segment.index).padStart(3, '0')}.ts`));
        expect((await readFile(segment.file)).equals(original)).toBe(true);
        expect(path.dirname(segment.file)).toBe(path.resolve(req.workDir, track === 'video' ? '.' : 'audio'));
      }
    }

    const total = VIDEO_SEGMENTS + AUDIO_SEGMENTS;
    expect(req.progress.find((s) => s.phase === 'downloading')).toMatchObject({ segments_total: total, segments_done: 0 });
    const bytes = [...result.segments, ...audio.segments].reduce((n, s) => n + s.bytes, 0);
    expect(req.progress.at(-1)).toMatchObject({ segments_total: total, segments_done: total, segments_skipped: 0, downloaded_bytes: bytes, eta_s: 0 });
  });

  it('takes the same audio with another variant of the group', async () => {
    const { fixture, server } = await serve('alt-audio');
    const result = await downloadStream(await request(server.url(fixture.playlist), { variant: 120 }));
    expect(server.hits('/low/index.m3u8')).toBe(1);
    expect(server.hits('/video/index.m3u8')).toBe(0);
    expect(result.segments.every((s) => s.file.includes('seg'))).toBe(true);
    expect(result.audio?.segments).toHaveLength(AUDIO_SEGMENTS);
  });

  it('applies the skip rules to the video track only', async () => {
    const { fixture, server } = await serve('alt-audio');
    const result = await downloadStream(await request(server.url(fixture.playlist), { skip_ts_info: '1-2' }));
    expect(result.skipped.map((s) => s.index)).toEqual([0, 1]);
    expect(result.segments.map((s) => s.index)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(result.audio?.segments).toHaveLength(AUDIO_SEGMENTS);
  });

  it('names the audio track in the error when one of its segments fails for good', async () => {
    const { fixture, server } = await serve('alt-audio');
    server.override((_req, res, urlPath) => (urlPath === '/audio/seg003.ts' ? (res.writeHead(410).end(), true) : false));
    await expect(downloadStream(await request(server.url(fixture.playlist), { download_threads: 2 }))).rejects.toThrow(
      /^audio segment 4 \(.*\/audio\/seg003\.ts\) answered HTTP 410$/,
    );
  });

  it('resumes both tracks after an abort without fetching a finished segment again', async () => {
    const { fixture, server } = await serve('alt-audio', { latencyMs: 80 });
    const req = await request(server.url(fixture.playlist), { download_threads: 2 });
    const pause = new AbortController();
    const first = downloadStream({ ...req, signal: pause.signal }).catch((e: unknown) => e);
    // Video segments queue first; wait until audio ones are on their way too, so both tracks are half done.
    await until(() => server.requests.some((r) => r.path.startsWith('/audio/seg')) || segmentPaths(server).length >= 12, 15_000);
    pause.abort();
    expect((await first as Error).name).toBe('AbortError');

    const videoDone = await finishedIn(req.workDir);
    const audioDone = await finishedIn(path.join(req.workDir, 'audio'));
    expect(videoDone.length).toBeGreaterThan(0);
    expect(videoDone.length + audioDone.length).toBeLessThan(VIDEO_SEGMENTS + AUDIO_SEGMENTS);

    server.requests.length = 0;
    const result = await downloadStream({ ...req, signal: new AbortController().signal });
    expect(server.requests.filter((r) => r.path.endsWith('.m3u8'))).toEqual([]);
    const refetched = segmentPaths(server);
    for (const name of videoDone) expect(refetched).not.toContain(`/video/${servedName(name)}`);
    for (const name of audioDone) expect(refetched).not.toContain(`/audio/${servedName(name)}`);
    expect(refetched).toHaveLength(VIDEO_SEGMENTS + AUDIO_SEGMENTS - videoDone.length - audioDone.length);
    expect(result.segments).toHaveLength(VIDEO_SEGMENTS);
    expect(result.audio?.segments).toHaveLength(AUDIO_SEGMENTS);
    for (const segment of result.audio!.segments) {
      const original = await readFile(path.join(fixture.dir, 'audio', `seg${String(segment.index).padStart(3, '0')}.ts`));
      expect((await readFile(segment.file)).equals(original)).toBe(true);
    }

    // A finished work folder resumes with no request at all…
    server.requests.length = 0;
    await downloadStream({ ...req, signal: new AbortController().signal });
    expect(server.requests).toEqual([]);
    // …but not when the audio track's saved playlist is gone: both start over.
    await rm(path.join(req.workDir, 'audio', 'playlist.m3u8'));
    const again = await downloadStream({ ...req, signal: new AbortController().signal });
    expect(server.hits('/master.m3u8')).toBe(1);
    expect(server.hits('/audio/index.m3u8')).toBe(1);
    expect(segmentPaths(server)).toHaveLength(VIDEO_SEGMENTS + AUDIO_SEGMENTS);
    expect(again.audio?.segments).toHaveLength(AUDIO_SEGMENTS);
  });

  it('downloads one track when the rendition has no URI (audio muxed into the variant)', async () => {
    const { fixture, server } = await serve('alt-audio');
    const req = await request(server.url('master-muxed.m3u8'));
    const result = await downloadStream(req);
    expect(result.audio).toBeUndefined();
    expect(server.requests.filter((r) => r.path.endsWith('.m3u8')).map((r) => r.path)).toEqual(['/master-muxed.m3u8', '/muxed/index.m3u8']);
    expect(result.segments).toHaveLength(fixture.segments);
    expect(await readdir(req.workDir)).not.toContain('audio');
    expect(req.progress.at(-1)).toMatchObject({ segments_total: fixture.segments, segments_done: fixture.segments });
  });

  it('downloads one track for a variant without an AUDIO group', async () => {
    const { fixture, server } = await serve('master');
    const req = await request(server.url(fixture.playlist));
    const result = await downloadStream(req);
    expect(result.audio).toBeUndefined();
    expect(result.segments).toHaveLength(fixture.segments);
    expect(await readdir(req.workDir)).not.toContain('audio');
  });
});
