// Runs one ffmpeg process: progress from `-progress pipe:1` turned into a
// fraction, an AbortSignal that kills it, optional input fed through stdin,
// and the end of its stderr kept for the error a user gets to read.
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

import type { DebugLog } from '../types.js';
import { abortError, MergeError } from './errors.js';
import { feedFifo } from './fifo.js';

export interface FfmpegRun {
  ffmpegPath: string;
  /** Input and output arguments; the wrapper puts its own global options in front. */
  args: readonly string[];
  /** Seconds of media the run writes, to turn `out_time` into a fraction. */
  durationSeconds?: number;
  signal?: AbortSignal;
  /** Called with a growing fraction in 0–1; 1 once ffmpeg reports the end. */
  onProgress?: (fraction: number) => void;
  /**
   * Writes the input into ffmpeg's stdin (for `-i pipe:0`); stdin is closed when it resolves.
   * Its signal aborts when ffmpeg exits or the run is aborted, so it never writes into a dead pipe for long.
   */
  feedStdin?: (stdin: Writable, signal: AbortSignal) => Promise<void>;
  /**
   * More inputs through pipes of their own at file descriptors 3, 4, … (`pipe:3`, … in a concat list).
   * `feed` ends each pipe once its input is whole (ffmpeg reads the next one only after that end);
   * any still open are ended when it resolves. Its signal aborts as `feedStdin`'s does.
   */
  feedPipes?: { count: number; feed: (pipes: Writable[], signal: AbortSignal) => Promise<void> };
  /**
   * Inputs through the FIFOs at `paths` (made by makeFifos, named in the arguments or a concat list)
   * instead of stdin or pipes: see fifo.ts. `feed` fills them with `fill(index, write)`, which opens
   * that FIFO once ffmpeg opens its end, lets `write` write into it and ends it. One at a time: each
   * open waits on a thread-pool thread. Its signal aborts as `feedStdin`'s does.
   */
  fifos?: { paths: readonly string[]; feed: (fill: FifoFill, signal: AbortSignal) => Promise<void> };
  debug?: DebugLog;
  /** Working folder of the ffmpeg process (relative input names resolve from it). */
  cwd?: string;
}

export type FifoFill = (index: number, write: (sink: Writable) => Promise<void>) => Promise<void>;

export interface FfmpegRunResult {
  /** The last ~4 KB ffmpeg wrote to stderr (warnings, even when it succeeded). */
  stderrTail: string;
}

/**
 * In front of every input of a merge. With more than one input ffmpeg reads each in a thread of its own
 * through a queue of 8 packets by default, and sleeps 10 ms whenever the one it needs is empty: fed through
 * a pipe beside a second input, a 78 MB remux took 5.4 s instead of 0.5 s. 256 packets: 0.52 s, 3 MB more
 * of ffmpeg's memory (1,024: no faster). A command with one input does not get it (see `withInputQueues`).
 */
export const INPUT_QUEUE = ['-thread_queue_size', '256'];

/**
 * The arguments as ffmpeg gets them: INPUT_QUEUE dropped when there is one input. Alone, an input needs no
 * queue, and with one set ffmpeg 5.1 reads a pipe through a thread anyway: the 78 MB remux from stdin took
 * 0.51–0.56 s without, 0.66–0.79 s (and 40% more CPU) with it, four runs each.
 */
export function withInputQueues(args: readonly string[]): string[] {
  if (args.filter((arg) => arg === '-i').length > 1) return [...args];
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === INPUT_QUEUE[0] && args[i + 1] === INPUT_QUEUE[1]) i++;
    else kept.push(args[i] as string);
  }
  return kept;
}

const STDERR_TAIL_CHARS = 4096;
const GLOBAL_ARGS = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning', '-progress', 'pipe:1'];

