// One real service and one fixture server per suite, for the real-world stream
// tests: a task goes in through the v1 API, is watched through the compat API
// until it is 已完成 or 失败, and its output is judged against what ffmpeg itself
// makes of the same playlist (`ffmpeg -i <playlist> -c copy`).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import type { RunningService } from '../../src/service/server.js';
import { ffprobe } from './ffprobe.js';
import { startHlsServer, type HlsServer } from './hls-server.js';
import { waitFor } from './wait-for.js';
import { withService } from './with-service.js';

const run = promisify(execFile);

export interface FinishedTask {
  /** The compat view: `status` is 已完成 or 失败. */
  status: string;
  err_msg: string;
  output_path: string;
  segments_total: number;
  segments_skipped: number;
}

export interface StreamService {
  hls: HlsServer;
  svc: RunningService;
  downloads: string;
  tmp: string;
  /** Creates a v1 task and waits (bounded) until it completes or fails. */
  runTask(url: string, options?: Record<string, unknown>, filename?: string): Promise<FinishedTask>;
  close(): Promise<void>;
}

let counter = 0;

export async function startStreamService(root: string): Promise<StreamService> {
  const hls = await startHlsServer({ root });
  const svc = await withService({ maxActive: 2 }, { prefix: 'm3u8dm-streams-' });
  return {
    hls, svc, downloads: svc.downloadDir, tmp: svc.dir,
    async runTask(url, options = {}, filename = `out-${++counter}.mp4`) {
      const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, filename, options }) });
      const body = (await res.json()) as { code: number; message: string; data: { task_ids: Array<number | string> } };
      if (res.status !== 200) throw new Error(`create failed: ${res.status} ${body.message}`);
      const id = String(body.data.task_ids[0]);
      const compat = await waitFor(async () => {
        const list = (await (await fetch(`${svc.url}/api/tasks`)).json()) as Array<{ id: string; status: string; err_msg: string }>;
        const task = list.find((t) => String(t.id) === id);
        return task && (task.status === '已完成' || task.status === '失败') ? task : undefined;
      }, { timeoutMs: 60_000, intervalMs: 200, what: `task ${id} to end` });
      const v1 = ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: FinishedTask }).data;
      return { ...v1, status: compat.status, err_msg: compat.err_msg };
    },
    async close() {
      await svc.close();
      await hls.close();
    },
  };
}

/** Duration of what `ffmpeg -i <playlist> -c copy` makes of the stream: the yardstick for ours. */
export async function ffmpegCopyDuration(playlistUrl: string, dir: string): Promise<number> {
  const out = path.join(dir, `reference-${++counter}.mkv`);
  const hlsOptions = playlistUrl.startsWith('http') ? ['-allowed_extensions', 'ALL'] : [];
  await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', ...hlsOptions, '-i', playlistUrl, '-map', '0', '-c', 'copy', '-y', out], { maxBuffer: 16 << 20 });
  return (await ffprobe(out)).duration;
}

/** Within 1 %, as the issue asks of every output. */
export function closeTo(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= expected * 0.01;
}
