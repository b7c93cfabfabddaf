import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../src/types.js';
import { startAppHarness, type AppHarness } from './helpers/app-harness.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from './helpers/wait-for.js';

const URL1 = 'http://127.0.0.1:9/shows/cats/index.m3u8';

describe('/api/v1', () => {
  let h: AppHarness;
  const api = () => request(h.app);
  const create = (body: unknown) => api().post('/api/v1/tasks').send(body as object);
  const expectError = (res: request.Response, status: number, code: number, text?: string) => {
    expect(res.status, res.text).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.data).toBeNull();
    if (text) expect(res.body.message).toContain(text);
  };
  const statusOf = async (id: number) => (await h.manager.get(id)).status;

  beforeEach(async () => {
    h = await startAppHarness({ engine: { segments: 3, segmentMs: 10 } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates one task or many, in the envelope, with names from the URL or numbered', async () => {
    const one = await create({ url: URL1 });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ code: 0, message: 'success', data: { task_ids: [1], created_count: 1 } });
    const many = await create({ urls: ['http://127.0.0.1:9/a.m3u8', 'http://127.0.0.1:9/b.m3u8'], filename: 'ep.mp4', source: 'cli', options: { format: 'mkv', variant: 720 } });
    expect(many.body.data).toEqual({ task_ids: [2, 3], created_count: 2 });
    const t1 = (await api().get('/api/v1/tasks/1')).body.data;
    expect(t1).toMatchObject({ id: 1, filename: 'cats.mp4', source: 'api', url: URL1 });
    const t3 = (await api().get('/api/v1/tasks/3')).body.data;
    expect(t3).toMatchObject({ filename: 'ep_2.mkv', source: 'cli', advanced_settings: { format: 'mkv', variant: 720 } });
    for (const key of ['status', 'status_text', 'phase', 'segments_total', 'segments_done', 'segments_skipped', 'downloaded_bytes', 'speed_bps', 'eta_s', 'output_path', 'source', 'start_time', 'started_at', 'status_bar', 'progress', 'header_map']) {
      expect(t3).toHaveProperty(key);
    }
    await waitFor(async () => (await statusOf(3)) === TaskStatus.completed);
    expect((await api().get('/api/v1/tasks/3')).body.data).toMatchObject({ status: 2, status_text: 'completed', phase: 'done', progress: 100 });
  });

  it('answers the seed error codes with messages naming the field', async () => {
    expectError(await create({}), 400, 40002, 'url or urls is required');
    expectError(await create({ filename: 'x' }), 400, 40002);
    expectError(await create({ url: 'ftp://127.0.0.1/a.m3u8' }), 400, 40003, 'url must be an http:// or https:// URL');
    expectError(await create({ urls: [URL1, 'file:///etc/passwd'] }), 400, 40003, 'urls.1');
    expectError(await create({ url: 5 }), 400, 40001, 'url must be a string');
    expectError(await create({ url: URL1, options: { download_threads: 0 } }), 400, 40001, 'options.download_threads must be an integer from 1 to 128, got `0` (number)');
    expectError(await create({ url: URL1, options: { variant: 'huge' } }), 400, 40001, 'options.variant');
    expectError(await create({ url: URL1, options: { treads: 4 } }), 400, 40001, 'unknown field(s): treads');
    expectError(await create({ url: URL1, start_time: '25:00' }), 400, 40001, 'start_time must be "HH:MM"');
    expectError(await create({ url: URL1, options: { save_location: '/etc' } }), 400, 40001, 'save_location must be inside');
    expectError(await create({ url: URL1, options: { skip_ts_info: '1-x' } }), 400, 40001, 'invalid skip_ts_info part "1-x"');
    expectError(await create({ url: URL1, options: { proxy_type: 'http', proxy_port: 3128 } }), 400, 40001, 'options.proxy_host is required when proxy_type is http');
    const bad = await api().post('/api/v1/tasks').set('content-type', 'application/json').send('{"url":');
    expectError(bad, 400, 40001, 'not valid JSON');
    expectError(await api().post('/api/v1/tasks').send({ url: URL1, filename: 'x'.repeat(2 << 20) }), 413, 41301);
    expectError(await api().get('/api/v1/tasks/77'), 404, 40401, 'task 77 not found');
    expectError(await api().get('/api/v1/tasks/abc'), 404, 40401);
    expectError(await api().get('/api/v1/nope'), 404, 40401);
    expect((await api().get('/api/v1/tasks')).body.data.total).toBe(0);
  });

  it('lists with status, q, source filters combined, paging edges and a stable order', async () => {
    h.engine.options.failWith = (job) => (job.url.includes('bad') ? 'HTTP 404' : undefined);
    await create({ urls: ['http://127.0.0.1:9/dogs/a.m3u8', 'http://127.0.0.1:9/bad/dogs.m3u8', 'http://127.0.0.1:9/cats/bad.m3u8'] });
    await create({ url: 'http://127.0.0.1:9/dogs/c.m3u8', source: 'ui' });
    await waitFor(async () => (await h.manager.list({ status: [TaskStatus.waiting, TaskStatus.downloading] })).total === 0);
    const list = async (q: string) => (await api().get(`/api/v1/tasks?${q}`)).body.data;

    const all = await list('');
    expect(all).toMatchObject({ total: 4, page: 1, page_size: 20 });
    expect(all.tasks.map((t: { id: number }) => t.id)).toEqual([4, 3, 2, 1]);
    expect((await list('order=asc')).tasks.map((t: { id: number }) => t.id)).toEqual([1, 2, 3, 4]);
    expect((await list('status=3')).tasks.map((t: { id: number }) => t.id)).toEqual([3, 2]);
    expect((await list('status=3&q=DOGS')).tasks.map((t: { id: number }) => t.id)).toEqual([2]);
    expect((await list('status=2,3&q=dogs&source=api')).tasks.map((t: { id: number }) => t.id)).toEqual([2, 1]);
    expect((await list('q=dogs&source=ui')).tasks.map((t: { id: number }) => t.id)).toEqual([4]);
    const page2 = await list('page=2&page_size=3');
    expect(page2).toMatchObject({ total: 4, page: 2, page_size: 3 });
    expect(page2.tasks.map((t: { id: number }) => t.id)).toEqual([1]);
    const beyond = await list('page=9&page_size=3');
    expect(beyond).toMatchObject({ total: 4, page: 9, tasks: [] });

    for (const q of ['page_size=0', 'page_size=101', 'page=0', 'page=x', 'status=7', 'source=web', 'order=up']) {
      expectError(await api().get(`/api/v1/tasks?${q}`), 400, 40001, q.split('=')[0]);
    }
    expect((await list('page_size=100')).page_size).toBe(100);
  });

  it('stops, resumes and retries as the state allows, 409 otherwise', async () => {
    await h.close();
    h = await startAppHarness({ engine: { segments: 300, segmentMs: 20 }, config: { maxActive: 1 } });
    const { body: { data: { task_ids: [id] } } } = await create({ url: URL1 });
    await waitFor(async () => (await statusOf(id)) === TaskStatus.downloading);
    const stopped = await api().post(`/api/v1/tasks/${id}/stop`);
    expect(stopped.body.data).toMatchObject({ id, status: 4, status_text: 'paused' });
    expectError(await api().post(`/api/v1/tasks/${id}/retry`), 409, 40901, 'cannot retry');
    expect((await api().post(`/api/v1/tasks/${id}/resume`)).body.data.status).toBe(0);
    await waitFor(async () => (await statusOf(id)) === TaskStatus.downloading);
    expectError(await api().post('/api/v1/tasks/999/stop'), 404, 40401);
    await h.manager.remove(id);

    h.engine.options.segments = 2;
    h.engine.options.failWith = () => 'origin said 500';
    const failed = (await create({ urls: ['http://127.0.0.1:9/1.m3u8', 'http://127.0.0.1:9/2.m3u8'] })).body.data.task_ids as number[];
    for (const f of failed) await waitFor(async () => (await statusOf(f)) === TaskStatus.failed);
    expect((await api().get(`/api/v1/tasks/${failed[0]}`)).body.data).toMatchObject({ status: 3, err_msg: 'origin said 500' });
    expectError(await api().post(`/api/v1/tasks/${failed[0]}/stop`), 409, 40901, 'cannot pause');
    h.engine.options.failWith = undefined;
    expect((await api().post(`/api/v1/tasks/${failed[0]}/retry`)).body.data.status).toBe(0);
    expect((await api().post('/api/v1/tasks/retry-all')).body.data).toEqual({ retried_count: 1 });
    for (const f of failed) await waitFor(async () => (await statusOf(f)) === TaskStatus.completed);
    expectError(await api().post(`/api/v1/tasks/${failed[0]}/stop`), 409, 40901);
    expectError(await api().post(`/api/v1/tasks/${failed[0]}/resume`), 409, 40901);
  });

  it('deletes one and many; unknown ids in a batch are reported, not fatal', async () => {
    await create({ urls: ['http://127.0.0.1:9/1.m3u8', 'http://127.0.0.1:9/2.m3u8', 'http://127.0.0.1:9/3.m3u8'] });
    expect((await api().delete('/api/v1/tasks/1')).body.data).toEqual({ deleted_count: 1 });
    expectError(await api().delete('/api/v1/tasks/1'), 404, 40401);
    const batch = await api().delete('/api/v1/tasks/batch').send({ task_ids: [2, '3', 1, 404] });
    expect(batch.body.data).toEqual({ deleted_count: 2, not_found: [1, 404] });
    expectError(await api().delete('/api/v1/tasks/batch').send({ task_ids: [] }), 400, 40001, 'task_ids must hold at least one id');
    expectError(await api().delete('/api/v1/tasks/batch').send({ task_ids: 'all' }), 400, 40001, 'task_ids');
    expectError(await api().delete('/api/v1/tasks/batch').send({}), 400, 40001, 'task_ids is required');
    expect((await api().get('/api/v1/tasks')).body.data.total).toBe(0);
  });

  it('reports stats, health and a plain OpenAPI document covering every route', async () => {
    h.engine.options.failWith = (job) => (job.url.endsWith('/2.m3u8') ? 'nope' : undefined);
    await create({ urls: ['http://127.0.0.1:9/1.m3u8', 'http://127.0.0.1:9/2.m3u8'] });
    await waitFor(async () => (await h.manager.list({ status: [TaskStatus.waiting, TaskStatus.downloading] })).total === 0);
    const stats = (await api().get('/api/v1/tasks/stats')).body.data;
    expect(stats).toEqual({ total: 2, pending: 0, running: 0, completed: 1, failed: 1, paused: 0, speed_bps: 0, speed_limit_bps: 0 });

    const health = (await api().get('/api/v1/health')).body.data;
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(health.ffmpeg.path).toBeTruthy();
    expect(health.ffmpeg.version).toMatch(/\d/);
    expect(typeof health.uptime_s).toBe('number');

    const doc = (await api().get('/api/v1/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.code).toBeUndefined();
    for (const path of ['/tasks', '/tasks/{id}', '/tasks/batch', '/tasks/{id}/stop', '/tasks/{id}/resume', '/tasks/{id}/retry', '/tasks/retry-all', '/tasks/stats', '/events', '/health', '/openapi.json']) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
    // Generated from the validating schema: its limits are the document's.
    expect(doc.components.schemas.CreateTasks.properties.options.properties.download_threads).toMatchObject({ minimum: 1, maximum: 128 });
    expect(doc.paths['/tasks'].get.parameters.find((p: { name: string }) => p.name === 'page_size').schema).toMatchObject({ maximum: 100, default: 20 });

    // The document's Task is what the API really answers (one schema types both), down to advanced_settings.
    const [id] = (await api().post('/api/v1/tasks').send({ url: 'http://127.0.0.1:9/doc.m3u8', options: { retries: 7, format: 'mkv' } })).body.data.task_ids;
    const task = (await api().get(`/api/v1/tasks/${id}`)).body.data;
    const described = doc.components.schemas.Task;
    expect(Object.keys(described.properties).sort()).toEqual(Object.keys(task).sort());
    expect(described.properties.status_text.enum).toEqual(['pending', 'running', 'completed', 'failed', 'paused']);
    const settings = described.properties.advanced_settings.properties;
    expect(Object.keys(settings)).toEqual(expect.arrayContaining(['variant', 'format', 'retries', 'max_speed', 'download_threads']));
    for (const key of Object.keys(settings)) expect(task.advanced_settings, key).toHaveProperty([key]);
    expect(task.advanced_settings).toMatchObject({ retries: 7, format: 'mkv', variant: 'best' });
    expect(settings.retries).toMatchObject({ minimum: 1, maximum: 20 });
  });

  it('requires the token on v1 and the event stream when set', async () => {
    await h.close();
    h = await startAppHarness({ config: { token: 'tkn-123' } });
    expectError(await api().get('/api/v1/tasks'), 401, 40101, 'token');
    expectError(await api().get('/api/v1/events'), 401, 40101);
    expectError(await api().get('/api/v1/tasks').set('authorization', 'Bearer nope'), 401, 40101);
    expect((await api().get('/api/v1/tasks').set('authorization', 'Bearer tkn-123')).body.code).toBe(0);
  });
});

describe('/api/v1 scheduled start', () => {
  it('waits for start_time by the service clock, and the list shows when it will start', async () => {
    const clock = new ManualClock(new Date(2026, 10, 20, 9, 30, 0).getTime());
    const h = await startAppHarness({ clock, engine: { segments: 2, segmentMs: 5 } });
    try {
      const res = await request(h.app).post('/api/v1/tasks').send({ url: URL1, start_time: '09:31' });
      const id = res.body.data.task_ids[0] as number;
      const task = (await request(h.app).get(`/api/v1/tasks/${id}`)).body.data;
      expect(task.start_time).toBe(new Date(2026, 10, 20, 9, 31, 0).toISOString());
      expect(task.status_bar).toContain('scheduled');
      await new Promise((r) => setTimeout(r, 150));
      clock.advance(59_000);
      await new Promise((r) => setTimeout(r, 150));
      expect(h.engine.started).toEqual([]);
      expect((await h.manager.get(id)).status).toBe(TaskStatus.waiting);
      clock.advance(1_000);
      await waitFor(async () => (await h.manager.get(id)).status === TaskStatus.completed);
      // A time already past today means tomorrow.
      const late = await request(h.app).post('/api/v1/tasks').send({ url: URL1, start_time: '09:00' });
      const lateTask = (await request(h.app).get(`/api/v1/tasks/${late.body.data.task_ids[0]}`)).body.data;
      expect(lateTask.start_time).toBe(new Date(2026, 10, 21, 9, 0, 0).toISOString());
    } finally {
      await h.close();
    }
  });
});
