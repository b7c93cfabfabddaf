// The promises of DESIGN.md's security line, against the real service: the proxy
// password never leaves (responses, events, log lines, error texts, debug logs),
// the token guards every route, CORS is off by default, limits answer clearly,
// and no file is written outside the allowed roots.
import { readdir, readFile, mkdir, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configFromEnv } from '../src/service/config.js';
import { createLogger } from '../src/service/log.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { startConnectProxy, type TestProxy } from './helpers/proxies.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

const PASSWORD = 'Pr0xy-Secret-Ω-4412';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

describe('security', () => {
  let origin: HlsServer;
  let proxy: TestProxy;
  let svc: TestService;
  let logText = '';
  const bodies: string[] = [];
  const events: string[] = [];
  const sse = new AbortController();

  const call = async (route: string, init: RequestInit = {}) => {
    const res = await fetch(`${svc.url}${route}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  const post = (route: string, body: unknown) => call(route, { method: 'POST', body: JSON.stringify(body) });

  beforeAll(async () => {
    const fixture = await ensureFixture('ts');
    origin = await startHlsServer({ root: fixture.dir });
    proxy = await startConnectProxy({ username: 'user', password: PASSWORD });
    const sink = new Writable({ write(chunk, _enc, done) { logText += String(chunk); done(); } });
    svc = await withService({ logLevel: 'debug' }, { prefix: 'm3u8dm-sec-', deps: { logger: createLogger('debug', sink) } });
    void (async () => {
      const res = await fetch(`${svc.url}/api/v1/events`, { signal: sse.signal });
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) events.push(decoder.decode(chunk));
    })().catch(() => undefined);
  });
  afterAll(async () => {
    sse.abort();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await Promise.all([origin?.close(), proxy?.close()]);
  });

  it('never shows the proxy password: not in responses, events, logs, error texts or debug logs', async () => {
    const viaProxy = { proxy_type: 'http', proxy_host: '127.0.0.1', proxy_port: proxy.port, proxy_username: 'user', proxy_password: PASSWORD };
    expect((await post('/api/settings', viaProxy)).status).toBe(200);
    // 1: through the real proxy with the right password (completes); 2: a proxy on a closed port (fails).
    const ok = (await post('/api/tasks', { url: origin.url('index.m3u8'), filename: 'via-proxy', advanced: true, debug_log: true, ...viaProxy })).json();
    const bad = (await post('/api/v1/tasks', { url: origin.url('index.m3u8'), filename: 'dead-proxy', options: { ...viaProxy, proxy_port: 9, retries: 1, debug_log: true } })).json();
    const badId = bad.data.task_ids[0];
    await waitFor(async () => (await call(`/api/v1/tasks/${ok.id}`)).json().data.status === 2, { timeoutMs: 30_000, what: 'proxied download' });
    await waitFor(async () => (await call(`/api/v1/tasks/${badId}`)).json().data.status === 3, { timeoutMs: 30_000, what: 'dead proxy failure' });
    expect(proxy.connections).toBeGreaterThan(0);
    const failed = (await call(`/api/v1/tasks/${badId}`)).json().data;
    expect(failed.err_msg.length).toBeGreaterThan(0);

    for (const route of ['/api/tasks', '/api/settings', '/api/v1/tasks', `/api/v1/tasks/${ok.id}`, `/api/v1/tasks/${badId}`, '/api/v1/tasks/stats', '/api/v1/openapi.json']) {
      await call(route);
    }
    await new Promise((r) => setTimeout(r, 300));
    const debugLogs = await Promise.all((await filesUnder(path.join(svc.dataDir, 'logs'))).map((f) => readFile(f, 'utf8')));
    expect(debugLogs.length).toBeGreaterThan(0);
    expect(logText.length).toBeGreaterThan(0);
    expect(events.join('').length).toBeGreaterThan(0);
    for (const [where, text] of [['responses', bodies.join('\n')], ['events', events.join('')], ['log', logText], ['debug logs', debugLogs.join('\n')]] as const) {
      expect(text, where).not.toContain(PASSWORD);
      expect(text, where).not.toContain(encodeURIComponent(PASSWORD));
    }
  });

  it('writes nothing outside the allowed roots, whatever the names say', async () => {
    const outside = path.join(svc.dir, 'outside');
    await mkdir(outside, { recursive: true });
    await mkdir(svc.downloadDir, { recursive: true });
    await symlink(outside, path.join(svc.downloadDir, 'escape-link'));
    const names = ['../../outside/a', '/tmp/abs-b', '..%2f..%2foutside%2fc', '%2e%2e%2f%2e%2e%2fd', '....//....//e', 'escape-link/f', 'C:\\\\win\\\\g'];
    const ids: number[] = [];
    for (const filename of names) {
      const res = await post('/api/v1/tasks', { url: origin.url('index.m3u8'), filename });
      expect(res.status, filename).toBe(200);
      ids.push(res.json().data.task_ids[0]);
    }
    for (const loc of ['../outside', outside, 'escape-link', 'escape-link/deeper', '%2e%2e/%2e%2e', 'a/../../../outside']) {
      const res = await post('/api/v1/tasks', { url: origin.url('index.m3u8'), options: { save_location: loc } });
      // Either refused, or (for a literal "%2e%2e" folder name) kept inside the download dir.
      if (res.status === 200) ids.push(res.json().data.task_ids[0]);
      else expect(res.json().message, loc).toContain('save_location must be inside');
    }
    for (const id of ids) await waitFor(async () => [2, 3].includes((await call(`/api/v1/tasks/${id}`)).json().data.status), { timeoutMs: 60_000, what: `task ${id} done` });
    expect(await filesUnder(outside)).toEqual([]);
    const written = [...(await filesUnder(svc.downloadDir))];
    expect(written.length).toBeGreaterThanOrEqual(names.length);
    const root = await realpath(svc.downloadDir);
    for (const id of ids) {
      const task = (await call(`/api/v1/tasks/${id}`)).json().data;
      expect(task.status, task.err_msg).toBe(2);
      // Real paths: a link inside the download dir must not have carried the file out.
      const rel = path.relative(root, await realpath(task.output_path));
      expect(rel.startsWith('..') || path.isAbsolute(rel), task.output_path).toBe(false);
    }
  });

  it('answers 431 to oversized headers and 413 to oversized bodies', async () => {
    const big = await fetch(`${svc.url}/api/tasks`, { headers: { 'x-big': 'y'.repeat(20_000) } });
    expect(big.status).toBe(431);
    expect(await big.text()).toContain('larger than 16 KiB');
    expect((await call('/api/v1/tasks', { method: 'POST', body: JSON.stringify({ url: 'x'.repeat(1_100_000) }) })).status).toBe(413);
  });

  it('binds to 127.0.0.1 by default and sends no CORS headers unless origins are allowed', async () => {
    expect(configFromEnv({}).host).toBe('127.0.0.1');
    expect(new URL(svc.url).hostname).toBe('127.0.0.1');
    const res = await fetch(`${svc.url}/api/v1/tasks`, { headers: { origin: 'http://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the token, when set, guards every route', () => {
  let svc: TestService;
  const token = 'guard-tok-9';

  beforeAll(async () => {
    svc = await withService({ token, corsOrigins: ['http://ok.example'] }, { prefix: 'm3u8dm-tok-' });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
  });

  it('refuses every API route, the event stream and the WebSocket without it; the page loads without it', async () => {
    const doc = await (await fetch(`${svc.url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${token}` } })).json() as { paths: Record<string, Record<string, unknown>> };
    const routes: [string, string][] = [
      ['GET', '/api/tasks'], ['POST', '/api/tasks'], ['PUT', '/api/tasks?id=1'], ['DELETE', '/api/tasks?id=1'], ['GET', '/api/settings'], ['POST', '/api/settings'],
    ];
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const m of Object.keys(methods)) routes.push([m.toUpperCase(), `/api/v1${p.replace('{id}', '1')}`]);
    }
    expect(routes.length).toBeGreaterThan(15);
    for (const [method, route] of routes) {
      for (const auth of [undefined, 'Bearer wrong', `Bearer ${token}x`, token]) {
        const res = await fetch(`${svc.url}${route}`, { method, headers: auth ? { authorization: auth } : {} });
        expect(res.status, `${method} ${route} with ${auth}`).toBe(401);
        await res.body?.cancel();
      }
      // `?token=` is taken only where headers cannot be set (EventSource, WebSocket); elsewhere it is a 401.
      const stream = route === '/api/v1/events';
      const viaQuery = await fetch(`${svc.url}${route}${route.includes('?') ? '&' : '?'}token=${token}`, { method });
      expect(viaQuery.status, `${method} ${route} with ?token`).toBe(stream ? 200 : 401);
      await viaQuery.body?.cancel();
      const viaHeader = await fetch(`${svc.url}${route}`, { method, headers: { authorization: `Bearer ${token}` } });
      expect(viaHeader.status, `${method} ${route} with the header`).not.toBe(401);
      await viaHeader.body?.cancel();
    }
    expect(routes.some(([, route]) => route === '/api/v1/events')).toBe(true);
    const ws = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${svc.url.replace('http', 'ws')}/ws/progress?token=nope`);
      socket.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
      socket.on('open', () => { socket.close(); resolve(101); });
      socket.on('error', () => undefined);
    });
    expect(ws).toBe(401);
    const wsOk = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${svc.url.replace('http', 'ws')}/ws/progress?token=${token}`);
      socket.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
      socket.on('open', () => { socket.close(); resolve(101); });
      socket.on('error', () => undefined);
    });
    expect(wsOk).toBe(101);
    expect((await fetch(`${svc.url}/`)).status).not.toBe(401);
    // CORS allow-list: only the listed origin gets the header.
    const allowed = await fetch(`${svc.url}/api/v1/health?token=${token}`, { headers: { origin: 'http://ok.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://ok.example');
    const other = await fetch(`${svc.url}/api/v1/health?token=${token}`, { headers: { origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
