// `GET /metrics` of the real service downloading a real HLS stream (made by ffmpeg)
// from a real server on 127.0.0.1 that fails one segment once: the text parses as
// Prometheus exposition format and every counter moves by what the task did.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { withService, type TestService } from './helpers/with-service.js';

const TOKEN = 'metrics-token';

describe('GET /metrics', () => {
  let service: TestService;
  let hls: HlsServer;
  let fixture: FixtureInfo;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    fixture = await ensureFixture('ts');
    hls = await startHlsServer({ root: fixture.dir });
    let failed = false;
    hls.override((_req, res, urlPath) => {
      if (urlPath !== '/seg003.ts' || failed) return false;
      failed = true;
      res.writeHead(503).end('try again');
      return true;
    });
    receiver = await startWebhookReceiver();
    service = await withService({ token: TOKEN }, { prefix: 'm3u8dm-metrics-' });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await service?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await hls?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await receiver?.close();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  async function scrape(): Promise<Map<string, PromFamily>> {
    const res = await fetch(`${service.url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return new Map(parsePrometheusTextFormat(await res.text()).map((f) => [f.name, f]));
  }
  const value = (families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number => {
    const family = families.get(name);
    if (!family) throw new Error(`no metric ${name}`);
    const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return sample ? Number(sample.value ?? sample.count) : 0;
  };

  it('is guarded by the token like every route', async () => {
    expect((await fetch(`${service.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${service.url}/metrics?token=wrong`)).status).toBe(401);
  });

  it('parses as Prometheus text and its counters move when a task runs', async () => {
    const post = (route: string, body: unknown) => fetch(`${service.url}${route}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    await post('/api/settings', { webhooks: [{ url: receiver.url, events: ['task.created', 'task.completed'] }] });
    const before = await scrape();
    expect(before.get('m3u8dm_segments_fetched_total')?.type).toBe('COUNTER');
    expect(before.get('m3u8dm_merge_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(before.get('m3u8dm_tasks')?.type).toBe('GAUGE');
    expect(value(before, 'm3u8dm_segments_fetched_total')).toBe(0);
    expect(value(before, 'm3u8dm_tasks', { status: 'completed' })).toBe(0);

    const created = (await (await post('/api/v1/tasks', { url: hls.url(fixture.playlist), filename: 'metered' })).json()) as { data: { task_ids: number[] } };
    const id = created.data.task_ids[0]!;
    // While it waits or runs, the queue shows it.
    const during = await scrape();
    expect(value(during, 'm3u8dm_tasks', { status: 'pending' }) + value(during, 'm3u8dm_tasks', { status: 'running' })).toBe(1);
    const task = await waitFor(async () => {
      const t = ((await (await fetch(`${service.url}/api/v1/tasks/${id}`, { headers: auth })).json()) as { data: { status: number; output_path: string; downloaded_bytes: number; err_msg: string } }).data;
      return t.status === 2 || t.status === 3 ? t : null;
    }, { timeoutMs: 60_000, what: 'the download to finish' });
    expect(task.err_msg).toBe('');
    await waitFor(() => receiver.received.length >= 2, { what: 'the two webhook deliveries' });

    const after = await waitFor(async () => { const m = await scrape(); return value(m, 'm3u8dm_webhook_deliveries_total', { result: 'delivered' }) >= 2 ? m : null; }, { what: 'delivered count' });
    expect(value(after, 'm3u8dm_segments_fetched_total')).toBe(fixture.segments);
    let bytes = 0;
    const segmentFiles = (await readdir(fixture.dir)).filter((n) => n.endsWith('.ts'));
    expect(segmentFiles).toHaveLength(fixture.segments);
    for (const name of segmentFiles) bytes += (await stat(path.join(fixture.dir, name))).size;
    expect(value(after, 'm3u8dm_downloaded_bytes_total')).toBe(bytes);
    expect(value(after, 'm3u8dm_request_retries_total', { host: `127.0.0.1:${hls.port}`, status: '503' })).toBe(1);
    const merge = after.get('m3u8dm_merge_duration_seconds')!.metrics[0]!;
    expect(Number(merge.count)).toBe(1);
    expect(Number(merge.sum)).toBeGreaterThan(0);
    expect(Number(merge.buckets?.['+Inf'])).toBe(1);
    expect(value(after, 'm3u8dm_tasks', { status: 'completed' })).toBe(1);
    expect(value(after, 'm3u8dm_tasks', { status: 'pending' })).toBe(0);
    expect(value(after, 'm3u8dm_queue_depth')).toBe(0);
    expect(value(after, 'm3u8dm_download_speed_bytes_per_second')).toBe(0);
    expect(value(after, 'm3u8dm_task_events_total', { event: 'task.completed' })).toBe(1);
    expect(value(after, 'm3u8dm_task_events_total', { event: 'task.started' })).toBe(1);
    expect(value(after, 'm3u8dm_webhook_deliveries_total', { result: 'delivered' })).toBe(2);
    expect(value(after, 'm3u8dm_webhook_deliveries_total', { result: 'rejected' })).toBe(0);
    expect(value(after, 'm3u8dm_webhook_outbox', { status: 'delivered' })).toBe(2);
  });
});
