// Download speeds as people write them: `500K`, `5M`, `1.5MB`, `2 MiB/s`, or plain
// bytes per second. One parser for the API, the settings and the CLI, so all three
// accept the same forms and refuse the rest with the same words.

/** 10 GB/s: nothing a downloader meets is faster; a bigger number is a typo. */
export const MAX_BYTE_RATE = 10 * 1024 ** 3;

/** The accepted forms, for error messages. */
export const BYTE_RATE_FORMS =
  'bytes per second (0 = unlimited) as a number, or a string such as "500K", "5M", "1.5MB" (K, M, G are 1024-based; KB, KiB and /s are accepted too), at most 10 GB/s';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Thrown for a value that is not a speed; the message says what is accepted. */
export class ByteRateError extends Error {
  override name = 'ByteRateError';
  readonly code = 'ERR_BYTE_RATE';
}

/**
 * Bytes per second from a number or a string such as `5M` (fractions are rounded down to
 * whole bytes). Throws a ByteRateError for negatives, unknown units and values over 10 GB/s.
 */
export function parseByteRate(value: unknown): number {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmg])(?:i?b)?|(b))?\s*(?:\/\s*s(?:ec)?)?\s*$/i.exec(value);
    if (!match) throw new ByteRateError(`must be ${BYTE_RATE_FORMS}`);
    const unit = (match[2] ?? match[3] ?? '').toLowerCase();
    bytes = Number(match[1]) * (UNITS[unit] ?? Number.NaN);
  } else {
    throw new ByteRateError(`must be ${BYTE_RATE_FORMS}`);
  }
  if (!Number.isFinite(bytes) || bytes < 0) throw new ByteRateError(`must be ${BYTE_RATE_FORMS}`);
  if (bytes > MAX_BYTE_RATE) throw new ByteRateError(`must be at most 10 GB/s (${MAX_BYTE_RATE} bytes per second); accepted: ${BYTE_RATE_FORMS}`);
  return Math.floor(bytes);
}
