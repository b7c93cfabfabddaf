import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import type { TaskPatch } from '../src/store/task-store.js';
import { TaskManager, TransitionError, TaskNotFoundError, type CreateTaskInput } from '../src/manager/task-manager.js';
import { setAsideWorkFolder, WORK_MARKER } from '../src/manager/work-folders.js';
import { TaskStatus, type TaskRecord } from '../src/types.js';
import { ScriptedEngine, type ScriptedEngineOptions } from './helpers/scripted-engine.js';
import { ManualClock } from './helpers/manual-clock.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import type { Clock } from '../src/manager/clock.js';

const input = (n: number, over: Partial<CreateTaskInput> = {}): CreateTaskInput => ({
  url: `http://127.0.0.1:9/v${n}.m3u8`, filename: `video ${n}`, headers: {}, advanced: false, options: {}, source: 'api', ...over,
});

describe('TaskManager', () => {
  let dir: TempDir;
  let store: NedbTaskStore;
  let manager: TaskManager;
  let engine: ScriptedEngine;

  async function boot(engineOptions: ScriptedEngineOptions, maxActive = 2, clock?: Clock) {
    store = new NedbTaskStore({ dataDir: path.join(dir.path, 'data') });
    await store.open();
    engine = new ScriptedEngine(engineOptions);
    manager = new TaskManager({ store, engine, dataDir: path.join(dir.path, 'data'), downloadDir: path.join(dir.path, 'downloads'), saveRoots: [], maxActive, clock, progressWriteMs: 50 });
    await manager.start();
  }
  const statusOf = async (id: number) => (await manager.get(id)).status;
  const until = (id: number, status: TaskStatus) => waitFor(async () => (await statusOf(id)) === status, { what: `task ${id} ${status}` });

  beforeEach(async () => {
    dir = await tempDir('m3u8dm-manager-');
  });
  afterEach(async () => {
    await manager.shutdown().catch(() => undefined);
    await dir.cleanup();
  });

  it('start removes the finished work folders a crash left set aside, and nothing else', async () => {
    const work = path.join(dir.path, 'data', 'work');
    const folder = async (name: string, marker?: string) => {
      await mkdir(path.join(work, name), { recursive: true });
      await writeFile(path.join(work, name, 'seg00000.ts'), 'x');
      if (marker) await writeFile(path.join(work, name, WORK_MARKER), marker);
      return path.join(work, name);
    };
    // One set aside by the engine itself, as it does at the end of a run.
    const aside = await setAsideWorkFolder(await folder('6', 'task 6\n'), 6);
    expect(aside).toMatch(/\.m3u8dm-done-6-[0-9a-f]{8}$/);
    expect(existsSync(path.join(work, '6'))).toBe(false);
    const left = await folder('.m3u8dm-done-7-0123abcd', 'task 7\n');
    const unmarked = await folder('.m3u8dm-done-8-89abcdef');
    const otherTask = await folder('.m3u8dm-done-9-deadbeef', 'task 10\n');
    const running = await folder('7', 'task 7\n');
    const users = await folder('.m3u8dm-done-notes');
    await boot({ segments: 1, segmentMs: 1 });
    await waitFor(() => !existsSync(left) && !existsSync(aside as string), { what: 'the set-aside folders removed' });
    for (const kept of [unmarked, otherTask, running, users]) expect(existsSync(kept)).toBe(true);
  });

  it('start also clears them from the temp_directory the settings name', async () => {
    await boot({ segments: 1, segmentMs: 1 });
    const base = path.join(dir.path, 'downloads', 'work-tmp');
    await manager.saveSettings({ temp_directory: base });
    await manager.shutdown();
    await store.close();
    const left = path.join(base, '.m3u8dm-done-3-0123abcd');
    await mkdir(left, { recursive: true });
    await writeFile(path.join(left, WORK_MARKER), 'task 3\n');
    const users = path.join(base, 'notes');
    await mkdir(users);
    await boot({ segments: 1, segmentMs: 1 });
    await waitFor(() => !existsSync(left), { what: 'the set-aside folder in temp_directory removed' });
    expect(existsSync(users)).toBe(true);
  });

  it('runs at most maxActive tasks at once, starting them in creation order, until all complete', async () => {
    await boot({ segments: 4, segmentMs: 25 }, 2);
    const tasks: TaskRecord[] = [];
    for (let i = 1; i <= 5; i++) tasks.push(await manager.create(input(i)));
    let seenDownloading = 0;
    await waitFor(async () => {
      const { tasks: all } = await manager.list();
      seenDownloading = Math.max(seenDownloading, all.filter((t) => t.status === TaskStatus.downloading).length);
      return all.every((t) => t.status === TaskStatus.completed);
    }, { intervalMs: 5, what: 'all completed' });
    expect(engine.maxRunning).toBe(2);
    expect(seenDownloading).toBeLessThanOrEqual(2);
    // Creation order is the order the store hands the tasks out (the claim writes started_at); two runs
    // claimed a moment apart may still reach the engine the other way round, after their folder checks.
    expect([...engine.started].sort((a, b) => a - b)).toEqual(tasks.map((t) => t.id));
    const startedAt = await Promise.all(tasks.map(async (t) => Date.parse((await manager.get(t.id)).started_at!)));
    expect(startedAt).toEqual([...startedAt].sort((a, b) => a - b));
    const done = await manager.get(tasks[0]!.id);
    expect(done).toMatchObject({ progress: 100, phase: 'done', size: 4000, filename: 'video 1.mp4' });
    expect(done.completed_at).not.toBeNull();
    expect((await stat(done.output_path)).size).toBe(4000);
  });

  it('creates a batch with numbered names and infers advanced; removes a batch listing unknown ids', async () => {
    await boot({ segments: 2, segmentMs: 10 }, 0);
    const ids = await manager.createMany({ urls: ['http://127.0.0.1:9/a.m3u8', 'http://127.0.0.1:9/b.m3u8'], filename: 'show.mp4', headers: {}, options: { download_threads: 3 }, source: 'api' });
    const made = await Promise.all(ids.map((id) => manager.get(id)));
    expect(made.map((t) => t.filename)).toEqual(['show_1.mp4', 'show_2.mp4']);
    expect(made.every((t) => t.advanced && t.options.download_threads === 3)).toBe(true);
    const [plain] = await manager.createMany({ urls: ['http://127.0.0.1:9/clip.m3u8'], headers: {}, options: { retries: 2 }, source: 'api' });
    expect(await manager.get(plain!)).toMatchObject({ advanced: false, filename: 'clip.mp4' });
    // All or nothing: a bad save_location fails the batch and leaves no task behind.
    const before = (await manager.list()).total;
    await expect(manager.createMany({ urls: ['http://127.0.0.1:9/c.m3u8', 'http://127.0.0.1:9/d.m3u8'], headers: {}, options: { save_location: '/etc' }, source: 'api' })).rejects.toThrow(/save_location/);
    expect((await manager.list()).total).toBe(before);
    expect(await manager.removeMany([ids[0]!, ids[0]!, 999_999])).toEqual({ deleted: 1, notFound: [999_999] });
    await expect(manager.get(ids[0]!)).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('pauses, resumes and deletes as the table says, at every state', async () => {
    await boot({ segments: 200, segmentMs: 20 }, 1);
    const running = await manager.create(input(1));
    const waiting = await manager.create(input(2));
    await until(running.id, TaskStatus.downloading);
    expect(await statusOf(waiting.id)).toBe(TaskStatus.waiting);

    // waiting → paused; paused again is a no-op
    expect((await manager.pause(waiting.id)).status).toBe(TaskStatus.paused);
    expect((await manager.pause(waiting.id)).status).toBe(TaskStatus.paused);
    // downloading → paused, and the engine really stopped
    const paused = await manager.pause(running.id);
    expect(paused.status).toBe(TaskStatus.paused);
    expect(engine.running).toBe(0);
    // resume on waiting/downloading is a no-op; paused → waiting → it runs again
    const resumed = await manager.resume(running.id);
    expect(resumed.status).toBe(TaskStatus.waiting);
    await until(running.id, TaskStatus.downloading);
    expect((await manager.resume(running.id)).status).toBe(TaskStatus.downloading);
    // delete a running task: stopped first, then gone
    await manager.remove(running.id);
    expect(engine.running).toBe(0);
    await expect(manager.get(running.id)).rejects.toBeInstanceOf(TaskNotFoundError);
    // delete a paused one
    await manager.remove(waiting.id);
    expect((await manager.list()).total).toBe(0);
    await expect(manager.pause(999)).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('refuses changes to a completed task, retries a failed one keeping its settings', async () => {
    let failFirst = true;
    await boot({ segments: 3, segmentMs: 5, failWith: () => (failFirst ? 'segment 2 answered HTTP 404' : undefined) }, 1);
    const t = await manager.create(input(1));
    await until(t.id, TaskStatus.failed);
    const failed = await manager.get(t.id);
    expect(failed.err_msg).toBe('segment 2 answered HTTP 404');
    await expect(manager.pause(t.id)).rejects.toBeInstanceOf(TransitionError);
    failFirst = false;
    expect((await manager.retry(t.id)).status).toBe(TaskStatus.waiting);
    await until(t.id, TaskStatus.completed);
    expect((await manager.get(t.id)).err_msg).toBe('');
    await expect(manager.pause(t.id)).rejects.toBeInstanceOf(TransitionError);
    await expect(manager.resume(t.id)).rejects.toBeInstanceOf(TransitionError);
    await expect(manager.retry(t.id)).rejects.toBeInstanceOf(TransitionError);
  });

  it('retries every failed task at once', async () => {
    let fail = true;
    await boot({ segments: 2, segmentMs: 5, failWith: () => (fail ? 'boom' : undefined) }, 3);
    const ids = [(await manager.create(input(1))).id, (await manager.create(input(2))).id];
    for (const id of ids) await until(id, TaskStatus.failed);
    fail = false;
    expect(await manager.retryAll()).toBe(2);
    for (const id of ids) await until(id, TaskStatus.completed);
    expect(await manager.retryAll()).toBe(0);
  });

  it('does not start a scheduled task before its time', async () => {
    const clock = new ManualClock();
    await boot({ segments: 2, segmentMs: 5 }, 2, clock);
    const at = new Date(clock.now() + 60_000);
    const t = await manager.create(input(1, { startAt: at }));
    expect(t.start_time).toBe(at.toISOString());
    await new Promise((r) => setTimeout(r, 200));
    expect(await statusOf(t.id)).toBe(TaskStatus.waiting);
    expect(engine.started).toEqual([]);
    clock.advance(59_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.started).toEqual([]);
    clock.advance(1_000);
    await until(t.id, TaskStatus.completed);
  });

  it('tries a failed scheduling pass again by itself, backing off, so a waiting task still starts', async () => {
    const clock = new ManualClock();
    await boot({ segments: 1, segmentMs: 1 }, 2, clock);
    const errors: unknown[] = [];
    manager.on('error', (err) => errors.push(err));
    // The store refuses the next two claims (as a database that is briefly away does).
    let refusals = 2;
    const claim = store.claim.bind(store);
    store.claim = (...args) => (refusals-- > 0 ? Promise.reject(new Error('store away')) : claim(...args));
    const t = await manager.create(input(1));
    await waitFor(() => errors.length === 1, { what: 'the first failed pass' });
    clock.advance(499);
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toHaveLength(1);
    clock.advance(1); // 500 ms after the first failure
    // Well inside the heartbeat (a third of the lease), which would also schedule a pass.
    await waitFor(() => errors.length === 2, { timeoutMs: 2_000, what: 'the second failed pass' });
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.started).toEqual([]);
    clock.advance(1); // twice as long after the second
    await waitFor(async () => (await statusOf(t.id)) === TaskStatus.completed, { timeoutMs: 2_000, what: 'completed' });
    expect(errors).toHaveLength(2);
    expect(engine.started).toEqual([t.id]);
  });

  /** A task that was running when the service stopped, its record then patched as a crash would leave it. */
  async function leftRunning(crashed: TaskPatch): Promise<TaskRecord> {
    await boot({ segments: 100, segmentMs: 20 }, 2);
    const t = await manager.create(input(1));
    await until(t.id, TaskStatus.downloading);
    await manager.shutdown();
    store = new NedbTaskStore({ dataDir: path.join(dir.path, 'data') });
    await store.open();
    expect((await store.get(t.id))?.status).toBe(TaskStatus.waiting);
    await store.patch(t.id, crashed);
    await store.close();
    return t;
  }

  it('puts running tasks back to waiting on shutdown and after a crash, and resumes them on start', async () => {
    // A crash leaves 下载中 in the file: simulate it, then start a manager on it.
    const t = await leftRunning({ status: TaskStatus.downloading });
    await boot({ segments: 2, segmentMs: 5 }, 2);
    await until(t.id, TaskStatus.completed);
  });

  it('carries out a delete pending when the service went down, without starting the task again', async () => {
    // Still running, and the delete asked of it not yet done.
    const t = await leftRunning({ status: TaskStatus.downloading, desired: 'delete' });
    await boot({ segments: 2, segmentMs: 5 }, 1);
    expect(await store.get(t.id)).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.started).toEqual([]);
  });

  it('keeps settings out of a task unless advanced, and the work folder path stable per task', async () => {
    await boot({ segments: 1, segmentMs: 5 }, 1);
    await manager.saveSettings({ download_threads: 3, proxy_type: 'http', proxy_host: '127.0.0.1', proxy_port: 3128, proxy_password: 'secret' });
    const plain = await manager.create(input(1, { options: { download_threads: 64, format: 'mkv' } }));
    expect(plain.options.download_threads).toBe(3);
    expect(plain.options.format).toBe('mkv');
    expect(plain.filename).toBe('video 1.mkv');
    expect(plain.options.proxy_password).toBe('secret');
    const adv = await manager.create(input(2, { advanced: true, options: { download_threads: 64 } }));
    expect(adv.options).toMatchObject({ download_threads: 64, proxy_host: '127.0.0.1', proxy_password: 'secret' });
    expect(manager.workDirOf(adv)).toBe(path.join(dir.path, 'data', 'work', String(adv.id)));
  });
});
