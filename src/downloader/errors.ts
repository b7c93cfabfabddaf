// The downloader's errors. Each class has a stable `code` for programs and a
// `message` written for the person reading the task's err_msg.

export interface DownloadErrorOptions {
  cause?: unknown;
}

/** Base of every error the downloader throws on purpose. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  code = 'ERR_DOWNLOAD';

  constructor(message: string, options: DownloadErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** The URL did not lead to a usable media playlist. */
export class PlaylistError extends DownloadError {
  override name = 'PlaylistError';
  override code = 'ERR_PLAYLIST';
  readonly url: string;
  /** HTTP status, when the playlist request answered with an error status. */
  readonly status?: number;

  constructor(message: string, url: string, options: DownloadErrorOptions & { status?: number } = {}) {
    super(message, options);
    this.url = url;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** The playlist lists no segment (yet): a live stream that has not started, or an empty VOD. */
export class EmptyPlaylistError extends PlaylistError {
  override name = 'EmptyPlaylistError';
  override code = 'ERR_PLAYLIST_EMPTY';
}

/** A segment (or the init segment) answered an HTTP error status that no skip rule covers. */
export class SegmentHttpError extends DownloadError {
  override name = 'SegmentHttpError';
  override code = 'ERR_SEGMENT_HTTP';
  readonly url: string;
  readonly status: number;
  /** 0-based playlist position; -1 for the init segment. */
  readonly index: number;

  constructor(message: string, url: string, status: number, index: number, options: DownloadErrorOptions = {}) {
    super(message, options);
    this.url = url;
    this.status = status;
    this.index = index;
  }
}

/** A segment could not be fetched or written for a reason other than an HTTP status. */
export class SegmentError extends DownloadError {
  override name = 'SegmentError';
  override code = 'ERR_SEGMENT';
  readonly url: string;
  readonly index: number;

  constructor(message: string, url: string, index: number, options: DownloadErrorOptions = {}) {
    super(message, options);
    this.url = url;
    this.index = index;
  }
}

/** An AES-128 key could not be fetched, was not 16 bytes, or did not decrypt. */
export class KeyError extends DownloadError {
  override name = 'KeyError';
  override code = 'ERR_KEY';
  readonly url: string;

  constructor(message: string, url: string, options: DownloadErrorOptions = {}) {
    super(message, options);
    this.url = url;
  }
}

/** The proxy refused us (bad credentials, refused connection, failed tunnel). */
export class ProxyError extends DownloadError {
  override name = 'ProxyError';
  override code = 'ERR_PROXY';
}

/** The stream uses something this engine does not do (SAMPLE-AES, DRM, several init segments). */
export class UnsupportedStreamError extends DownloadError {
  override name = 'UnsupportedStreamError';
  override code = 'ERR_UNSUPPORTED_STREAM';
}

/** One part of a `skip_ts_info` expression is malformed; `part` is that part as written. */
export class SkipExpressionError extends DownloadError {
  override name = 'SkipExpressionError';
  override code = 'ERR_SKIP_EXPRESSION';
  readonly part: string;

  constructor(message: string, part: string) {
    super(message);
    this.part = part;
  }
}

/** The caller's signal aborted the download (pause, stop, delete). */
export class AbortError extends Error {
  override name = 'AbortError';
  code = 'ABORT_ERR';

  constructor(message = 'download aborted', options: DownloadErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Programming errors (TypeError and kin): never a statement about the stream, so never dressed up as one. */
export function isBug(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError || error instanceof EvalError;
}
