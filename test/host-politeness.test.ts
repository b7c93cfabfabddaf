// Politeness toward a host, against the real service and the real HLS server: the
// per-host connection cap holds across tasks, a Retry-After (seconds or HTTP date)
// is waited out before any retry, and a host that keeps answering 429 gets fewer
// requests at once; the debug log and the status line say so.
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostLimits } from '../src/downloader/host-limits.js';
import { statusBar } from '../src/manager/progress-text.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

interface Envelope<T> { code: number; message: string; data: T }
interface V1Task { id: number; status: number; status_bar: string; err_msg: string }

describe('host politeness', () => {
  let root: string;
  let svc: TestService;
  const servers: HlsServer[] = [];

  beforeAll(async () => {
    const ts = await ensureFixture('ts');
    svc = await withService({ maxActive: 4 }, { prefix: 'm3u8dm-polite-' });
    root = path.join(svc.dir, 'root');
    await mkdir(root);
    for (const name of ['a', 'b']) await symlink(ts.dir, path.join(root, name));
  });
  afterEach(async () => {
    await settings({ max_connections_per_host: 0 });
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
  });

  const serve = async (latencyMs = 0) => {
    const server = await startHlsServer({ root, latencyMs });
    servers.push(server);
    return server;
  };
  const settings = async (body: Record<string, unknown>) => {
    const res = await fetch(`${svc.url}/api/settings`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status, await res.text()).toBe(200);
  };
  const create = async (url: string, options: Record<string, unknown>) => {
    const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', body: JSON.stringify({ url, options }), headers: { 'content-type': 'application/json' } });
    const body = (await res.json()) as Envelope<{ task_ids: number[] }>;
    expect(body.code, body.message).toBe(0);
    return body.data.task_ids[0]!;
  };
  const task = async (id: number) => ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as Envelope<V1Task>).data;
  const settle = (id: number, timeoutMs = 60_000) => waitFor(async () => {
    const t = await task(id);
    return t.status === 2 || t.status === 3 ? t : undefined;
  }, { timeoutMs, what: `task ${id} to end` });

  it('max_connections_per_host: 2 keeps two tasks of 8 threads to 2 requests at once at the server', async () => {
    // Without the cap the same two tasks have many requests in flight: the cap is what holds them.
    const free = await serve(60);
    const loose = [await create(free.url('a/index.m3u8'), { download_threads: 8 }), await create(free.url('b/index.m3u8'), { download_threads: 8 })];
    for (const id of loose) expect((await settle(id)).status).toBe(2);
    expect(free.peakInFlight).toBeGreaterThan(4);

    await settings({ max_connections_per_host: 2 });
    const capped = await serve(60);
    const ids = [await create(capped.url('a/index.m3u8'), { download_threads: 8 }), await create(capped.url('b/index.m3u8'), { download_threads: 8 })];
    for (const id of ids) expect((await settle(id)).status).toBe(2);
    expect(capped.peakInFlight).toBe(2);
    // Both tasks were served, and each request counted the ones in flight beside it.
    expect(capped.requests.filter((r) => r.path.startsWith('/a/') && r.path.endsWith('.ts'))).toHaveLength(12);
    expect(capped.requests.filter((r) => r.path.startsWith('/b/') && r.path.endsWith('.ts'))).toHaveLength(12);
    expect(Math.max(...capped.requests.map((r) => r.inFlight))).toBe(2);
  });

  it('waits out Retry-After: 2 before retrying a 429, and says so in the debug log and status_bar', async () => {
    const origin = await serve();
    origin.reject({ status: 429, retryAfter: '2', match: /seg003\.ts$/, times: 1 });
    const id = await create(origin.url('a/index.m3u8'), { download_threads: 2, debug_log: true });
    const backingOff = await waitFor(async () => {
      const t = await task(id);
      return t.status_bar.includes('backing off') ? t.status_bar : t.status >= 2 ? `ended: ${t.status_bar}` : undefined;
    }, { timeoutMs: 20_000, intervalMs: 50, what: 'the status bar to say backing off' });
    expect(backingOff).toMatch(/backing off: 127\.0\.0\.1:\d+ answered HTTP 429, Retry-After 2 s/);
    expect((await settle(id)).status).toBe(2);

    const tries = origin.requests.filter((r) => r.path === '/a/seg003.ts');
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(2000);
    const log = await readFile(path.join(svc.dataDir, 'logs', `task-${id}.log`), 'utf8');
    const line = /^(\S+) backing off: 127\.0\.0\.1:\d+ answered HTTP 429, Retry-After 2 s, next try in 2 s$/m.exec(log);
    expect(line, log).not.toBeNull();
    // The host as a whole was left alone meanwhile, not just that segment: from the moment the client
    // took the 429 in (its log line; a request already on its way may still land just after) to 2 s.
    const tookItIn = Date.parse(line![1]!);
    const during = origin.requests.filter((r) => r.at > tookItIn + 100 && r.at < tries[0]!.at + 1900);
    expect(during).toEqual([]);
  });

  it('takes Retry-After as an HTTP date too', async () => {
    const origin = await serve();
    // Whole seconds, as HTTP dates are: 3 s from now is at least 2 s after the answer.
    origin.reject({ status: 503, retryAfter: () => new Date(Date.now() + 3000).toUTCString(), match: /seg001\.ts$/, times: 1 });
    const id = await create(origin.url('b/index.m3u8'), { download_threads: 2 });
    expect((await settle(id)).status).toBe(2);
    const tries = origin.requests.filter((r) => r.path === '/b/seg001.ts');
    expect(tries.map((r) => r.status)).toEqual([503, 200]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(2000);
  });

  it('halves what it sends at once to a host that keeps answering 429, and still finishes', async () => {
    const origin = await serve(40);
    // A strict CDN: more than 2 requests at once from us get 429 (no Retry-After).
    origin.reject({ status: 429, whileOver: 2 });
    const id = await create(origin.url('a/index.m3u8'), { download_threads: 8, retries: 10, debug_log: true });
    const done = await settle(id, 90_000);
    expect(done.status, done.err_msg).toBe(2);
    const log = await readFile(path.join(svc.dataDir, 'logs', `task-${id}.log`), 'utf8');
    const lowered = /at most (\d+) requests? at once to it for now/.exec(log);
    expect(lowered, log).not.toBeNull();
    expect(Number(lowered![1])).toBeLessThanOrEqual(4);
    // Once lowered, the host saw at most half of the 8 threads at once, 429s and all.
    const firstRejected = origin.requests.find((r) => r.status === 429)!.at;
    const later = origin.requests.filter((r) => r.at > firstRejected + 300);
    expect(later.length).toBeGreaterThan(0);
    expect(Math.max(...later.map((r) => r.inFlight))).toBeLessThanOrEqual(4);
  });

  it('HostLimits: a lone 429 is not a pattern, a repeated one halves the requests let through, good answers give them back one by one; Retry-After is capped', async () => {
    const hosts = new HostLimits();
    const url = 'http://cdn.example:8080/seg.ts';
    const slots = await Promise.all(Array.from({ length: 8 }, () => hosts.acquire(url)));
    expect(hosts.active(url)).toBe(8);
    expect(hosts.answered(url, 429)?.lowered).toBe(false); // one 429 alone is not a pattern
    const cut = hosts.answered(url, 429)!;
    expect(cut).toMatchObject({ lowered: true, allowance: 4, pauseMs: 0 });
    // A ninth request waits while 8 are in flight and the allowance is 4.
    let ninth = false;
    const waiting = hosts.acquire(url).then((release) => { ninth = true; return release; });
    for (const release of slots.splice(0, 4)) release();
    await new Promise((r) => setTimeout(r, 20));
    expect(ninth).toBe(false);
    slots.shift()!();
    (await waiting)();
    expect(ninth).toBe(true);
    // Good answers give one connection back every 2 s, not all at once.
    const held = await hosts.acquire(url);
    hosts.answered(url, 200);
    expect(hosts.allowance(url)).toBe(4);
    await new Promise((r) => setTimeout(r, 2100));
    hosts.answered(url, 200);
    hosts.answered(url, 200);
    expect(hosts.allowance(url)).toBe(5);
    held();
    for (const release of slots) release();
    // A Retry-After is capped at 120 s.
    expect(hosts.answered(url, 503, 10 * 60_000)?.pauseMs).toBe(120_000);
  });

  it('words the backing-off note in each language of the status line', () => {
    const line = { status: '下载中' as const, phase: 'downloading' as const, segments_total: 12, segments_done: 3, segments_skipped: 0, downloaded_bytes: 0, speed_bps: 0, eta_s: null,
      backoff: { host: 'cdn.example:443', status: 429, retry_after_s: 2, next_try_s: 2, allowance: 4 } };
    expect(statusBar(line, 'en')).toBe('downloading · 3/12 segments · backing off: cdn.example:443 answered HTTP 429, Retry-After 2 s, next try in 2 s; at most 4 requests at once to it for now');
    expect(statusBar(line, 'zh')).toBe('[3/12]下载ts 退避中: cdn.example:443 返回 HTTP 429, 要求等待 2 秒, 2 秒后重试; 暂时最多同时 4 个请求');
    // Over once the task is paused or done.
    expect(statusBar({ ...line, status: '已暂停' }, 'en')).not.toMatch(/backing off/);
  });
});
