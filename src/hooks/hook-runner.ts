// The run-on-finish hooks: `on_complete` / `on_fail` from the settings, an argv run
// without a shell when a task completes or fails, with the task's facts in its
// environment and a time limit (its whole process group is killed past it). The
// exit code and the tail of its output go to the task's debug log and the service
// log. A hook runs beside the queue, never in it: a slow, missing or failing
// program delays no download.
import { spawn } from 'node:child_process';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { STATUS_NAME_OF } from '../wire-vocabulary.js';
import type { IntegrationSettings } from '../manager/integration-settings.js';
import type { Logger } from '../service/log.js';
import type { TaskTransition, TaskTransitions } from '../manager/lifecycle-events.js';
import type { TaskRecord } from '../types.js';

export interface HookRunnerOptions {
  transitions: TaskTransitions;
  settings: () => Promise<IntegrationSettings>;
  /** Hook lines go to `<dataDir>/logs/task-<id>.log`, the task's debug log. */
  dataDir: string;
  /** A hook still running after this is killed. @defaultValue 60000 */
  timeoutMs?: number;
  /** When set, hooks do not run (see hooksDisabledReason) and each skipped one is logged with it. */
  disabledReason?: string | null;
  logger?: Logger;
}

export interface HookResult {
  argv: string[];
  /** Exit code, or null when it did not exit by itself (killed, not started). */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why it did not start (`ENOENT`…), or ''. */
  error: string;
  /** The last bytes of stdout and stderr together. */
  output: string;
  ms: number;
}

/** Hooks running at once; more wait their turn (they never wait on the queue, nor it on them). */
const CONCURRENCY = 4;
const TAIL_BYTES = 4096;
/** After SIGTERM at the time limit, this long to exit before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** Only what a program needs to run, plus the task: the service's own secrets (M3U8DM_TOKEN) stay out. */
function hookEnv(task: TaskRecord): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER'];
  const env: NodeJS.ProcessEnv = {};
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  env.M3U8DM_TASK_ID = String(task.id);
  env.M3U8DM_OUTPUT = task.output_path;
  env.M3U8DM_URL = task.url;
  env.M3U8DM_STATUS = STATUS_NAME_OF[task.status];
  env.M3U8DM_ERROR = task.err_msg;
  env.M3U8DM_FILENAME = task.filename;
  return env;
}

export class HookRunner {
  readonly #opts: HookRunnerOptions;
  readonly #queue: (() => Promise<void>)[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #children = new Set<number>();
  #closed = false;
  readonly #onTransition = (t: TaskTransition) => {
    if (t.event === 'task.completed' || t.event === 'task.failed') void this.#maybeRun(t);
  };

  constructor(options: HookRunnerOptions) {
    this.#opts = options;
  }

  start(): void {
    this.#opts.transitions.on('transition', this.#onTransition);
  }

  /** Stops listening and kills hooks still running (they are told by SIGTERM first). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#opts.transitions.off('transition', this.#onTransition);
    this.#queue.length = 0;
    for (const pid of this.#children) killGroup(pid, 'SIGTERM');
    await Promise.allSettled([...this.#running]);
  }

  async #maybeRun({ event, task }: TaskTransition): Promise<void> {
    const settings = await this.#opts.settings().catch(() => null);
    const argv = event === 'task.completed' ? settings?.on_complete : settings?.on_fail;
    if (!argv?.length || this.#closed) return;
    const field = event === 'task.completed' ? 'on_complete' : 'on_fail';
    if (this.#opts.disabledReason) {
      await this.#record(task, `${field} not run: ${this.#opts.disabledReason}`);
      return;
    }
    this.#queue.push(async () => {
      const result = await this.run(argv, task);
      await this.#record(task, `${field} ${describe(result)}`, result);
    });
    this.#drain();
  }

  #drain(): void {
    while (this.#running.size < CONCURRENCY && this.#queue.length && !this.#closed) {
      const job = this.#queue.shift()!;
      const run = job().catch((err: unknown) => this.#opts.logger?.error({ err }, 'hook failed to run')).finally(() => {
        this.#running.delete(run);
        this.#drain();
      });
      this.#running.add(run);
    }
  }

  /** Runs one hook for the task and reports how it ended; never rejects. */
  run(argv: string[], task: TaskRecord): Promise<HookResult> {
    const timeoutMs = this.#opts.timeoutMs ?? 60_000;
    const started = Date.now();
    return new Promise<HookResult>((resolve) => {
      let output = Buffer.alloc(0);
      const keepTail = (chunk: Buffer) => {
        output = Buffer.concat([output, chunk]);
        if (output.length > TAIL_BYTES * 2) output = output.subarray(output.length - TAIL_BYTES);
      };
      let timedOut = false;
      let error = '';
      const [program, ...args] = argv as [string, ...string[]];
      const child = spawn(program, args, {
        env: hookEnv(task),
        cwd: task.output_path ? path.dirname(task.output_path) : this.#opts.dataDir,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so the time limit also ends what it started (a shell's children).
        detached: true,
      });
      const pid = child.pid;
      if (pid) this.#children.add(pid);
      child.stdout.on('data', keepTail);
      child.stderr.on('data', keepTail);
      let killTimer: NodeJS.Timeout | undefined;
      const limit = setTimeout(() => {
        timedOut = true;
        if (!pid) return;
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
      }, timeoutMs);
      child.once('error', (err: NodeJS.ErrnoException) => {
        error = err.code === 'ENOENT' ? `the program ${program} does not exist (ENOENT)`
          : err.code === 'EACCES' ? `the program ${program} is not executable (EACCES)`
          : `could not start ${program}: ${err.message}`;
      });
      child.once('close', (code, signal) => {
        clearTimeout(limit);
        if (killTimer) clearTimeout(killTimer);
        if (pid) {
          // Whatever it left behind in its group goes with it.
          killGroup(pid, 'SIGKILL');
          this.#children.delete(pid);
        }
        const text = output.subarray(Math.max(0, output.length - TAIL_BYTES)).toString('utf8');
        resolve({ argv, exitCode: error ? null : code, signal, timedOut, error, output: text, ms: Date.now() - started });
      });
    });
  }

  async #record(task: TaskRecord, line: string, result?: HookResult): Promise<void> {
    const { logger, dataDir } = this.#opts;
    const failed = !result || result.error || result.timedOut || result.exitCode !== 0;
    logger?.[failed ? 'warn' : 'info']({ task: task.id, exit_code: result?.exitCode, output: result?.output.slice(-500) }, line);
    const dir = path.join(dataDir, 'logs');
    const tail = result?.output.trim() ? `\n${result.output.trimEnd().split('\n').map((l) => `  | ${l}`).join('\n')}` : '';
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Private like the rest of the data folder: hook output may name paths and URLs.
      await appendFile(path.join(dir, `task-${task.id}.log`), `${new Date().toISOString()} ${line}${tail}\n`, { mode: 0o600 });
    } catch (err) {
      logger?.error({ err, task: task.id }, 'could not write the hook result to the task log');
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** `exited with code 0 after 35 ms (argv …)`. */
export function describe(result: HookResult): string {
  const argv = JSON.stringify(result.argv);
  if (result.error) return `${argv} failed: ${result.error}`;
  if (result.timedOut) return `${argv} timed out and was killed after ${result.ms} ms`;
  if (result.exitCode === null) return `${argv} was killed by ${result.signal ?? 'a signal'} after ${result.ms} ms`;
  return `${argv} exited with code ${result.exitCode} after ${result.ms} ms`;
}
