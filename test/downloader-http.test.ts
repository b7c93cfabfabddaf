// The HTTP side: the task's headers on every request, retries on a flaky
// server, clear failures for 4xx and exhausted 5xx, the debug log, and TLS.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadStream, PlaylistError, SegmentHttpError } from '../src/downloader/index.js';
import type { ProgressSnapshot } from '../src/types.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { useDownloaderHarness } from './helpers/downloader-harness.js';

const run = promisify(execFile);

const { serve, request, tempDir } = useDownloaderHarness();

describe('downloader: HTTP behaviour', () => {
  it('sends the task headers on playlist, key and segment requests', async () => {
    const referer = 'https://video.example.test/watch?v=1';
    const { fixture, server } = await serve('aes-seq', { requireHeaders: { Referer: referer } });

    const without = downloadStream(await request(server.url(fixture.playlist)));
    await expect(without).rejects.toBeInstanceOf(PlaylistError);
    await expect(without).rejects.toThrow(/^the playlist http:\/\/127\.0\.0\.1:\d+\/index\.m3u8 answered HTTP 403$/);

    server.requests.length = 0;
    const result = await downloadStream(await request(server.url(fixture.playlist), {}, { Referer: [referer], 'X-Trace': ['a', 'b'] }));
    expect(result.segments).toHaveLength(12);
    const paths = new Set(server.requests.map((r) => r.path));
    expect(paths).toContain('/index.m3u8');
    expect(paths).toContain('/key1.bin');
    expect(paths).toContain('/seg011.ts');
    for (const r of server.requests) {
      expect(r.headers.referer).toBe(referer);
      expect(r.headers['x-trace']).toBe('a, b');
    }
  });

  it('completes against a server failing 15% of requests with 500s and resets', async () => {
    const { fixture, server } = await serve('ts', { failRate: 0.15, seed: 7 });
    const lines: string[] = [];
    const req = await request(server.url(fixture.playlist), { download_threads: 6, retries: 8 });
    const result = await downloadStream({ ...req, debug: (line) => lines.push(line) });

    expect(result.segments).toHaveLength(12);
    for (const segment of result.segments) {
      const original = await readFile(path.join(fixture.dir, `seg${String(segment.index).padStart(3, '0')}.ts`));
      expect((await readFile(segment.file)).equals(original)).toBe(true);
    }
    const outcomes = server.requests.map((r) => r.outcome);
    expect(outcomes).toContain('reset');
    expect(outcomes).toContain('error');
    // Every failure was followed by a successful retry of the same path.
    for (const failed of server.requests.filter((r) => r.outcome !== 'ok')) {
      expect(server.requests.some((r) => r.path === failed.path && r.outcome === 'ok' && r.status === 200)).toBe(true);
    }
    // The debug log shows the failed tries, the backoff, and the try that worked.
    expect(lines.some((l) => / -> answered HTTP 500, retrying in \d+ ms \(try \d\/8/.test(l))).toBe(true);
    expect(lines.some((l) => / -> the connection was reset \(ECONNRESET\), retrying in \d+ ms \(try \d\/8/.test(l))).toBe(true);
    expect(lines.some((l) => / -> 200, \d+ B \(try [2-8]\/8/.test(l))).toBe(true);
  });

  it('retries a body cut off midway: the file holds the retry alone, disguise stripped, bytes counted once', async () => {
    // 700 KB of TS packets behind a fake PNG header; every first try dies after 400 KB.
    const media = Buffer.alloc(188 * 3700, 0xff);
    for (let i = 0; i < media.length; i += 188) media[i] = 0x47;
    const sent = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(300, 1), media]);
    const tries = new Map<string, number>();
    const origin = http.createServer((req, res) => {
      if (req.url === '/index.m3u8') {
        const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1'];
        for (let i = 0; i < 4; i++) lines.push('#EXTINF:1,', `s${i}.ts`);
        res.end([...lines, '#EXT-X-ENDLIST', ''].join('\n'));
        return;
      }
      const n = (tries.get(req.url ?? '') ?? 0) + 1;
      tries.set(req.url ?? '', n);
      res.writeHead(200, { 'content-length': sent.length });
      if (n === 1) res.write(sent.subarray(0, 400_000), () => setTimeout(() => req.socket.destroy(), 20));
      else res.end(sent);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    try {
      let last: ProgressSnapshot | undefined;
      const req = await request(`http://127.0.0.1:${(origin.address() as AddressInfo).port}/index.m3u8`, { download_threads: 2, retries: 3 });
      const result = await downloadStream({ ...req, onProgress: (snapshot) => (last = snapshot) });
      expect(result.segments).toHaveLength(4);
      for (const segment of result.segments) expect((await readFile(segment.file)).equals(media)).toBe(true);
      expect([...tries.values()]).toEqual([2, 2, 2, 2]);
      expect(last?.downloaded_bytes).toBe(4 * sent.length);
    } finally {
      origin.close();
    }
  });

  it('fails on a 4xx segment at once, naming the segment, its URL and the status', async () => {
    const { fixture, server } = await serve('ts');
    server.override((_req, res, urlPath) => (urlPath === '/seg006.ts' ? (res.writeHead(404).end(), true) : false));
    const error = await downloadStream(await request(server.url(fixture.playlist))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SegmentHttpError);
    expect((error as Error).message).toBe(`segment 7 (${server.url('seg006.ts')}) answered HTTP 404`);
    expect(error).toMatchObject({ code: 'ERR_SEGMENT_HTTP', status: 404, url: server.url('seg006.ts'), index: 6 });
    expect(server.hits('/seg006.ts')).toBe(1);
  });

  it('retries a 503 the configured number of times, then fails saying so', async () => {
    const { fixture, server } = await serve('ts');
    server.override((_req, res, urlPath) => (urlPath === '/seg002.ts' ? (res.writeHead(503).end(), true) : false));
    const error = await downloadStream(await request(server.url(fixture.playlist), { retries: 3 })).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`segment 3 (${server.url('seg002.ts')}) answered HTTP 503 (after 3 tries)`);
    expect(server.hits('/seg002.ts')).toBe(3);
  });

  it('honours Retry-After on 429', async () => {
    const { fixture, server } = await serve('ts');
    let refused = 0;
    server.override((_req, res, urlPath) => {
      if (urlPath !== '/seg000.ts' || refused >= 1) return false;
      refused++;
      res.writeHead(429, { 'retry-after': '1' }).end();
      return true;
    });
    const started = performance.now();
    const result = await downloadStream(await request(server.url(fixture.playlist), { skip_ts_info: '2-12' }));
    expect(result.segments).toHaveLength(1);
    expect(server.hits('/seg000.ts')).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('logs every request with method, URL, status, bytes and try when debug is given', async () => {
    const { fixture, server } = await serve('ts');
    const lines: string[] = [];
    const req = await request(server.url(fixture.playlist));
    await downloadStream({ ...req, debug: (line) => lines.push(line) });
    const requestLines = lines.filter((l) => l.startsWith('GET '));
    expect(requestLines).toHaveLength(server.requests.length);
    expect(requestLines.some((l) => l.startsWith(`GET ${server.url('seg004.ts')} -> 200, 32900 B (try 1/5, `))).toBe(true);
  });
});

describe('downloader: TLS', () => {
  let tls: https.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (tls ? tls.close(() => resolve()) : resolve()));
    tls?.closeAllConnections();
    tls = undefined;
  });

  it('rejects a self-signed certificate unless allow_insecure_https is set', async () => {
    const fixture = await ensureFixture('ts');
    const certDir = await tempDir();
    await run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem'),
    ]);
    tls = https.createServer({ key: await readFile(path.join(certDir, 'key.pem')), cert: await readFile(path.join(certDir, 'cert.pem')) }, (req, res) => {
      const name = path.basename(new URL(req.url ?? '/', 'https://x').pathname);
      readFile(path.join(fixture.dir, name)).then((body) => res.end(body), () => res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => tls!.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/index.m3u8`;

    const strict = downloadStream(await request(url));
    await expect(strict).rejects.toBeInstanceOf(PlaylistError);
    await expect(strict).rejects.toThrow(/the TLS certificate was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\); set allow_insecure_https/);

    const result = await downloadStream(await request(url, { allow_insecure_https: true, skip_ts_info: '3-12' }));
    expect(result.segments).toHaveLength(2);
  });
});
