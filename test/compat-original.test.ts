// What the Go original's pages and scripts rely on, through HTTP against the real service
// (real engine, real HLS origin, a real CONNECT proxy with auth): POST /api/settings
// replaces, the list order, Chinese status_bar on /api/tasks and /ws/progress (English on
// /api/v1 unless Accept-Language asks), Basic auth, a failed task's figures, v1's 40002.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { configFromEnv, type ServiceConfig } from '../src/service/config.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { startConnectProxy, type TestProxy } from './helpers/proxies.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

const PROXY_USER = 'origuser';
const PROXY_PASS = 'orig-pass-5521';

let fixture: FixtureInfo;
let origin: HlsServer;
let proxy: TestProxy;
let svc: TestService | undefined;
/** Segment numbers (from the file name) the origin answers 404 for. */
const missing = new Set<number>();

beforeAll(async () => {
  fixture = await ensureFixture('ts');
  origin = await startHlsServer({ root: fixture.dir });
  origin.override((_req, res, urlPath) => {
    const seg = /seg(\d+)\.ts$/.exec(urlPath);
    if (seg && missing.has(Number(seg[1]))) {
      res.writeHead(404).end();
      return true;
    }
    return false;
  });
  proxy = await startConnectProxy({ username: PROXY_USER, password: PROXY_PASS });
});

afterAll(async () => {
  await Promise.all([origin.close(), proxy.close()]);
});

afterEach(async () => {
  await svc?.close();
  svc = undefined;
  missing.clear();
});

