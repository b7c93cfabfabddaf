// Playlist quirks real servers publish, end to end through the HTTP API: CR-only
// line endings, EXT-X-DEFINE (NAME/VALUE, IMPORT, QUERYPARAM), EXT-X-GAP,
// segments sent with Content-Encoding, EXT-X-MAP changing mid-stream, and
// masters whose EXT-X-STREAM-INF lacks BANDWIDTH/RESOLUTION or is bare. Each task
// must end 已完成 with an output as long as ffmpeg's own copy of the stream, and
// decode cleanly. Real ffmpeg fixtures, real service, real HTTP on 127.0.0.1.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import type { Override } from './helpers/hls-server.js';
import { closeTo, ffmpegCopyDuration, startStreamService, type FinishedTask, type StreamService } from './helpers/stream-task.js';

let fixture: FixtureInfo;
let service: StreamService;
/** What `ffmpeg -i media/index.m3u8 -c copy` makes of the plain 4 s stream every quirk is built on. */
let plainDuration: number;

beforeAll(async () => {
  fixture = await ensureFixture('quirks');
  service = await startStreamService(fixture.dir);
  // The server is shared by the suite: each test installs its own behaviour here, removed after it.
  service.hls.override((req, res, urlPath) => active?.(req, res, urlPath) ?? false);
  plainDuration = await ffmpegCopyDuration(service.hls.url('media/index.m3u8'), service.tmp);
}, 60_000);
let active: Override | undefined;
afterEach(() => {
  active = undefined;
});
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await service?.close();
});

const hitsSince = (mark: number, urlPath: string) => service.hls.requests.slice(mark).filter((r) => r.path === urlPath).length;

async function expectGoodOutput(task: FinishedTask, seconds: number): Promise<void> {
  expect(task.err_msg).toBe('');
  expect(task.status).toBe('已完成');
  const media = await ffprobe(task.output_path);
  expect(media.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
  expect(closeTo(media.duration, seconds), `duration ${media.duration} s, expected ${seconds} s ± 1 %`).toBe(true);
  expect(await decodeErrors(task.output_path)).toBe('');
}

describe('streams: playlist quirks', () => {
  it('reads a playlist with CR-only line endings', async () => {
    const url = service.hls.url('media/cr.m3u8');
    const task = await service.runTask(url);
    await expectGoodOutput(task, await ffmpegCopyDuration(url, service.tmp));
  });

  it('substitutes EXT-X-DEFINE variables: NAME/VALUE, IMPORT from the master, QUERYPARAM from the URL', async () => {
    const seen: string[] = [];
    active = (req, res, urlPath) => {
      if (!urlPath.startsWith('/media/seg')) return false;
      seen.push(req.url ?? '');
      // Segments need the token the playlist URL carried, passed on by QUERYPARAM.
      if (new URL(req.url ?? '/', 'http://x').searchParams.get('t') !== 'abc123') {
        res.writeHead(403).end();
        return true;
      }
      return false;
    };
    const task = await service.runTask(service.hls.url('define-master.m3u8?token=abc123'));
    await expectGoodOutput(task, plainDuration);
    expect(seen.sort()).toEqual(['/media/seg000.ts?t=abc123', '/media/seg001.ts?t=abc123', '/media/seg002.ts?t=abc123', '/media/seg003.ts?t=abc123']);
    expect(service.hls.requests.some((r) => r.path.includes('{$'))).toBe(false);
  });

  it('fails with a clear message when a QUERYPARAM the playlist needs is missing', async () => {
    const task = await service.runTask(service.hls.url('define-master.m3u8'));
    expect(task.status).toBe('失败');
    expect(task.err_msg).toMatch(/EXT-X-DEFINE .*QUERYPARAM="token" is not a query parameter of the playlist URL/);
  });

  it('does not fetch an EXT-X-GAP segment and leaves its stretch out', async () => {
    const mark = service.hls.requests.length;
    const task = await service.runTask(service.hls.url('media/gap.m3u8'));
    // ffmpeg's copy keeps the hole in the timeline; ours lacks that second, as skipped segments do.
    await expectGoodOutput(task, plainDuration - 1);
    expect(hitsSince(mark, '/media/gone002.ts')).toBe(0);
    expect(task.segments_skipped).toBe(1);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decodes segments and a playlist sent with Content-Encoding: %s', async (encoding, encode) => {
    let encoded = 0;
    active = async (_req, res, urlPath) => {
      if (!urlPath.startsWith('/enc/')) return false;
      const file = path.join(fixture.dir, 'media', urlPath.slice('/enc/'.length));
      const body = encode(await readFile(file));
      encoded++;
      res.writeHead(200, { 'content-type': urlPath.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t', 'content-encoding': encoding, 'content-length': body.length });
      res.end(body);
      return true;
    };
    const task = await service.runTask(service.hls.url('enc/index.m3u8'));
    await expectGoodOutput(task, plainDuration);
    expect(encoded).toBe(5);
  });

  it('merges fMP4 whose EXT-X-MAP changes after a discontinuity, each init section fetched once', async () => {
    const url = service.hls.url('map/index.m3u8');
    const mark = service.hls.requests.length;
    const task = await service.runTask(url);
    expect(hitsSince(mark, '/map/a/init.mp4')).toBe(1);
    expect(hitsSince(mark, '/map/b/init.mp4')).toBe(1);
    await expectGoodOutput(task, await ffmpegCopyDuration(url, service.tmp));
  });

  it.each(['bare-master.m3u8', 'nobw-master.m3u8', 'malformed-master.m3u8'])('picks a variant of %s as a player would', async (name) => {
    const mark = service.hls.requests.length;
    const task = await service.runTask(service.hls.url(name));
    await expectGoodOutput(task, plainDuration);
    expect(hitsSince(mark, '/missing/index.m3u8')).toBe(0);
  });
});