/** Resolves when ffmpeg exits 0; rejects with a MergeError (stderr tail inside) or the signal's AbortError. */
export async function runFfmpeg(options: FfmpegRun): Promise<FfmpegRunResult> {
  const { signal, feedStdin, feedPipes, fifos } = options;
  if (signal?.aborted) throw abortError(signal);
  const args = [...GLOBAL_ARGS, ...withInputQueues(options.args)];
  options.debug?.(`ffmpeg: ${shellQuote([options.ffmpegPath, ...args])}`);

  const child = spawn(options.ffmpegPath, args, {
    stdio: ['pipe', 'pipe', 'pipe', ...Array.from({ length: feedPipes?.count ?? 0 }, () => 'pipe' as const)],
    windowsHide: true,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const pipes = child.stdio.slice(3, 3 + (feedPipes?.count ?? 0)).map((pipe) => pipe as Writable);
  // ffmpeg closing its input early (it failed, or it was killed) surfaces here as EPIPE; its exit code tells why.
  for (const input of [child.stdin, ...pipes]) input.on('error', () => {});
  const exited = new Promise<{ code: number | null; killedBy: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, killedBy: null, spawnError }));
    child.once('close', (code, killedBy) => resolve({ code, killedBy }));
  });

  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const progress = new ProgressParser(options.durationSeconds, options.onProgress);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => progress.push(chunk));

  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', kill, { once: true });
  if (signal?.aborted) kill(); // aborted between the check above and now: the listener will not fire

  let feedError: unknown;
  const stopFeeding = new AbortController();
  const feeding = (write: (() => Promise<void>) | undefined, inputs: Writable[]): Promise<void> => {
    if (!write) {
      for (const input of inputs) input.end();
      return Promise.resolve();
    }
    return write().then(
      () => {
        for (const input of inputs) input.end();
      },
      (error: unknown) => {
        feedError ??= error;
        kill();
      },
    );
  };
  const stdin = child.stdin;
  const fed = [
    feeding(feedStdin && (() => feedStdin(stdin, stopFeeding.signal)), [stdin]),
    feeding(feedPipes && (() => feedPipes.feed(pipes, stopFeeding.signal)), pipes),
    feeding(fifos && (() => fifos.feed((index, write) => {
      const fifo = fifos.paths[index];
      return fifo ? feedFifo(fifo, exited, write) : Promise.reject(new Error(`no FIFO ${index + 1} of ${fifos.paths.length}`));
    }, stopFeeding.signal)), []),
  ];

  const exit = await exited;
  stopFeeding.abort();
  await Promise.all(fed);
  signal?.removeEventListener('abort', kill);

  if (signal?.aborted) throw abortError(signal);
  if (exit.spawnError) {
    throw new MergeError(`Could not start ffmpeg (${options.ffmpegPath}): ${exit.spawnError.message}`, { cause: exit.spawnError });
  }
  if (feedError !== undefined && !isClosedPipe(feedError)) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown non-Error: its own text is all there is
    const reason = feedError instanceof Error ? feedError.message : String(feedError);
    throw new MergeError(`Could not feed the segments to ffmpeg: ${reason}`, { cause: feedError, stderrTail });
  }
  if (exit.code !== 0) {
    const how = exit.code === null ? `was killed by ${exit.killedBy ?? 'a signal'}` : `exited with code ${exit.code}`;
    throw new MergeError(`ffmpeg ${how}`, { stderrTail });
  }
  progress.finish();
  return { stderrTail };
}

/** Reads the `key=value` blocks of `-progress`; each block ends with `progress=continue|end`. */
class ProgressParser {
  #pending = '';
  #outTimeUs: number | undefined;
  #reported = 0;
  readonly #totalUs: number;
  readonly #onProgress: ((fraction: number) => void) | undefined;

  constructor(durationSeconds: number | undefined, onProgress: ((fraction: number) => void) | undefined) {
    this.#totalUs = (durationSeconds ?? 0) * 1e6;
    this.#onProgress = onProgress;
  }

  push(chunk: string): void {
    const lines = (this.#pending + chunk).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) this.#line(line.trim());
  }

  finish(): void {
    this.#report(1);
  }

  #line(line: string): void {
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    // `out_time_ms` is in microseconds too (a historic misnomer); older builds have only it.
    if (key === 'out_time_us' || (key === 'out_time_ms' && this.#outTimeUs === undefined)) {
      const us = Number(value);
      if (Number.isFinite(us)) this.#outTimeUs = us;
    } else if (key === 'progress') {
      if (value === 'end') this.#report(1);
      else if (this.#outTimeUs !== undefined && this.#totalUs > 0) this.#report(Math.min(this.#outTimeUs / this.#totalUs, 0.999));
      this.#outTimeUs = undefined;
    }
  }

  #report(fraction: number): void {
    if (fraction <= this.#reported) return;
    this.#reported = fraction;
    this.#onProgress?.(fraction);
  }
}

function isClosedPipe(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ABORT_ERR' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** The command line as one could paste it into a POSIX shell, for the debug log. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}
