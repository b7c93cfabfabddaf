// Three service instances on one PostgreSQL database share one queue: 12 tasks POSTed to
// any of them each run exactly once, on whichever node is free, into one shared download
// folder; every node's event stream shows the progress of tasks running on the others.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, openEvents, outputFiles, refetched, startCluster, Status, watchTasks, type Cluster } from './helpers/cluster.js';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';

const TASKS = 12;

describe('three instances on one database', () => {
  let pg: PgCluster | undefined;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    pg = await startPgCluster();
    // Two at a time per node: 6 slots for 12 tasks, so some wait and go to whichever node frees up first.
    // A long lease: nothing here fails over, and on a loaded machine a 3 s lease can lapse
    // between renewals, handing a task to a second node (correct, but not what this tests).
    cluster = await startCluster({ pg, maxActive: 2, latencyMs: 80, streams: TASKS, leaseS: 20 });
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
    await pg?.stop();
  }, 60_000);

  it('runs 12 tasks POSTed to any node exactly once each, spread over the nodes, no segment fetched twice', async () => {
    const c = cluster!;
    const streams = c.nodes.map((node) => ({ node, sse: openEvents(node) }));
    await Promise.all(streams.map((s) => s.sse.ready));
    const watch = watchTasks(() => c.nodes[0]!);
    const ids: number[] = [];
    try {
      for (let k = 1; k <= TASKS; k++) {
        const node = c.nodes[(k - 1) % c.nodes.length]!;
        ids.push(await api.create(node, { url: c.stream(k), filename: `show-${k}`, options: { download_threads: 2 } }));
      }
      expect(new Set(ids).size).toBe(TASKS);
      const finished = await Promise.all(ids.map((id, i) =>
        api.until(c.nodes[(i + 1) % c.nodes.length]!, id, (t) => t.status === Status.completed || t.status === Status.failed, 'the task to finish', 150_000)));
      for (const t of finished) expect({ id: t.id, status: t.status, err_msg: t.err_msg }).toEqual({ id: t.id, status: Status.completed, err_msg: '' });
    } finally {
      await watch.stop();
      await Promise.all(streams.map((s) => s.sse.close()));
    }

    // Exactly once: one node ran each task, one output each (a second run would have left `show-1_1.mp4`).
    for (const id of ids) expect([...(watch.runners.get(id) ?? [])], `nodes seen running task ${id}`).toHaveLength(1);
    expect(await outputFiles(c)).toEqual(Array.from({ length: TASKS }, (_, i) => `show-${i + 1}.mp4`).sort());
    const usedNodes = new Set([...watch.runners.values()].flatMap((s) => [...s]));
    expect(usedNodes.size).toBeGreaterThanOrEqual(2);
    for (const id of usedNodes) expect(c.nodes.map((n) => n.id)).toContain(id);

    for (let k = 1; k <= TASKS; k++) {
      const requests = c.segmentRequests(k);
      expect(refetched(requests), `stream ${k}`).toEqual([]);
      expect(new Set(requests.map((r) => r.path)).size).toBe(c.fixture.segments);
    }
    for (const id of ids) {
      const t = await api.task(c.nodes[0]!, id);
      expect(path.dirname(t.output_path)).toBe(c.downloadDir);
      expectMedia(await ffprobe(t.output_path), 'mp4', c.fixture.duration);
    }

    // Every node streamed progress of tasks another node ran.
    for (const { node, sse } of streams) {
      const foreign = sse.events.filter((e) => e.type === 'task.updated' && e.task.node && e.task.node !== node.id && e.task.segments_done > 0);
      expect(foreign.length, `progress events on ${node.id} of tasks running elsewhere`).toBeGreaterThan(0);
      const completions = new Set(sse.events.filter((e) => e.task.status === Status.completed).map((e) => e.task.id));
      expect(completions.size, `completions seen on ${node.id}`).toBe(TASKS);
    }
  }, 200_000);

  it('lists the live nodes on /api/v1/health of any node', async () => {
    const c = cluster!;
    for (const node of c.nodes) {
      const health = await api.health(node);
      const listed = (health.nodes ?? []).map((n) => (typeof n === 'string' ? n : n.id));
      expect(listed.sort()).toEqual(c.nodes.map((n) => n.id).sort());
    }
  });
});
