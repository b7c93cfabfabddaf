// Speed limits against the real service and the real HLS server, measured where
// they matter: the bytes the server sends per time window. The global limit is
// shared fairly by three tasks, a task's own limit holds under it, and both change
// on running downloads. Bad values are refused naming the field and the forms.
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { killCliChildren, runCli } from './helpers/cli-run.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

const MB = 1024 * 1024;
const KB = 1024;

interface Envelope<T> { code: number; message: string; data: T }
interface V1Task { id: number; status: number; status_bar: string; advanced_settings: Record<string, unknown> }

describe('speed limits', () => {
  // Rates are measured over wall-clock windows on a shared 2-core machine, beside other suites running
  // ffmpeg: a window that a stall of the whole machine spoiled is measured again (same assertions).
  const MEASURED = { retry: 2 };
  let svc: TestService;
  let origin: HlsServer;
  const created: number[] = [];

  beforeAll(async () => {
    const ts = await ensureFixture('ts');
    svc = await withService({ maxActive: 6 }, { prefix: 'm3u8dm-speed-' });
    // One fixture under several paths, so the server can tell the tasks' bytes apart. Each test has
    // paths of its own: the connections of a stopped task close when they will, and what their
    // socket buffers still held must not look like bytes read in the next test's window.
    const root = path.join(svc.dir, 'root');
    await mkdir(root);
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) await symlink(ts.dir, path.join(root, name));
    // Segments far longer than what loopback sockets buffer (megabytes), so none ends inside a window.
    origin = await startHlsServer({ root, padSegmentsTo: 32 * MB });
  });
  afterEach(async () => {
    // The fixtures outlast every measurement; the tasks are stopped, not finished.
    await Promise.all(created.splice(0).map((id) => fetch(`${svc.url}/api/v1/tasks/${id}`, { method: 'DELETE' })));
    await settings({ max_download_speed: 0 });
  });
  afterAll(async () => {
    killCliChildren();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await origin?.close();
  });

  const v1 = async <T>(method: string, route: string, body?: unknown) => {
    const res = await fetch(`${svc.url}/api/v1${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: res.status, body: (await res.json()) as Envelope<T> };
  };
  const settings = async (body: Record<string, unknown>) => {
    const res = await fetch(`${svc.url}/api/settings`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  const create = async (name: string, options: Record<string, unknown> = {}) => {
    const { body } = await v1<{ task_ids: number[] }>('POST', '/tasks', { url: origin.url(`${name}/index.m3u8`), options: { download_threads: 2, ...options } });
    expect(body.code, body.message).toBe(0);
    const id = body.data.task_ids[0]!;
    created.push(id);
    return id;
  };
  /**
   * Waits until every prefix is being sent segment bytes, then `settleMs` more: the first moments of
   * a response fill the sockets' buffers at loopback speed, which says nothing about the limit.
   */
  const flowing = async (prefixes: string[], settleMs = 2000) => {
    await waitFor(() => prefixes.every((p) => origin.bytesSent(p) > MB), { timeoutMs: 20_000, what: `bytes flowing to ${prefixes.join(', ')}` });
    await sleep(settleMs);
  };
  /** Bytes per second each prefix's clients read from the server over the next `ms` (see bytesDelivered). */
  const measure = async (prefixes: string[], ms: number) => {
    const before = await Promise.all(prefixes.map((p) => origin.bytesDelivered(p)));
    const started = performance.now();
    await sleep(ms);
    const after = await Promise.all(prefixes.map((p) => origin.bytesDelivered(p)));
    const seconds = (performance.now() - started) / 1000;
    return prefixes.map((_p, i) => (after[i]! - before[i]!) / seconds);
  };

  it('shares a 1 MB/s global limit between three tasks: ±10 % in total, none under half of another', MEASURED, async () => {
    expect((await settings({ max_download_speed: '1M' })).status).toBe(200);
    const prefixes = ['/a/', '/b/', '/c/'];
    // Different thread counts: the share is per task, not per connection.
    await create('a', { download_threads: 1 });
    await create('b', { download_threads: 2 });
    await create('c', { download_threads: 4 });
    await flowing(prefixes);
    const rates = await measure(prefixes, 5000);
    const total = rates.reduce((a, b) => a + b, 0);
    const seen = `MB/s per task: ${rates.map((r) => (r / MB).toFixed(3)).join(', ')}`;
    expect(total / MB, seen).toBeGreaterThan(0.9);
    expect(total / MB, seen).toBeLessThan(1.1);
    expect(Math.min(...rates), seen).toBeGreaterThanOrEqual(0.5 * Math.max(...rates));
    const stats = await v1<{ speed_limit_bps: number }>('GET', '/tasks/stats');
    expect(stats.body.data.speed_limit_bps).toBe(MB);
  });

  it('holds a per-task limit under the global one, while the other task takes the rest', MEASURED, async () => {
    await settings({ max_download_speed: '2M' });
    await create('d', { max_speed: '256K' });
    await create('e');
    await flowing(['/d/', '/e/']);
    const [limited, free] = await measure(['/d/', '/e/'], 4000);
    expect(limited! / (256 * KB)).toBeGreaterThan(0.9);
    expect(limited! / (256 * KB)).toBeLessThan(1.1);
    // The global limit minus the limited task's share.
    expect(free! / (2 * MB - 256 * KB)).toBeGreaterThan(0.85);
    expect((limited! + free!) / (2 * MB)).toBeLessThan(1.1);
  });

  it('changes a running task\'s rate within 1 s of PATCH /api/v1/tasks/:id', MEASURED, async () => {
    const id = await create('f', { max_speed: 256 * KB });
    await flowing(['/f/']);
    const [before] = await measure(['/f/'], 2000);
    expect(before! / (256 * KB)).toBeGreaterThan(0.85);
    expect(before! / (256 * KB)).toBeLessThan(1.15);

    const patched = await v1<V1Task>('PATCH', `/tasks/${id}`, { options: { max_speed: '1M' } });
    expect(patched.status, patched.body.message).toBe(200);
    expect(patched.body.data.advanced_settings.max_speed).toBe(MB);
    await sleep(1000);
    const [after] = await measure(['/f/'], 2000);
    expect(after! / MB).toBeGreaterThan(0.85);
    expect(after! / MB).toBeLessThan(1.15);
    // Saved with the task: a restart of it keeps the new limit.
    expect((await v1<V1Task>('GET', `/tasks/${id}`)).body.data.advanced_settings.max_speed).toBe(MB);
  });

  it('changes the global rate of running downloads within 1 s of POST /api/settings', MEASURED, async () => {
    await settings({ max_download_speed: '1M' });
    await create('g');
    await flowing(['/g/']);
    const [before] = await measure(['/g/'], 1500);
    expect(before! / MB).toBeGreaterThan(0.85);
    expect(before! / MB).toBeLessThan(1.15);
    expect((await settings({ max_download_speed: '300K' })).status).toBe(200);
    await sleep(1000);
    const [after] = await measure(['/g/'], 2000);
    expect(after! / (300 * KB)).toBeGreaterThan(0.85);
    expect(after! / (300 * KB)).toBeLessThan(1.15);
  });

  it('refuses speeds that are negative, have an unknown unit or exceed 10 GB/s, naming the field and the forms', async () => {
    for (const bad of [-1, '-5K', '5X', 'fast', '11G', 1e12, true]) {
      const res = await settings({ max_download_speed: bad });
      expect(res.status, String(bad)).toBe(400);
      expect(res.text).toMatch(/^解析设置失败: max_download_speed must be/);
      expect(res.text).toMatch(/"500K", "5M", "1.5MB"|10 GB\/s/);
    }
    const create = await v1('POST', '/tasks', { url: origin.url('a/index.m3u8'), options: { max_speed: '5 furlongs' } });
    expect(create.status).toBe(400);
    expect(create.body.code).toBe(40001);
    expect(create.body.message).toMatch(/^options\.max_speed must be bytes per second .*"5M"/);

    const id = await (async () => {
      const { body } = await v1<{ task_ids: number[] }>('POST', '/tasks', { url: origin.url('a/index.m3u8'), start_time: '23:59', options: {} });
      created.push(body.data.task_ids[0]!);
      return body.data.task_ids[0]!;
    })();
    const patch = await v1('PATCH', `/tasks/${id}`, { options: { max_speed: '11G' } });
    expect(patch.status).toBe(400);
    expect(patch.body.message).toMatch(/^options\.max_speed must be at most 10 GB\/s/);
    const other = await v1('PATCH', `/tasks/${id}`, { options: { download_threads: 3 } });
    expect(other.status).toBe(400);
    expect(other.body.message).toMatch(/download_threads/);
    expect((await v1('PATCH', '/tasks/999999', { options: { max_speed: '1M' } })).status).toBe(404);

    // The forms people write are accepted and read back as bytes per second.
    expect((await settings({ max_download_speed: '1.5MB', max_connections_per_host: 3 })).status).toBe(200);
    const saved = (await (await fetch(`${svc.url}/api/settings`)).json()) as { max_download_speed: number; max_connections_per_host: number };
    expect(saved).toMatchObject({ max_download_speed: 1.5 * MB, max_connections_per_host: 3 });
    expect((await settings({ max_connections_per_host: -1 })).text).toMatch(/max_connections_per_host must be an integer from 0 to 1024/);
    await settings({ max_connections_per_host: 0 });
  });

  it('m3u8dm get --limit-rate holds the download to that speed; add --limit-rate sets the task\'s max_speed', async () => {
    const plain = await startHlsServer({ root: (await ensureFixture('ts')).dir });
    try {
      const out = path.join(svc.dir, 'cli-out');
      await mkdir(out, { recursive: true });
      const started = Date.now();
      const run = await runCli(['get', plain.url('index.m3u8'), '-o', path.join(out, 'limited.mp4'), '-q', '--limit-rate', '150K'], { timeoutMs: 60_000 });
      const seconds = (Date.now() - started) / 1000;
      expect(run.code, run.stderr).toBe(0);
      // Not faster than the limit allows (a loaded machine can only make it slower).
      const bytes = plain.bytesSent();
      expect(bytes).toBeGreaterThan(300 * KB);
      expect(seconds).toBeGreaterThan((0.8 * bytes) / (150 * KB));
    } finally {
      await plain.close();
    }
    const bad = await runCli(['get', origin.url('a/index.m3u8'), '--limit-rate', '5 parsecs']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit-rate must be bytes per second .*"5M"/);

    const add = await runCli(['add', origin.url('a/index.m3u8'), '--limit-rate', '300K', '--start', '23:59', '--json', '--server', svc.url]);
    expect(add.code, add.stderr).toBe(0);
    const id = (JSON.parse(add.stdout) as { task_ids: number[] }).task_ids[0]!;
    created.push(id);
    expect((await v1<V1Task>('GET', `/tasks/${id}`)).body.data.advanced_settings.max_speed).toBe(300 * KB);
  });
});
