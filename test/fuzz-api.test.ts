// 1,000 generated bad bodies against every write route of both APIs: only 4xx
// answers with the documented messages, the service stays up, no task changes.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSG } from '../src/api/compat-routes.js';
import { ErrorCode } from '../src/api/error-codes.js';
import { TaskStatus, type TaskRecord } from '../src/types.js';
import { startAppHarness, type AppHarness } from './helpers/app-harness.js';
import { waitFor } from './helpers/wait-for.js';

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(20261120);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** A value of a kind the field never accepts, or a nasty one. */
function junk(depth = 0): unknown {
  const kinds = [
    () => null,
    () => Math.floor(random() * 2 ** 40) * (random() < 0.5 ? -1 : 1),
    () => random() * 1e308,
    () => pick([true, false]),
    () => pick(['', ' ', '\u0000', '../../etc/passwd', '%2e%2e%2f%2e%2e%2f', '💥'.repeat(50), '\u202e\u200b', 'ftp://127.0.0.1/a.m3u8', 'javascript:alert(1)']),
    () => 'x'.repeat(Math.floor(random() * (random() < 0.1 ? 1_500_000 : 200_000))),
    () => Array.from({ length: Math.floor(random() * 5) }, () => (depth < 3 ? junk(depth + 1) : 1)),
    () => Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k${i}`, depth < 3 ? junk(depth + 1) : 1])),
    () => JSON.parse('['.repeat(2000) + ']'.repeat(2000)) as unknown,
  ];
  return pick(kinds)();
}

/** A nested structure of the given depth. */
const deep = (n: number): unknown => (n === 0 ? 'bottom' : { a: deep(n - 1) });

/** Bodies that are wrong by construction: a required field is missing or of a wrong kind, plus noise. */
function badBody(required: string[], optional: string[], { canOmit = true } = {}): unknown {
  const roll = random();
  // A top-level value that is not an object is wrong for every route.
  if (roll < 0.05) return pick([null, 42, 'text', [junk()], true]);
  const body: Record<string, unknown> = {};
  for (const field of optional) if (random() < 0.4) body[field] = junk();
  const broken = pick(required);
  for (const field of required) {
    if (field === broken) {
      if (canOmit && random() < 0.3) continue; // missing
      if (random() < 0.05) {
        body[field] = deep(500 + Math.floor(random() * 2000));
        continue;
      }
      let value = junk();
      while (typeof value === 'string' && /^https?:\/\//.test(value)) value = junk();
      body[field] = value;
    } else {
      body[field] = field === 'url' ? 'http://127.0.0.1:9/ok.m3u8' : field === 'filename' ? 'ok' : field === 'status' ? '已暂停' : [1];
    }
  }
  for (let i = 0; i < Math.floor(random() * 3); i++) body[`extra_${i}_${pick(['ü', '𝔘', '\u0000', 'x'])}`] = junk();
  return body;
}

const SETTINGS = ['save_location', 'temp_directory', 'download_threads', 'skip_ts_info', 'proxy_type', 'proxy_host', 'proxy_port', 'proxy_username', 'proxy_password', 'allow_insecure_https', 'keep_ts_files', 'use_server_file_time', 'no_merge_ts', 'debug_log', 'log_skipped_ts'];

describe('fuzzing the write routes', () => {
  let h: AppHarness;
  let before: TaskRecord[];
  let settingsBefore: unknown;

  beforeAll(async () => {
    h = await startAppHarness({ engine: { segments: 2, segmentMs: 1 } });
    const api = request(h.app);
    await api.post('/api/tasks').send({ url: 'http://127.0.0.1:9/a.m3u8', filename: 'done' });
    await api.post('/api/tasks').send({ url: 'http://127.0.0.1:9/b.m3u8', filename: 'paused' });
    await waitFor(async () => (await h.manager.get(1)).status === TaskStatus.completed && (await h.manager.get(2)).status === TaskStatus.completed);
    h.engine.options.segments = 10_000;
    await api.post('/api/tasks').send({ url: 'http://127.0.0.1:9/c.m3u8', filename: 'held' });
    await h.manager.pause(3);
    before = (await h.manager.list()).tasks;
    settingsBefore = (await api.get('/api/settings')).body;
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers 1,000 bad bodies with documented 4xx errors and changes nothing', async () => {
    const routes: { method: 'post' | 'put' | 'patch' | 'delete'; path: () => string; body: () => unknown; compat: boolean; prefix?: string }[] = [
      { method: 'post', path: () => '/api/tasks', body: () => badBody(['url', 'filename'], ['use_http_headers', 'http_headers', 'advanced', ...SETTINGS]), compat: true, prefix: MSG.badRequest },
      { method: 'put', path: () => `/api/tasks?id=${pick(['1', '2', '3'])}`, body: () => badBody(['status'], []), compat: true, prefix: MSG.badRequest },
      { method: 'post', path: () => '/api/settings', body: () => badBody([pick(SETTINGS)], SETTINGS, { canOmit: false }), compat: true, prefix: MSG.badSettings },
      { method: 'post', path: () => '/api/v1/tasks', body: () => badBody([pick(['url', 'urls'])], ['filename', 'headers', 'options', 'start_time', 'source']), compat: false },
      { method: 'delete', path: () => '/api/v1/tasks/batch', body: () => badBody(['task_ids'], []), compat: false },
      { method: 'patch', path: () => `/api/v1/tasks/${pick(['1', '2', '3'])}`, body: () => badBody(['options'], []), compat: false },
    ];
    const codes = new Set<number>(Object.values(ErrorCode));
    const seen = new Map<string, number>(); // status → count
    for (let i = 0; i < 1000; i++) {
      const route = routes[i % routes.length]!;
      const body = route.body();
      const path = route.path();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify(undefined) is undefined, whatever its typing says
    const raw = random() < 0.05 ? JSON.stringify(body).slice(0, -1) : JSON.stringify(body) ?? 'null';
      const res = await request(h.app)[route.method](path).set('content-type', 'application/json').send(raw);
      const label = `${route.method.toUpperCase()} ${path} ${raw.slice(0, 120)}`;
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      expect(res.status, label).toBeLessThan(500);
      if (route.compat) {
        const known = [route.prefix!, MSG.tooLarge];
        expect(known.some((m) => res.text.startsWith(m)), `${label} → ${res.text.slice(0, 200)}`).toBe(true);
      } else {
        expect(codes.has(res.body.code), `${label} → ${res.text.slice(0, 200)}`).toBe(true);
        expect(res.body.code).not.toBe(0);
        expect(typeof res.body.message).toBe('string');
        expect(res.body.data).toBeNull();
      }
      seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
    }
    // The service is still up and nothing changed.
    const after = (await h.manager.list()).tasks;
    expect(after).toEqual(before);
    expect((await request(h.app).get('/api/settings')).body).toEqual(settingsBefore);
    expect((await request(h.app).get('/api/v1/health')).body.code).toBe(0);
    // Both kinds of refusal happened: invalid fields and bodies over the limit.
    expect(seen.get('400')).toBeGreaterThan(500);
    expect(seen.get('413')).toBeGreaterThan(0);
  });
});
