// Commands and events across instances: an API-only node (M3U8DM_MAX_ACTIVE=0) takes the
// calls and downloads nothing; pause and delete sent to it reach the node running the task
// within 1 s (its traffic to the origin stops), and its event stream shows progress of
// tasks running on the other nodes.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, openEvents, sleep, startCluster, Status, type Cluster, type ClusterTask } from './helpers/cluster.js';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';
import { waitFor } from './helpers/wait-for.js';

/** The contract's window for a command to reach the node running the task. */
const COMMAND_MS = 1_000;

describe('commands and events across instances', () => {
  let pg: PgCluster | undefined;
  let cluster: Cluster | undefined;
  let tasks: ClusterTask[] = [];
  let events: ReturnType<typeof openEvents> | undefined;

  beforeAll(async () => {
    pg = await startPgCluster();
    // Room for one task on node-b and two on node-c: three tasks land there whatever the claim order.
    cluster = await startCluster({
      pg, leaseS: 3, latencyMs: 200, streams: 3,
      env: { 'node-a': { M3U8DM_MAX_ACTIVE: '0' }, 'node-b': { M3U8DM_MAX_ACTIVE: '1' }, 'node-c': { M3U8DM_MAX_ACTIVE: '2' } },
    });
  }, 180_000);
  afterAll(async () => {
    await events?.close();
    await cluster?.close();
    await pg?.stop();
  }, 60_000);

  const a = () => cluster!.node('node-a');
  const streamOf = (id: number) => tasks.findIndex((t) => t.id === id) + 1;

  it('runs tasks POSTed to an API-only node elsewhere, and its event stream shows their progress', async () => {
    const c = cluster!;
    events = openEvents(a());
    await events.ready;
    const ids: number[] = [];
    // One segment at a time, 200 ms each: about 12 s of download per task, for the commands below to find them running.
    for (let k = 1; k <= 3; k++) ids.push(await api.create(a(), { url: c.stream(k), filename: `show-${k}`, options: { download_threads: 1 } }));
    tasks = await waitFor(async () => {
      const all = await api.all(a());
      return all.length === 3 && all.every((t) => t.status === Status.running && t.node) ? all : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100, what: 'the three tasks to run' });
    tasks.sort((x, y) => x.id - y.id);
    expect(tasks.map((t) => t.id)).toEqual(ids);
    expect(tasks.map((t) => t.node).sort()).toEqual(['node-b', 'node-c', 'node-c']);

    const onC = tasks.find((t) => t.node === 'node-c')!;
    const progress = await waitFor(() => {
      const seen = events!.events.filter((e) => e.type === 'task.updated' && e.task.id === onC.id && e.task.node === 'node-c' && e.task.segments_done > 0);
      return new Set(seen.map((e) => e.task.segments_done)).size >= 3 ? seen : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, what: `progress events on node-a of task ${onC.id} running on node-c` });
    const done = progress.map((e) => e.task.segments_done);
    expect(done).toEqual([...done].sort((x, y) => x - y));

    const health = await api.health(a());
    expect((health.nodes ?? []).map((n) => (typeof n === 'string' ? n : n.id)).sort()).toEqual(['node-a', 'node-b', 'node-c']);
  }, 60_000);

  it('pauses, through node-a, the task running on node-b: node-b stops fetching within 1 s', async () => {
    const c = cluster!;
    const onB = tasks.find((t) => t.node === 'node-b')!;
    const k = streamOf(onB.id);
    await api.until(a(), onB.id, (t) => t.segments_done >= 5, 'some segments to be down');
    const sentAt = Date.now();
    await api.command(a(), onB.id, 'stop');
    await sleep(COMMAND_MS + 1_500);
    const late = c.segmentRequests(k).filter((r) => r.at > sentAt + COMMAND_MS);
    expect(late.map((r) => `${r.path} +${r.at - sentAt} ms`), 'segment requests after the window').toEqual([]);
    expect(c.segmentRequests(k).filter((r) => r.at <= sentAt).length).toBeGreaterThanOrEqual(5);
    for (const node of c.nodes) {
      const t = await api.task(node, onB.id);
      expect({ on: node.id, status: t.status, node: t.node ?? null }).toEqual({ on: node.id, status: Status.paused, node: null });
    }

  }, 30_000);

  it('deletes, through node-a, a task running on node-c: node-c stops fetching within 1 s and removes its work folder', async () => {
    const c = cluster!;
    const onC = tasks.filter((t) => t.node === 'node-c');
    const victim = onC[0]!;
    const running = await api.task(a(), victim.id);
    if (running.status !== Status.running) throw new Error(`task ${victim.id} already ${running.status}: the fixture is too short for this machine`);
    const k = streamOf(victim.id);
    const sentAt = Date.now();
    expect(await api.remove(a(), victim.id)).toEqual({ deleted_count: 1 });
    await sleep(COMMAND_MS + 1_500);
    const late = c.segmentRequests(k).filter((r) => r.at > sentAt + COMMAND_MS);
    expect(late.map((r) => `${r.path} +${r.at - sentAt} ms`), 'segment requests after the window').toEqual([]);
    for (const node of c.nodes) expect((await fetch(`${node.url}/api/v1/tasks/${victim.id}`)).status, `GET on ${node.id}`).toBe(404);
    await waitFor(() => !existsSync(path.join(c.node('node-c').dataDir, 'work', String(victim.id))), { timeoutMs: 5_000, what: `node-c to remove the work folder of task ${victim.id}` });

  }, 30_000);

  it('resumes the paused task through node-c; it and the other task finish into correct files', async () => {
    const c = cluster!;
    const paused = tasks.find((t) => t.node === 'node-b')!;
    const kept = tasks.filter((t) => t.node === 'node-c')[1]!;
    await api.command(c.node('node-c'), paused.id, 'resume');
    for (const id of [paused.id, kept.id]) {
      const t = await api.until(a(), id, (t) => t.status === Status.completed || t.status === Status.failed, 'the task to finish', 60_000);
      expect({ status: t.status, err_msg: t.err_msg }).toEqual({ status: Status.completed, err_msg: '' });
      expectMedia(await ffprobe(t.output_path), 'mp4', c.fixture.duration);
    }
  }, 90_000);
});
