// An Engine that plays a script instead of downloading: N segments of M ms each,
// honouring the abort signal, writing a real (tiny) output file. It lets queue and
// state-machine tests control timing; real downloads are tested with the real engine.
import { DownloadError } from '../../src/downloader/errors.js';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DownloadJob, Engine, EngineResult } from '../../src/types.js';

export interface ScriptedEngineOptions {
  segments?: number;
  segmentMs?: number;
  /** Return an error message to fail that job after its first segment. */
  failWith?: (job: DownloadJob) => string | undefined;
}

export class ScriptedEngine implements Engine {
  running = 0;
  maxRunning = 0;
  /** Task ids in the order their runs started. */
  readonly started: number[] = [];
  readonly jobs: DownloadJob[] = [];
  /** When each segment's "request" started (performance.now()), with its task id. */
  readonly segmentStarts: { taskId: number; at: number }[] = [];
  constructor(readonly options: ScriptedEngineOptions = {}) {}

  async run(job: DownloadJob): Promise<EngineResult> {
    const total = this.options.segments ?? 5;
    const ms = this.options.segmentMs ?? 20;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.started.push(job.taskId);
    this.jobs.push(job);
    try {
      for (let i = 1; i <= total; i++) {
        await new Promise<void>((resolve, reject) => {
          if (job.signal.aborted) return reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          // As the real downloader does before each request.
          if (job.mayRequest?.() === false) return reject(Object.assign(new Error('no more requests allowed'), { name: 'AbortError' }));
          this.segmentStarts.push({ taskId: job.taskId, at: performance.now() });
          const onAbort = () => {
            clearTimeout(t);
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          };
          const t = setTimeout(() => {
            job.signal.removeEventListener('abort', onAbort);
            resolve();
          }, ms);
          job.signal.addEventListener('abort', onAbort, { once: true });
        });
        job.onProgress({ phase: 'downloading', segments_total: total, segments_done: i, segments_skipped: 0, downloaded_bytes: i * 1000, speed_bps: 1000, eta_s: total - i });
        const failure = this.options.failWith?.(job);
        // As the real engine does: a failure it reports is one of its typed errors (anything else is a bug).
        if (failure) throw new DownloadError(failure);
      }
      await mkdir(job.saveDir, { recursive: true });
      const outputPath = path.join(job.saveDir, job.filename);
      await writeFile(outputPath, Buffer.alloc(total * 1000));
      return { outputPath, size: total * 1000, segments_total: total, segments_skipped: 0 };
    } finally {
      this.running--;
    }
  }
}
