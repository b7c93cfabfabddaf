// The task manager as one node of a shared queue (issue 15), in-process: tasks start by claiming
// leases, a lost lease stops a run without another write, commands and progress cross nodes.
// On nedb the nodes are managers on one NedbTaskStore (nedb allows one process per data dir, so
// that is as far as nedb goes); on PostgreSQL each node has its own PgTaskStore on one database.
// Another node's writes are also made through a store directly (`store`), as a peer makes them.
import http from 'node:http';
import { mkdir, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { serviceMounts } from '../src/api/mounts.js';
import { configFromEnv } from '../src/service/config.js';
import { createLogger } from '../src/service/log.js';
import { ffmpegForHealth } from '../src/service/server.js';
import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import { PgTaskStore } from '../src/store/pg-task-store.js';
import type { TaskStore } from '../src/store/task-store.js';
import { TaskManager, type CreateTaskInput, type TaskEvent } from '../src/manager/task-manager.js';
import { openWorkFolder } from '../src/manager/work-folders.js';
import { statusBar } from '../src/manager/progress-text.js';
import { TaskStatus, type TaskRecord } from '../src/types.js';
import { ScriptedEngine, type ScriptedEngineOptions } from './helpers/scripted-engine.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';

const input = (n: number): CreateTaskInput => ({
  url: `http://127.0.0.1:9/v${n}.m3u8`, filename: `video ${n}`, headers: {}, advanced: false, options: {}, source: 'api',
});

/** One database the nodes share: `store` is the test's own client, `storeFor` gives a node its client. */
interface Shared {
  store: TaskStore;
  storeFor(): Promise<TaskStore>;
  close(): Promise<void>;
}

const backends: { name: string; open: (dir: string) => Promise<Shared>; before?: () => Promise<void>; after?: () => Promise<void> }[] = [];
backends.push({
  name: 'nedb',
  async open(dir) {
    const store = new NedbTaskStore({ dataDir: path.join(dir, 'data') });
    await store.open();
    return { store, storeFor: () => Promise.resolve(store), close: () => store.close() };
  },
});
let cluster: PgCluster | undefined;
let dbCount = 0;
backends.push({
  name: 'PostgreSQL',
  before: async () => { cluster = await startPgCluster(); },
  after: async () => { await cluster?.stop(); },
  async open() {
    const url = await cluster!.createDatabase(`nodes_${++dbCount}`);
    const openOne = async () => {
      const s = new PgTaskStore({ url, poolSize: 4 });
      await s.open();
      return s;
    };
    const store = await openOne();
    return { store, storeFor: openOne, close: () => store.close() };
  },
});

for (const backend of backends) describe(`task manager nodes on one store (${backend.name})`, () => {
  let dir: TempDir;
  let shared: Shared;
  let store: TaskStore;
  let nodes: { manager: TaskManager; engine: ScriptedEngine; errors: unknown[] }[] = [];
  if (backend.before) beforeAll(backend.before, 180_000);
  if (backend.after) afterAll(backend.after, 60_000);

  async function node(
    nodeId: string, maxActive: number, engineOptions: ScriptedEngineOptions = { segments: 200, segmentMs: 20 }, leaseMs = 30_000,
    wrap: (s: TaskStore) => TaskStore = (s) => s,
  ) {
    const engine = new ScriptedEngine(engineOptions);
    const manager = new TaskManager({
      store: wrap(await shared.storeFor()), engine, dataDir: path.join(dir.path, 'data'), downloadDir: path.join(dir.path, 'downloads'), saveRoots: [], maxActive, nodeId, leaseMs, progressWriteMs: 50,
    });
    const errors: unknown[] = [];
    manager.on('error', (err) => errors.push(err));
    await manager.start();
    nodes.push({ manager, engine, errors });
    return { manager, engine, errors };
  }
  const record = async (id: number) => (await store.get(id))!;

  beforeEach(async ({ onTestFailed }) => {
    // A failure that is a timeout says little by itself: show what the nodes reported.
    // (It runs after afterEach, which empties `nodes`.)
    const seen = nodes;
    onTestFailed(() => {
      for (const [i, n] of seen.entries()) for (const err of n.errors) console.error(`node ${i}:`, err);
    });
    dir = await tempDir('m3u8dm-nodes-');
    await mkdir(path.join(dir.path, 'downloads'));
    shared = await backend.open(dir.path);
    store = shared.store;
  });
  afterEach(async () => {
    // Workers first: their runs release their leases while the store is still open.
    for (const n of [...nodes].reverse()) await n.manager.shutdown().catch(() => undefined);
    nodes = [];
    await shared.close().catch(() => undefined);
    await dir.cleanup();
  });

  it('starts tasks by claim on a free node only, at most its maxActive, and an API-only node runs none', async () => {
    const api = await node('api', 0);
    const worker = await node('worker', 2, { segments: 4, segmentMs: 40 });
    const startedAt = Date.now();
    const tasks: TaskRecord[] = [];
    for (let i = 1; i <= 5; i++) tasks.push(await api.manager.create(input(i)));
    // Created on the API-only node, started on the worker: promptly (the change feed, not a poll).
    const first = await waitFor(async () => {
      const t = await record(tasks[0]!.id);
      return t.status === TaskStatus.downloading ? t : undefined;
    }, { intervalMs: 5, what: 'the first task started on the worker' });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(first).toMatchObject({ node: 'worker', lease_epoch: 1 });
    expect(first.lease_expires_at).toBeGreaterThan(Date.now());
    let most = 0;
    await waitFor(async () => {
      const { tasks: all } = await store.list();
      const running = all.filter((t) => t.status === TaskStatus.downloading);
      most = Math.max(most, running.length);
      for (const t of running) expect(t.node).toBe('worker');
      return all.every((t) => t.status === TaskStatus.completed);
    }, { intervalMs: 5, what: 'all completed' });
    expect(most).toBeLessThanOrEqual(2);
    expect(worker.engine.maxRunning).toBe(2);
    // Each once (two claimed in one pass may reach the engine in either order).
    expect([...worker.engine.started].sort((x, y) => x - y)).toEqual(tasks.map((t) => t.id));
    expect(api.engine.started).toEqual([]);
    // Finished: the lease is given back.
    for (const t of tasks) expect(await record(t.id)).toMatchObject({ status: TaskStatus.completed, node: null, lease_expires_at: null, desired: null });
  });

  it('stops a run whose lease another node took, and writes nothing more about it', async () => {
    const a = await node('a', 1);
    const task = await a.manager.create(input(1));
    const running = await waitFor(async () => {
      const t = await record(task.id);
      return t.status === TaskStatus.downloading && t.segments_done >= 2 ? t : undefined;
    }, { what: 'progress written' });
    expect(running.node).toBe('a');
    // Another node reclaimed and claimed it (as after a stall longer than the lease).
    const taken = await store.patch(task.id, { node: 'b', lease_epoch: running.lease_epoch! + 1, lease_expires_at: Date.now() + 60_000 });
    await waitFor(() => a.engine.running === 0, { timeoutMs: 2_000, what: 'the run stopped' });
    expect(a.engine.jobs[0]!.signal.aborted).toBe(true);
    // Longer than several progress write intervals: not one write (no progress, no final status).
    await new Promise((r) => setTimeout(r, 400));
    expect(await record(task.id)).toEqual(taken);
    // The node shows the task as the store has it, and does not start it again.
    expect(await a.manager.get(task.id)).toMatchObject({ status: TaskStatus.downloading, node: 'b' });
    expect(a.engine.started).toEqual([task.id]);
  });

  it('carries out a pause another node left on the record, and a resume from any node runs it again', async () => {
    const api = await node('api', 0);
    const worker = await node('worker', 1);
    const task = await api.manager.create(input(1));
    await waitFor(async () => (await record(task.id)).segments_done >= 1, { what: 'running on the worker' });
    // As a PostgreSQL peer does: the command is written on the record.
    const asked = Date.now();
    await store.patch(task.id, { desired: 'pause' });
    const paused = await waitFor(async () => {
      const t = await record(task.id);
      return t.status === TaskStatus.paused ? t : undefined;
    }, { intervalMs: 5, what: 'paused by its node' });
    expect(Date.now() - asked).toBeLessThan(1_000);
    expect(paused).toMatchObject({ node: null, desired: null, phase: 'downloading' });
    expect(worker.engine.running).toBe(0);
    // Resumed on the API-only node: the worker takes it under a new lease.
    await api.manager.resume(task.id);
    const again = await waitFor(async () => {
      const t = await record(task.id);
      return t.status === TaskStatus.downloading ? t : undefined;
    }, { what: 'running again' });
    expect(again).toMatchObject({ node: 'worker', lease_epoch: 2 });
    await waitFor(() => worker.engine.started.length === 2, { what: 'the second run' });
    expect(worker.engine.started).toEqual([task.id, task.id]);
  });

  it('pauses and deletes a task another node runs through that node, answering as a local command does', async () => {
    const api = await node('api', 0);
    const worker = await node('worker', 2);
    const one = await api.manager.create(input(1));
    const two = await api.manager.create(input(2));
    await waitFor(async () => (await record(one.id)).segments_done >= 1 && (await record(two.id)).segments_done >= 1, { what: 'both running' });
    const t0 = Date.now();
    const paused = await api.manager.pause(one.id);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(paused).toMatchObject({ id: one.id, status: TaskStatus.paused, node: null });
    expect(worker.engine.jobs.find((j) => j.taskId === one.id)!.signal.aborted).toBe(true);
    // Idempotent afterwards, as the table says.
    expect((await api.manager.pause(one.id)).status).toBe(TaskStatus.paused);

    const workDir = (await record(two.id)).work_dir!;
    const removed = await api.manager.remove(two.id);
    expect(removed.id).toBe(two.id);
    expect(await store.get(two.id)).toBeNull();
    expect(worker.engine.running).toBe(0);
    // The node that ran it cleans up as a local delete does (just after the record goes).
    await waitFor(() => stat(workDir).then(() => false, () => true), { timeoutMs: 2_000, what: 'work folder removed' });
  });

  it('shows progress of a task another node runs (events and SSE), lists live nodes on /health, leaves their tasks alone at start', async () => {
    const api = await node('api', 0);
    const worker = await node('worker', 1, { segments: 60, segmentMs: 30 });
    const events: TaskEvent[] = [];
    api.manager.on('task', (e) => events.push(e));
    const config = configFromEnv({}, { dataDir: path.join(dir.path, 'data'), downloadDir: path.join(dir.path, 'downloads') });
    const app = createApp({ config, logger: createLogger('silent'), mounts: serviceMounts({ manager: api.manager, config, ffmpeg: ffmpegForHealth, events: { throttleMs: 50, heartbeatMs: 1_000 } }) });
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const sse = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/events`, { signal: AbortSignal.timeout(10_000) });
      const task = await api.manager.create(input(1));
      // The SSE stream of the API-only node carries the worker's progress.
      const res = await sse;
      const reader = res.body!.getReader();
      let text = '';
      let seen: { node: string | null; segments_done: number; status_text: string } | undefined;
      while (!seen) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
        for (const block of text.split('\n\n')) {
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!data || !block.includes('event: task.updated')) continue;
          const message = JSON.parse(data) as { task: { id: number; node: string | null; segments_done: number; status_text: string } };
          if (message.task.id === task.id && message.task.segments_done >= 2) seen = message.task;
        }
      }
      await reader.cancel();
      expect(seen).toMatchObject({ node: 'worker', status_text: 'running' });
      expect(seen!.segments_done).toBeLessThan(60);
      // The speed in the stats is the cluster's: the worker's task counts on the API-only node too, once.
      expect((await worker.manager.stats()).speed_bps).toBe(1000);
      expect((await api.manager.stats()).speed_bps).toBe(1000);
      // Marked as another node's, so this node's webhooks and hooks stay quiet about it.
      const remote = events.filter((e) => e.remote);
      expect(remote.some((e) => e.type === 'updated' && e.task.segments_done >= 2)).toBe(true);
      expect(events.filter((e) => e.type === 'created')).toHaveLength(1);

      const health = (await request(app).get('/api/v1/health')).body.data as { node: string; nodes: { id: string; max_active: number; running: number; seen_at: string }[] };
      expect(health.node).toBe('api');
      const byId = Object.fromEntries(health.nodes.map((n) => [n.id, n]));
      expect(byId.api).toMatchObject({ max_active: 0, running: 0 });
      expect(byId.worker).toMatchObject({ max_active: 1 });
      expect(Date.now() - Date.parse(byId.worker!.seen_at)).toBeLessThan(30_000);
      const listed = (await request(app).get(`/api/v1/tasks/${task.id}`)).body.data as { node: string | null };
      expect(listed.node).toBe('worker');

      // A node starting now finds the task held by a live node: it is not put back to the queue.
      const late = await node('late', 1);
      expect(await record(task.id)).toMatchObject({ status: TaskStatus.downloading, node: 'worker', lease_epoch: 1 });
      expect(late.engine.started).toEqual([]);
      expect(worker.engine.running).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('takes over the task of a node that died once its lease expires; the dead node cannot write any more', async () => {
    const api = await node('api', 0);
    const task = await api.manager.create(input(1));
    // A node that claimed it, was alive a moment ago, and then stopped renewing.
    await store.touchNode({ id: 'dead', seen_at: Date.now(), max_active: 1, running: 1 });
    const [claimed] = await store.claim('dead', { now: Date.now(), leaseMs: 300, max: 1, patch: { status: TaskStatus.downloading, phase: 'downloading' } });
    expect(claimed).toMatchObject({ id: task.id, node: 'dead', lease_epoch: 1 });
    // Its own lease long enough not to lapse on a loaded machine before its 30 ms run ends.
    const worker = await node('worker', 1, { segments: 3, segmentMs: 10 }, 2_000);
    // At start the lease is still live: left alone.
    expect(worker.engine.started).toEqual([]);
    const done = await waitFor(async () => {
      const t = await record(task.id);
      return t.status === TaskStatus.completed ? t : undefined;
    }, { timeoutMs: 5_000, what: 'completed on the worker' });
    expect(done).toMatchObject({ node: null, lease_epoch: 2 });
    expect(worker.engine.started).toEqual([task.id]);
    expect(await store.patchLeased({ id: task.id, node: 'dead', epoch: 1 }, { progress: 1 })).toBe('lost');
  });

  it('settles a dead node\'s task as the command pending on it asks: paused, or deleted with its work folder', async () => {
    const api = await node('api', 0);
    const pausing = await api.manager.create(input(1));
    const deleting = await api.manager.create(input(2));
    // A node that claimed both, was asked to pause one and delete the other, and died before it could.
    await store.touchNode({ id: 'dead', seen_at: Date.now(), max_active: 2, running: 2 });
    await store.claim('dead', { now: Date.now(), leaseMs: 300, max: 2, patch: { status: TaskStatus.downloading, phase: 'downloading' } });
    const work = await openWorkFolder(path.dirname(api.manager.workDirOf(deleting)), deleting.id, undefined);
    await store.patch(deleting.id, { work_dir: work, desired: 'delete' });
    await store.patch(pausing.id, { desired: 'pause' });
    const worker = await node('worker', 2, { segments: 3, segmentMs: 10 }, 600);
    const shown: TaskRecord[] = [];
    worker.manager.on('task', (e) => { if (e.type !== 'deleted') shown.push(e.task); });
    const paused = await waitFor(async () => {
      const t = await record(pausing.id);
      return t.status === TaskStatus.paused ? t : undefined;
    }, { timeoutMs: 5_000, what: 'paused once the lease expired' });
    expect(paused).toMatchObject({ node: null, desired: null, lease_epoch: 1, speed_bps: 0 });
    // Its status line follows (the store writes none): the one a local pause writes.
    await waitFor(async () => {
      const t = await record(pausing.id);
      return t.status_bar === statusBar(t) && t.status_bar !== statusBar({ ...t, status: TaskStatus.downloading });
    }, { timeoutMs: 2_000, what: 'the paused status line' });
    await waitFor(async () => (await store.get(deleting.id)) === null, { timeoutMs: 5_000, what: 'deleted once the lease expired' });
    await waitFor(async () => !(await stat(work).catch(() => null)), { timeoutMs: 2_000, what: 'its work folder removed' });
    // Neither ran anywhere, and no node showed either as running again.
    expect(worker.engine.started).toEqual([]);
    expect(shown.filter((t) => t.status === TaskStatus.downloading && t.node !== 'dead')).toEqual([]);
  });

  it('starts no new request once its last renew is older than the lease, before any heartbeat says so', async () => {
    // The node's store client, whose renews can be held unanswered: the node then cannot know it lost
    // nothing, as after a stall (its heartbeat has not come back yet when its downloads carry on).
    let answer = (): void => undefined;
    const held = new Promise<void>((resolve) => { answer = resolve; });
    let stalled = false;
    const stalling = (inner: TaskStore): TaskStore => new Proxy(inner, {
      get(target, key) {
        if (key === 'renew') {
          return async (...args: Parameters<TaskStore['renew']>) => {
            if (stalled) await held;
            return target.renew(...args);
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const leaseMs = 600;
    const worker = await node('worker', 1, { segments: 400, segmentMs: 10 }, leaseMs, stalling);
    const task = await worker.manager.create(input(1));
    await waitFor(async () => (await record(task.id)).segments_done >= 2, { what: 'running' });
    // Renewed at least once meanwhile: the fence is measured from a renew, not from the start.
    await new Promise((r) => setTimeout(r, leaseMs / 2));
    stalled = true;
    const heldAt = performance.now();
    try {
      await waitFor(() => worker.engine.running === 0, { timeoutMs: 3_000, what: 'the run stopped' });
      const before = await record(task.id);
      // No segment started after a lease length past the last renew that answered (which began before heldAt).
      const late = worker.engine.segmentStarts.filter((s) => s.at > heldAt + leaseMs);
      expect(late).toEqual([]);
      expect(worker.engine.segmentStarts.length).toBeLessThan(400);
      expect(worker.engine.jobs[0]!.signal.aborted).toBe(true);
      // Stopped as a lost lease stops a run: nothing written about it since (another node may own it).
      await new Promise((r) => setTimeout(r, 300));
      expect(await record(task.id)).toEqual(before);
      expect(before).toMatchObject({ status: TaskStatus.downloading, node: 'worker' });
    } finally {
      answer();
    }
  });

  if (backend.name === 'PostgreSQL') {
    it('stops its runs when the database stays away longer than the lease, and runs them again once it is back', async () => {
      const worker = await node('worker', 1, { segments: 400, segmentMs: 20 }, 1_500);
      const task = await worker.manager.create(input(1));
      await waitFor(async () => (await record(task.id)).segments_done >= 2, { what: 'running' });
      await cluster!.halt();
      try {
        // Its leases may be another node's after a lease length: it stops rather than run a task twice.
        await waitFor(() => worker.engine.running === 0, { timeoutMs: 5_000, what: 'the run stopped without the database' });
      } finally {
        await cluster!.restart();
      }
      // Said so, in words a log reader can act on.
      expect(worker.errors.some((e) => e instanceof Error && /is unavailable/.test(e.message))).toBe(true);
      const again = await waitFor(async () => {
        const t = await store.get(task.id).catch(() => null);
        return t?.status === TaskStatus.downloading && t.lease_epoch === 2 ? t : undefined;
      }, { timeoutMs: 15_000, what: 'claimed again once the database is back' });
      expect(again.node).toBe('worker');
      await waitFor(() => worker.engine.started.length === 2, { what: 'the second run' });
    });
  }
});
