// The downloader's errors, in got's shape: each class has an `override name`, a
// stable string `code` for programs, the standard `cause` (ErrorOptions), and a
// `message` written for the person reading the task's err_msg. AbortError, here
// because the downloader is the first stage a signal stops, is the whole project's:
// the merge stage rejects with it too (src/merge/errors.ts).

/** Base of every error the downloader throws on purpose. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  readonly code: string = 'ERR_DOWNLOAD';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The URL did not lead to a usable media playlist. */
export class PlaylistError extends DownloadError {
  override name = 'PlaylistError';
  override readonly code: string = 'ERR_PLAYLIST';
  readonly url: string;
  /** HTTP status, when the playlist request answered with an error status. */
  readonly status?: number;

  constructor(message: string, url: string, options: ErrorOptions & { status?: number } = {}) {
    const { status, ...errorOptions } = options;
    super(message, errorOptions);
    this.url = url;
    if (status !== undefined) this.status = status;
  }
}

/** The playlist lists no segment (yet): a live stream that has not started, or an empty VOD. */
export class EmptyPlaylistError extends PlaylistError {
  override name = 'EmptyPlaylistError';
  override readonly code = 'ERR_PLAYLIST_EMPTY';
}

/** A segment (or the init segment) answered an HTTP error status that no skip rule covers. */
export class SegmentHttpError extends DownloadError {
  override name = 'SegmentHttpError';
  override readonly code = 'ERR_SEGMENT_HTTP';
  readonly url: string;
  readonly status: number;
  /** 0-based playlist position; -1 for the init segment. */
  readonly index: number;

  constructor(message: string, url: string, status: number, index: number, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
    this.status = status;
    this.index = index;
  }
}

/** A segment could not be fetched or written for a reason other than an HTTP status. */
export class SegmentError extends DownloadError {
  override name = 'SegmentError';
  override readonly code = 'ERR_SEGMENT';
  readonly url: string;
  readonly index: number;

  constructor(message: string, url: string, index: number, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
    this.index = index;
  }
}

/** An AES-128 key could not be fetched, was not 16 bytes, or did not decrypt. */
export class KeyError extends DownloadError {
  override name = 'KeyError';
  override readonly code = 'ERR_KEY';
  readonly url: string;

  constructor(message: string, url: string, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
  }
}

/** The proxy refused us (bad credentials, refused connection, failed tunnel). */
export class ProxyError extends DownloadError {
  override name = 'ProxyError';
  override readonly code = 'ERR_PROXY';
}

/** The stream uses something this engine does not do (SAMPLE-AES, DRM, several init segments). */
export class UnsupportedStreamError extends DownloadError {
  override name = 'UnsupportedStreamError';
  override readonly code = 'ERR_UNSUPPORTED_STREAM';
}

/** One part of a `skip_ts_info` expression is malformed; `part` is that part as written. */
export class SkipExpressionError extends DownloadError {
  override name = 'SkipExpressionError';
  override readonly code = 'ERR_SKIP_EXPRESSION';
  readonly part: string;

  constructor(message: string, part: string, options?: ErrorOptions) {
    super(message, options);
    this.part = part;
  }
}

/**
 * A request that failed for good: a status no retry fixes, or the last of its tries. Not for users:
 * callers turn it into the PlaylistError / KeyError / SegmentHttpError of their context.
 */
export class RequestFailure extends Error {
  override name = 'RequestFailure';
  readonly code = 'ERR_REQUEST_FAILED';
  readonly url: string;
  /** HTTP status when the failure was one. */
  readonly status?: number;
  readonly tries: number;

  constructor(detail: string, url: string, tries: number, options: ErrorOptions & { status?: number } = {}) {
    const { status, ...errorOptions } = options;
    super(detail, errorOptions);
    this.url = url;
    this.tries = tries;
    if (status !== undefined) this.status = status;
  }
}

/**
 * The caller's signal aborted the work (pause, stop, delete): the one AbortError of the project, what
 * the downloader and the merge reject with. Its code is Node's own for aborts (`ABORT_ERR`), so code
 * that recognises Node's AbortError recognises this one too.
 */
export class AbortError extends Error {
  override name = 'AbortError';
  readonly code = 'ABORT_ERR';

  constructor(message = 'download aborted', options?: ErrorOptions) {
    super(message, options);
  }
}

/** Programming errors (TypeError and kin): never a statement about the stream, so never dressed up as one. */
export function isBug(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError || error instanceof EvalError;
}
