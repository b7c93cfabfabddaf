// Runs one ffmpeg process: progress from `-progress pipe:1` turned into a
// fraction, an AbortSignal that kills it, optional input fed through stdin,
// and the end of its stderr kept for the error a user gets to read.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

import type { DebugLog } from '../types.js';
import { abortError, MergeError } from './errors.js';
import { closeQuietly, FifoSink, openFifos } from './fifo.js';

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
   * Stdin, and with `pipes` the pipes of `feedPipes`, as FIFOs made in `dir` (fifo.ts) instead of socket
   * pairs: written from the thread pool, they keep ffmpeg's pace while the event loop is busy. For pipes
   * fed one at a time (runs); not for inputs ffmpeg reads side by side. Socket pairs where there are no FIFOs.
   */
  fifos?: { dir: string; pipes: boolean };
  debug?: DebugLog;
  /** Working folder of the ffmpeg process (relative input names resolve from it). */
  cwd?: string;
}

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
  const { signal, feedStdin, feedPipes } = options;
  if (signal?.aborted) throw abortError(signal);
  const args = [...GLOBAL_ARGS, ...withInputQueues(options.args)];
  options.debug?.(`ffmpeg: ${shellQuote([options.ffmpegPath, ...args])}`);

  const pipeCount = feedPipes?.count ?? 0;
  const fifoPipes = options.fifos?.pipes ? pipeCount : 0;
  const fifos = options.fifos && (feedStdin || fifoPipes > 0) ? await openFifos(options.fifos.dir, (feedStdin ? 1 : 0) + fifoPipes) : undefined;
  const stdinFifo = feedStdin ? fifos?.[0] : undefined;
  const pipeFifo = (i: number) => (fifos && i < fifoPipes ? fifos[(feedStdin ? 1 : 0) + i] : undefined);
  if (fifos) options.debug?.(`ffmpeg: ${[stdinFifo ? 'stdin' : '', fifoPipes ? `pipes 3–${2 + fifoPipes}` : ''].filter(Boolean).join(' and ')} through FIFOs`);

  let child: ChildProcess;
  try {
    child = spawn(options.ffmpegPath, args, {
      stdio: [stdinFifo?.read ?? 'pipe', 'pipe', 'pipe', ...Array.from({ length: pipeCount }, (_, i) => pipeFifo(i)?.read ?? ('pipe' as const))],
      windowsHide: true,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  } catch (error) {
    for (const ends of fifos ?? []) closeQuietly(ends.write);
    throw error;
  } finally {
    // ffmpeg has its own copies of the read ends now (or never will): ours would keep its inputs from ending.
    for (const ends of fifos ?? []) closeQuietly(ends.read);
  }
  const stdin = stdinFifo ? new FifoSink(stdinFifo.write) : (child.stdin as Writable);
  const pipes = Array.from({ length: pipeCount }, (_, i) => {
    const fifo = pipeFifo(i);
    return fifo ? new FifoSink(fifo.write) : (child.stdio[3 + i] as Writable);
  });
  // ffmpeg closing its input early (it failed, or it was killed) surfaces here as EPIPE; its exit code tells why.
  for (const input of [stdin, ...pipes]) input.on('error', () => {});
  const exited = new Promise<{ code: number | null; killedBy: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, killedBy: null, spawnError }));
    child.once('close', (code, killedBy) => resolve({ code, killedBy }));
  });

  let stderrTail = '';
  const stderr = child.stderr as Readable;
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const progress = new ProgressParser(options.durationSeconds, options.onProgress);
  const stdout = child.stdout as Readable;
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => progress.push(chunk));

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
  const fed = [
    feeding(feedStdin && (() => feedStdin(stdin, stopFeeding.signal)), [stdin]),
    feeding(feedPipes && (() => feedPipes.feed(pipes, stopFeeding.signal)), pipes),
  ];

  const exit = await exited;
  stopFeeding.abort();
  await Promise.all(fed);
  // A FIFO's write end is ours to close, whatever the feed did (its close waits for a write on its way).
  for (const input of [stdin, ...pipes]) if (input instanceof FifoSink) input.destroy();
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

/** The feed stopped because ffmpeg went away (or was stopped): its exit code says why, not this. */
function isClosedPipe(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  // AbortError: the feed's own signal, aborted when ffmpeg exited (a DOMException, whose code is a number).
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ABORT_ERR' || code === 'ERR_STREAM_PREMATURE_CLOSE' || name === 'AbortError';
}

/** The command line as one could paste it into a POSIX shell, for the debug log. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}
