// A node that dies (kill -9) or stalls (SIGSTOP past its lease) hands its tasks to the
// others: they finish there within lease expiry + 10 s, and a stalled node that wakes up
// again cannot overwrite what the new owner wrote (its writes are fenced by the lease).
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, outputFiles, refetched, sleep, startCluster, Status, watchTasks, type Cluster, type ClusterNode, type ClusterTask } from './helpers/cluster.js';
import { decodeErrors, expectMedia, ffprobe } from './helpers/ffprobe.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';
import { waitFor } from './helpers/wait-for.js';

const LEASE_S = 3;
/** Segments each task downloads at once: also how many may be in flight when its node dies. */
const THREADS = 2;

describe('failover between instances', () => {
  let pg: PgCluster | undefined;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    pg = await startPgCluster();
  }, 180_000);
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  }, 60_000);

  /**
   * Three nodes and four tasks (one per stream copy) POSTed round-robin, all running before it returns.
   * `options` may name the cluster's folders.
   */
  async function runningCluster(options: (c: Cluster) => Record<string, unknown> = () => ({})) {
    // 100 ms a segment, two at a time: a 60-segment task downloads for about 3 s, long enough to interrupt.
    cluster = await startCluster({ pg: pg!, leaseS: LEASE_S, maxActive: 2, latencyMs: 100, streams: 4 });
    const c = cluster;
    const ids: number[] = [];
    for (let k = 1; k <= 4; k++) {
      ids.push(await api.create(c.nodes[(k - 1) % 3]!, { url: c.stream(k), filename: `show-${k}`, options: { download_threads: THREADS, ...options(c) } }));
    }
    const watch = watchTasks(() => c.nodes.find((n) => n.proc.child.exitCode === null && n.proc.child.signalCode === null && !n.stopped)!, 100);
    await waitFor(async () => (await api.all(c.nodes[0]!)).every((t) => t.status === Status.running && t.node), { timeoutMs: 30_000, intervalMs: 100, what: 'every task to run on a node' });
    return { c, ids, watch };
  }

  /** The work folders on the shared volume (a folder of the download dir here), as the README describes. */
  const sharedWork = (c: Cluster) => ({ temp_directory: path.join(c.downloadDir, 'work') });

  /** Waits until a task has some segments down, then returns its node and every task that node runs. */
  async function victimOf(c: Cluster, ids: number[]): Promise<{ victim: ClusterNode; tasks: ClusterTask[] }> {
    const first = await api.until(c.nodes[0]!, ids[0]!, (t) => t.segments_done >= 8, 'some segments to be down');
    const victim = c.node(first.node!);
    const tasks = (await api.all(c.nodes[0]!)).filter((t) => t.node === victim.id);
    return { victim, tasks };
  }

  const survivorOf = (c: Cluster, victim: ClusterNode) => c.nodes.find((n) => n !== victim)!;

  it('finishes a killed node\'s tasks on the other nodes within lease + 10 s', async () => {
    const { c, ids, watch } = await runningCluster();
    const { victim, tasks } = await victimOf(c, ids);
    victim.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.proc.exited;
    const survivor = survivorOf(c, victim);
    try {
      const finished = await Promise.all(ids.map((id) => api.until(survivor, id, (t) => t.status === Status.completed || t.status === Status.failed, 'the task to finish', 60_000)));
      for (const t of finished) expect({ id: t.id, status: t.status, err_msg: t.err_msg }).toEqual({ id: t.id, status: Status.completed, err_msg: '' });
      for (const lost of tasks) {
        const done = finished.find((t) => t.id === lost.id)!;
        expect(Date.parse(done.completed_at!) - killedAt, `task ${lost.id}: ms from the kill to completion`).toBeLessThanOrEqual((LEASE_S + 10) * 1000);
        expect([...watch.runners.get(lost.id)!].filter((n) => n !== victim.id), `task ${lost.id} taken over`).toHaveLength(1);
        expectMedia(await ffprobe(done.output_path), 'mp4', c.fixture.duration);
      }
    } finally {
      await watch.stop();
    }
    // The other tasks never moved, and their segments were fetched once.
    const movedIds = new Set(tasks.map((t) => t.id));
    for (const [k, id] of ids.entries()) {
      if (movedIds.has(id)) continue;
      expect([...watch.runners.get(id)!]).toHaveLength(1);
      expect(refetched(c.segmentRequests(k + 1))).toEqual([]);
    }
    expect(await outputFiles(c)).toEqual(ids.map((_, i) => `show-${i + 1}.mp4`).sort());
  }, 120_000);

  it('resumes a killed node\'s task from a shared work folder without refetching its finished segments', async () => {
    const { c, ids, watch } = await runningCluster(sharedWork);
    const { victim, tasks } = await victimOf(c, ids);
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const survivor = survivorOf(c, victim);
    try {
      for (const id of ids) {
        const t = await api.until(survivor, id, (t) => t.status === Status.completed || t.status === Status.failed, 'the task to finish', 60_000);
        expect({ status: t.status, err_msg: t.err_msg }).toEqual({ status: Status.completed, err_msg: '' });
        expectMedia(await ffprobe(t.output_path), 'mp4', c.fixture.duration);
      }
    } finally {
      await watch.stop();
    }
    for (const lost of tasks) {
      const k = ids.indexOf(lost.id) + 1;
      // Only what was in flight when the node died may come twice.
      expect(refetched(c.segmentRequests(k)).length, `stream ${k} refetched`).toBeLessThanOrEqual(THREADS);
    }
    expect(tasks.length).toBeGreaterThan(0);
  }, 120_000);

  it('fences a node that stalled past its lease: woken up, it overwrites nothing the new owner wrote', async () => {
    // A shared work folder: the new owner fetches only what is missing, so anything the stalled
    // node fetched after waking up would show in the origin's log as a second fetch.
    const { c, ids, watch } = await runningCluster(sharedWork);
    const { victim, tasks } = await victimOf(c, ids);
    const survivor = survivorOf(c, victim);
    const stalled = tasks[0]!;
    // What the store holds, read through a node that never stalls (the woken node's own answers are not the store's state).
    const truth = watchTasks(() => survivor, 100);
    victim.proc.child.kill('SIGSTOP');
    victim.stopped = true;
    const stoppedAt = Date.now();
    try {
      // Taken over once the lease ran out, and moving on there well past where the stalled node was.
      await api.until(survivor, stalled.id, (t) => t.node !== null && t.node !== victim.id && t.status === Status.running, 'another node to take the task over', (LEASE_S + 15) * 1000);
      // Not before the lease ran out: renewed at most a heartbeat (a third of it) before the stop.
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual((LEASE_S * 1000 * 2) / 3 - 300);
      const before = await api.until(survivor, stalled.id, (t) => t.status === Status.completed || t.segments_done >= stalled.segments_done + 10, 'the new owner to move on');
      victim.proc.child.kill('SIGCONT');
      victim.stopped = false;
      const resumedAt = Date.now();
      for (const id of ids) {
        const t = await api.until(survivor, id, (t) => t.status === Status.completed || t.status === Status.failed, 'the task to finish', 60_000);
        expect({ status: t.status, err_msg: t.err_msg }).toEqual({ status: Status.completed, err_msg: '' });
      }
      // Give the woken node a few heartbeats to try its stale writes.
      await sleep(Math.max(0, resumedAt + LEASE_S * 1000 + 1_000 - Date.now()));

      await truth.stop();
      const history = (truth.history.get(stalled.id) ?? []).filter((t) => Date.parse(t.updated_at) >= Date.parse(before.updated_at));
      expect(history.length).toBeGreaterThan(0);
      const brief = (t: ClusterTask) => `${t.updated_at} status ${t.status} node ${t.node} done ${t.segments_done}`;
      expect(history.filter((t) => t.node === victim.id).map(brief), `records naming the stalled node after the takeover, in ${JSON.stringify(history.map(brief))}`).toEqual([]);
      for (let i = 1; i < history.length; i++) {
        const [prev, next] = [history[i - 1]!, history[i]!];
        expect(next.segments_done, `segments_done went back: ${JSON.stringify([prev, next])}`).toBeGreaterThanOrEqual(prev.segments_done);
        if (prev.status === Status.completed) expect(next.status).toBe(Status.completed);
      }
      const final = await api.task(victim, stalled.id);
      expect(final).toMatchObject({ status: Status.completed, progress: 100, segments_done: c.fixture.segments });
      expect(final.node).not.toBe(victim.id);
      expectMedia(await ffprobe(final.output_path), 'mp4', c.fixture.duration);
      expect(await decodeErrors(final.output_path)).toBe('');
      // One output per task: a stale finish would have published a second `show-k_1.mp4`.
      expect(await outputFiles(c)).toEqual(ids.map((_, i) => `show-${i + 1}.mp4`).sort());
      // The woken node stops fetching once its first heartbeat tells it the lease is gone. The new owner
      // fetches each missing segment once (shared work folder), so a second fetch of a segment later than
      // that is the stalled node still downloading. (Before its heartbeat it may finish what it had in
      // flight and start a few more: traffic, not state; see the README.)
      const k = ids.indexOf(stalled.id) + 1;
      const requests = c.segmentRequests(k);
      const heartbeatMs = (LEASE_S * 1000) / 3;
      const late = requests.filter((r, i) => r.at > resumedAt + heartbeatMs + 500 && requests.slice(0, i).some((p) => p.path === r.path));
      expect(late.map((r) => `${r.path} +${r.at - resumedAt} ms`), `second fetches after the woken node's first heartbeat (all second fetches: ${refetched(requests).join(', ')})`).toEqual([]);
    } finally {
      await truth.stop();
      await watch.stop();
    }
  }, 150_000);
  it('holds a pause sent while the task\'s node is dead: no other node fetches for it', async () => {
    const { c, ids, watch } = await runningCluster();
    const { victim, tasks } = await victimOf(c, ids);
    const target = tasks[0]!;
    victim.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.proc.exited;
    const survivor = survivorOf(c, victim);
    try {
      // Its lease still looks alive: the command goes to the dead owner through the record.
      const res = await fetch(`${survivor.url}/api/v1/tasks/${target.id}/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status, await res.clone().text()).toBeLessThan(500);
      // Past the lease the other nodes reclaim it; the pause must win over a new claim.
      await sleep(Math.max(0, killedAt + (LEASE_S + 3) * 1000 - Date.now()));
      // A little longer, for a late fetch to show.
      await sleep(2_000);
      const t = await api.task(survivor, target.id);
      expect({ status: t.status, node: t.node ?? null }).toEqual({ status: Status.paused, node: null });
      const k = ids.indexOf(target.id) + 1;
      // A node may claim it after the reclaim, but then carries out the pause before fetching anything. No
      // other node can hold it sooner than 2/3 of a lease after the kill; until then a request the dying node
      // had already sent may still arrive.
      expect(c.segmentRequests(k).filter((r) => r.at > killedAt + 1_000).map((r) => `${r.path} +${r.at - killedAt} ms`), 'fetches of the paused task after the kill').toEqual([]);
    } finally {
      await watch.stop();
    }
  }, 90_000);
});
