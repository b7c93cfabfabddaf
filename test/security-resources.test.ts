// The resource findings, against the real service: err_msg and status_bar stay small
// whatever a playlist quotes; a 700,000-segment playlist is refused before parsing and
// the service's memory stays in budget; deeply nested JSON is a 400 on every route;
// ten thousand creates take seconds; a create that fails for a full disk leaves no task;
// server file times stay in [1970, now + 1 day]; a socket that never sends a whole
// request is answered 408 and closed.
import { readFile, mkdir, stat, symlink, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../src/service/config.js';
import { MAX_CONNECTIONS, type RunningService, type ServiceDeps } from '../src/service/server.js';
import { startTimeTomorrow } from './helpers/browser.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { withService } from './helpers/with-service.js';
import { startServiceProcess } from './helpers/service-process.js';

interface V1Task { id: number; status: number; err_msg: string; status_bar: string; output_path: string }

let fixture: FixtureInfo;
let hls: HlsServer;
let root: TempDir;
/** 700,000 one-second segments, all the same file: about 11 MB of text. */
let hugePlaylist: string;
const held: import('node:http').ServerResponse[] = [];

beforeAll(async () => {
  fixture = await ensureFixture('ts');
  root = await tempDir('m3u8dm-res-');
  await mkdir(path.join(root.path, 'hls'));
  await symlink(fixture.dir, path.join(root.path, 'hls', 'ts'));
  await symlink(fixture.dir, path.join(root.path, 'hls', 'far'));
  await symlink(fixture.dir, path.join(root.path, 'hls', 'past'));
  hugePlaylist = ['#EXTM3U', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', ...Array.from({ length: 700_000 }, () => '#EXTINF:1,\ns.ts'), '#EXT-X-ENDLIST', ''].join('\n');
  const bigKey = `data:text/plain;base64,${Buffer.alloc(1 << 20, 7).toString('base64')}`;
  const keyPlaylist = (await readFile(path.join(fixture.dir, fixture.playlist), 'utf8'))
    .replace('#EXTINF', `#EXT-X-KEY:METHOD=AES-128,URI="${bigKey}"\n#EXTINF`)
    .replace(/^(seg\d+\.ts)$/gm, 'ts/$1');
  hls = await startHlsServer({ root: path.join(root.path, 'hls') });
  hls.override(async (_req, res, urlPath) => {
    if (urlPath.startsWith('/hang/')) {
      // Never answered: the tasks asking stay downloading until the service stops them.
      held.push(res);
      return true;
    }
    const big = /^\/big-(declared|chunked)\.m3u8$/.exec(urlPath);
    if (big) {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' })
        .end(`#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nbig-${big[1]}.ts\n#EXT-X-ENDLIST\n`);
      return true;
    }
    const bigSegment = /^\/big-(declared|chunked)\.ts$/.exec(urlPath);
    if (bigSegment) {
      // 3 MiB of TS packets: with a Content-Length, or chunked so only counting finds out.
      const packet = Buffer.alloc(188, 0xff);
      packet[0] = 0x47;
      const body = Buffer.concat(Array.from({ length: Math.ceil((3 << 20) / 188) }, () => packet));
      res.writeHead(200, { 'content-type': 'video/mp2t', ...(bigSegment[1] === 'declared' ? { 'content-length': body.length } : {}) });
      for (let at = 0; at < body.length; at += 64 << 10) res.write(body.subarray(at, at + (64 << 10)));
      res.end();
      return true;
    }
    if (urlPath === '/huge.m3u8') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(hugePlaylist);
      return true;
    }
    if (urlPath === '/bigkey.m3u8') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(keyPlaylist);
      return true;
    }
    const dated = /^\/(far|past)\/(seg\d+\.ts)$/.exec(urlPath);
    if (dated) {
      const body = await readFile(path.join(fixture.dir, dated[2]!));
      const lastModified = dated[1] === 'far' ? 'Sat, 13 Sep 275759 00:00:00 GMT' : 'Fri, 01 Jan 1960 00:00:00 GMT';
      res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length, 'last-modified': lastModified }).end(body);
      return true;
    }
    return false;
  });
}, 60_000);

