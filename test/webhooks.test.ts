// Webhooks against a real receiver on 127.0.0.1: every event, signed; a receiver that
// is down, refuses, or answers late; the outbox across a kill -9 of the real process.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../src/service/config.js';
import { ScriptedEngine } from './helpers/scripted-engine.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';
import { startWebhookReceiver, type Answer, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { withService, type TestService } from './helpers/with-service.js';

const SECRET = 's3cret-for-hmac';

interface DeliveryView { id: string; event: string; status: string; attempts: number; last_status: number | null; last_error: string; url: string; task_id: number | null }

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe('webhooks', () => {
  let receiver: WebhookReceiver;
  let service: TestService | undefined;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    receiver.received.length = 0;
    receiver.answer = 200;
    await receiver.start(); // a test may have left it stopped
  });

  async function boot(config: Partial<ServiceConfig> = {}, engine = new ScriptedEngine({ segments: 3, segmentMs: 30 })) {
    service = await withService({ webhookRetryBaseMs: 100, webhookRetryCapMs: 1000, maxActive: 1, ...config }, { prefix: 'm3u8dm-wh-', deps: { engine } });
    return service;
  }
  const api = (route: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${service!.url}${route}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const setWebhooks = (webhooks: unknown) => api('/api/settings', { body: { webhooks } });
  const deliveries = async (query = '') => (await json<{ data: { deliveries: DeliveryView[] } }>(await api(`/api/v1/webhooks/deliveries${query}`))).data.deliveries;
  const events = () => receiver.unique().map((d) => `${d.event}:${(d.body.task?.id as number | undefined) ?? '-'}`);

  it('sends every event, signed, with the task as /api/v1 shows it and the password masked', async () => {
    const engine = new ScriptedEngine({ segments: 3, segmentMs: 30, failWith: (job) => (job.filename.startsWith('bad') ? 'origin answered HTTP 404' : undefined) });
    await boot({}, engine);
    expect((await setWebhooks([{ url: receiver.url, secret: SECRET }])).status).toBe(200);

    // completes, with a proxy password that must not travel
    // … and the user's session in its headers, which must not travel either
    const header_map = { Cookie: ['session=cookie-s3cret'], authorization: ['Bearer token-s3cret'], Referer: ['http://127.0.0.1/page'] };
    const good = await json<{ id: string }>(await api('/api/tasks', { body: { url: 'http://127.0.0.1:1/a.m3u8', filename: 'good', use_http_headers: true, http_headers: header_map, advanced: true, proxy_type: 'http', proxy_host: '127.0.0.1', proxy_port: 3128, proxy_password: 'hunter2-pw' } }));
    await waitFor(() => events().includes('queue.drained:1'), { timeoutMs: 15_000, what: 'the first task and the drained queue' });
    // fails
    await api('/api/tasks', { body: { url: 'http://127.0.0.1:1/b.m3u8', filename: 'bad' } });
    await waitFor(() => events().includes('task.failed:2'), { timeoutMs: 15_000, what: 'task.failed' });
    // paused while waiting (a scheduled one never starts), then deleted
    const later = await json<{ data: { task_ids: number[] } }>(await api('/api/v1/tasks', { body: { url: 'http://127.0.0.1:1/c.m3u8', start_time: '00:00' } }));
    const id3 = later.data.task_ids[0]!;
    await api(`/api/v1/tasks/${id3}/stop`, { body: {} });
    await api(`/api/v1/tasks/${id3}`, { method: 'DELETE' });
    await waitFor(() => events().includes(`task.deleted:${id3}`), { timeoutMs: 15_000, what: 'task.deleted' });

    const seen = events();
    for (const e of ['task.created:1', 'task.started:1', 'task.completed:1', 'queue.drained:1', 'task.created:2', 'task.started:2', 'task.failed:2',
      `task.created:${id3}`, `task.paused:${id3}`, `task.deleted:${id3}`]) expect(seen).toContain(e);
    // Each event once per task: the progress ticks in between are not events.
    expect(seen.filter((e) => e === 'task.started:1')).toHaveLength(1);
    for (const d of receiver.received) {
      expect(receiver.signatureValid(d, SECRET), `signature of ${d.event}`).toBe(true);
      expect(d.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.body.event).toBe(d.event);
      expect(Number.isNaN(Date.parse(d.body.at))).toBe(false);
      expect(d.raw).not.toContain('hunter2-pw');
      expect(d.raw).not.toContain('s3cret');
    }
    const completed = receiver.received.find((d) => d.event === 'task.completed')!;
    expect(completed.body.task).toMatchObject({ id: Number(good.id), status: 2, status_text: 'completed', filename: 'good.mp4', progress: 100 });
    expect((completed.body.task!.advanced_settings as Record<string, unknown>).proxy_password).toBe('');
    // The header names stay, the credentials' values are blank as the password is; the rest as given.
    expect(completed.body.task!.header_map).toEqual({ Cookie: [''], authorization: [''], Referer: ['http://127.0.0.1/page'] });
    expect(String(completed.body.task!.output_path)).toMatch(/good\.mp4$/);
    const failed = receiver.received.find((d) => d.event === 'task.failed')!;
    expect(failed.body.task).toMatchObject({ status: 3, err_msg: 'origin answered HTTP 404' });
    // A wrong secret does not verify: the check means something.
    expect(receiver.signatureValid(completed, 'another-secret')).toBe(false);

    const list = await deliveries();
    expect(list.length).toBe(receiver.unique().length);
    expect(list.every((d) => d.status === 'delivered' && d.attempts === 1 && d.last_status === 200)).toBe(true);
  });

  it('subscribes to the events listed only, and keeps the write-only secret across a save', async () => {
    await boot();
    expect((await setWebhooks([{ url: receiver.url, events: ['task.completed'], secret: SECRET }])).status).toBe(200);
    const shown = await json<{ webhooks: { url: string; events: string[]; secret: string; has_secret: boolean }[]; proxy_password: string }>(await api('/api/settings'));
    expect(shown.webhooks).toEqual([{ url: receiver.url, events: ['task.completed'], secret: '', has_secret: true }]);
    expect(JSON.stringify(shown)).not.toContain(SECRET);
    // Sent back as read (blank secret): the saved secret stays.
    expect((await api('/api/settings', { body: shown })).status).toBe(200);
    // A client of the original posts its settings form whole, without webhooks: they stay.
    expect((await api('/api/settings', { body: { download_threads: 4 } })).status).toBe(200);
    expect((await json<{ webhooks: unknown[]; download_threads: number }>(await api('/api/settings')))).toMatchObject({ download_threads: 4, webhooks: [{ url: receiver.url, has_secret: true }] });
    await api('/api/tasks', { body: { url: 'http://127.0.0.1:1/a.m3u8', filename: 'one' } });
    const [d] = await waitFor(() => (receiver.received.length >= 1 ? receiver.received : null), { timeoutMs: 15_000, what: 'task.completed' });
    expect(d!.event).toBe('task.completed');
    expect(receiver.signatureValid(d!, SECRET)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.map((r) => r.event)).toEqual(['task.completed']);
  });

  it('refuses a webhook URL that is not http(s), naming the field', async () => {
    await boot();
    for (const [body, field] of [
      [[{ url: 'ftp://127.0.0.1/x' }], 'webhooks.0.url'],
      [[{ url: receiver.url }, { url: 'javascript:alert(1)' }], 'webhooks.1.url'],
      [[{ url: receiver.url, events: ['task.exploded'] }], 'webhooks.0.events.0'],
      ['http://127.0.0.1/', 'webhooks'],
    ] as const) {
      const res = await setWebhooks(body);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(new RegExp(`^解析设置失败: ${field.replaceAll('.', '\\.')} must`));
    }
    expect((await json<{ webhooks: unknown[] }>(await api('/api/settings'))).webhooks).toEqual([]);
  });

  it('delivers to a receiver that was down for 10 s, once it is back', async () => {
    await boot();
    await setWebhooks([{ url: receiver.url, events: ['task.created'], secret: SECRET }]);
    await receiver.stop();
    const downAt = Date.now();
    await api('/api/v1/tasks', { body: { url: 'http://127.0.0.1:1/a.m3u8', start_time: '00:00' } });
    await waitFor(async () => ((await deliveries())[0]?.attempts ?? 0) >= 2, { timeoutMs: 10_000, what: 'a retried attempt' });
    const [pending] = await deliveries();
    expect(pending).toMatchObject({ status: 'pending', last_status: null, event: 'task.created' });
    expect(pending!.last_error).toMatch(/ECONNREFUSED/);
    await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - downAt)));
    await receiver.start();
    const [d] = await waitFor(() => (receiver.received.length ? receiver.received : null), { timeoutMs: 15_000, what: 'the delivery after the receiver came back' });
    expect(d!.event).toBe('task.created');
    expect(receiver.signatureValid(d!, SECRET)).toBe(true);
    expect(Number(d!.headers['x-m3u8dm-attempt'])).toBeGreaterThan(2);
    const [done] = await waitFor(async () => { const l = await deliveries(); return l[0]?.status === 'delivered' ? l : null; }, { what: 'delivered status' });
    expect(done!.id).toBe(d!.id);
  }, 40_000);

  it('stops retrying deliveries to a webhook taken out of the settings', async () => {
    await boot();
    await setWebhooks([{ url: receiver.url, events: ['task.created'] }]);
    await receiver.stop();
    await api('/api/v1/tasks', { body: { url: 'http://127.0.0.1:1/a.m3u8', start_time: '00:00' } });
    await waitFor(async () => ((await deliveries())[0]?.attempts ?? 0) >= 1, { what: 'a first attempt' });
    await setWebhooks([]);
    const [gone] = await waitFor(async () => { const l = await deliveries(); return l[0]?.status === 'failed' ? l : null; }, { timeoutMs: 10_000, what: 'the delivery given up' });
    expect(gone!.last_error).toMatch(/is no longer among the webhooks in the settings/);
    await receiver.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(0);
  });

  it('records a 4xx without retrying, retries 429, 5xx and a timeout until delivered', async () => {
    await boot({ webhookTimeoutMs: 400 });
    await setWebhooks([{ url: receiver.url, events: ['task.created'] }]);
    let calls = 0;
    const script: Answer[] = [429, 503, 'hold', 200];
    receiver.answer = () => script[calls++] ?? 200;
    await api('/api/v1/tasks', { body: { url: 'http://127.0.0.1:1/a.m3u8', start_time: '00:00' } });
    const [retried] = await waitFor(async () => { const l = await deliveries(); return l[0]?.status === 'delivered' ? l : null; }, { timeoutMs: 20_000, what: 'delivery after 429, 503, timeout' });
    expect(retried!.attempts).toBe(4);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
    expect(receiver.received[0]!.headers['x-m3u8dm-signature']).toBeUndefined(); // no secret, no signature

    receiver.received.length = 0;
    receiver.answer = 410;
    await api('/api/v1/tasks', { body: { url: 'http://127.0.0.1:1/b.m3u8', start_time: '00:00' } });
    const [refused] = await waitFor(async () => { const l = await deliveries('?status=failed'); return l.length ? l : null; }, { timeoutMs: 10_000, what: 'a failed delivery' });
    expect(refused).toMatchObject({ status: 'failed', attempts: 1, last_status: 410, last_error: 'answered HTTP 410' });
    await new Promise((r) => setTimeout(r, 800));
    expect(receiver.received).toHaveLength(1);
  }, 40_000);

  it('sends a test event on request, and says when there is nothing to send to', async () => {
    await boot();
    const none = await api('/api/v1/webhooks/test', { body: {} });
    expect(none.status).toBe(400);
    expect((await json<{ code: number; message: string }>(none)).message).toMatch(/no webhooks are configured/);
    await setWebhooks([{ url: receiver.url, events: ['task.failed'], secret: SECRET }]);
    const other = await api('/api/v1/webhooks/test', { body: { url: 'http://127.0.0.1:9/elsewhere' } });
    expect(other.status).toBe(400);
    const sent = await json<{ code: number; data: { delivery_ids: string[] } }>(await api('/api/v1/webhooks/test', { body: {} }));
    expect(sent.code).toBe(0);
    const [d] = await waitFor(() => (receiver.received.length ? receiver.received : null), { what: 'the test delivery' });
    expect(d).toMatchObject({ id: sent.data.delivery_ids[0], event: 'webhook.test' });
    expect(d!.body.task).toBeNull();
    expect(receiver.signatureValid(d!, SECRET)).toBe(true);
    const doc = await json<{ paths: Record<string, unknown> }>(await api('/api/v1/openapi.json'));
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/webhooks/deliveries', '/webhooks/test']));
    const bad = await api('/api/v1/webhooks/deliveries?limit=0');
    expect(bad.status).toBe(400);
    expect((await json<{ message: string }>(bad)).message).toMatch(/^limit must be an integer from 1 to 500/);
  });
});

