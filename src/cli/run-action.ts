// Runs a command's action to its end: the exit code it returns, or the one its
// error means, with that error printed as one line on stderr.
import { ApiRequestError, ExitCode, ServiceUnreachableError, UsageError } from './errors.js';

/** Collapses a message (ffmpeg's stderr tail, say) to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' | ').trim();
}

/** Prints `m3u8dm: <what went wrong — what to do>` and returns the exit code it means. */
export function reportError(error: unknown): ExitCode {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`m3u8dm: ${oneLine(message)}\n`);
  if (error instanceof UsageError) return ExitCode.usage;
  if (!(error instanceof ServiceUnreachableError || error instanceof ApiRequestError) && process.env.M3U8DM_DEBUG) {
    process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  }
  return ExitCode.failed;
}

const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));

/**
 * Wraps an action so the process exits with its code once output is flushed.
 * Exiting explicitly matters: idle keep-alive sockets would otherwise hold the
 * process open for seconds after the work is done.
 */
export function exitWhenDone<A extends unknown[]>(action: (...args: A) => Promise<ExitCode | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: ExitCode;
    try {
      code = (await action(...args)) ?? ExitCode.ok;
    } catch (error) {
      code = reportError(error);
    }
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  };
}
