// The drive-by attacker, played for real: a page on another loopback port (and one
// from file://), opened in Debian chromium, tries every way a page can reach the
// service without CORS (no-cors fetch with text/plain, sendBeacon, a text/plain form,
// a WebSocket to /ws/progress, an EventSource) and a DNS-rebound name; raw requests
// send the headers a browser would. Each is refused, nothing changes; the page
// itself, curl without Origin and the CLI keep working.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../src/service/log.js';
import { ensureWebBuilt, launchBrowser, startTimeTomorrow } from './helpers/browser.js';
import { runCli } from './helpers/cli-run.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

const run = promisify(execFile);

interface LoggedRequest {
  method: string;
  url: string;
  status: number;
}

/** The attacker's page: every no-preflight way to the service, results in `window.attack`. */
function attackPage(service: string, playlist: string, victimId: number): string {
  const task = JSON.stringify({ url: playlist, filename: 'drive-by' });
  const evilSettings = JSON.stringify({ proxy_type: 'http', proxy_host: 'evil.example', proxy_port: 8888, allow_insecure_https: true });
  // name=value of a text/plain form is `<name>=<value>`: with the `=` inside a string it is valid JSON.
  const formName = (json: string) => `${json.slice(0, -1)},"x":"`;
  const escapeAttr = (s: string) => s.replaceAll('&', '&amp;').replaceAll("'", '&#39;');
  return `<!doctype html><meta charset="utf-8"><title>cute cats</title>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="f1" method="POST" enctype="text/plain" action="${service}/api/tasks" target="sink1"><input name='${escapeAttr(formName(task))}' value='"}'></form>
<form id="f2" method="POST" enctype="text/plain" action="${service}/api/settings" target="sink2"><input name='${escapeAttr(formName(evilSettings))}' value='"}'></form>
<script>
window.attack = (async () => {
  const S = ${JSON.stringify(service)};
  const out = {};
  const noCors = (route, method, body) => fetch(S + route, { method, mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body, credentials: 'include' })
    .then((r) => 'sent (' + r.type + ')', (e) => 'error ' + e.message);
  out.fetchCompat = await noCors('/api/tasks', 'POST', ${JSON.stringify(task)});
  out.fetchV1 = await noCors('/api/v1/tasks', 'POST', ${JSON.stringify(JSON.stringify({ url: playlist, filename: 'drive-by-v1' }))});
  out.fetchSettings = await noCors('/api/settings', 'POST', ${JSON.stringify(evilSettings)});
  out.fetchStop = await noCors('/api/v1/tasks/${victimId}/stop', 'POST', '');
  out.fetchPut = await noCors('/api/tasks?id=${victimId}', 'POST', '{"status":"已暂停"}');
  out.beaconCompat = navigator.sendBeacon(S + '/api/tasks', ${JSON.stringify(task)});
  out.beaconSettings = navigator.sendBeacon(S + '/api/settings', ${JSON.stringify(evilSettings)});
  out.beaconRetryAll = navigator.sendBeacon(S + '/api/v1/tasks/retry-all', '{}');
  const submitted = (id, frame) => new Promise((resolve) => {
    const sink = document.querySelector('iframe[name=' + frame + ']');
    sink.addEventListener('load', () => resolve('loaded'), { once: true });
    setTimeout(() => resolve('timeout'), 5000);
    document.getElementById(id).submit();
  });
  out.formCompat = await submitted('f1', 'sink1');
  out.formSettings = await submitted('f2', 'sink2');
  out.ws = await new Promise((resolve) => {
    const ws = new WebSocket(S.replace('http', 'ws') + '/ws/progress');
    ws.onopen = () => { ws.close(); resolve('open'); };
    ws.onerror = () => resolve('refused');
    setTimeout(() => resolve('timeout'), 5000);
  });
  out.sse = await new Promise((resolve) => {
    const es = new EventSource(S + '/api/v1/events');
    es.onopen = () => { es.close(); resolve('open'); };
    es.onerror = () => { es.close(); resolve('refused'); };
    setTimeout(() => resolve('timeout'), 5000);
  });
  // Beacons are sent when the browser gets to it; give them time to arrive.
  await new Promise((r) => setTimeout(r, 500));
  return out;
})();
</script>`;
}

