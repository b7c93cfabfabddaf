// The errors a CLI command ends with, and the exit code each one means:
// 2 for a usage error, 1 for a request or a download that failed.

/** Exit codes of every `m3u8dm` command. */
export const ExitCode = {
  ok: 0,
  /** A task, a download or a request failed (the service unreachable included). */
  failed: 1,
  /** The command line was wrong: unknown option, bad value, missing argument. */
  usage: 2,
  /** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15). */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The command line asked for something impossible; the message says what to change. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'ERR_USAGE';
}

/** The service could not be reached at all (refused, no such host, no answer in time). */
export class ServiceUnreachableError extends Error {
  override name = 'ServiceUnreachableError';
  readonly code = 'ERR_SERVICE_UNREACHABLE';
  constructor(message: string, readonly server: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The service answered with an error envelope (or with something that is not the /api/v1 envelope). */
export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  readonly code = 'ERR_API_REQUEST';
  constructor(
    message: string,
    /** The envelope's `code` (40001, 40401, …), or 0 when the answer was no envelope. */
    readonly apiCode: number,
    /** HTTP status of the answer. */
    readonly status: number,
  ) {
    super(message);
  }
}
