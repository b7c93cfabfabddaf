// `m3u8dm get URL`: one download in this process, no service needed. The work
// folder is derived from the output path, so the same command run again after
// Ctrl-C (or a failure) reuses every finished segment.
import { statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { filenameFromUrl, sanitizeFilename } from '../manager/paths.js';
import { describeLiveEnd, formatBytes, formatClock, formatDuration } from '../manager/progress-text.js';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../manager/settings.js';
import type { DownloadJob, EngineResult, HeaderMap, LiveStart, OutputFormat, ProgressSnapshot, TaskOptions, VariantChoice } from '../types.js';
import { createProgressView } from './download-progress.js';
import { ExitCode } from './errors.js';
import { collectHeader, FORMATS, httpUrlArgument, intOption, parseLimitRate, parseLiveDurationOption, parseSkip, parseVariant, secondsOption } from './option-parsers.js';
import { exitWhenDone, oneLine } from './run-action.js';
import { parseProxyUrl, type ProxyFields } from './proxy-url.js';
import { startHeapGuard } from '../service/heap-guard.js';

export interface GetOptions {
  output?: string;
  header?: HeaderMap;
  threads?: number;
  proxy?: ProxyFields;
  skip?: string;
  insecure?: boolean;
  variant?: VariantChoice;
  format?: OutputFormat;
  quiet?: boolean;
  /** Bytes per second; 0 or absent = unlimited. */
  limitRate?: number;
  liveMaxDuration?: number;
  liveStart?: LiveStart;
  liveIdleTimeout?: number;
  liveWait?: number;
}

export interface OutputTarget {
  /** Absolute folder the output goes to. */
  saveDir: string;
  /** Sanitised file name, extension of `format` included. */
  filename: string;
  format: OutputFormat;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where `get` writes: `-o` names the file (its folder and its name), or an existing
 * folder (or one ending in `/`) to save into under a name taken from the URL. Without
 * `--format`, an `.mkv` or `.ts` extension on `-o` chooses the container.
 */
export function outputTarget(url: string, output: string | undefined, format: OutputFormat | undefined, cwd = process.cwd()): OutputTarget {
  const asFolder = output !== undefined && (/[/\\]$/.test(output) || isDirectory(path.resolve(cwd, output)));
  if (output === undefined || asFolder) {
    const chosen = format ?? 'mp4';
    return { saveDir: path.resolve(cwd, output ?? '.'), filename: sanitizeFilename(filenameFromUrl(url), chosen), format: chosen };
  }
  const extension = path.extname(output).slice(1).toLowerCase() as OutputFormat;
  const chosen = format ?? (FORMATS.includes(extension) ? extension : 'mp4');
  const absolute = path.resolve(cwd, output);
  return { saveDir: path.dirname(absolute), filename: sanitizeFilename(path.basename(absolute), chosen), format: chosen };
}

/** The hidden work folder beside the output: `.clip.mp4.m3u8dm/`. The engine removes it once the output is written. */
export function workDirFor(target: OutputTarget): string {
  return path.join(target.saveDir, `.${target.filename}.m3u8dm`);
}

/** Removes the work folder when it holds no finished segment, so a failed start leaves no litter. */
async function removeIfNothingKept(workDir: string): Promise<boolean> {
  let names: string[];
  try {
    // Recursive: an alternate audio track keeps its finished segments in audio/.
    names = (await readdir(workDir, { recursive: true })).map((n) => path.basename(n));
  } catch {
    return true;
  }
  if (names.some((n) => /^(?:seg\d+\.(?:ts|m4s)|init\.mp4)$/.test(n))) return false;
  await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  return true;
}

export function taskOptionsFor(opts: GetOptions, format: OutputFormat): TaskOptions {
  return {
    ...DEFAULT_SETTINGS,
    ...DEFAULT_TASK_EXTRAS,
    ...(opts.proxy ?? {}),
    download_threads: opts.threads ?? DEFAULT_SETTINGS.download_threads,
    skip_ts_info: opts.skip ?? '',
    allow_insecure_https: opts.insecure === true,
    variant: opts.variant ?? DEFAULT_TASK_EXTRAS.variant,
    format,
    max_speed: opts.limitRate ?? 0,
    ...(opts.liveMaxDuration !== undefined ? { live_max_duration: opts.liveMaxDuration } : {}),
    ...(opts.liveStart !== undefined ? { live_start: opts.liveStart } : {}),
    ...(opts.liveIdleTimeout !== undefined ? { live_idle_timeout: opts.liveIdleTimeout } : {}),
    ...(opts.liveWait !== undefined ? { live_wait: opts.liveWait } : {}),
  };
}

export async function runGet(url: string, opts: GetOptions): Promise<ExitCode> {
  const target = outputTarget(url, opts.output, opts.format);
  const workDir = workDirFor(target);
  const err = process.stderr;
  const view = createProgressView(err, opts.quiet === true);
  const controller = new AbortController();
  // A live recording's first Ctrl-C ends the recording and still writes the file.
  const finish = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  let finishing = false;
  let last: ProgressSnapshot | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted || finishing) {
      // A second Ctrl-C: the user does not want to wait for the clean stop.
      view.stop();
      err.write(`m3u8dm: stopped at once; run the same command again to resume\n`);
      process.exit(signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    }
    if (last?.phase === 'recording') {
      finishing = true;
      view.stop();
      err.write('m3u8dm: ending the recording and writing the file (Ctrl-C again to abort)\n');
      finish.abort();
      return;
    }
    interrupted = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const job: DownloadJob = {
    taskId: 0,
    url,
    headers: opts.header ?? {},
    options: taskOptionsFor(opts, target.format),
    workDir,
    saveDir: target.saveDir,
    filename: target.filename,
    signal: controller.signal,
    finish: finish.signal,
    onProgress: (snapshot) => {
      last = snapshot;
      if (!finishing) view.update(snapshot);
    },
  };
  // This process is the only downloader: the task's own limit is the whole of it.
  const { TransferLimits } = await import('../downloader/index.js');
  const limits = new TransferLimits();
  job.limits = limits.open(0, job.options.max_speed);
  const started = Date.now();
  let result: EngineResult;
  const stopHeapGuard = startHeapGuard();
  try {
    // Loaded here so the client commands start without the download engine.
    const { HlsEngine } = await import('../manager/engine.js');
    // The CLI's own edge: M3U8DM_FFMPEG is read here, once, as the service config reads it.
    result = await new HlsEngine({ dataDir: workDir, ffmpeg: process.env.M3U8DM_FFMPEG || undefined }).run(job);
  } catch (error) {
    view.stop();
    const nothingKept = await removeIfNothingKept(workDir);
    const kept = last?.segments_done ?? 0;
    const keptText = last?.segments_total ? `${kept} of ${last.segments_total} segments are kept in ${workDir}` : `finished segments are kept in ${workDir}`;
    const resume = nothingKept ? '' : ` — ${keptText}; run the same command again to resume`;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal handler sets them meanwhile
    if (interrupted || finishing) {
      err.write(`m3u8dm: interrupted${nothingKept ? ' before any segment was finished' : resume}\n`);
      return interrupted === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
    }
    err.write(`m3u8dm: ${oneLine(error instanceof Error ? error.message : String(error))}${resume}\n`);
    return ExitCode.failed;
  } finally {
    limits.release(0, job.limits);
    stopHeapGuard();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  view.stop();
  if (result.leftover) await rm(result.leftover, { recursive: true, force: true }).catch(() => undefined);
  // The engine's poster goes to its data folder, here the work folder: no use to a one-off download.
  if (result.poster) {
    await result.poster;
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  if (!opts.quiet) {
    const kept = result.segments_total - result.segments_skipped;
    const skipped = result.segments_skipped ? ` (${result.segments_skipped} skipped)` : '';
    const recorded = result.live ? ` · recorded ${formatClock(result.live.recorded_s)} (${describeLiveEnd(result.live.ended)})` : '';
    err.write(`done${recorded} · ${kept} segments${skipped} · ${formatBytes(result.size)} · ${formatDuration((Date.now() - started) / 1000)}\n`);
  }
  // The path alone on stdout, for scripts: `file=$(m3u8dm get URL)`.
  process.stdout.write(`${result.outputPath}\n`);
  return ExitCode.ok;
}

export function getCommand(): Command {
  return new Command('get')
    .description('download one stream in this process (no service needed); Ctrl-C stops, the same command resumes')
    .argument('<url>', 'HLS playlist URL (master or media playlist, or a page linking one)', httpUrlArgument('playlist URL'))
    .option('-o, --output <file>', 'output file, or a folder to save into (default: a name from the URL, in the current folder)')
    .option('-H, --header <header>', 'HTTP header "Name: value" for playlist, key and segment requests (repeatable)', collectHeader)
    .option('--threads <n>', `segments downloaded at once, 1–128 (default ${DEFAULT_SETTINGS.download_threads})`, intOption('--threads', 1, 128))
    .option('--proxy <url>', 'proxy: http://[user:pass@]host:port, https://…, socks5://… or socks4://…', parseProxyUrl)
    .option('--skip <expr>', 'skip segments: "1,92-100,http.code=403,time:00:00:10-00:00:20,!time:…"', parseSkip)
    .option('--insecure', 'accept invalid TLS certificates')
    .option('--limit-rate <speed>', 'download speed limit: bytes per second or 500K, 5M, 1.5MB (default unlimited)', parseLimitRate)
    .option('--variant <choice>', 'variant of a master playlist: best, worst or a maximum height such as 720 (default best)', parseVariant)
    .addOption(new Option('--format <format>', 'output container (default: from the -o extension, else mp4)').choices(FORMATS))
    .option('-q, --quiet', 'no progress output; print only the output path (and errors)')
    .option('--live-max-duration <d>', 'live streams: stop after this much media, seconds or HH:MM:SS (at most 7 days)', parseLiveDurationOption)
    .addOption(new Option('--live-start <where>', 'live streams: record from the oldest listed segment (window) or the last 3 (edge)').choices(['window', 'edge']))
    .option('--live-idle-timeout <s>', 'live streams: end when no new segment came for this many seconds (default 60)', secondsOption('--live-idle-timeout', 1, 86_400))
    .option('--live-wait <s>', 'wait up to this many seconds for a stream that has not started yet (default 0)', secondsOption('--live-wait', 0, 86_400))
    .addHelpText('after', `
Examples:
  m3u8dm get https://example.com/live/index.m3u8 -o movie.mp4
  m3u8dm get URL -H "Referer: https://example.com/" -H "Cookie: a=b" --threads 16
  m3u8dm get URL --proxy socks5://127.0.0.1:1080 --variant 720 --format mkv
  m3u8dm get URL --limit-rate 2M
  m3u8dm get https://example.com/live.m3u8 -o show.mp4 --live-max-duration 01:00:00

A live playlist (no EXT-X-ENDLIST) is recorded until it ends or the limit is reached;
Ctrl-C ends the recording and writes the file, a second Ctrl-C aborts.

Prints the output path on stdout. Exit: 0 saved, 1 download failed, 2 usage error, 130 interrupted.`)
    .action(exitWhenDone((url: string, opts: GetOptions) => runGet(url, opts)));
}