async function boot(overrides: Partial<ServiceConfig> = {}): Promise<TestService> {
  svc = await withService({ maxActive: 1, ...overrides }, { prefix: 'm3u8dm-orig-' });
  return svc;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${svc!.url}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const getJson = async <T = unknown>(url: string, headers: Record<string, string> = {}): Promise<T> => (await (await fetch(`${svc!.url}${url}`, { headers })).json()) as T;

interface CompatTask { id: string; status: string; status_bar: string; progress: number; size: number }
async function createCompat(name: string): Promise<string> {
  const res = await post('/api/tasks', { url: origin.url(fixture.playlist), filename: name });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}
async function until(id: string, status: string): Promise<CompatTask> {
  return waitFor(async () => (await getJson<CompatTask[]>('/api/tasks')).find((t) => t.id === id && t.status === status), { timeoutMs: 30_000, what: `task ${id} ${status}` });
}

describe('POST /api/settings replaces the saved settings', () => {
  it('un-ticking proxy auth removes the credentials: the next task sends no Proxy-Authorization', async () => {
    await boot();
    const proxied = { proxy_type: 'http', proxy_host: '127.0.0.1', proxy_port: proxy.port };
    expect((await post('/api/settings', { ...proxied, proxy_username: PROXY_USER, proxy_password: PROXY_PASS, download_threads: 3 })).status).toBe(200);
    const before = proxy.authHeaders!.length;
    await until(await createCompat('with-auth'), '已完成');
    const withAuth = proxy.authHeaders!.slice(before);
    expect(withAuth.length).toBeGreaterThan(0);
    expect(withAuth.every((h) => h === `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASS}`).toString('base64')}`)).toBe(true);

    // The original's settings page with "代理需要身份验证" un-ticked: no username, no password, and no threads either.
    expect((await post('/api/settings', proxied)).status).toBe(200);
    const shown = await getJson<Record<string, unknown>>('/api/settings');
    expect(shown).toMatchObject({ proxy_username: '', proxy_password: '', download_threads: 8, proxy_port: proxy.port });
    expect((await svc!.manager.getSettings()).proxy_password).toBe('');
    const mark = proxy.authHeaders!.length;
    const failed = await until(await createCompat('no-auth'), '失败');
    const sent = proxy.authHeaders!.slice(mark);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((h) => h === undefined)).toBe(true);
    expect(failed.status_bar.startsWith('失败')).toBe(true);
  });

  it('keeps the stored password only for an unchanged username, and never shows it', async () => {
    await boot();
    const proxied = { proxy_type: 'socks5', proxy_host: '127.0.0.1', proxy_port: 1080 };
    await post('/api/settings', { ...proxied, proxy_username: 'alice', proxy_password: 'alice-secret' });
    // Same user, password absent: kept. Same user, blank password (what GET shows): kept.
    await post('/api/settings', { ...proxied, proxy_username: 'alice' });
    expect((await svc!.manager.getSettings()).proxy_password).toBe('alice-secret');
    await post('/api/settings', { ...proxied, proxy_username: 'alice', proxy_password: '' });
    expect((await svc!.manager.getSettings()).proxy_password).toBe('alice-secret');
    expect(JSON.stringify(await getJson('/api/settings'))).not.toContain('alice-secret');
    // Another user without a password: the old password is not carried over to them.
    await post('/api/settings', { ...proxied, proxy_username: 'bob' });
    expect(await svc!.manager.getSettings()).toMatchObject({ proxy_username: 'bob', proxy_password: '' });
    // An absent field takes its default, not the previous value.
    await post('/api/settings', { ...proxied, download_threads: 20, keep_ts_files: true });
    await post('/api/settings', { proxy_type: 'none' });
    expect(await getJson('/api/settings')).toMatchObject({ proxy_type: 'none', proxy_host: '', proxy_port: 0, download_threads: 8, keep_ts_files: false });
  });
});

describe('the task list and its Chinese status_bar', () => {
  it('lists by status (下载中, 等待中, 已暂停, 已完成, 失败) then id', async () => {
    await boot({ maxActive: 1 });
    missing.add(2);
    const failed = await createCompat('a-fails');
    await until(failed, '失败');
    missing.clear();
    const done = await createCompat('b-done');
    await until(done, '已完成');
    origin.options.latencyMs = 400;
    const running = await createCompat('c-runs');
    const waiting = await createCompat('d-waits');
    const paused = await createCompat('e-paused');
    expect((await fetch(`${svc!.url}/api/tasks?id=${paused}`, { method: 'PUT', body: JSON.stringify({ status: '已暂停' }) })).status).toBe(200);
    await until(running, '下载中');
    const list = await getJson<CompatTask[]>('/api/tasks');
    origin.options.latencyMs = 0;
    expect(list.map((t) => [t.id, t.status])).toEqual([
      [running, '下载中'], [waiting, '等待中'], [paused, '已暂停'], [done, '已完成'], [failed, '失败'],
    ]);
    expect(list.find((t) => t.id === waiting)!.status_bar).toBe('等待中');
    expect(list.find((t) => t.id === paused)!.status_bar).toMatch(/^已暂停/);
    expect(list.find((t) => t.id === done)!.status_bar).toMatch(/^\[\d+\/\d+\]已完成/);
  });

  it('speaks Chinese on /api/tasks and /ws/progress, English on /api/v1 unless Accept-Language asks for zh', async () => {
    await boot();
    origin.options.latencyMs = 150;
    const ws = new WebSocket(`${svc!.url.replace('http', 'ws')}/ws/progress`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const socketLines: string[] = [];
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ws hands a text frame over as a Buffer
    ws.on('message', (raw) => socketLines.push((JSON.parse(String(raw)) as { status_bar: string }).status_bar));
    const id = await createCompat('lang');
    const seen = { compat: '', v1: '', v1zh: '' };
    await waitFor(async () => {
      const compat = (await getJson<CompatTask[]>('/api/tasks')).find((t) => t.id === id)!;
      if (/^\[\d+\/\d+\]下载ts/.test(compat.status_bar)) seen.compat = compat.status_bar;
      const v1 = (await getJson<{ data: { status_bar: string } }>(`/api/v1/tasks/${id}`)).data.status_bar;
      if (v1.startsWith('downloading · ')) seen.v1 = v1;
      const v1zh = (await getJson<{ data: { status_bar: string } }>(`/api/v1/tasks/${id}`, { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' })).data.status_bar;
      if (v1zh.includes('下载ts')) seen.v1zh = v1zh;
      return seen.compat && seen.v1 && seen.v1zh;
    }, { timeoutMs: 30_000, intervalMs: 50, what: 'a downloading line in each language' });
    origin.options.latencyMs = 0;
    await until(id, '已完成');
    await waitFor(() => socketLines.some((l) => l.startsWith('[')) && socketLines.some((l) => l.includes('已完成')), { timeoutMs: 5000, what: 'socket lines' });
    ws.close();
    expect(seen.compat).toMatch(/^\[\d+\/\d+\]下载ts( 速度 [\d.]+[KMG]?B\/s)?( 剩余时间 \d+:\d\d)?$/);
    expect(seen.v1).toMatch(/segments/);
    expect(seen.v1).not.toMatch(/[\u4e00-\u9fff]/);
    expect(socketLines.some((l) => /^\[\d+\/\d+\]下载ts/.test(l))).toBe(true);
    expect(socketLines.every((l) => !/segments|downloading/.test(l))).toBe(true);
    const v1Done = (await getJson<{ data: { status_bar: string } }>(`/api/v1/tasks/${id}`, { 'accept-language': 'en-US,en;q=0.9' })).data.status_bar;
    expect(v1Done).toMatch(/^done · \d+\/\d+ segments/);
  });
});

describe('a failed task keeps its figures', () => {
  it('shows the segments and bytes on disk, also after a retry that fails again at once', async () => {
    await boot();
    // One thread: the first segments finish, then number 3 (0-based file seg003) fails the task for good.
    expect((await post('/api/settings', { download_threads: 1 })).status).toBe(200);
    missing.add(3);
    const id = await createCompat('partial');
    const failed = await until(id, '失败');
    const v1 = (await getJson<{ data: { segments_done: number; segments_total: number; downloaded_bytes: number; size: number; progress: number } }>(`/api/v1/tasks/${id}`)).data;
    const work = path.join(svc!.dataDir, 'work', id);
    const files = (await readdir(work)).filter((n) => /^seg\d+\.ts$/.test(n));
    let bytes = 0;
    for (const f of files) bytes += (await stat(path.join(work, f))).size;
    expect(files.length).toBe(3);
    expect(v1.segments_done).toBe(3);
    expect(v1.segments_total).toBe(fixture.segments);
    expect(v1.downloaded_bytes).toBe(bytes);
    expect(v1.size).toBe(bytes);
    expect(failed.size).toBe(bytes);
    expect(v1.progress).toBe(Math.floor((95 * 3) / fixture.segments));
    expect(failed.progress).toBe(v1.progress);

    // The retry resumes from the saved playlist (a resolving phase that knows no figures yet
    // must not blank them) and fails on the same segment straight away: the figures stay.
    const firstStart = (await svc!.manager.get(Number(id))).started_at;
    const sizesSeen: number[] = [];
    svc!.manager.on('task', (e) => { if (e.task.id === Number(id)) sizesSeen.push(e.task.size); });
    expect((await fetch(`${svc!.url}/api/tasks?id=${id}`, { method: 'PUT', body: JSON.stringify({ status: '等待中' }) })).status).toBe(200);
    await waitFor(async () => {
      const t = await svc!.manager.get(Number(id));
      return t.started_at !== firstStart && t.status === '失败';
    }, { timeoutMs: 20_000, what: 'the retry to fail' });
    const again = await until(id, '失败');
    expect(sizesSeen.length).toBeGreaterThan(2);
    expect(sizesSeen.every((n) => n === bytes)).toBe(true);
    expect(again.size).toBe(bytes);
    expect(again.progress).toBe(v1.progress);
    expect((await getJson<{ data: { segments_done: number } }>(`/api/v1/tasks/${id}`)).data.segments_done).toBe(3);
  });
});

describe('HTTP Basic auth', () => {
  const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

  it('takes the token as the Basic password (any user) and the configured pair; wrong ones get 401 offering both', async () => {
    await boot({ token: 'tok-3141', basicAuth: { user: 'admin', pass: 'pa:ss wörd' } });
    const get = (headers: Record<string, string>, url = '/api/tasks') => fetch(`${svc!.url}${url}`, { headers });
    expect((await get(basic('anyone', 'tok-3141'))).status).toBe(200);
    expect((await get(basic('', 'tok-3141'), '/api/v1/tasks')).status).toBe(200);
    expect((await get(basic('admin', 'pa:ss wörd'))).status).toBe(200);
    expect((await get({ authorization: 'Bearer tok-3141' })).status).toBe(200);
    for (const wrong of [basic('admin', 'nope'), basic('root', 'pa:ss wörd'), basic('admin', 'tok-314'), { authorization: 'Basic !!!' }, {}]) {
      const res = await get(wrong);
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="m3u8dm", Basic realm="m3u8dm"/);
    }
    const v1 = await get(basic('admin', 'nope'), '/api/v1/tasks');
    expect(v1.status).toBe(401);
    expect(((await v1.json()) as { code: number }).code).toBe(40101);
    // The page's own fetches (same-origin scripts) get Bearer only, so no browser login dialog covers its prompt.
    const fromPage = await get({ 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' });
    expect(fromPage.headers.get('www-authenticate')).toBe('Bearer realm="m3u8dm"');
    // The page itself loads without credentials.
    expect((await get({}, '/')).status).toBe(200);

    const upgrade = (headers: Record<string, string>) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`${svc!.url.replace('http', 'ws')}/ws/progress`, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('error', () => undefined);
    });
    expect(await upgrade(basic('x', 'tok-3141'))).toBe(101);
    expect(await upgrade(basic('admin', 'wrong'))).toBe(401);
  });

  it('reads the pair from M3U8DM_AUTH_USER/M3U8DM_AUTH_PASS and refuses half of it', () => {
    expect(configFromEnv({ M3U8DM_AUTH_USER: 'u', M3U8DM_AUTH_PASS: 'p' }).basicAuth).toEqual({ user: 'u', pass: 'p' });
    expect(configFromEnv({}).basicAuth).toBeUndefined();
    expect(() => configFromEnv({ M3U8DM_AUTH_USER: 'u' })).toThrow(/M3U8DM_AUTH_USER and M3U8DM_AUTH_PASS go together/);
  });
});

describe('v1 create without a URL', () => {
  it('answers 40002 for "urls": [] and for neither url nor urls; other bad values stay 40001', async () => {
    await boot();
    for (const body of [{ urls: [] }, {}, { filename: 'x' }, { url: null }, { url: null, urls: [] }]) {
      const res = await post('/api/v1/tasks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { code: number }).code, JSON.stringify(body)).toBe(40002);
    }
    for (const body of [{ urls: 'http://x/a.m3u8' }, { url: 5 }, { urls: [], url: 7 }]) {
      const res = await post('/api/v1/tasks', body);
      expect(((await res.json()) as { code: number }).code, JSON.stringify(body)).toBe(40001);
    }
  });
});
