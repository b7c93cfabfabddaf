// What one download is told to do, one interface per concern (as bullmq's
// worker-options.ts). The task manager builds them once per run from a task's saved
// settings (src/manager/download-options.ts); the downloader trusts them: every range
// was checked where a user wrote it (the API's zod schemas, the CLI's option parsers).
import type { AudioChoice, LiveStart, SubtitleChoice, VariantChoice } from '../types.js';
import type { SkipRules } from './skip-rules.js';

/** How much of the stream is in flight at once. */
export interface ConcurrencyOptions {
  /**
   * Segments in flight at once for the download (every track together); also the size of its
   * keep-alive socket pools. From 1 to 128.
   * @defaultValue 8
   */
  threads: number;
}

/** What a request does when it fails in a way another try can fix (timeouts, resets, 5xx, 429). */
export interface RetryOptions {
  /**
   * Tries per request (playlist, key, segment), the first one included; at least 1.
   * @defaultValue 5
   */
  tries: number;
}

/** Which renditions of a master playlist to take. */
export interface VariantOptions {
  /**
   * The variant: the highest bandwidth, the lowest, or the tallest at most this many pixels.
   * @defaultValue 'best'
   */
  variant: VariantChoice;
  /**
   * Alternate audio renditions (EXT-X-MEDIA TYPE=AUDIO) to take, the DEFAULT one first.
   * @defaultValue 'default'
   */
  audio: AudioChoice;
  /**
   * Subtitle renditions (EXT-X-MEDIA TYPE=SUBTITLES, segmented WebVTT) to take.
   * @defaultValue 'all'
   */
  subtitles: SubtitleChoice;
}

/** The proxy every request of the download goes through. */
export interface ProxyOptions {
  /** HTTP(S) CONNECT proxy (hpagent) or SOCKS proxy (socks-proxy-agent; socks5 resolves names at the proxy). */
  type: 'http' | 'https' | 'socks5' | 'socks4';
  /** Host name or IP address (IPv6 without brackets is fine). */
  host: string;
  /** From 1 to 65535. */
  port: number;
  /** Empty for a proxy without authentication. @defaultValue '' */
  username: string;
  /** @defaultValue '' */
  password: string;
}

/** How servers' certificates are checked. */
export interface TlsOptions {
  /**
   * Accept any certificate (self-signed, expired, wrong name) from origins and HTTPS proxies.
   * @defaultValue false
   */
  allowInsecure: boolean;
}

/** Where the task's own headers may go. */
export interface HeaderOptions {
  /**
   * Origins (`https://cdn.example`) or hosts (`cdn.example`) besides the task URL's origin that get the
   * task's Cookie and Authorization headers (see credential-scope.ts).
   * @defaultValue []
   */
  credentialHosts: string[];
}

/** Request time limits in ms: generous, since a stalled transfer is retried anyway. */
export interface TimeoutOptions {
  /** @defaultValue 10000 */
  lookup: number;
  /** @defaultValue 15000 */
  connect: number;
  /** @defaultValue 15000 */
  secureConnect: number;
  /** No byte on the socket for this long. @defaultValue 30000 */
  socket: number;
  /** Headers of the answer this long after the request was sent. @defaultValue 30000 */
  response: number;
}

export const DEFAULT_TIMEOUTS: TimeoutOptions = { lookup: 10_000, connect: 15_000, secureConnect: 15_000, socket: 30_000, response: 30_000 };

/** What a single segment may cost. */
export interface SegmentOptions {
  /**
   * Largest segment accepted, in bytes: one endless segment must not fill the disk.
   * @defaultValue 2 GiB (the task option `max_segment_mb`: 2048)
   */
  maxBytes: number;
}

/** How a live stream (no EXT-X-ENDLIST) is recorded. */
export interface LiveOptions {
  /**
   * Where the recording starts: the oldest segment listed, or the last 3 (`edge`).
   * @defaultValue 'window'
   */
  start: LiveStart;
  /** Seconds of media after which the recording ends; undefined records until the stream ends or is stopped. @defaultValue undefined */
  maxDuration: number | undefined;
  /** The recording ends when no new segment came for this many seconds. @defaultValue 60 */
  idleTimeoutS: number;
  /** Seconds to keep asking for a playlist that answers 404 or lists no segment yet. @defaultValue 0 */
  waitS: number;
}

/** Everything a download is told, by concern. */
export interface DownloadOptions {
  concurrency: ConcurrencyOptions;
  retry: RetryOptions;
  variant: VariantOptions;
  /** The parsed `skip_ts_info`: which video segments to leave out. @defaultValue no rules */
  skip: SkipRules;
  /** Undefined: requests go out directly. @defaultValue undefined */
  proxy: ProxyOptions | undefined;
  tls: TlsOptions;
  headers: HeaderOptions;
  /** @defaultValue DEFAULT_TIMEOUTS */
  timeouts?: TimeoutOptions;
  segments: SegmentOptions;
  live: LiveOptions;
}