describe('webhook outbox across kill -9', () => {
  let dir: TempDir;
  let receiver: WebhookReceiver;
  let svc: ServiceProcess | undefined;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    dir = await tempDir('m3u8dm-whk-');
  });
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    await receiver.close();
    await dir.cleanup();
  });

  it('delivers an event whose delivery a kill -9 interrupted, after the restart, under the same id', async () => {
    const env = { M3U8DM_DATA_DIR: path.join(dir.path, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir.path, 'downloads'), M3U8DM_WEBHOOK_RETRY_BASE_MS: '100', M3U8DM_WEBHOOK_TIMEOUT_MS: '60000' };
    svc = await startServiceProcess(env);
    const post = (route: string, body: unknown) => fetch(`${svc!.url}${route}`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post('/api/settings', { webhooks: [{ url: receiver.url, events: ['task.created'], secret: SECRET }] })).status).toBe(200);
    // The receiver takes the request and never answers: the delivery is in flight when the service dies.
    receiver.answer = 'hold';
    await post('/api/v1/tasks', { url: 'http://127.0.0.1:1/a.m3u8', start_time: '00:00' });
    const [first] = await waitFor(() => (receiver.received.length ? receiver.received : null), { timeoutMs: 15_000, what: 'the first attempt' });
    expect(await svc.stop('SIGKILL')).toBe('SIGKILL');

    receiver.answer = 200;
    svc = await startServiceProcess(env);
    await waitFor(() => receiver.received.length >= 2, { timeoutMs: 15_000, what: 'the delivery after the restart' });
    const again = receiver.received[1]!;
    expect(again.id).toBe(first!.id);
    expect(again.raw).toBe(first!.raw);
    expect(receiver.signatureValid(again, SECRET)).toBe(true);
    // Deduped by id, the receiver has the event exactly once.
    expect(receiver.unique().map((d) => d.event)).toEqual(['task.created']);
    const list = await waitFor(async () => {
      const body = await json<{ data: { deliveries: DeliveryView[] } }>(await fetch(`${svc!.url}/api/v1/webhooks/deliveries`));
      return body.data.deliveries[0]?.status === 'delivered' ? body.data.deliveries : null;
    }, { what: 'delivered in the outbox' });
    expect(list).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(2);
  }, 60_000);
});
