// AES-128 segments: IV from the tag, IV from the media sequence number, one
// key fetch per key URI, and clear errors for bad keys and SAMPLE-AES.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { downloadStream, KeyError, UnsupportedStreamError } from '../src/downloader/index.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { isMpegTs, useDownloaderHarness } from './helpers/downloader-harness.js';

const run = promisify(execFile);

const { serve, request } = useDownloaderHarness();

const segmentName = (index: number) => `seg${String(index).padStart(3, '0')}.ts`;

describe('downloader: AES-128', () => {
  it('decrypts with the IV given in EXT-X-KEY', async () => {
    const { fixture, server } = await serve('aes-iv');
    const result = await downloadStream(await request(server.url(fixture.playlist)));
    expect(result.segments).toHaveLength(fixture.segments);
    for (const segment of result.segments) {
      // The server's bytes are ciphertext; what landed on disk is whole TS packets.
      expect(isMpegTs(await readFile(path.join(fixture.dir, segmentName(segment.index))))).toBe(false);
      expect(isMpegTs(await readFile(segment.file))).toBe(true);
    }
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'json', result.segments[2]!.file]);
    const streams = (JSON.parse(stdout) as { streams: { codec_name: string }[] }).streams.map((s) => s.codec_name);
    expect(streams.sort()).toEqual(['aac', 'h264']);
  });

  it('uses the media sequence number as IV when the tag has none, fetching each key once', async () => {
    const { fixture, server } = await serve('aes-seq');
    const plain = await ensureFixture('ts');
    const result = await downloadStream(await request(server.url(fixture.playlist), { download_threads: 6 }));
    expect(result.segments).toHaveLength(12);
    for (const segment of result.segments) {
      const expected = await readFile(path.join(plain.dir, segmentName(segment.index)));
      expect((await readFile(segment.file)).equals(expected)).toBe(true);
    }
    expect(server.hits('/key1.bin')).toBe(1);
    expect(server.hits('/key2.bin')).toBe(1);
  });

  it('accepts METHOD=NONE', async () => {
    const { fixture, server } = await serve('ts');
    const text = (await readFile(path.join(fixture.dir, fixture.playlist), 'utf8')).replace('#EXTINF', '#EXT-X-KEY:METHOD=NONE\n#EXTINF');
    server.override((_req, res, urlPath) => (urlPath === '/none.m3u8' ? (res.end(text), true) : false));
    const result = await downloadStream(await request(server.url('none.m3u8')));
    expect(result.segments).toHaveLength(12);
    expect(isMpegTs(await readFile(result.segments[0]!.file))).toBe(true);
  });

  it('fails with a KeyError when the key is not 16 bytes', async () => {
    const { fixture, server } = await serve('aes-seq');
    server.override((_req, res, urlPath) => {
      if (urlPath !== '/key1.bin') return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(20, 1));
      return true;
    });
    const download = downloadStream(await request(server.url(fixture.playlist)));
    await expect(download).rejects.toBeInstanceOf(KeyError);
    await expect(download).rejects.toThrow(/^the AES-128 key http:\/\/127\.0\.0\.1:\d+\/key1\.bin is 20 bytes, expected 16$/);
  });

  it('says what a key URL answered instead of a key', async () => {
    const { fixture, server } = await serve('aes-seq');
    server.override((_req, res, urlPath) => {
      if (urlPath !== '/key1.bin') return false;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>please log in</html>');
      return true;
    });
    await expect(downloadStream(await request(server.url(fixture.playlist)))).rejects.toThrow(
      /key1\.bin is 26 bytes, expected 16: "<html>please log in<\/html>"/,
    );
  });

  it('fails with a KeyError when the key URL answers 404', async () => {
    const { fixture, server } = await serve('aes-seq');
    server.override((_req, res, urlPath) => (urlPath === '/key2.bin' ? (res.writeHead(404).end(), true) : false));
    const download = downloadStream(await request(server.url(fixture.playlist)));
    await expect(download).rejects.toBeInstanceOf(KeyError);
    await expect(download).rejects.toThrow(/^the AES-128 key http:\/\/127\.0\.0\.1:\d+\/key2\.bin answered HTTP 404$/);
  });

  it('fails with a KeyError when a 16-byte key does not decrypt', async () => {
    const { fixture, server } = await serve('aes-seq');
    server.override((_req, res, urlPath) => (urlPath === '/key2.bin' ? (res.end(Buffer.alloc(16, 7)), true) : false));
    await expect(downloadStream(await request(server.url(fixture.playlist)))).rejects.toThrow(
      /^segment \d+ \(http:\/\/127\.0\.0\.1:\d+\/seg0\d\d\.ts\) did not decrypt with the key http:\/\/127\.0\.0\.1:\d+\/key2\.bin: wrong key or IV$/,
    );
  });

  it('refuses SAMPLE-AES clearly, before fetching any segment', async () => {
    const { fixture, server } = await serve('aes-iv');
    const text = (await readFile(path.join(fixture.dir, fixture.playlist), 'utf8')).replace('METHOD=AES-128', 'METHOD=SAMPLE-AES');
    server.override((_req, res, urlPath) => (urlPath === '/sample.m3u8' ? (res.end(text), true) : false));
    const download = downloadStream(await request(server.url('sample.m3u8')));
    await expect(download).rejects.toBeInstanceOf(UnsupportedStreamError);
    await expect(download).rejects.toThrow('segment 1 is encrypted with SAMPLE-AES, which m3u8dm cannot decrypt (only AES-128 is supported)');
    expect(server.requests.map((r) => r.path)).toEqual(['/sample.m3u8']);
  });
});
