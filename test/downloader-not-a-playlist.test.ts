// URLs that do not lead to a playlist fail with a PlaylistError that says what
// came instead, and an endless body is refused while it streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadStream, PlaylistError } from '../src/downloader/index.js';
import { downloadOptions } from './helpers/task-options.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';

const BASE_OPTIONS = downloadOptions({ download_threads: 4 });

/** Upper bound on what the endless playlist writes, so the test ends even if the client never hangs up. */
const ENDLESS_LIMIT = 64 * 1024 * 1024;

let server: HlsServer;
let workDir: TempDir;
let endlessBytesSent = 0;

beforeAll(async () => {
  const fixture = await ensureFixture('ts');
  server = await startHlsServer({ root: fixture.dir });
  workDir = await tempDir('m3u8dm-dl-');
  const bodies: Record<string, [string, string | Buffer]> = {
    '/page.html': ['text/html', '<!doctype html><html><body><p>No video here.</p><a href="/about">about</a></body></html>'],
    '/api.json': ['application/json', JSON.stringify({ error: 'token expired', code: 401 })],
    '/empty.m3u8': ['application/vnd.apple.mpegurl', ''],
    '/text.m3u8': ['text/plain', 'Access denied for your region.\n'],
    '/nosegments.m3u8': ['application/vnd.apple.mpegurl', '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-ENDLIST\n'],
  };
  server.override((_req, res, urlPath) => {
    if (urlPath === '/endless.m3u8') {
      // A playlist that never ends: the client must hang up long before memory is at risk.
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      const line = Buffer.from(`#EXT-X-COMMENT:${'x'.repeat(1000)}\n`);
      const chunk = Buffer.concat([Buffer.from('#EXTM3U\n'), ...Array(64).fill(line)]);
      const pump = () => {
        while (!res.destroyed && endlessBytesSent < ENDLESS_LIMIT) {
          endlessBytesSent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return true;
    }
    const body = bodies[urlPath];
    if (!body) return false;
    res.writeHead(200, { 'content-type': body[0] }).end(body[1]);
    return true;
  });
});

afterAll(async () => {
  await server.close();
  await workDir.cleanup();
});

function download(relative: string) {
  return downloadStream({
    url: server.url(relative), headers: {}, options: BASE_OPTIONS, workDir: workDir.path,
    signal: new AbortController().signal, onProgress: () => {},
  });
}

describe('downloader: inputs that are not playlists', () => {
  it.each([
    ['page.html', /^http:\/\/127\.0\.0\.1:\d+\/page\.html is a web page that links no \.m3u8 playlist$/],
    ['api.json', /\/api\.json answered JSON, not an HLS playlist \(no #EXTM3U\)$/],
    ['empty.m3u8', /\/empty\.m3u8 answered an empty body, not an HLS playlist/],
    ['text.m3u8', /\/text\.m3u8 answered text starting "Access denied for your region\.", not an HLS playlist/],
    ['seg003.ts', /\/seg003\.ts answered binary data \(video\/mp2t\), not an HLS playlist$/],
    ['nosegments.m3u8', /^the playlist http:\/\/127\.0\.0\.1:\d+\/nosegments\.m3u8 lists no segments$/],
    ['missing.m3u8', /^the playlist http:\/\/127\.0\.0\.1:\d+\/missing\.m3u8 answered HTTP 404$/],
  ])('%s fails with a PlaylistError saying what it is', async (relative, message) => {
    const attempt = download(relative);
    await expect(attempt).rejects.toBeInstanceOf(PlaylistError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('refuses a playlist body over 16 MB while it streams', async () => {
    const attempt = download('endless.m3u8');
    await expect(attempt).rejects.toThrow(/endless\.m3u8 is larger than 16 MB; that is not an HLS playlist/);
    // The client hung up soon after the cap instead of reading on (socket buffers allow a little slack).
    expect(endlessBytesSent).toBeGreaterThan(16 * 1024 * 1024);
    expect(endlessBytesSent).toBeLessThan(24 * 1024 * 1024);
  });

  it('refuses a URL that is not http or https before any request', async () => {
    const before = server.requests.length;
    const attempt = downloadStream({
      url: 'ftp://127.0.0.1/index.m3u8', headers: {}, options: BASE_OPTIONS, workDir: workDir.path,
      signal: new AbortController().signal, onProgress: () => {},
    });
    await expect(attempt).rejects.toThrow('"ftp://127.0.0.1/index.m3u8" is not an http or https URL');
    expect(server.requests.length).toBe(before);
  });

  it('keeps the status of a playlist that answered an HTTP error', async () => {
    const error = await download('missing.m3u8').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PLAYLIST', status: 404 });
  });
});
