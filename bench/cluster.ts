// Scale-out benchmark: how long a POSTed task waits before a node claims it (the record's
// `started_at`, written by the claim, less the moment the POST left), on the embedded nedb
// store, on PostgreSQL with one instance, and on PostgreSQL with three instances sharing
// the database (POSTs spread over them). The services are the real built CLI; the tasks
// point at a loopback origin that answers 404, so each fails at once and frees its slot
// without ffmpeg work, and only the queue is measured.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPgCluster } from '../test/helpers/postgres.js';
import { serviceNodeArgs } from './service-command.js';

const TASKS = 200;
const WARMUP = 5;

interface Instance { url: string; child: ChildProcess }

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, [...serviceNodeArgs(), 'serve', '--port', '0'], {
    env: { ...process.env, M3U8DM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`service did not start in 20 s: ${err}`)); }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /m3u8dm listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`service exited (${code}) before listening: ${err}`)); });
  });
  return { url, child };
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.child.exitCode !== null) return;
  const exited = new Promise((r) => instance.child.once('exit', r));
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), 8_000);
  await exited;
  clearTimeout(timer);
}

/** A service that ignored M3U8DM_STORE would measure nedb under PostgreSQL's name: its tables must be there. */
async function assertMigrated(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
    if (Number(rows[0]?.n ?? 0) === 0) throw new Error(`the service did not use ${url} (no tables there): is M3U8DM_STORE supported?`);
  } finally {
    await client.end();
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface V1Task { id: number; started_at: string | null }

async function getTask(url: string, id: number): Promise<V1Task> {
  const res = await fetch(`${url}/api/v1/tasks/${id}`);
  return ((await res.json()) as { data: V1Task }).data;
}

/** POSTs one task at a time, round-robin over the instances, and times each until its claim. */
async function timeClaims(instances: Instance[], playlist: string): Promise<{ median: number; p99: number; max: number }> {
  const samples: number[] = [];
  for (let i = 0; i < TASKS + WARMUP; i++) {
    const instance = instances[i % instances.length]!;
    const sent = Date.now();
    const res = await fetch(`${instance.url}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${playlist}?n=${i}`, filename: `bench-${i}` }),
    });
    if (!res.ok) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;
    const deadline = Date.now() + 30_000;
    let started: string | null = null;
    while (!(started = (await getTask(instance.url, id)).started_at)) {
      if (Date.now() > deadline) throw new Error(`task ${id} was not claimed within 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    if (i >= WARMUP) samples.push(Date.parse(started) - sent);
  }
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p99: quantile(samples, 0.99), max: samples.at(-1)! };
}

export async function benchCluster(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-cluster-'));
  // Every playlist is missing: the task fails on its first request and its slot is free again.
  const origin = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not here'));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  const playlist = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/missing/index.m3u8`;
  const pg = await startPgCluster();
  const instances: Instance[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const instance = await startInstance({ M3U8DM_DATA_DIR: path.join(dir, name), M3U8DM_DOWNLOAD_DIR: path.join(dir, 'downloads'), M3U8DM_MAX_ACTIVE: '4', ...env });
    instances.push(instance);
    return instance;
  };
  try {
    const rows: Array<{ store: string; median: number; p99: number; max: number }> = [];
    rows.push({ store: 'nedb, 1 instance', ...(await timeClaims([await start('nedb', {})], playlist)) });
    const one = await pg.createDatabase('bench_one');
    const single = await start('pg1', { M3U8DM_STORE: one, M3U8DM_NODE_ID: 'bench-1' });
    await assertMigrated(one);
    rows.push({ store: 'PostgreSQL, 1 instance', ...(await timeClaims([single], playlist)) });
    const three = await pg.createDatabase('bench_three');
    const nodes = await Promise.all(['a', 'b', 'c'].map((n) => start(`pg3-${n}`, { M3U8DM_STORE: three, M3U8DM_NODE_ID: `bench-${n}` })));
    rows.push({ store: 'PostgreSQL, 3 instances', ...(await timeClaims(nodes, playlist)) });

    console.log(`\nPOST to claim (the record's started_at), ${TASKS} tasks one after another`);
    console.table(rows.map((r) => ({ store: r.store, 'median ms': r.median, 'p99 ms': r.p99, 'max ms': r.max })));
    const key = (s: string) => s.replace(/[^a-z0-9]+/gi, '_').replace(/_$/, '').toLowerCase();
    return {
      tasks: TASKS,
      ...Object.fromEntries(rows.flatMap((r) => [[`${key(r.store)}_claim_median_ms`, r.median], [`${key(r.store)}_claim_p99_ms`, r.p99]])),
    };
  } finally {
    await Promise.all(instances.map(stopInstance));
    await pg.stop();
    await new Promise<void>((r) => origin.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchCluster();
