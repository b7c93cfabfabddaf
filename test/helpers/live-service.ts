// The kit of the live-recording suites: the real service in-process on a fresh
// data dir, v1 calls, and a task poller. Each suite starts its own simulators.
import { afterAll, beforeAll } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { startLiveSim, type LiveSim, type LiveSimOptions } from './live-hls.js';
import { waitFor } from './wait-for.js';
import { withService } from './with-service.js';

export interface LiveTask {
  id: number;
  status: number;
  status_label: string;
  status_bar: string;
  phase: string;
  progress: number;
  err_msg: string;
  live: boolean;
  recorded_s: number;
  segments_done: number;
  segments_total: number;
  downloaded_bytes: number;
  speed_bps: number;
  output_path: string;
}

export interface LiveService {
  svc: RunningService;
  dir: string;
  create(body: Record<string, unknown>): Promise<number>;
  /** POST /api/v1/tasks expecting a refusal: the status and the message. */
  refuse(body: Record<string, unknown>): Promise<{ status: number; message: string }>;
  task(id: number): Promise<LiveTask>;
  /** Waits (bounded) for the task to reach one of these numeric statuses. */
  until(id: number, check: (t: LiveTask) => boolean, what: string, timeoutMs?: number): Promise<LiveTask>;
  finished(id: number, timeoutMs?: number): Promise<LiveTask>;
  close(): Promise<void>;
}

export async function startLiveService(): Promise<LiveService> {
  const svc = await withService({}, { prefix: 'm3u8dm-rec-' });
  const post = (body: unknown) => fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const task = async (id: number) => ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: LiveTask }).data;
  const until = (id: number, check: (t: LiveTask) => boolean, what: string, timeoutMs = 60_000) =>
    waitFor(async () => {
      const t = await task(id);
      return check(t) ? t : undefined;
    }, { timeoutMs, intervalMs: 100, what });
  return {
    svc,
    dir: svc.dir,
    async create(body) {
      const res = await post(body);
      const json = (await res.json()) as { code: number; message: string; data: { task_ids: number[] } };
      if (res.status !== 200) throw new Error(`create failed: ${res.status} ${json.message}`);
      return json.data.task_ids[0]!;
    },
    async refuse(body) {
      const res = await post(body);
      const json = (await res.json()) as { message: string };
      return { status: res.status, message: json.message };
    },
    task,
    until,
    finished: (id, timeoutMs) => until(id, (t) => t.status === 2 || t.status === 3 || t.status === 4, `task ${id} to finish`, timeoutMs),
    async close() {
      await svc.close();
    },
  };
}

/**
 * One service for the suite (started in beforeAll, closed in afterAll) and a `sim` that starts
 * simulators with a bounded lifetime, all closed with the suite. `live` may be used once the
 * suite's tests run.
 */
export function useLiveSuite(): { live: LiveService; sim: (options: LiveSimOptions) => Promise<LiveSim> } {
  let started: LiveService | undefined;
  const sims: LiveSim[] = [];
  const need = (): LiveService => {
    if (!started) throw new Error('the live service starts in beforeAll');
    return started;
  };
  beforeAll(async () => {
    started = await startLiveService();
  });
  afterAll(async () => {
    await started?.close();
    await Promise.all(sims.map((s) => s.close()));
  });
  const live: LiveService = {
    get svc() { return need().svc; },
    get dir() { return need().dir; },
    create: (body) => need().create(body),
    refuse: (body) => need().refuse(body),
    task: (id) => need().task(id),
    until: (id, check, what, timeoutMs) => need().until(id, check, what, timeoutMs),
    finished: (id, timeoutMs) => need().finished(id, timeoutMs),
    close: () => need().close(),
  };
  const sim = async (options: LiveSimOptions) => {
    const s = await startLiveSim({ lifetimeMs: 60_000, ...options });
    sims.push(s);
    return s;
  };
  return { live, sim };
}
