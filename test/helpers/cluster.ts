// Several real service processes on one PostgreSQL database, for the scale-out suites:
// each node has its own data dir, all share one download dir, and they fetch from one
// latency-throttled origin whose request log tells which node fetched what and when.
// Every stream copy the origin serves has its own path prefix (`/s01/…`), so the log
// tells the segments of one task from those of another.
import { mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { ensureFixture, type FixtureInfo, type FixtureKind } from './hls-fixtures.js';
import { startHlsServer, type HlsServer, type RequestLogEntry } from './hls-server.js';
import type { PgCluster } from './postgres.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/** What the tests read of a v1 task. */
export interface ClusterTask {
  id: number;
  status: number;
  phase: string;
  progress: number;
  filename: string;
  err_msg: string;
  segments_total: number;
  segments_done: number;
  output_path: string;
  /** The node that runs it; null when none does. */
  node: string | null;
  updated_at: string;
  completed_at: string | null;
}

export const Status = { pending: 0, running: 1, completed: 2, failed: 3, paused: 4 } as const;

export interface ClusterOptions {
  pg: PgCluster;
  /** Node ids, one service process each. @defaultValue ['node-a', 'node-b', 'node-c'] */
  nodes?: string[];
  /** `M3U8DM_LEASE_S`. @defaultValue 3 */
  leaseS?: number;
  /** `M3U8DM_MAX_ACTIVE` of every node (a node's own `env` may override it). @defaultValue 2 */
  maxActive?: number;
  /** Extra environment per node id. */
  env?: Record<string, Record<string, string>>;
  /** @defaultValue 'long' (60 × 1 s) */
  fixture?: FixtureKind;
  /** Origin delay before each response. @defaultValue 80 */
  latencyMs?: number;
  /** Stream copies served (`/s01/…` to `/sNN/…`). @defaultValue 12 */
  streams?: number;
}

export interface ClusterNode {
  id: string;
  url: string;
  dataDir: string;
  proc: ServiceProcess;
  /** Whether the test SIGSTOPped it (teardown sends SIGCONT first). */
  stopped: boolean;
}

export interface Cluster {
  db: string;
  origin: HlsServer;
  fixture: FixtureInfo;
  dir: string;
  downloadDir: string;
  nodes: ClusterNode[];
  node(id: string): ClusterNode;
  /** The playlist URL of stream copy `k` (1-based). */
  stream(k: number): string;
  /** Origin requests for segments of stream copy `k`. */
  segmentRequests(k: number): RequestLogEntry[];
  /** Starts (or restarts) a node with the cluster's settings. */
  startNode(id: string): Promise<ClusterNode>;
  close(): Promise<void>;
}

let databases = 0;

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const ids = options.nodes ?? ['node-a', 'node-b', 'node-c'];
  const fixture = await ensureFixture(options.fixture ?? 'long');
  const temp = await tempDir('m3u8dm-cluster-');
  const dir = temp.path;
  const downloadDir = path.join(dir, 'downloads');
  const streamsDir = path.join(dir, 'origin');
  await mkdir(downloadDir, { recursive: true });
  await mkdir(streamsDir, { recursive: true });
  const streams = options.streams ?? 12;
  const prefix = (k: number) => `s${String(k).padStart(2, '0')}`;
  for (let k = 1; k <= streams; k++) await symlink(fixture.dir, path.join(streamsDir, prefix(k)));
  const origin = await startHlsServer({ root: streamsDir, latencyMs: options.latencyMs ?? 80 });
  const db = await options.pg.createDatabase(`cluster_${process.pid}_${++databases}`);
  const nodes: ClusterNode[] = [];

  const startNode = async (id: string): Promise<ClusterNode> => {
    const dataDir = path.join(dir, id);
    const proc = await startServiceProcess({
      M3U8DM_DATA_DIR: dataDir,
      M3U8DM_DOWNLOAD_DIR: downloadDir,
      M3U8DM_STORE: db,
      M3U8DM_NODE_ID: id,
      M3U8DM_LEASE_S: String(options.leaseS ?? 3),
      M3U8DM_MAX_ACTIVE: String(options.maxActive ?? 2),
      ...options.env?.[id],
    });
    const node: ClusterNode = { id, url: proc.url, dataDir, proc, stopped: false };
    const at = nodes.findIndex((n) => n.id === id);
    if (at >= 0) nodes[at] = node;
    else nodes.push(node);
    return node;
  };

  const close = async () => {
    for (const node of nodes) {
      if (node.stopped) node.proc.child.kill('SIGCONT');
      node.stopped = false;
    }
    await Promise.all(nodes.map((n) => n.proc.stop('SIGTERM', 6_000)));
    await origin.close();
    await temp.cleanup();
  };

  try {
    // All at once: the schema migration must run once under its lock however the starts interleave.
    await Promise.all(ids.map((id) => startNode(id)));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    db,
    origin,
    fixture,
    dir,
    downloadDir,
    nodes,
    node(id) {
      const found = nodes.find((n) => n.id === id);
      if (!found) throw new Error(`no node ${id} in this cluster`);
      return found;
    },
    stream: (k) => origin.url(`${prefix(k)}/${fixture.playlist}`),
    segmentRequests: (k) => origin.requests.filter((r) => r.path.startsWith(`/${prefix(k)}/`) && /\.(ts|m4s)$/.test(r.path)),
    startNode,
    close,
  };
}

