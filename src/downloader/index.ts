// The download engine's public surface: playlist in, finished segment files out.
export { downloadStream, type DownloadRequest } from './download-stream.js';
export type {
  ConcurrencyOptions,
  DownloadOptions,
  HeaderOptions,
  LiveOptions,
  ProxyOptions,
  RetryOptions,
  SegmentOptions,
  TimeoutOptions,
  TlsOptions,
  VariantOptions,
} from './options.js';
export { TransferLimits, type DownloadLimits } from './transfer-limits.js';
export { parseSkipExpression, type SkipRules, type SkipRange, type TimeWindow } from './skip-rules.js';
export { formatSkippedLog } from './skipped-log.js';
export {
  AbortError,
  DownloadError,
  KeyError,
  PlaylistError,
  ProxyError,
  SegmentError,
  SegmentHttpError,
  SkipExpressionError,
  UnsupportedStreamError,
} from './errors.js';
