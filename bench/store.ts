// Store benchmark: the page-of-100-out-of-10,000 list on the embedded store (nedb) and on PostgreSQL,
// side by side — the store's own `list()` and `GET /api/v1/tasks?page_size=100` of a service on it — and
// how long a created task takes to be claimed by a node that hears of it through `watch` (PostgreSQL:
// another client, over LISTEN/NOTIFY), the store's share of POST → claimed.
// PostgreSQL: M3U8DM_BENCH_PG (the URL of an empty database) when set, else a throwaway cluster as the
// tests use (initdb/pg_ctl must be installed).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../src/manager/settings.js';
import { configFromEnv } from '../src/service/config.js';
import { startService } from '../src/service/server.js';
import { createStore, type StoreSpec } from '../src/store/open-store.js';
import { PgTaskStore } from '../src/store/pg-task-store.js';
import type { NewTask, TaskStore } from '../src/store/task-store.js';
import { TaskStatus, TASK_STATUSES, type TaskRecord } from '../src/types.js';
import { startPgCluster } from '../test/helpers/postgres.js';

const TASKS = 10_000;
const PAGE = 100;

const finished = TASK_STATUSES.filter((s) => s !== TaskStatus.waiting && s !== TaskStatus.downloading);
function finishedTask(i: number): NewTask {
  return {
    url: `http://127.0.0.1:9/show-${i}/index.m3u8`, filename: `show ${i}.mp4`, status: finished[i % finished.length]!, phase: 'done',
    progress: 100, status_bar: 'done · 120 segments · 312.4 MB', err_msg: '', size: 327_000_000, completed_at: new Date().toISOString(),
    started_at: null, start_time: null, header_map: { Referer: ['http://127.0.0.1/'] }, advanced: false,
    options: { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS }, source: 'api', segments_total: 120, segments_done: 120,
    segments_skipped: 0, downloaded_bytes: 327_000_000, speed_bps: 0, eta_s: 0, output_path: `/downloads/show ${i}.mp4`,
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function timed(run: () => Promise<unknown>, runs: number): Promise<{ median: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const start = performance.now();
    await run();
    if (i >= 3) samples.push(performance.now() - start); // the first few warm caches and the JIT up
  }
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

/** 10,000 finished tasks: nedb one create at a time (as a service makes them), PostgreSQL in one import. */
async function seed(spec: StoreSpec, dataDir: string): Promise<void> {
  const now = new Date().toISOString();
  if (spec.kind === 'postgres') {
    const pg = new PgTaskStore({ url: spec.url });
    await pg.open();
    const tasks: TaskRecord[] = Array.from({ length: TASKS }, (_, i) => ({ ...finishedTask(i), id: i + 1, created_at: now, updated_at: now }));
    await pg.importAll({ tasks, settings: null, integrations: null });
    await pg.close();
    return;
  }
  const store = createStore(spec, dataDir);
  await store.open();
  for (let i = 0; i < TASKS; i++) await store.create(finishedTask(i));
  await store.close();
}

/** create() on one client → a watcher on `claimer` hears it and claims it: the time until the claim returns it. */
async function createToClaim(writer: TaskStore, claimer: TaskStore, runs: number): Promise<{ median: number; p99: number }> {
  let target: { id: number; claimed: () => void } | undefined;
  // The id is known only once create() returns, and the notification may come before that.
  const heard = new Set<number>();
  const claimNow = (want: NonNullable<typeof target>) => {
    void claimer.claim('bench', { now: Date.now(), leaseMs: 30_000, max: 1, patch: { status: TaskStatus.downloading } }).then((got) => {
      if (got.some((t) => t.id === want.id)) want.claimed();
    });
  };
  const stop = claimer.watch((change) => {
    if (change.kind !== 'created') return;
    if (target?.id === change.id) claimNow(target);
    else heard.add(change.id);
  });
  try {
    return await timed(async () => {
      const claimed = new Promise<void>((resolve) => {
        void writer.create({ ...finishedTask(0), status: TaskStatus.waiting, phase: 'queued' }).then((task) => {
          target = { id: task.id, claimed: resolve };
          if (heard.has(task.id)) claimNow(target);
        });
      });
      await claimed;
      target = undefined;
    }, runs);
  } finally {
    stop();
  }
}

async function measure(name: string, spec: StoreSpec, dir: string) {
  const dataDir = path.join(dir, name, 'data');
  await seed(spec, dataDir);
  const store: TaskStore = createStore(spec, dataDir);
  await store.open();
  let direct: { first: Awaited<ReturnType<typeof timed>>; middle: Awaited<ReturnType<typeof timed>>; filtered: Awaited<ReturnType<typeof timed>> };
  try {
    direct = {
      first: await timed(() => store.list({}, { offset: 0, limit: PAGE, order: 'desc' }), 200),
      middle: await timed(() => store.list({}, { offset: TASKS / 2, limit: PAGE }), 100),
      filtered: await timed(() => store.list({ status: TaskStatus.failed, q: 'show-99' }, { offset: 0, limit: PAGE }), 100),
    };
  } finally {
    await store.close();
  }
  let claim: Awaited<ReturnType<typeof timed>>;
  {
    // nedb: one process owns the store, so the claimer is the writer itself.
    const writer = createStore(spec, dataDir);
    await writer.open();
    const claimer = spec.kind === 'postgres' ? createStore(spec, dataDir) : writer;
    if (claimer !== writer) await claimer.open();
    try {
      claim = await createToClaim(writer, claimer, 200);
    } finally {
      if (claimer !== writer) await claimer.close();
      await writer.close();
    }
  }
  const svc = await startService(configFromEnv({}, { port: 0, dataDir, downloadDir: path.join(dir, name, 'downloads'), logLevel: 'silent', store: spec }));
  try {
    const api = await timed(async () => {
      const res = await fetch(`${svc.url}/api/v1/tasks?page_size=${PAGE}`);
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`GET /api/v1/tasks answered ${res.status}`);
    }, 200);
    return { ...direct, api, claim };
  } finally {
    await svc.close();
  }
}

export async function benchStore(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-store-'));
  const given = process.env.M3U8DM_BENCH_PG;
  const cluster = given ? undefined : await startPgCluster();
  try {
    const pgUrl = given ?? (await cluster!.createDatabase('bench_store'));
    const results = {
      nedb: await measure('nedb', { kind: 'nedb' }, dir),
      postgres: await measure('postgres', { kind: 'postgres', url: pgUrl }, dir),
    };
    console.log(`\nA page of ${PAGE} out of ${TASKS.toLocaleString('en')} tasks, nedb beside PostgreSQL (ms)`);
    const rows = [
      ['store.list, first page (newest first)', 'first'],
      [`store.list, page at offset ${TASKS / 2}`, 'middle'],
      ['store.list, status + q filter', 'filtered'],
      [`GET /api/v1/tasks?page_size=${PAGE}`, 'api'],
      ['create → claimed by a watching node', 'claim'],
    ] as const;
    console.table(rows.map(([what, key]) => ({
      query: what,
      'nedb median': results.nedb[key].median.toFixed(2), 'nedb p99': results.nedb[key].p99.toFixed(2),
      'pg median': results.postgres[key].median.toFixed(2), 'pg p99': results.postgres[key].p99.toFixed(2),
    })));
    const flat: Record<string, number> = { tasks: TASKS };
    for (const [store, r] of Object.entries(results)) {
      for (const [key, t] of Object.entries(r)) {
        flat[`${store}_${key}_median_ms`] = t.median;
        flat[`${store}_${key}_p99_ms`] = t.p99;
      }
    }
    return flat;
  } finally {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStore();
