// The `/api/v1` error codes: the Local API seeds' own (40001–40003, 40401, 50001)
// and ours (40101, 40901, 50301…), each with the HTTP status it travels with.

export const ErrorCode = {
  ok: 0,
  /** Invalid parameters. */
  invalidParams: 40001,
  /** `url`/`urls` missing. */
  missingUrl: 40002,
  /** URL scheme other than http/https, or not an HLS playlist. */
  unsupportedUrl: 40003,
  /** Token missing or wrong. */
  unauthorized: 40101,
  notFound: 40401,
  /** The task's state does not allow that. */
  conflict: 40901,
  /** Body larger than the limit. */
  tooLarge: 41301,
  /** A browser sent a body that is not JSON. */
  unsupportedType: 41501,
  /** Refused: a Host not allowed, or a request from another site's page. */
  forbidden: 40301,
  internal: 50001,
  /** The store (a PostgreSQL database) is away for now; the same call works once it is back. */
  unavailable: 50301,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.ok]: 200,
  [ErrorCode.invalidParams]: 400,
  [ErrorCode.missingUrl]: 400,
  [ErrorCode.unsupportedUrl]: 400,
  [ErrorCode.unauthorized]: 401,
  [ErrorCode.notFound]: 404,
  [ErrorCode.conflict]: 409,
  [ErrorCode.tooLarge]: 413,
  [ErrorCode.unsupportedType]: 415,
  [ErrorCode.forbidden]: 403,
  [ErrorCode.internal]: 500,
  [ErrorCode.unavailable]: 503,
};

/** An error a v1 route answers with `{code, message, data: null}`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}
