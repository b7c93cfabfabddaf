// API benchmark: a store of 10,000 tasks behind the real service; median and p99
// time of `GET /api/v1/tasks?page_size=100` and of `GET /api/tasks` (all tasks).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configFromEnv } from '../src/service/config.js';
import { startService } from '../src/service/server.js';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../src/manager/settings.js';
import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import { TaskStatus, TASK_STATUSES } from '../src/types.js';

const TASKS = 10_000;
const TARGET_PAGE_MEDIAN_MS = 20;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function time(url: string, runs: number): Promise<{ median: number; p99: number; bytes: number }> {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs + 3; i++) {
    const start = performance.now();
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    const ms = performance.now() - start;
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    bytes = body.byteLength;
    if (i >= 3) samples.push(ms); // the first few warm the JIT up
  }
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p99: quantile(samples, 0.99), bytes };
}

export async function benchApi(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-api-'));
  try {
    const dataDir = path.join(dir, 'data');
    const store = new NedbTaskStore({ dataDir });
    await store.open();
    const finished = TASK_STATUSES.filter((s) => s !== TaskStatus.waiting && s !== TaskStatus.downloading);
    for (let i = 0; i < TASKS; i++) {
      await store.create({
        url: `http://127.0.0.1:9/show-${i}/index.m3u8`, filename: `show ${i}.mp4`, status: finished[i % finished.length]!, phase: 'done',
        progress: 100, status_bar: 'done · 120 segments · 312.4 MB', err_msg: '', size: 327_000_000, completed_at: new Date().toISOString(),
        started_at: null, start_time: null, header_map: { Referer: ['http://127.0.0.1/'] }, advanced: false,
        options: { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS }, source: 'api', segments_total: 120, segments_done: 120,
        segments_skipped: 0, downloaded_bytes: 327_000_000, speed_bps: 0, eta_s: 0, output_path: `/downloads/show ${i}.mp4`,
      });
    }
    await store.close();
    const svc = await startService(configFromEnv({}, { port: 0, dataDir, downloadDir: path.join(dir, 'downloads'), logLevel: 'silent' }));
    try {
      const page = await time(`${svc.url}/api/v1/tasks?page_size=100`, 200);
      const filtered = await time(`${svc.url}/api/v1/tasks?page_size=100&status=3&q=show-99`, 100);
      const all = await time(`${svc.url}/api/tasks`, 20);
      const rows = [
        ['GET /api/v1/tasks?page_size=100', page],
        ['GET /api/v1/tasks?status=3&q=…&page_size=100', filtered],
        ['GET /api/tasks (all 10,000)', all],
      ] as const;
      console.log(`\nAPI over a store of ${TASKS.toLocaleString('en')} tasks`);
      console.table(rows.map(([name, r]) => ({ request: name, 'median ms': r.median.toFixed(1), 'p99 ms': r.p99.toFixed(1), 'body KB': Math.round(r.bytes / 1024) })));
      console.log(`page of 100: median ${page.median.toFixed(1)} ms (target < ${TARGET_PAGE_MEDIAN_MS} ms) ${page.median < TARGET_PAGE_MEDIAN_MS ? 'OK' : 'MISSED'}`);
      return {
        tasks: TASKS,
        page_median_ms: page.median, page_p99_ms: page.p99,
        filtered_median_ms: filtered.median, filtered_p99_ms: filtered.p99,
        all_median_ms: all.median, all_p99_ms: all.p99,
        page_target_met: page.median < TARGET_PAGE_MEDIAN_MS,
      };
    } finally {
      await svc.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchApi();
