// Runs the built `m3u8dm` binary as a child process, as a user or a script would.
// Every child is bounded by a timeout and killed by `killCliChildren()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './service-process.js';

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Exit code, or the signal name when killed by one. */
  exited: Promise<number | string>;
}

export interface CliOptions {
  cwd?: string;
  /** Added to the environment, which starts with no M3U8DM_URL, M3U8DM_TOKEN, HOST or PORT of the caller's. */
  env?: Record<string, string>;
  /** Written to stdin (closed after); stdin is ignored when absent. */
  input?: string;
  /** @defaultValue 20000 */
  timeoutMs?: number;
}

const children = new Set<ChildProcess>();

export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, M3U8DM_URL: '', M3U8DM_TOKEN: '', HOST: '', PORT: '', ...options.env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  if (options.input !== undefined) child.stdin!.end(options.input);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => {
    clearTimeout(timer);
    children.delete(child);
    resolve(code ?? signal ?? -1);
  }));
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = startCli(args, options);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export function killCliChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}
