// The run-on-finish hooks: a real script run with the task's facts in its environment,
// its exit code and output in the task's log; a missing program and a hang are
// recorded and hold up nothing; the argv is checked; an open service refuses hooks.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../src/service/config.js';
import { startAppHarness } from './helpers/app-harness.js';
import { ScriptedEngine } from './helpers/scripted-engine.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

const TOKEN = 'hook-test-token';

const SCRIPT = `#!/bin/sh
{
  echo "id=$M3U8DM_TASK_ID"
  echo "output=$M3U8DM_OUTPUT"
  echo "url=$M3U8DM_URL"
  echo "status=$M3U8DM_STATUS"
  echo "error=$M3U8DM_ERROR"
  echo "token=\${M3U8DM_TOKEN-unset}"
  echo "arg2=$2"
} > "$1"
echo "hook stdout line"
echo "hook stderr line" >&2
exit 3
`;

describe('on_complete / on_fail hooks', () => {
  let dir: string;
  let service: TestService | undefined;

  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  async function boot(config: Partial<ServiceConfig> = {}) {
    const engine = new ScriptedEngine({ segments: 2, segmentMs: 20, failWith: (job) => (job.filename.startsWith('bad') ? 'segment 2 answered HTTP 403' : undefined) });
    service = await withService({ token: TOKEN, maxActive: 2, ...config }, { prefix: 'm3u8dm-hook-', deps: { engine } });
    dir = service.dir;
    // Set as a hook through the settings API once the service runs.
    const script = path.join(dir, 'hook.sh');
    await writeFile(script, SCRIPT);
    await chmod(script, 0o755);
    return script;
  }
  const api = (route: string, body?: unknown) => fetch(`${service!.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const taskLog = (id: number) => readFile(path.join(dir, 'data', 'logs', `task-${id}.log`), 'utf8').catch(() => '');
  // The hook's facts once it has written them all (the file exists, empty, from the moment the script starts).
  const facts = async (file: string) => {
    const entries = Object.fromEntries((await readFile(file, 'utf8')).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    return 'arg2' in entries ? entries : null;
  };
  const create = async (filename: string) => ((await (await api('/api/v1/tasks', { url: `http://127.0.0.1:1/${filename}.m3u8`, filename })).json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;

  it('runs on_complete and on_fail with the task in the environment and records the exit code and output', async () => {
    const script = await boot();
    const done = path.join(dir, 'complete.txt');
    const failed = path.join(dir, 'fail.txt');
    const res = await api('/api/settings', { on_complete: [script, done, 'two words; $(not a shell)'], on_fail: [script, failed] });
    expect(res.status).toBe(200);
    expect(await (await api('/api/settings')).json()).toMatchObject({ on_complete: [script, done, 'two words; $(not a shell)'], on_fail: [script, failed] });

    const good = await create('good');
    const env = await waitFor(async () => (await facts(done).catch(() => null)), { timeoutMs: 15_000, what: 'the on_complete hook' });
    const task = (await (await api(`/api/v1/tasks/${good}`)).json()) as { data: { output_path: string; url: string } };
    expect(env).toEqual({ id: String(good), output: task.data.output_path, url: task.data.url, status: 'completed', error: '', token: 'unset', arg2: 'two words; $(not a shell)' });
    expect(task.data.output_path).toMatch(/good\.mp4$/);
    const log = await waitFor(async () => { const l = await taskLog(good); return l.includes('exited') ? l : null; }, { what: 'the hook line in the task log' });
    expect(log).toMatch(/on_complete \[.*hook\.sh.*\] exited with code 3 after \d+ ms/);
    expect(log).toContain('| hook stdout line');
    expect(log).toContain('| hook stderr line');

    const bad = await create('bad');
    const envFail = await waitFor(async () => (await facts(failed).catch(() => null)), { timeoutMs: 15_000, what: 'the on_fail hook' });
    expect(envFail).toMatchObject({ id: String(bad), status: 'failed', error: 'segment 2 answered HTTP 403', output: '' });
    expect(await waitFor(async () => { const l = await taskLog(bad); return l.includes('on_fail') ? l : null; }, { what: 'on_fail in the log' })).toMatch(/exited with code 3/);
  });

  it('records a missing program and kills a hang at its time limit, and neither holds up the queue', async () => {
    await boot({ hookTimeoutMs: 500, maxActive: 1 });
    const pidFile = path.join(dir, 'sleep.pid');
    await api('/api/settings', { on_complete: ['/bin/sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], on_fail: [path.join(dir, 'no-such-program')] });
    const first = await create('first');
    const second = await create('second');
    // The second task completes while the first one's hook hangs.
    await waitFor(async () => ((await (await api(`/api/v1/tasks/${second}`)).json()) as { data: { status: number } }).data.status === 2, { timeoutMs: 15_000, what: 'the second task to complete' });
    const log = await waitFor(async () => { const l = await taskLog(first); return l.includes('timed out') ? l : null; }, { timeoutMs: 15_000, what: 'the hang recorded' });
    expect(log).toMatch(/on_complete \["\/bin\/sh","-c",.*\] timed out and was killed after \d+ ms/);
    // The whole process group went: the shell's own child did not outlive the limit.
    const sleepPid = Number(await readFile(pidFile, 'utf8'));
    expect(sleepPid).toBeGreaterThan(0);
    await waitFor(() => { try { process.kill(sleepPid, 0); return false; } catch { return true; } }, { timeoutMs: 5000, what: 'the sleep to be gone' });

    const bad = await create('bad');
    const failLog = await waitFor(async () => { const l = await taskLog(bad); return l.includes('on_fail') ? l : null; }, { timeoutMs: 15_000, what: 'the missing program recorded' });
    expect(failLog).toMatch(/on_fail \[.*no-such-program"\] failed: the program .*no-such-program does not exist \(ENOENT\)/);
  });

  it('takes an argv array only, naming the field and what was expected', async () => {
    const h = await startAppHarness();
    try {
      for (const [body, detail] of [
        [{ on_complete: 'mv "$M3U8DM_OUTPUT" /media' }, 'on_complete must be a array'],
        [{ on_complete: ['mv', 'a', 'b'] }, 'on_complete.0 must start with the absolute path of a program'],
        [{ on_fail: ['/bin/echo', 42] }, 'on_fail.1 must be a string'],
      ] as const) {
        const res = await request(h.app).post('/api/settings').send(body);
        expect(res.status, detail).toBe(400);
        expect(res.text).toContain(`解析设置失败: ${detail}`);
      }
      expect((await request(h.app).post('/api/settings').send({ on_complete: ['/bin/true'] })).status).toBe(200);
      // An empty list turns the hook off.
      expect((await request(h.app).post('/api/settings').send({ on_complete: [] })).status).toBe(200);
      expect((await request(h.app).get('/api/settings')).body.on_complete).toEqual([]);
      // Never per task: a task's options do not take it.
      const res = await request(h.app).post('/api/v1/tasks').send({ url: 'http://127.0.0.1:1/a.m3u8', options: { on_complete: ['/bin/true'] } });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/unknown field\(s\): on_complete/);
    } finally {
      await h.close();
    }
  });

  it('refuses hooks when the service listens beyond loopback without a token', async () => {
    // Not listening: the harness only builds the app with this configuration.
    const h = await startAppHarness({ config: { host: '0.0.0.0' } });
    try {
      const res = await request(h.app).post('/api/settings').send({ on_complete: ['/bin/true'] });
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/^解析设置失败: on_complete cannot be set: hooks are disabled because the service listens on 0\.0\.0\.0 without a token; set M3U8DM_TOKEN/);
      expect((await request(h.app).post('/api/settings').send({ webhooks: [] })).status).toBe(200);
    } finally {
      await h.close();
    }
    const safe = await startAppHarness({ config: { host: '0.0.0.0', token: TOKEN } });
    try {
      expect((await request(safe.app).post('/api/settings').set('authorization', `Bearer ${TOKEN}`).send({ on_complete: ['/bin/true'] })).status).toBe(200);
    } finally {
      await safe.close();
    }
    const basic = await startAppHarness({ config: { host: '0.0.0.0', basicAuth: { user: 'me', pass: 'pw' } } });
    try {
      const res = await request(basic.app).post('/api/settings').set('authorization', `Basic ${Buffer.from('me:pw').toString('base64')}`).send({ on_complete: ['/bin/true'] });
      expect(res.status).toBe(200);
    } finally {
      await basic.close();
    }
  });
});
