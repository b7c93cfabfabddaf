import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../src/types.js';
import { startAppHarness, type AppHarness } from './helpers/app-harness.js';
import { waitFor } from './helpers/wait-for.js';

const PASSWORD = 'pw-never-shown-7731';
const base = { url: 'http://127.0.0.1:9/live/index.m3u8', filename: 'movie' };

describe('compat API /api/tasks and /api/settings', () => {
  let h: AppHarness;
  const bodies: string[] = [];
  const api = () => {
    const agent = request(h.app);
    return agent;
  };
  async function track<T extends { text: string }>(p: Promise<T>): Promise<T> {
    const res = await p;
    bodies.push(res.text);
    return res;
  }
  const create = (body: unknown) => track(api().post('/api/tasks').send(body as object));
  const statusOf = async (id: string) => (await h.manager.get(Number(id))).status;

  beforeEach(async () => {
    h = await startAppHarness({ engine: { segments: 3, segmentMs: 10 } });
  });
  afterEach(async () => {
    await h.close();
    for (const body of bodies) expect(body).not.toContain(PASSWORD);
    bodies.length = 0;
  });

  it('creates a task and lists it with every seed field', async () => {
    const res = await create({ ...base, use_http_headers: true, http_headers: { Referer: ['http://127.0.0.1/'], 'X-One': 'plain' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success', id: '1' });
    await waitFor(async () => (await statusOf('1')) === TaskStatus.completed);
    const list = await track(api().get('/api/tasks'));
    expect(list.status).toBe(200);
    const [task] = list.body;
    expect(task).toMatchObject({
      id: '1', url: base.url, filename: 'movie.mp4', size: 3000, progress: 100, status: '已完成', err_msg: '',
      header_map: { Referer: ['http://127.0.0.1/'], 'X-One': ['plain'] },
    });
    for (const key of ['status_bar', 'created_at', 'updated_at', 'completed_at', 'advanced_settings']) expect(task).toHaveProperty(key);
    expect(new Date(task.completed_at).toISOString()).toBe(task.completed_at);
    expect(task.advanced_settings).toMatchObject({ download_threads: 8, proxy_password: '' });
  });

  it('ignores headers without use_http_headers and advanced fields without advanced', async () => {
    await track(api().post('/api/settings').send({ download_threads: 4 }));
    await create({ ...base, http_headers: { A: ['b'] }, download_threads: 99, skip_ts_info: '1' });
    await create({ ...base, advanced: true, download_threads: 99, skip_ts_info: '1-2,http.code=403', proxy_type: 'socks5', proxy_host: '127.0.0.1', proxy_port: 1080, proxy_password: PASSWORD });
    const [plain, adv] = (await track(api().get('/api/tasks'))).body;
    expect(plain.header_map).toEqual({});
    expect(plain.advanced_settings).toMatchObject({ download_threads: 4, skip_ts_info: '' });
    expect(adv.advanced_settings).toMatchObject({ download_threads: 99, skip_ts_info: '1-2,http.code=403', proxy_type: 'socks5', proxy_password: '' });
    expect((await h.manager.get(Number(adv.id))).options.proxy_password).toBe(PASSWORD);
  });

  it('answers 400 解析请求失败 naming the field for every kind of bad body', async () => {
    const cases: [unknown, string][] = [
      ['{not json', 'not valid JSON'],
      [{ filename: 'x' }, 'url is required'],
      [{ url: base.url }, 'filename is required'],
      [{ ...base, url: 'ftp://127.0.0.1/a.m3u8' }, 'url must be an http:// or https:// URL'],
      [{ ...base, url: 42 }, 'url must be a string, got `42` (number)'],
      [{ ...base, advanced: true, download_threads: 0 }, 'download_threads must be an integer from 1 to 128, got `0` (number)'],
      [{ ...base, advanced: true, download_threads: '8' }, 'download_threads must be a number'],
      [{ ...base, advanced: 'yes' }, 'advanced must be a boolean'],
      [{ ...base, advanced: true, skip_ts_info: '1,abc' }, 'invalid skip_ts_info part "abc"'],
      [{ ...base, advanced: true, proxy_type: 'ftp' }, 'proxy_type must be one of'],
      [{ ...base, advanced: true, proxy_type: 'socks5', proxy_port: 1080 }, 'proxy_host is required when proxy_type is socks5'],
      [{ ...base, advanced: true, proxy_type: 'http', proxy_host: '127.0.0.1' }, 'proxy_port must be an integer from 1 to 65535 when proxy_type is http'],
      [{ ...base, use_http_headers: true, http_headers: { 'Bad Name': ['x'] } }, 'not a valid HTTP header name'],
      [{ ...base, use_http_headers: true, http_headers: { A: ['x\r\nInjected: 1'] } }, 'line break'],
      [[1, 2], 'request body must be a object'],
    ];
    for (const [body, detail] of cases) {
      const req = api().post('/api/tasks').set('content-type', 'application/json');
      const res = await track(req.send(typeof body === 'string' ? body : JSON.stringify(body)));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text.startsWith('解析请求失败'), res.text).toBe(true);
      expect(res.text).toContain(detail);
    }
    expect((await track(api().get('/api/tasks'))).body).toEqual([]);
  });

  it('accepts a JSON body sent without a JSON content type, as the original does', async () => {
    const res = await track(api().post('/api/tasks').set('content-type', 'application/x-www-form-urlencoded').send(JSON.stringify(base)));
    expect(res.status).toBe(200);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await track(api().post('/api/tasks').send({ ...base, filename: 'x'.repeat(2 << 20) }));
    expect(res.status).toBe(413);
    expect(res.text).toContain('请求体过大');
  });

  it('sanitises file names and keeps save_location inside the allowed roots', async () => {
    await create({ ...base, filename: '../../etc/passwd' });
    await create({ ...base, filename: '..\\..\\win.ini' });
    await create({ ...base, filename: 'clip.MP4' });
    const names = (await track(api().get('/api/tasks'))).body.map((t: { filename: string }) => t.filename);
    for (const n of names) {
      expect(n).not.toMatch(/[/\\]/);
      expect(n).not.toContain('..');
    }
    expect(names[2]).toBe('clip.MP4');

    const outside = path.join(h.dir, 'outside');
    await mkdir(outside);
    await symlink(outside, path.join(h.config.downloadDir, 'link-out'));
    for (const loc of ['../../etc', '/etc', outside, 'link-out', 'link-out/deeper']) {
      const res = await create({ ...base, advanced: true, save_location: loc });
      expect(res.status, loc).toBe(400);
      expect(res.text).toContain('save_location must be inside');
    }
    const ok = await create({ ...base, advanced: true, save_location: 'sub/dir' });
    expect(ok.status).toBe(200);
    await waitFor(async () => (await statusOf(ok.body.id)) === TaskStatus.completed);
    expect(existsSync(path.join(h.config.downloadDir, 'sub', 'dir', 'movie.mp4'))).toBe(true);
    expect(existsSync(path.join(outside, 'movie.mp4'))).toBe(false);
  });

  it('PUT pauses and resumes, with the errors of the table', async () => {
    await h.close();
    h = await startAppHarness({ engine: { segments: 300, segmentMs: 20 }, config: { maxActive: 1 } });
    const { body: { id } } = await create(base);
    const { body: { id: second } } = await create(base);
    await waitFor(async () => (await statusOf(id)) === TaskStatus.downloading);
    const put = (q: string, body: unknown) => track(api().put(`/api/tasks${q}`).send(body as object));

    expect((await put('', { status: '已暂停' })).text).toBe('任务ID不能为空\n');
    expect((await put('?id=', { status: '已暂停' })).status).toBe(400);
    expect((await put('?id=999', { status: '已暂停' })).status).toBe(404);
    expect((await put('?id=abc', { status: '已暂停' })).text).toBe('任务不存在\n');
    const bad = await put(`?id=${id}`, { status: '已完成' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('status must be one of "等待中", "已暂停"');
    expect((await track(api().put(`/api/tasks?id=${id}`).set('content-type', 'application/json').send('{'))).status).toBe(400);

    expect((await put(`?id=${id}`, { status: '已暂停' })).body).toEqual({ status: 'success' });
    expect(await statusOf(id)).toBe(TaskStatus.paused);
    expect((await put(`?id=${id}`, { status: '已暂停' })).status).toBe(200);
    expect((await put(`?id=${second}`, { status: '已暂停' })).status).toBe(200);
    expect((await put(`?id=${id}`, { status: '等待中' })).status).toBe(200);
    await waitFor(async () => (await statusOf(id)) === TaskStatus.downloading);
    expect((await put(`?id=${id}`, { status: '等待中' })).status).toBe(200);
    expect(await statusOf(id)).toBe(TaskStatus.downloading);
  });

  it('PUT on a completed task is a 409 更新任务失败', async () => {
    const { body: { id } } = await create(base);
    await waitFor(async () => (await statusOf(id)) === TaskStatus.completed);
    for (const status of ['已暂停', '等待中']) {
      const res = await track(api().put(`/api/tasks?id=${id}`).send({ status }));
      expect(res.status).toBe(409);
      expect(res.text.startsWith('更新任务失败')).toBe(true);
    }
  });

  it('DELETE stops a running task, removes its work folder, keeps finished output', async () => {
    const { body: { id: done } } = await create({ ...base, filename: 'done' });
    await waitFor(async () => (await statusOf(done)) === TaskStatus.completed);
    const output = (await h.manager.get(Number(done))).output_path;

    await h.close();
    h = await startAppHarness({ engine: { segments: 300, segmentMs: 20 } });
    const { body: { id } } = await create(base);
    await waitFor(async () => (await statusOf(id)) === TaskStatus.downloading);
    // The service makes (and marks) the work folder itself; a segment is then added to it.
    await waitFor(async () => (await h.manager.get(Number(id))).work_dir !== undefined);
    const workDir = h.manager.workDirOf(await h.manager.get(Number(id)));
    expect(existsSync(workDir)).toBe(true);
    await writeFile(path.join(workDir, 'seg00001.ts'), 'x');

    expect((await track(api().delete('/api/tasks'))).text).toBe('任务ID不能为空\n');
    expect((await track(api().delete('/api/tasks?id=424242'))).status).toBe(404);
    const res = await track(api().delete(`/api/tasks?id=${id}`));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'success' });
    expect(h.engine.running).toBe(0);
    expect(existsSync(workDir)).toBe(false);
    expect((await track(api().get('/api/tasks'))).body).toEqual([]);
    expect((await track(api().delete(`/api/tasks?id=${id}`))).status).toBe(404);
    expect(output).toContain('done.mp4');
  });

  it('answers 405 方法不支持 to other methods', async () => {
    for (const [method, url] of [['patch', '/api/tasks'], ['put', '/api/settings'], ['delete', '/api/settings']] as const) {
      const res = await track(api()[method](url));
      expect(res.status).toBe(405);
      expect(res.text).toBe('方法不支持\n');
    }
  });

  it('reads and saves settings, with 解析设置失败 on bad input and a write-only password', async () => {
    const initial = await track(api().get('/api/settings'));
    expect(Object.keys(initial.body).sort()).toEqual([
      'allow_insecure_https', 'debug_log', 'download_threads', 'keep_ts_files', 'log_skipped_ts', 'max_connections_per_host', 'max_download_speed',
      'no_merge_ts', 'on_complete', 'on_fail', 'proxy_host', 'proxy_password', 'proxy_port', 'proxy_type', 'proxy_username', 'save_location', 'skip_ts_info', 'temp_directory',
      'use_server_file_time', 'webhooks',
    ]);
    expect((await track(api().post('/api/settings').send({ proxy_type: 'http', proxy_host: '127.0.0.1', proxy_port: 8888, proxy_password: PASSWORD, download_threads: 12 }))).body).toEqual({ status: 'success' });
    const saved = (await track(api().get('/api/settings'))).body;
    expect(saved).toMatchObject({ proxy_type: 'http', proxy_port: 8888, download_threads: 12, proxy_password: '' });
    // Sending back what GET showed (blank password) keeps the stored one.
    await track(api().post('/api/settings').send(saved));
    expect((await h.manager.getSettings()).proxy_password).toBe(PASSWORD);

    for (const [body, detail] of [
      [{ download_threads: 500 }, 'download_threads must be an integer from 1 to 128'],
      [{ skip_ts_info: 'time:99' }, 'invalid skip_ts_info part'],
      [{ save_location: '/etc' }, 'save_location must be inside'],
      [{ temp_directory: '../../../tmp' }, 'temp_directory must be inside'],
      [{ keep_ts_files: 'true' }, 'keep_ts_files must be a boolean'],
      [{ proxy_type: 'socks5', proxy_host: '' }, 'proxy_host is required'],
    ] as const) {
      const res = await track(api().post('/api/settings').send(body));
      expect(res.status, detail).toBe(400);
      expect(res.text.startsWith('解析设置失败')).toBe(true);
      expect(res.text).toContain(detail);
    }
    expect((await track(api().post('/api/settings').set('content-type', 'application/json').send('nope'))).text).toContain('解析设置失败');
  });

  it('requires the bearer token on /api when one is set', async () => {
    await h.close();
    h = await startAppHarness({ config: { token: 's3cret-token' } });
    const no = await track(api().get('/api/tasks'));
    expect(no.status).toBe(401);
    expect(no.headers['www-authenticate']).toMatch(/^Bearer realm="m3u8dm", Basic /);
    expect((await track(api().get('/api/tasks').set('authorization', 'Bearer wrong'))).status).toBe(401);
    expect((await track(api().get('/api/tasks').set('authorization', 'Bearer s3cret-token'))).status).toBe(200);
    // `?token=` is for the event stream and the WebSocket only (issue 11): never on the compat routes.
    expect((await track(api().get('/api/tasks?token=s3cret-token'))).status).toBe(401);
    expect((await track(api().post('/api/settings').send({}))).status).toBe(401);
  });
});
