// The stream shapes the downloader takes: plain MPEG-TS, fMP4 with EXT-X-MAP,
// byte ranges, discontinuities, master playlists, a web page linking a
// playlist, and segments disguised as images. Real ffmpeg HLS, real HTTP.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { downloadStream, PlaylistError } from '../src/downloader/index.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import type { TaskOptions } from '../src/types.js';
import { isMpegTs, useDownloaderHarness } from './helpers/downloader-harness.js';

const run = promisify(execFile);

const { serve, request } = useDownloaderHarness();

async function probe(file: string): Promise<{ format: string; streams: string[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name:stream=codec_name', '-of', 'json', file]);
  const info = JSON.parse(stdout) as { format: { format_name: string }; streams: { codec_name: string }[] };
  return { format: info.format.format_name, streams: info.streams.map((s) => s.codec_name).sort() };
}

describe('downloader: stream formats', () => {
  it('downloads a plain MPEG-TS stream into real, byte-identical segment files', async () => {
    const { fixture, server } = await serve('ts');
    const req = await request(server.url(fixture.playlist));
    const result = await downloadStream(req);

    expect(result.container).toBe('ts');
    expect(result.segments.map((s) => s.index)).toEqual([...Array(12).keys()]);
    expect(result.skipped).toEqual([]);
    expect(result.duration).toBeCloseTo(12, 5);
    expect(result.initFile).toBeUndefined();
    expect(result.lastModified).toBeInstanceOf(Date);
    for (const segment of result.segments) {
      const original = await readFile(path.join(fixture.dir, `seg${String(segment.index).padStart(3, '0')}.ts`));
      const downloaded = await readFile(segment.file);
      expect(downloaded.equals(original)).toBe(true);
      expect(segment.bytes).toBe(original.length);
      expect(segment.discontinuity).toBe(false);
      expect(path.dirname(segment.file)).toBe(path.resolve(req.workDir));
    }
    expect(await probe(result.segments[3]!.file)).toEqual({ format: 'mpegts', streams: ['aac', 'h264'] });

    expect(req.progress[0]?.phase).toBe('resolving');
    expect(req.progress.some((s) => s.phase === 'downloading')).toBe(true);
    const last = req.progress.at(-1)!;
    expect(last).toMatchObject({ phase: 'downloading', segments_total: 12, segments_done: 12, segments_skipped: 0, eta_s: 0 });
    expect(last.downloaded_bytes).toBe(result.segments.reduce((n, s) => n + s.bytes, 0));
  });

  it('downloads fMP4 with the EXT-X-MAP init segment fetched once', async () => {
    const { fixture, server } = await serve('fmp4');
    const req = await request(server.url(fixture.playlist));
    const result = await downloadStream(req);

    expect(result.container).toBe('fmp4');
    expect(result.segments).toHaveLength(8);
    expect(server.hits('/init.mp4')).toBe(1);
    expect((await readFile(result.initFile!)).equals(await readFile(path.join(fixture.dir, 'init.mp4')))).toBe(true);
    for (const segment of result.segments) {
      const original = await readFile(path.join(fixture.dir, `seg${String(segment.index).padStart(3, '0')}.m4s`));
      expect((await readFile(segment.file)).equals(original)).toBe(true);
    }
    // init + one media segment is a playable fragmented MP4.
    const joined = path.join(req.workDir, 'joined.mp4');
    await writeFile(joined, Buffer.concat([await readFile(result.initFile!), await readFile(result.segments[0]!.file)]));
    expect(await probe(joined)).toMatchObject({ streams: ['aac', 'h264'] });
  });

  it('fetches EXT-X-BYTERANGE segments with Range requests answered 206', async () => {
    const { fixture, server } = await serve('byterange');
    const result = await downloadStream(await request(server.url(fixture.playlist)));

    const whole = await readFile(path.join(fixture.dir, 'index.ts'));
    const ranged = server.requests.filter((r) => r.path === '/index.ts');
    expect(ranged).toHaveLength(8);
    for (const r of ranged) {
      expect(r.range).toMatch(/^bytes=\d+-\d+$/);
      expect(r.status).toBe(206);
    }
    let offset = 0;
    for (const segment of result.segments) {
      const bytes = await readFile(segment.file);
      expect(bytes.equals(whole.subarray(offset, offset + bytes.length))).toBe(true);
      expect(isMpegTs(bytes)).toBe(true);
      offset += bytes.length;
    }
    expect(offset).toBe(whole.length);
  });

  it('fails clearly when a server ignores the byte range', async () => {
    const { fixture, server } = await serve('byterange');
    server.override(async (req, res, urlPath) => {
      if (urlPath !== '/index.ts') return false;
      res.writeHead(200, { 'content-type': 'video/mp2t' }).end(await readFile(path.join(fixture.dir, 'index.ts')));
      return true;
    });
    await expect(downloadStream(await request(server.url(fixture.playlist)))).rejects.toThrow(
      /segment \d+ \(http:\/\/127\.0\.0\.1:\d+\/index\.ts\) answered HTTP 200 to a byte-range request, expected 206/,
    );
  });

  it('records EXT-X-DISCONTINUITY on the segment after it', async () => {
    const { fixture, server } = await serve('discontinuity');
    const result = await downloadStream(await request(server.url(fixture.playlist)));
    expect(result.segments.map((s) => s.discontinuity)).toEqual([false, false, false, false, true, false, false, false]);
  });

  it('picks the variant of a master playlist by bandwidth or height', async () => {
    const { fixture, server } = await serve('master');
    const picked = async (variant: TaskOptions['variant']) => {
      const before = server.requests.length;
      // One segment is enough to see which variant was taken.
      await downloadStream(await request(server.url(fixture.playlist), { variant, skip_ts_info: '2-6' }));
      const paths = server.requests.slice(before).map((r) => r.path);
      const segment = paths.filter((p) => p.endsWith('.ts'));
      expect(segment).toHaveLength(1);
      return segment[0]!.split('/')[1];
    };
    expect(await picked('best')).toBe('high');
    expect(await picked('worst')).toBe('low');
    expect(await picked(240)).toBe('high');
    expect(await picked(180)).toBe('low');
    expect(await picked(100)).toBe('low'); // nothing fits: the smallest
  });

  it('follows a web page to the .m3u8 it links, once', async () => {
    const { fixture, server } = await serve('ts');
    server.override((_req, res, urlPath) => {
      const pages: Record<string, string> = {
        '/watch.html': '<!doctype html><html><body><video controls src="/index.m3u8?token=a&amp;b=1"></video></body></html>',
        '/player.html': `<html><script>var config = {"file":"http:\\/\\/127.0.0.1:${server.port}\\/index.m3u8"};</script></html>`,
        '/chain.html': '<html><body><a href="/watch.html">not a playlist: .m3u8 is only followed once</a><a href="/watch.html?x.m3u8">x</a></body></html>',
      };
      const page = pages[urlPath];
      if (page === undefined) return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      return true;
    });
    const viaVideoTag = await downloadStream(await request(server.url('watch.html')));
    expect(viaVideoTag.segments).toHaveLength(fixture.segments);
    expect(server.requests.some((r) => r.path === '/index.m3u8')).toBe(true);

    const viaScript = await downloadStream(await request(server.url('player.html'), { skip_ts_info: '2-12' }));
    expect(viaScript.segments).toHaveLength(1);

    const chained = downloadStream(await request(server.url('chain.html')));
    await expect(chained).rejects.toBeInstanceOf(PlaylistError);
    await expect(chained).rejects.toThrow(/watch\.html\?x\.m3u8 answered a web page/);
  });

  it('strips fake PNG, JPEG and GIF headers from disguised segments', async () => {
    const { fixture, server } = await serve('disguised');
    const plain = await ensureFixture('ts');
    const result = await downloadStream(await request(server.url(fixture.playlist)));
    expect(result.segments).toHaveLength(12);
    for (const segment of result.segments) {
      const bytes = await readFile(segment.file);
      expect(isMpegTs(bytes)).toBe(true);
      expect(bytes.equals(await readFile(path.join(plain.dir, `seg${String(segment.index).padStart(3, '0')}.ts`)))).toBe(true);
    }
  });
});
