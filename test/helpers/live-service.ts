// The kit of the live-recording suites: the real service in-process on a fresh
// data dir, v1 calls, and a task poller. Each suite starts its own simulators.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configFromEnv } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { waitFor } from './scripted-engine.js';

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
  const dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-rec-'));
  const svc = await startService(configFromEnv({}, { port: 0, dataDir: path.join(dir, 'data'), downloadDir: path.join(dir, 'downloads'), logLevel: 'silent' }));
  const post = (body: unknown) => fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const task = async (id: number) => ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: LiveTask }).data;
  const until = (id: number, check: (t: LiveTask) => boolean, what: string, timeoutMs = 60_000) =>
    waitFor(async () => {
      const t = await task(id);
      return check(t) ? t : undefined;
    }, { timeoutMs, intervalMs: 100, what });
  return {
    svc,
    dir,
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
      await rm(dir, { recursive: true, force: true });
    },
  };
}
