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
