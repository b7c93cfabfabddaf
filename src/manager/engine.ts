// The real engine: download the stream (src/downloader), merge it (src/merge),
// write the skipped-segments list and the debug log. The task manager sees only
// the Engine interface.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../service/private-files.js';
import { downloadStream, formatSkippedLog } from '../downloader/index.js';
import type { Logger } from '../service/log.js';
import { downloadOptionsFor } from './download-options.js';
import { setAsideWorkFolder } from './work-folders.js';
import { makePoster, MergeFollower, mergeSegments } from '../merge/index.js';
import type { DebugLog, DownloadJob, Engine, EngineObserver, EngineResult, ProgressSnapshot } from '../types.js';

export interface HlsEngineOptions {
  /** Per-task debug logs go to `<dataDir>/logs/task-<id>.log`. */
  dataDir: string;
  logger?: Logger;
  /** Service-wide counters (metrics). */
  observer?: EngineObserver;
  /** Free space kept on the work folder's disk (M3U8DM_MIN_FREE_MB), in bytes. */
  minFreeBytes?: number;
  /** The ffmpeg the user chose (M3U8DM_FFMPEG, read once by the service config or the CLI). @defaultValue `ffmpeg` on PATH, else the npm-bundled one */
  ffmpeg?: string | undefined;
}

function openDebugLog(file: string): { log: DebugLog; close: () => Promise<void> } {
  let stream: WriteStream | undefined;
  const log: DebugLog = (message) => {
    stream ??= createWriteStream(file, { flags: 'a', mode: PRIVATE_FILE_MODE });
    stream.write(`${new Date().toISOString()} ${message}\n`);
  };
  const close = () => new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve()));
  return { log, close };
}

/** Where a task's poster frame is kept: the service's own data folder, named by task id only. */
export function posterPathOf(dataDir: string, taskId: number): string {
  return path.join(dataDir, 'posters', `${taskId}.jpg`);
}

const DAY_MS = 86_400_000;

/**
 * A server's Last-Modified within [1970, now + 1 day]: a file dated year 275759 (or before
 * the epoch) confuses backups, sync tools and file managers, and no real segment is from then.
 */
export function clampFileTime(time: Date | undefined, now = Date.now()): Date | undefined {
  if (!time || Number.isNaN(time.getTime())) return undefined;
  return new Date(Math.min(Math.max(time.getTime(), 0), now + DAY_MS));
}

export class HlsEngine implements Engine {
  readonly #opts: HlsEngineOptions;

  constructor(options: HlsEngineOptions) {
    this.#opts = options;
  }

  async run(job: DownloadJob): Promise<EngineResult> {
    const { options } = job;
    let debug: ReturnType<typeof openDebugLog> | undefined;
    if (options.debug_log) {
      const logDir = path.join(this.#opts.dataDir, 'logs');
      await ensurePrivateDir(logDir);
      debug = openDebugLog(path.join(logDir, `task-${job.taskId}.log`));
      debug.log(`task ${job.taskId}: ${job.url}`);
    }
    // The remux starts with the first segment on disk and takes each next one as it lands (src/merge/follow-merge.ts).
    const follower = options.no_merge_ts || options.follow_merge === false ? undefined : new MergeFollower({
      saveDir: job.saveDir, filename: job.filename, workDir: job.workDir, format: options.format, signal: job.signal, ffmpeg: this.#opts.ffmpeg,
      ...(debug ? { debug: debug.log } : {}),
    });
    try {
      await mkdir(job.workDir, { recursive: true });
      await mkdir(job.saveDir, { recursive: true });
      let last: ProgressSnapshot | undefined;
      const download = await downloadStream({
        url: job.url,
        headers: job.headers,
        options: downloadOptionsFor(options),
        workDir: job.workDir,
        signal: job.signal,
        ...(job.finish ? { finish: job.finish } : {}),
        ...(job.mayRequest ? { mayRequest: job.mayRequest } : {}),
        onProgress: (s) => {
          last = s;
          job.onProgress(s);
        },
        debug: debug?.log,
        ...(follower ? { watcher: follower } : {}),
        ...(this.#opts.observer ? { observer: this.#opts.observer } : {}),
        ...(job.limits ? { limits: job.limits } : {}),
        ...(this.#opts.minFreeBytes !== undefined ? { minFreeBytes: this.#opts.minFreeBytes } : {}),
      });
      // A separate audio track's segments count as the download's progress did: in the totals, never skipped.
      const audioSegments = (download.audioTracks ?? (download.audio ? [download.audio] : [])).flatMap((track) => track.segments);
      const segmentsDone = download.segments.length + audioSegments.length;
      const segmentsTotal = segmentsDone + download.skipped.length;
      const bytes = [...download.segments, ...audioSegments].reduce((sum, s) => sum + s.bytes, 0);
      const merging = (fraction: number): ProgressSnapshot => ({
        phase: 'merging',
        segments_total: segmentsTotal,
        segments_done: segmentsDone,
        segments_skipped: download.skipped.length,
        downloaded_bytes: last?.downloaded_bytes ?? bytes,
        speed_bps: 0,
        eta_s: null,
        merge_fraction: fraction,
      });
      job.onProgress(merging(0));
      const mergeStarted = performance.now();
      const merged = await mergeSegments({
        download,
        workDir: job.workDir,
        saveDir: job.saveDir,
        filename: job.filename,
        format: options.format,
        noMerge: options.no_merge_ts,
        keepSegments: options.keep_ts_files,
        serverTime: options.use_server_file_time ? clampFileTime(download.lastModified) : undefined,
        signal: job.signal,
        onProgress: (fraction) => job.onProgress(merging(fraction)),
        debug: debug?.log,
        ffmpeg: this.#opts.ffmpeg,
        ...(follower ? { followed: follower } : {}),
      });
      this.#opts.observer?.merged?.((performance.now() - mergeStarted) / 1000);
      if (options.log_skipped_ts) {
        // Exclusive: a file (or a link) already at that name is not written through.
        await writeFile(`${merged.outputPath}.skipped.txt`, formatSkippedLog(download.skipped), { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
          debug?.log(`${merged.outputPath}.skipped.txt exists already; the skipped list is not written`);
        });
      }
      // The page's thumbnail, made from the fresh file in the cache while the completion is written and
      // announced: the user waits for the file, not for its picture.
      const poster = options.no_merge_ts ? undefined : makePoster({
        video: merged.outputPath,
        output: posterPathOf(this.#opts.dataDir, job.taskId),
        durationSeconds: download.duration,
        signal: job.signal,
        ffmpeg: this.#opts.ffmpeg,
      });
      // Segments worth keeping were moved beside the output by the merge stage; the rest goes once the
      // completion is out (one rename now, not hundreds of unlinks between the file and its announcement).
      const leftover = await setAsideWorkFolder(job.workDir, job.taskId);
      return {
        outputPath: merged.outputPath, size: merged.size, segments_total: segmentsTotal, segments_skipped: download.skipped.length,
        ...(poster ? { poster } : {}),
        ...(leftover ? { leftover } : {}),
        ...(download.live ? { live: download.live } : {}),
      };
    } catch (err) {
      debug?.log(`failed: ${(err as Error).message}`);
      this.#opts.logger?.debug({ task: job.taskId, err }, 'engine run ended with an error');
      throw err;
    } finally {
      // Stopped, failed or declined: no ffmpeg left running and no partial output (a no-op after its success).
      await follower?.close();
      await debug?.close();
    }
  }
}
