// Cookie and Authorization go only to the task URL's origin (and the origins or hosts
// listed in the v1 option `header_hosts`), never to segments and keys a playlist puts
// on another origin; every other header goes everywhere, as before. Two real servers on
// loopback, two origins (their ports differ), the real engine.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

let fixture: FixtureInfo;
let home: HlsServer;
let cdn: HlsServer;
let svc: TestService;

const HEADERS = { Cookie: ['sid=s3cret-cookie'], Authorization: 'Bearer s3cret-token', Referer: 'https://site.example/watch', 'X-Custom': 'kept' };

beforeAll(async () => {
  fixture = await ensureFixture('ts');
  cdn = await startHlsServer({ root: fixture.dir });
  home = await startHlsServer({ root: fixture.dir });
  // The task URL's origin serves the playlist; every segment is on the other origin.
  const text = await readFile(path.join(fixture.dir, fixture.playlist), 'utf8');
  home.override((_req, res, urlPath) => {
    if (urlPath !== '/split.m3u8') return false;
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(text.replace(/^(seg\d+\.ts)$/gm, `${cdn.origin}/$1`));
    return true;
  });
  svc = await withService({}, { prefix: 'm3u8dm-hdr-' });
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await svc?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await Promise.all([home?.close(), cdn?.close()]);
});

async function run(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;
  await waitFor(async () => {
    const task = ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: { status: number } }).data;
    return task.status === 2 || task.status === 3;
  }, { timeoutMs: 60_000, what: 'the task to end' });
  const task = ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: { status: number; err_msg: string } }).data;
  expect(task.status, task.err_msg).toBe(2);
}

describe('credential headers', () => {
  it('sends Cookie and Authorization to the task URL origin only; other headers everywhere', async () => {
    const homeBefore = home.requests.length;
    const cdnBefore = cdn.requests.length;
    await run({ url: home.url('split.m3u8'), filename: 'scoped', headers: HEADERS });
    const playlist = home.requests.slice(homeBefore).filter((r) => r.path === '/split.m3u8');
    const segments = cdn.requests.slice(cdnBefore).filter((r) => r.path.endsWith('.ts'));
    expect(playlist.length).toBe(1);
    expect(segments.length).toBe(fixture.segments);
    expect(playlist[0]!.headers).toMatchObject({ cookie: 'sid=s3cret-cookie', authorization: 'Bearer s3cret-token', referer: HEADERS.Referer, 'x-custom': 'kept' });
    for (const request of segments) {
      expect(request.headers.cookie, request.path).toBeUndefined();
      expect(request.headers.authorization, request.path).toBeUndefined();
      expect(request.headers).toMatchObject({ referer: HEADERS.Referer, 'x-custom': 'kept' });
    }
  }, 90_000);

  it('sends them to the hosts listed in header_hosts too', async () => {
    for (const listed of [`127.0.0.1:${cdn.port}`, cdn.origin]) {
      const cdnBefore = cdn.requests.length;
      await run({ url: home.url('split.m3u8'), filename: 'listed', headers: HEADERS, options: { header_hosts: [listed] } });
      const segments = cdn.requests.slice(cdnBefore).filter((r) => r.path.endsWith('.ts'));
      expect(segments.length).toBe(fixture.segments);
      for (const request of segments) expect(request.headers, listed).toMatchObject({ cookie: 'sid=s3cret-cookie', authorization: 'Bearer s3cret-token' });
    }
    // A host name alone matches any port of it; another name does not.
    const cdnBefore = cdn.requests.length;
    await run({ url: home.url('split.m3u8'), filename: 'other-name', headers: HEADERS, options: { header_hosts: ['cdn.example', 'localhost'] } });
    for (const request of cdn.requests.slice(cdnBefore)) expect(request.headers.cookie).toBeUndefined();
  }, 120_000);

  it('refuses a header_hosts entry that is neither a host nor an origin', async () => {
    const res = await fetch(`${svc.url}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: home.url('split.m3u8'), options: { header_hosts: ['https://cdn.example/path/x'] } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('options.header_hosts.0 must be a host');
  });
});