describe('a page on another origin cannot drive the service', () => {
  let hls: HlsServer;
  let attacker: HlsServer;
  let svc: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let playlist: string;
  let victimId: number;
  const logged: LoggedRequest[] = [];
  const upgrades: { origin?: string; host?: string }[] = [];

  const api = async (route: string, init: RequestInit = {}) => {
    const res = await fetch(`${svc.url}${route}`, init);
    return { status: res.status, text: await res.text() };
  };
  const tasks = async () => JSON.parse((await api('/api/tasks')).text) as { id: string; filename: string; status: string }[];
  const settings = async () => JSON.parse((await api('/api/settings')).text) as Record<string, unknown>;
  const refusedCount = (pattern: RegExp) => logged.filter((r) => r.status === 403 && pattern.test(r.url)).length;

  beforeAll(async () => {
    const fixture = await ensureFixture('ts');
    await ensureWebBuilt();
    hls = await startHlsServer({ root: fixture.dir });
    playlist = hls.url(fixture.playlist);
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) {
          if (!line) continue;
          const entry = JSON.parse(line) as { msg?: string } & LoggedRequest;
          if (entry.msg === 'request') logged.push({ method: entry.method, url: entry.url, status: entry.status });
        }
        done();
      },
    });
    svc = await withService(
      { corsOrigins: ['http://friend.example'], allowedHosts: ['m3u8dm.lan'], logLevel: 'info' },
      { prefix: 'm3u8dm-xsite-', deps: { logger: createLogger('info', sink) } },
    );
    svc.server.on('upgrade', (req: http.IncomingMessage) => upgrades.push({ origin: req.headers.origin, host: req.headers.host }));
    // The task the attacker tries to stop: scheduled for tomorrow, so it stays 等待中 unless someone pauses it.
    const created = await api('/api/v1/tasks', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: playlist, filename: 'victim', start_time: startTimeTomorrow() }),
    });
    victimId = (JSON.parse(created.text) as { data: { task_ids: number[] } }).data.task_ids[0]!;
    attacker = await startHlsServer({ root: fixture.dir });
    attacker.override((_req, res, urlPath) => {
      if (urlPath !== '/attack.html') return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackPage(svc.url, playlist, victimId));
      return true;
    });
    browser = await launchBrowser([`--host-resolver-rules=MAP evil.example 127.0.0.1, MAP m3u8dm.lan 127.0.0.1`]);
    context = await browser.newContext();
  }, 90_000);

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await context?.close().catch(() => undefined);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await browser?.close().catch(() => undefined);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await Promise.all([hls?.close(), attacker?.close()]);
  });

  it('refuses no-cors fetches, beacons, text/plain forms, the WebSocket and the event stream from another loopback origin', async () => {
    const before = { tasks: await tasks(), settings: await settings() };
    const page = await context.newPage();
    await page.goto(attacker.url('attack.html'));
    const result = await page.evaluate(() => (window as unknown as { attack: Promise<Record<string, unknown>> }).attack);
    await page.close();
    // The browser did send them (so it is the service that refused)…
    expect(result.fetchCompat).toBe('sent (opaque)');
    expect(result.beaconCompat).toBe(true);
    expect(result.formCompat).toBe('loaded');
    expect(result.ws).toBe('refused');
    expect(result.sse).toBe('refused');
    await waitFor(() => refusedCount(/^\/api\//) >= 11, { timeoutMs: 10_000, what: 'the attack requests to arrive' });
    // …each one reached it and got a 403:
    expect(refusedCount(/^\/api\/tasks$/)).toBeGreaterThanOrEqual(3); // fetch, beacon, form
    expect(refusedCount(/^\/api\/settings$/)).toBeGreaterThanOrEqual(3);
    expect(refusedCount(/^\/api\/v1\/tasks$/)).toBe(1);
    expect(refusedCount(/\/stop$/)).toBe(1);
    expect(refusedCount(/retry-all$/)).toBe(1);
    expect(refusedCount(/^\/api\/v1\/events/)).toBeGreaterThanOrEqual(1);
    expect(logged.filter((r) => r.status !== 403 && r.url.startsWith('/api') && r.method !== 'GET')).toEqual([
      expect.objectContaining({ method: 'POST', url: '/api/v1/tasks', status: 200 }), // the victim, made in setup
    ]);
    expect(upgrades.some((u) => u.origin === attacker.origin)).toBe(true);
    // …and nothing changed.
    expect(await tasks()).toEqual(before.tasks);
    expect(await settings()).toEqual(before.settings);
    expect((await tasks()).find((t) => t.id === String(victimId))?.status).toBe('等待中');
    expect(await readdir(svc.downloadDir).catch(() => [])).toEqual([]);
  }, 60_000);

  it('refuses the same attacks from a file:// page (Origin: null)', async () => {
    const before = { tasks: await tasks(), settings: await settings() };
    const file = path.join(svc.dir, 'attack.html');
    await writeFile(file, attackPage(svc.url, playlist, victimId));
    const refusedBefore = refusedCount(/^\/api\//);
    const page = await context.newPage();
    await page.goto(`file://${file}`);
    const result = await page.evaluate(() => (window as unknown as { attack: Promise<Record<string, unknown>> }).attack);
    await page.close();
    expect(result.ws).toBe('refused');
    await waitFor(() => refusedCount(/^\/api\//) - refusedBefore >= 8, { timeoutMs: 10_000, what: 'the file:// attack requests to arrive' });
    expect(upgrades.some((u) => u.origin === 'null')).toBe(true);
    expect(await tasks()).toEqual(before.tasks);
    expect(await settings()).toEqual(before.settings);
  }, 60_000);

  it('answers nothing to a DNS-rebound name, the page included; a listed name works', async () => {
    const page = await context.newPage();
    const rebound = await page.goto(`http://evil.example:${svc.port}/`);
    expect(rebound?.status()).toBe(403);
    expect(await page.textContent('body')).toContain('M3U8DM_ALLOWED_HOSTS');
    // A page under that name (were it ever served) could not read the API either.
    const read = await page.evaluate(async () => (await fetch('/api/tasks')).status);
    expect(read).toBe(403);
    const listed = await page.goto(`http://m3u8dm.lan:${svc.port}/`);
    expect(listed?.status()).toBe(200);
    await page.close();
  }, 30_000);

  it('lets the page itself create a task, open the WebSocket and the event stream', async () => {
    const page = await context.newPage();
    await page.goto(`${svc.url}/`);
    const outcome = await page.evaluate(async ([url, startTime]) => {
      const res = await fetch('api/v1/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, filename: 'from-page', start_time: startTime, source: 'ui' }) });
      const ws = await new Promise<string>((resolve) => {
        // window.WebSocket: the bare name is the test's import of `ws`, rewritten by vite.
        const socket = new window.WebSocket(`${location.origin.replace('http', 'ws')}/ws/progress`);
        socket.onopen = () => { socket.close(); resolve('open'); };
        socket.onerror = () => resolve('refused');
      });
      const sse = await new Promise<string>((resolve) => {
        const es = new EventSource('api/v1/events');
        es.onopen = () => { es.close(); resolve('open'); };
        es.onerror = () => { es.close(); resolve('refused'); };
      });
      return { status: res.status, body: await res.json() as { code: number }, ws, sse };
    }, [playlist, startTimeTomorrow()] as const);
    await page.close();
    expect(outcome).toMatchObject({ status: 200, body: { code: 0 }, ws: 'open', sse: 'open' });
    expect((await tasks()).some((t) => t.filename === 'from-page.mp4')).toBe(true);
  }, 30_000);

  it('keeps the README curl examples (form content type, localhost) and the CLI working', async () => {
    const port = svc.port;
    const body = JSON.stringify({ url: playlist, filename: 'by-curl', start_time: startTimeTomorrow() });
    // Exactly as in the README: `-d` without a content type sends application/x-www-form-urlencoded.
    const compat = await run('curl', ['-s', `localhost:${port}/api/tasks`, '-d', JSON.stringify({ url: playlist, filename: 'by-curl-compat' })]);
    expect(compat.stdout).toContain('"status":"success"');
    const v1 = await run('curl', ['-s', `localhost:${port}/api/v1/tasks`, '-H', 'content-type: application/json', '-d', body]);
    expect(v1.stdout).toContain('"code":0');
    const cli = await runCli(['add', playlist, '-o', 'by-cli', '--server', svc.url]);
    expect(cli.code, cli.stderr).toBe(0);
    const names = (await tasks()).map((t) => t.filename);
    expect(names).toEqual(expect.arrayContaining(['by-curl-compat.mp4', 'by-curl.mp4', 'by-cli.mp4']));
  }, 60_000);
});

/** One raw HTTP/1.1 exchange with exactly these headers (fetch would not let us set Host). */
function raw(url: string, method: string, route: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: route, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('raw requests with the headers a browser sends', () => {
  let svc: TestService;
  const playlist = 'http://127.0.0.1:9/index.m3u8';

  beforeAll(async () => {
    svc = await withService({ maxActive: 1, corsOrigins: ['http://friend.example'], allowedHosts: ['m3u8dm.lan'] }, { prefix: 'm3u8dm-raw-' });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
  });

  const own = () => `127.0.0.1:${svc.port}`;
  const json = { 'content-type': 'application/json' };
  const createBody = (filename: string) => JSON.stringify({ url: playlist, filename, start_time: startTimeTomorrow() });
  const count = async () => (JSON.parse((await raw(svc.url, 'GET', '/api/tasks', { host: own() })).text) as unknown[]).length;

  it('refuses a foreign Origin, Origin: null and Sec-Fetch-Site cross-site/same-site on every API, naming the variable', async () => {
    const before = await count();
    const cases: [string, Record<string, string>][] = [
      ['Origin evil', { origin: 'http://evil.example' }],
      ['Origin other port', { origin: 'http://127.0.0.1:1' }],
      ['Origin null', { origin: 'null' }],
      ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
    ];
    for (const [what, headers] of cases) {
      const compat = await raw(svc.url, 'POST', '/api/tasks', { host: own(), ...json, ...headers }, createBody('x'));
      expect(compat.status, what).toBe(403);
      expect(compat.text, what).toContain('M3U8DM_CORS_ORIGINS');
      const v1 = await raw(svc.url, 'POST', '/api/v1/tasks', { host: own(), ...json, ...headers }, createBody('y'));
      expect(v1.status, what).toBe(403);
      expect(JSON.parse(v1.text)).toMatchObject({ code: 40301, data: null });
      expect((await raw(svc.url, 'POST', '/api/settings', { host: own(), ...json, ...headers }, '{"download_threads":3}')).status, what).toBe(403);
      expect((await raw(svc.url, 'DELETE', '/api/tasks?id=1', { host: own(), ...headers })).status, what).toBe(403);
      expect((await raw(svc.url, 'GET', '/api/v1/events', { host: own(), ...headers })).status, what).toBe(403);
    }
    expect(await count()).toBe(before);
    expect((JSON.parse((await raw(svc.url, 'GET', '/api/settings', { host: own() })).text) as { download_threads: number }).download_threads).toBe(8);
  });

  it('answers 403 to a rebinding Host on the page, the API and the WebSocket, naming M3U8DM_ALLOWED_HOSTS', async () => {
    for (const route of ['/', '/api/tasks', '/api/v1/tasks', '/api/v1/health']) {
      const res = await raw(svc.url, 'GET', route, { host: `evil.example:${svc.port}` });
      expect(res.status, route).toBe(403);
      expect(res.text, route).toContain('M3U8DM_ALLOWED_HOSTS');
    }
    const created = await raw(svc.url, 'POST', '/api/tasks', { host: `evil.example:${svc.port}`, ...json }, createBody('rebound'));
    expect(created.status).toBe(403);
    for (const host of [`localhost:${svc.port}`, `[::1]:${svc.port}`, own(), `m3u8dm.lan:${svc.port}`, `LOCALHOST.:${svc.port}`]) {
      expect((await raw(svc.url, 'GET', '/api/v1/health', { host })).status, host).toBe(200);
    }
    const ws = (headers: Record<string, string>) => new Promise<number>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${svc.port}/ws/progress`, { headers });
      socket.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
      socket.on('open', () => { socket.close(); resolve(101); });
      socket.on('error', () => resolve(-1));
    });
    expect(await ws({ host: `evil.example:${svc.port}` })).toBe(403);
    expect(await ws({ origin: 'http://evil.example' })).toBe(403);
    expect(await ws({ origin: `http://${own()}` })).toBe(101);
    expect(await ws({})).toBe(101);
  });

  it('parses a body as JSON for application/json or a non-browser client only; a listed origin may call', async () => {
    const before = await count();
    // The page's own origin, but a type a form could send: never reaches the JSON parser.
    const plain = await raw(svc.url, 'POST', '/api/v1/tasks', { host: own(), origin: `http://${own()}`, 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' }, createBody('plain'));
    expect(plain.status).toBe(415);
    expect(JSON.parse(plain.text).message).toContain('application/json');
    const form = await raw(svc.url, 'POST', '/api/tasks', { host: own(), 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' }, createBody('form'));
    expect(form.status).toBe(415);
    expect(await count()).toBe(before);
    // Same-origin JSON (what the page sends), curl's form type without browser headers, and a listed origin: all fine.
    expect((await raw(svc.url, 'POST', '/api/v1/tasks', { host: own(), origin: `http://${own()}`, 'sec-fetch-site': 'same-origin', ...json }, createBody('page'))).status).toBe(200);
    expect((await raw(svc.url, 'POST', '/api/tasks', { host: own(), 'content-type': 'application/x-www-form-urlencoded' }, createBody('curl'))).status).toBe(200);
    expect((await raw(svc.url, 'POST', '/api/v1/tasks', { host: own(), 'content-type': 'text/plain;charset=UTF-8', 'sec-fetch-mode': 'cors' }, createBody('node-fetch'))).status).toBe(200);
    const friend = await raw(svc.url, 'POST', '/api/v1/tasks', { host: own(), origin: 'http://friend.example', 'sec-fetch-site': 'cross-site', ...json }, createBody('friend'));
    expect(friend.status).toBe(200);
    expect(friend.headers['access-control-allow-origin']).toBe('http://friend.example');
    expect(await count()).toBe(before + 4);
  });

  it('sends nosniff on every answer, errors included', async () => {
    for (const [method, route] of [['GET', '/'], ['GET', '/api/tasks'], ['GET', '/api/v1/nope'], ['GET', '/nope'], ['POST', '/api/tasks']] as const) {
      const res = await raw(svc.url, method, route, { host: own(), ...json }, method === 'POST' ? '{' : undefined);
      expect(res.headers['x-content-type-options'], `${method} ${route}`).toBe('nosniff');
    }
    const refused = await raw(svc.url, 'GET', '/', { host: 'evil.example' });
    expect(refused.headers['x-content-type-options']).toBe('nosniff');
  });
});