afterAll(async () => {
  for (const res of held) res.destroy();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await hls?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await root?.cleanup();
});

async function startOwn(name: string, deps: ServiceDeps = {}, config: Partial<ServiceConfig> = {}): Promise<{ svc: RunningService; data: string; downloads: string }> {
  const dir = path.join(root.path, name);
  await mkdir(path.join(dir, 'downloads'), { recursive: true });
  // In the suite's folder, which goes at the end.
  const svc = await withService(config, { dir, deps });
  return { svc, data: svc.dataDir, downloads: svc.downloadDir };
}

const post = async (svc: RunningService, route: string, body: unknown) => {
  const res = await fetch(`${svc.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
};
const v1Task = async (url: string, id: number) => ((await (await fetch(`${url}/api/v1/tasks/${id}`)).json()) as { data: V1Task }).data;

describe('bounded texts and playlists', () => {
  let svc: RunningService;
  beforeAll(async () => {
    ({ svc } = await startOwn('texts'));
  });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  afterAll(async () => svc?.close());

  it('caps err_msg and status_bar when a playlist quotes a megabyte-long key URI', async () => {
    const created = await post(svc, '/api/v1/tasks', { url: hls.url('bigkey.m3u8'), filename: 'bigkey' });
    const id = (JSON.parse(created.text) as { data: { task_ids: number[] } }).data.task_ids[0]!;
    await waitFor(async () => (await v1Task(svc.url, id)).status === 3, { timeoutMs: 30_000, what: 'the big-key task to fail' });
    const task = await v1Task(svc.url, id);
    expect(task.err_msg.length).toBeGreaterThan(20);
    expect(task.err_msg.length).toBeLessThanOrEqual(2048);
    expect(task.status_bar.length).toBeLessThanOrEqual(2048);
    expect(task.err_msg).toContain('data:text/plain;base64,');
    expect(task.err_msg).toContain('…');
    const all = await (await fetch(`${svc.url}/api/tasks`)).text();
    expect(all.length).toBeLessThan(20_000);
  }, 40_000);

  it('answers 400 (never 500) to deeply nested JSON on every route', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const deepObject = `{"url":"http://127.0.0.1/a.m3u8","filename":"x","http_headers":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
    const routes: [string, string][] = [
      ['POST', '/api/tasks'], ['PUT', '/api/tasks?id=1'], ['POST', '/api/settings'], ['POST', '/api/v1/tasks'],
      ['DELETE', '/api/v1/tasks/batch'], ['POST', '/api/v1/tasks/1/stop'],
    ];
    for (const [method, route] of routes) {
      for (const body of [deep, deepObject, `{"url":${deep}}`]) {
        const res = await fetch(`${svc.url}${route}`, { method, headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        expect(res.status, `${method} ${route}: ${text.slice(0, 200)}`).toBe(400);
        expect(text).not.toMatch(/call stack|RangeError/);
      }
    }
  });
});

describe('a 700,000-segment playlist', () => {
  it('is refused with a clear error before parsing, and the service stays within 150 MB', async () => {
    const dir = path.join(root.path, 'huge');
    const proc = await startServiceProcess({ M3U8DM_DATA_DIR: path.join(dir, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir, 'downloads') });
    try {
      const res = await fetch(`${proc.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hls.url('huge.m3u8') }) });
      const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;
      await waitFor(async () => (await v1Task(proc.url, id)).status === 3, { timeoutMs: 60_000, what: 'the huge playlist to be refused' });
      const task = await v1Task(proc.url, id);
      expect(task.err_msg).toMatch(/lists more than 200,000 segments/);
      const status = await readFile(`/proc/${proc.child.pid}/status`, 'utf8');
      const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
      expect(peakKb).toBeGreaterThan(0);
      expect(peakKb / 1024).toBeLessThan(150);
    } finally {
      await proc.stop();
    }
  }, 90_000);
});

describe('the queue and the store under load', () => {
  it('creates 10 × 1,000 tasks in seconds (scheduling reads only what it starts)', async () => {
    const { svc } = await startOwn('many', {}, { maxActive: 3 });
    try {
      const started = performance.now();
      for (let batch = 0; batch < 10; batch++) {
        // Half due now (three of them downloading, held by the server, the rest waiting behind), half scheduled for tomorrow.
        const body = batch % 2 === 0
          ? { urls: Array.from({ length: 1000 }, (_, i) => hls.url(`hang/b${batch}/v${i}.m3u8`)) }
          : { urls: Array.from({ length: 1000 }, (_, i) => hls.url(`ts/b${batch}/v${i}.m3u8`)), start_time: startTimeTomorrow() };
        const res = await post(svc, '/api/v1/tasks', body);
        expect(res.status, res.text.slice(0, 200)).toBe(200);
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(`10 × 1,000 creates: ${seconds.toFixed(1)} s`);
      const stats = ((await (await fetch(`${svc.url}/api/v1/tasks/stats`)).json()) as { data: { total: number; running: number; pending: number } }).data;
      expect(stats).toMatchObject({ total: 10_000, running: 3, pending: 9_997 });
      // 305 s before; the issue asks for seconds. Generous for a loaded 2-core machine.
      expect(seconds).toBeLessThan(30);
    } finally {
      await svc.close();
    }
  }, 120_000);

  it('leaves no task behind when a create fails for a full disk, and says so in words', async () => {
    const { svc, data } = await startOwn('fulldisk');
    try {
      const before = ((await (await fetch(`${svc.url}/api/tasks`)).json()) as unknown[]).length;
      // Every append to the task file now fails as on a full disk.
      await unlink(path.join(data, 'tasks.db'));
      await symlink('/dev/full', path.join(data, 'tasks.db'));
      const compat = await post(svc, '/api/tasks', { url: hls.url(`ts/${fixture.playlist}`), filename: 'nope' });
      expect(compat.status).toBe(500);
      expect(compat.text).toMatch(/^保存任务失败: the task could not be saved: the disk holding the data folder is full/);
      const v1 = await post(svc, '/api/v1/tasks', { urls: [hls.url(`ts/${fixture.playlist}`), hls.url(`ts/${fixture.playlist}`)] });
      expect(v1.status).toBe(500);
      expect(JSON.parse(v1.text).message).toContain('disk holding the data folder is full');
      await new Promise((r) => setTimeout(r, 300));
      expect(((await (await fetch(`${svc.url}/api/tasks`)).json()) as unknown[]).length).toBe(before);
      const stats = ((await (await fetch(`${svc.url}/api/v1/tasks/stats`)).json()) as { data: { total: number } }).data;
      expect(stats.total).toBe(before);
    } finally {
      await unlink(path.join(data, 'tasks.db')).catch(() => undefined);
      await svc.close().catch(() => undefined);
    }
  });
});

describe('disk limits per segment', () => {
  it('fails a segment over max_segment_mb at once, whether it declares its size or not', async () => {
    const { svc } = await startOwn('bigseg');
    try {
      for (const kind of ['declared', 'chunked']) {
        const created = await post(svc, '/api/v1/tasks', { url: hls.url(`big-${kind}.m3u8`), filename: kind, options: { max_segment_mb: 1 } });
        const id = (JSON.parse(created.text) as { data: { task_ids: number[] } }).data.task_ids[0]!;
        await waitFor(async () => (await v1Task(svc.url, id)).status === 3, { timeoutMs: 30_000, what: `${kind} to fail` });
        expect((await v1Task(svc.url, id)).err_msg).toMatch(/over the limit of 1 MiB per segment \(max_segment_mb\)/);
        expect(hls.hits(`/big-${kind}.ts`), 'not retried').toBe(1);
      }
      const bad = await post(svc, '/api/v1/tasks', { url: hls.url('big-declared.m3u8'), options: { max_segment_mb: 0 } });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).message).toContain('options.max_segment_mb must be an integer from 1 to 1048576');
    } finally {
      await svc.close();
    }
  }, 60_000);

  it('stops before a segment when the disk is short of the space to keep free, keeping what is on disk', async () => {
    const { svc, data } = await startOwn('nospace', {}, { minFreeBytes: Number.MAX_SAFE_INTEGER });
    try {
      const created = await post(svc, '/api/v1/tasks', { url: hls.url(`ts/${fixture.playlist}`), filename: 'full' });
      const id = (JSON.parse(created.text) as { data: { task_ids: number[] } }).data.task_ids[0]!;
      await waitFor(async () => (await v1Task(svc.url, id)).status === 3, { timeoutMs: 30_000, what: 'the task to stop for disk space' });
      const task = await v1Task(svc.url, id);
      expect(task.err_msg).toMatch(/the disk is full: .* free on the disk holding .*, less than the .* kept free \(M3U8DM_MIN_FREE_MB\); free some space and retry — finished segments are kept/);
      // The work folder and its saved playlist stay for the retry.
      expect((await stat(path.join(data, 'work', String(id), 'playlist.m3u8'))).isFile()).toBe(true);
      expect(hls.hits('/ts/seg000.ts')).toBe(0);
    } finally {
      await svc.close();
    }
  }, 40_000);
});

describe('file times and sockets', () => {
  it('clamps a server file time to [1970, now + 1 day]', async () => {
    const { svc } = await startOwn('times');
    try {
      for (const [folder, check] of [
        ['far', (mtime: number) => mtime <= Date.now() + 86_400_000 + 60_000 && mtime > Date.now()],
        ['past', (mtime: number) => mtime === 0],
      ] as const) {
        const created = await post(svc, '/api/v1/tasks', { url: hls.url(`${folder}/${fixture.playlist}`), filename: folder, options: { use_server_file_time: true } });
        const id = (JSON.parse(created.text) as { data: { task_ids: number[] } }).data.task_ids[0]!;
        await waitFor(async () => [2, 3].includes((await v1Task(svc.url, id)).status), { timeoutMs: 60_000, what: `${folder} task` });
        const task = await v1Task(svc.url, id);
        expect(task.status, task.err_msg).toBe(2);
        const { mtimeMs } = await stat(task.output_path);
        expect(check(mtimeMs), `${folder}: ${new Date(mtimeMs).toISOString()}`).toBe(true);
      }
    } finally {
      await svc.close();
    }
  }, 90_000);

  it('answers 408 and closes a socket that never sends its whole request; caps connections', async () => {
    const { svc } = await startOwn('slowloris', { requestTimeouts: { headersMs: 1_000, requestMs: 2_000 } });
    try {
      expect(svc.server.maxConnections).toBe(MAX_CONNECTIONS);
      const outcome = (send: string) => new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
        const started = Date.now();
        const socket = net.connect(svc.port, '127.0.0.1', () => socket.write(send));
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => { text += d; });
        socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }));
        socket.on('error', () => undefined);
        setTimeout(() => { socket.destroy(); reject(new Error('socket was kept open')); }, 15_000);
      });
      const partial = await outcome(`GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:${svc.port}\r\n`);
      expect(partial.text).toMatch(/^HTTP\/1\.1 408/);
      expect(partial.closedAfterMs).toBeGreaterThanOrEqual(900);
      const silent = await outcome('');
      expect(silent.closedAfterMs).toBeLessThan(15_000);
    } finally {
      await svc.close();
    }
  }, 40_000);
});
