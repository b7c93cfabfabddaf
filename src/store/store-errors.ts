// Errors of a store that lives behind a network connection (PostgreSQL), and the one way its
// URL may be shown: with the password masked, so neither a log line nor an API answer leaks it.

/** The store could not reach or set up its database at start; the message names the URL (password masked). */
export class StoreConnectError extends Error {
  override name = 'StoreConnectError';
  readonly code = 'ERR_STORE_CONNECT';

  constructor(message: string, options?: ErrorOptions) {
    // Shown as the one line a failed start prints: a driver's multi-line text is folded.
    super(message.replace(/\s*\n\s*/g, ' '), options);
  }
}

/**
 * The database went away (or stopped answering) while the service runs: the call failed fast instead of
 * hanging, and the same call works again once the database is back. The API answers it with 503.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly code = 'ERR_STORE_UNAVAILABLE';
}

/** The URL as it may be shown: the password replaced. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5_000;

/**
 * Runs `write` until it goes through while the store is merely away (StoreUnavailableError), waiting a
 * growing pause between tries; any other error is thrown at once. For the writes that must not be lost
 * to an outage (the outcome of a finished run); `signal` gives up, throwing the last StoreUnavailableError.
 */
export async function retryWhileUnavailable<T>(write: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let pause = RETRY_FIRST_MS; ; pause = Math.min(pause * 2, RETRY_MAX_MS)) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || signal?.aborted) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