interface Envelope<T> { code: number; message: string; data: T }

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  const body = (await res.json()) as Envelope<T>;
  if (!res.ok || body.code !== 0) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${res.status}: ${body.message}`);
  return body.data;
}

/** The v1 calls the suites make, against one node. */
export const api = {
  async create(node: ClusterNode, body: Record<string, unknown>): Promise<number> {
    const data = await call<{ task_ids: number[] }>(`${node.url}/api/v1/tasks`, { method: 'POST', body: JSON.stringify(body) });
    return data.task_ids[0]!;
  },
  task: (node: ClusterNode, id: number) => call<ClusterTask>(`${node.url}/api/v1/tasks/${id}`),
  async all(node: ClusterNode): Promise<ClusterTask[]> {
    return (await call<{ tasks: ClusterTask[] }>(`${node.url}/api/v1/tasks?page_size=100`)).tasks;
  },
  command: (node: ClusterNode, id: number, verb: 'stop' | 'resume' | 'retry') => call<ClusterTask>(`${node.url}/api/v1/tasks/${id}/${verb}`, { method: 'POST', body: '{}' }),
  remove: (node: ClusterNode, id: number) => call<{ deleted_count: number }>(`${node.url}/api/v1/tasks/${id}`, { method: 'DELETE' }),
  health: (node: ClusterNode) => call<{ nodes?: Array<{ id: string }> } & Record<string, unknown>>(`${node.url}/api/v1/health`),
  /** Polls (bounded) until the task as `node` sees it passes `check`. */
  until(node: ClusterNode, id: number, check: (t: ClusterTask) => boolean, what: string, timeoutMs = 60_000): Promise<ClusterTask> {
    return waitFor(async () => {
      const t = await api.task(node, id);
      return check(t) ? t : undefined;
    }, { timeoutMs, intervalMs: 100, what: `${what} (task ${id}, asked of ${node.id})` });
  },
};

/**
 * Watches every task through one node's list, every `intervalMs`, and remembers each node seen
 * running each task and every snapshot: which node ran what, and whether a record ever went back.
 */
export function watchTasks(node: () => ClusterNode, intervalMs = 150): { runners: Map<number, Set<string>>; history: Map<number, ClusterTask[]>; stop(): Promise<void> } {
  const runners = new Map<number, Set<string>>();
  const history = new Map<number, ClusterTask[]>();
  let running = true;
  const loop = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- cleared by the stop callback
    while (running) {
      try {
        for (const t of await api.all(node())) {
          if (t.node) (runners.get(t.id) ?? runners.set(t.id, new Set()).get(t.id)!).add(t.node);
          const seen = history.get(t.id) ?? history.set(t.id, []).get(t.id)!;
          if (seen.at(-1)?.updated_at !== t.updated_at) seen.push(t);
        }
      } catch { /* a node going away mid-poll: the next round asks again */ }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    runners,
    history,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** One `task.*` event as an SSE client got it. */
export interface SeenEvent { at: number; type: string; task: ClusterTask }

/** An SSE client on `GET /api/v1/events` of one node, collecting every event until closed. */
export function openEvents(node: ClusterNode): { events: SeenEvent[]; ready: Promise<void>; close(): Promise<void> } {
  const events: SeenEvent[] = [];
  const abort = new AbortController();
  let opened!: () => void;
  const ready = new Promise<void>((r) => { opened = r; });
  const reading = (async () => {
    const res = await fetch(`${node.url}/api/v1/events`, { signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`events on ${node.id} answered ${res.status}`);
    opened();
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!data) continue;
        const message = JSON.parse(data) as { type: string; task: ClusterTask };
        events.push({ at: Date.now(), type: message.type, task: message.task });
      }
    }
  })().catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  });
  return {
    events,
    ready: Promise.race([ready, reading.then(() => { throw new Error(`events on ${node.id} ended before opening`); })]),
    async close() {
      abort.abort();
      await reading.catch(() => undefined);
    },
  };
}

/** Files in the shared download dir (not the merge's private folders). */
export async function outputFiles(cluster: Cluster): Promise<string[]> {
  const entries = await readdir(cluster.downloadDir, { withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
}

/** Segment paths of these requests fetched whole (200) more than once. */
export function refetched(requests: RequestLogEntry[]): string[] {
  const count = new Map<string, number>();
  for (const r of requests) if (r.status === 200) count.set(r.path, (count.get(r.path) ?? 0) + 1);
  return [...count].filter(([, n]) => n > 1).map(([p, n]) => `${p} ×${n}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
