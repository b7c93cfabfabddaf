// Secrets and the log: tokens in URLs are hidden by their decoded name (`?%74oken=` is
// the token too, as the query parser reads it), `?token=` is taken only on the event
// stream and the WebSocket, where a client cannot send an Authorization header; a change
// of proxy or certificate checking is logged with old and new values, never the password.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../src/api/auth.js';
import { createLogger } from '../src/service/log.js';
import { withService, type TestService } from './helpers/with-service.js';

const TOKEN = 'tok-Zq81-secret';

describe('tokens in URLs', () => {
  let svc: TestService;
  let logText = '';

  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { logText += String(chunk); done(); } });
    svc = await withService({ token: TOKEN, logLevel: 'info' }, { prefix: 'm3u8dm-tokq-', deps: { logger: createLogger('info', sink) } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
  });

  it('takes ?token= on the event stream (name encoded or not) and refuses it on every other route', async () => {
    for (const query of [`token=${TOKEN}`, `%74oken=${TOKEN}`, `%54OKEN=x&token=${TOKEN}`]) {
      const res = await fetch(`${svc.url}/api/v1/events?${query}`);
      expect(res.status, query).toBe(200);
      await res.body?.cancel();
    }
    for (const route of ['/api/tasks', '/api/v1/tasks', '/api/v1/health', '/api/settings']) {
      const res = await fetch(`${svc.url}${route}?token=${TOKEN}`);
      expect(res.status, route).toBe(401);
      await res.body?.cancel();
    }
  });

  it('logs no token value, whatever the spelling of its name', async () => {
    const spellings = [`%74oken=${TOKEN}1`, `TOKEN=${TOKEN}2`, `a=1&t%6fken=${TOKEN}3`, `access_token=${TOKEN}4`, `%74%6F%6B%65%6E=${TOKEN}5`];
    for (const query of spellings) {
      const res = await fetch(`${svc.url}/api/v1/events?${query}`);
      await res.body?.cancel();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(logText).toContain('[redacted]');
    expect(logText).not.toContain(TOKEN);
    expect(redactUrl('/x?a=1&%74oken=abc&b=2#frag')).toBe('/x?a=1&%74oken=[redacted]&b=2#frag');
    expect(redactUrl('/x?tokens=keep&mytoken=keep')).toBe('/x?tokens=keep&mytoken=keep');
  });

  it('logs proxy and allow_insecure_https changes at info, old and new host, never the password', async () => {
    const save = (body: unknown) => fetch(`${svc.url}/api/settings`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body),
    });
    logText = '';
    expect((await save({ download_threads: 4 })).status).toBe(200);
    expect((await save({ proxy_type: 'http', proxy_host: 'proxy-one.example', proxy_port: 3128, proxy_username: 'me', proxy_password: 'pw-Secret-77' })).status).toBe(200);
    // The compat POST replaces the whole settings object: the proxy fields are sent again.
    expect((await save({ proxy_type: 'http', proxy_host: 'proxy-two.example', proxy_port: 3128, proxy_username: 'me', allow_insecure_https: true })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const changes = logText.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; proxy?: { from: string; to: string }; allow_insecure_https?: { to: boolean } })
      .filter((l) => l.msg === 'proxy or TLS settings changed');
    expect(changes).toHaveLength(2);
    expect(changes[0]).toMatchObject({ level: 30, proxy: { from: 'none', to: 'http://me@proxy-one.example:3128' }, proxy_password_changed: true });
    expect(changes[1]).toMatchObject({ proxy: { from: 'http://me@proxy-one.example:3128', to: 'http://me@proxy-two.example:3128' }, allow_insecure_https: { from: false, to: true } });
    expect(logText).not.toContain('pw-Secret-77');
  });
});
