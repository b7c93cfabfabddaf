// The HTTP side of one download: a got instance with the task's headers, TLS
// setting and agents, plus the retry policy (exponential backoff with jitter on
// timeouts, resets, 5xx and 429). Bodies are always handed on as streams. When
// given HostLimits, each try first waits its turn at the host (connection cap,
// Retry-After, AIMD); the speed limit is a gate the body readers call (`gate`).
import type { IncomingHttpHeaders } from 'node:http';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import got, { RequestError, type Got, type PlainResponse, type Request } from 'got';
import type { BackoffNote, DebugLog, HeaderMap } from '../types.js';
import { AbortError, DownloadError, ProxyError, RequestFailure } from './errors.js';
import { RETRY_AFTER_CAP_MS, type BackoffNotice, type HostLimits } from './host-limits.js';
import type { ByteRange } from './media-playlist.js';
import { splitCredentials, type CredentialScope } from './credential-scope.js';
import { DEFAULT_TIMEOUTS, type ProxyOptions, type RetryOptions, type TimeoutOptions, type TlsOptions } from './options.js';
import { createAgents, type ConnectionAgents } from './proxy-agents.js';
import type { ByteGate } from './rate-limit.js';

export interface HttpClientSettings {
  retry: RetryOptions;
  /** Undefined: requests go out directly. */
  proxy: ProxyOptions | undefined;
  tls: TlsOptions;
  /** @defaultValue DEFAULT_TIMEOUTS */
  timeouts?: TimeoutOptions | undefined;
  /** Concurrent requests expected; sizes the keep-alive pools. */
  maxSockets: number;
  /** Told of each try that failed and will be retried: the URL's host and the HTTP status or error code. */
  onRetry?: ((host: string, reason: string) => void) | undefined;
  /**
   * Where Cookie and Authorization may go: the task URL's origin and these. Absent: everywhere
   * (callers that fetch one known URL). See credential-scope.ts.
   */
  credentialScope?: CredentialScope;
  /** Per-host politeness shared with other downloads (connection cap, Retry-After, AIMD); none when absent. */
  hosts?: HostLimits;
  /** The speed limit the readers of this client's bodies wait on (see `gate`). */
  gate?: ByteGate;
  /** Told when a server asks us to back off: what we do, for the task's status line, and until when. */
  onBackoff?: (note: BackoffNote, untilMs: number) => void;
  /** Asked right before each request (each try) goes out; false: it does not, and `get` rejects with an AbortError. */
  mayRequest?: () => boolean;
}

export interface ResponseHead {
  status: number;
  /** Final URL after redirects. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface GetOptions {
  range?: ByteRange;
  /** Let got undo gzip/br; off for media so byte counts match Content-Length. @defaultValue false */
  decompress?: boolean;
}

/** Reads the whole body (to a file, a buffer…) and resolves with what it made. */
export type BodyConsumer<T> = (body: Readable, head: ResponseHead) => Promise<T>;

/** What one failed try means for the next. */
interface Verdict {
  detail: string;
  retry: boolean;
  status?: number;
  /** Server-asked pause (Retry-After), in ms. */
  retryAfterMs?: number;
  proxy?: boolean;
}

/** An answer outside 2xx, inside one try: `get` decides from it whether to try again. */
class StatusError extends Error {
  override name = 'StatusError';
  readonly code = 'ERR_HTTP_STATUS';
  constructor(readonly status: number, readonly headers: IncomingHttpHeaders) {
    super(`answered HTTP ${status}`);
  }
}

// With the default 5 tries the four waits add up to 7.5–15 s, so a request rides out an
// origin that goes away for a few seconds (a restart, a failover) instead of failing the task.
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 8_000;

const RETRYABLE_CODES = new Set([
  'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE',
]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|DEPTH_ZERO/;

const DEFAULT_USER_AGENT = 'Mozilla/5.0 (compatible; m3u8dm)';

/** HeaderMap to got headers: one line per value, except Cookie, which joins with `; `. */
export function toRequestHeaders(map: HeaderMap): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(map)) {
    const key = name.trim().toLowerCase();
    const list = (Array.isArray(values) ? values : [values]).map(String);
    if (!key || list.length === 0) continue;
    if (key === 'cookie') headers[key] = list.join('; ');
    else headers[key] = list.length === 1 ? (list[0] as string) : list;
  }
  headers['user-agent'] ??= DEFAULT_USER_AGENT;
  return headers;
}

export class HttpClient {
  /**
   * For media (bodies as sent) and for the rest (gzip/br undone). Every option but a range header is set
   * here once, so a request does not pay got's option merging for them.
   */
  readonly #got: Got;
  readonly #gotDecompress: Got;
  readonly #agents: ConnectionAgents;
  readonly #tries: number;
  readonly #signal: AbortSignal;
  readonly #debug: DebugLog | undefined;
  readonly #onRetry: HttpClientSettings['onRetry'];
  /** Cookie / Authorization of the task, sent per request to the origins the scope allows. */
  readonly #credentials: Record<string, string | string[]>;
  readonly #scope: CredentialScope | undefined;
  readonly #hosts: HostLimits | undefined;
  readonly #onBackoff: HttpClientSettings['onBackoff'];
  readonly #mayRequest: HttpClientSettings['mayRequest'];
  /**
   * The speed limit: whoever reads a body of this client calls it with each chunk's size and
   * waits on what it returns. Held here, not put in the stream, so an unlimited read adds no
   * stream stage and a limit set mid-body applies to that body's next chunk.
   */
  readonly gate: ByteGate | undefined;

  constructor(headers: HeaderMap, settings: HttpClientSettings, signal: AbortSignal, debug?: DebugLog) {
    this.#onRetry = settings.onRetry;
    this.#agents = createAgents(settings.proxy, settings.tls, settings.maxSockets);
    this.#hosts = settings.hosts;
    this.#onBackoff = settings.onBackoff;
    this.#mayRequest = settings.mayRequest;
    this.gate = settings.gate;
    this.#tries = settings.retry.tries;
    this.#signal = signal;
    this.#debug = debug;
    const all = toRequestHeaders(headers);
    this.#scope = settings.credentialScope;
    const { common, credentials } = this.#scope ? splitCredentials(all) : { common: all, credentials: {} };
    this.#credentials = credentials;
    // A redirect to another origin drops them too: got does that itself.
    const base = got.extend({
      headers: common,
      agent: { http: this.#agents.http, https: this.#agents.https },
      https: { rejectUnauthorized: !settings.tls.allowInsecure },
      timeout: { ...(settings.timeouts ?? DEFAULT_TIMEOUTS) },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: true,
      maxRedirects: 10,
      signal,
    });
    this.#got = base.extend({ decompress: false });
    this.#gotDecompress = base.extend({ decompress: true });
  }

  /**
   * GETs `url` and hands the body to `consume`, retrying the whole exchange when it
   * fails in a way another try can fix. Rejects with RequestFailure, ProxyError,
   * AbortError, or whatever `consume` threw that is not a transfer problem.
   */
  async get<T>(url: string, options: GetOptions, consume: BodyConsumer<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      if (this.#signal.aborted) throw new AbortError();
      // A turn at the host (its connection cap, a Retry-After it sent) before the request goes out.
      const release = this.#hosts ? await this.#turn(url) : undefined;
      // Asked last, with nothing awaited between it and the request: the answer holds when it goes out.
      if (this.#mayRequest?.() === false) {
        release?.();
        throw new AbortError('download aborted: no more requests allowed');
      }
      const started = performance.now();
      let stream: Request | undefined;
      let status = 0;
      try {
        stream = this.#open(url, options);
        const response = await responseOf(stream);
        status = response.statusCode;
        if (status < 200 || status > 299) throw new StatusError(status, response.headers);
        if (options.range) checkRange(response, options.range);
        const result = await consume(options.decompress ? stream : decodedBody(stream, response), { status, url: response.url, headers: response.headers });
        checkLength(stream, response, options);
        this.#hosts?.answered(url, status);
        release?.();
        this.#log(url, options, `${status}, ${stream.downloadProgress.transferred} B`, tries, started);
        // got streams do not destroy themselves; until destroyed each keeps a listener on the shared
        // abort signal, which would hold every finished request in memory. The socket stays pooled.
        stream.destroy();
        return result;
      } catch (error) {
        stream?.destroy();
        const notice = error instanceof StatusError ? this.#hosts?.answered(url, error.status, retryAfterMs(error.headers['retry-after'])) : undefined;
        release?.();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it aborts while the request runs
        if (this.#signal.aborted) {
          this.#log(url, options, 'aborted', tries, started);
          throw new AbortError('download aborted', { cause: error });
        }
        const verdict = this.#judge(error);
        if (!verdict) {
          this.#log(url, options, `${status || 'failed'}: ${describe(error)}`, tries, started);
          throw error;
        }
        const last = !verdict.retry || tries >= this.#tries;
        const delay = last ? 0 : backoff(tries, verdict.retryAfterMs);
        this.#log(url, options, `${verdict.detail}${last ? '' : `, retrying in ${Math.round(delay)} ms`}`, tries, started);
        if (!last && (verdict.status === 429 || verdict.status === 503)) this.#backingOff(url, verdict, delay, notice);
        if (last) {
          const detail = verdict.retry && tries > 1 ? `${verdict.detail} (after ${tries} tries)` : verdict.detail;
          if (verdict.proxy) throw new ProxyError(detail, { cause: error });
          throw new RequestFailure(detail, url, tries, {
            ...(verdict.status !== undefined ? { status: verdict.status } : {}),
            cause: error,
          });
        }
        this.#onRetry?.(hostOf(url), verdict.status !== undefined ? String(verdict.status) : (codeOf(error) ?? 'error'));
        try {
          await sleep(delay, undefined, { signal: this.#signal });
        } catch {
          throw new AbortError();
        }
      }
    }
  }

  async #turn(url: string): Promise<() => void> {
    try {
      return await this.#hosts!.acquire(url, this.#signal);
    } catch (error) {
      throw new AbortError('download aborted', { cause: error });
    }
  }

  /** Says in the debug log and the status line that the server asked us to slow down, and how we do. */
  #backingOff(url: string, verdict: Verdict, delay: number, notice: BackoffNotice | undefined): void {
    let host: string;
    try {
      host = new URL(url).host;
    } catch {
      host = url;
    }
    const asked = verdict.retryAfterMs !== undefined ? `, Retry-After ${formatSeconds(verdict.retryAfterMs)}` : '';
    const fewer = notice?.lowered ? `; at most ${notice.allowance} request${notice.allowance === 1 ? '' : 's'} at once to it for now` : '';
    this.#debug?.(`backing off: ${host} answered HTTP ${verdict.status}${asked}, next try in ${formatSeconds(delay)}${fewer}`);
    const note: BackoffNote = { host, status: verdict.status ?? 0, next_try_s: roundSeconds(delay) };
    if (verdict.retryAfterMs !== undefined) note.retry_after_s = roundSeconds(verdict.retryAfterMs);
    if (notice?.lowered && notice.allowance !== undefined) note.allowance = notice.allowance;
    this.#onBackoff?.(note, Date.now() + delay);
  }

  /** Drops every pooled connection; call once the download is over. */
  destroy(): void {
    this.#agents.destroy();
  }

  #open(url: string, options: GetOptions): Request {
    const instance = options.decompress ? this.#gotDecompress : this.#got;
    const headers: Record<string, string | string[]> = this.#scope && Object.keys(this.#credentials).length && this.#scope.allows(url) ? { ...this.#credentials } : {};
    if (options.range) headers.range = `bytes=${options.range.offset}-${options.range.offset + options.range.length - 1}`;
    const stream = Object.keys(headers).length ? instance.stream(url, { headers }) : instance.stream(url);
    // Errors after the response head reach whoever consumes the body; this keeps an early one from going unhandled.
    stream.on('error', () => {});
    return stream;
  }

  #log(url: string, options: GetOptions, outcome: string, tries: number, started: number): void {
    if (!this.#debug) return;
    const range = options.range ? ` [bytes ${options.range.offset}+${options.range.length}]` : '';
    this.#debug(`GET ${url}${range} -> ${outcome} (try ${tries}/${this.#tries}, ${Math.round(performance.now() - started)} ms)`);
  }

  /** Undefined when the error is not about the transfer (a full disk, a bad key) and must not be retried. */
  #judge(error: unknown): Verdict | undefined {
    if (error instanceof StatusError) {
      const { status } = error;
      const retry = status >= 500 || status === 429 || status === 408;
      const verdict: Verdict = { detail: `answered HTTP ${status}`, retry, status };
      const after = retryAfterMs(error.headers['retry-after']);
      if (after !== undefined) verdict.retryAfterMs = after;
      return verdict;
    }
    if (error instanceof RequestFailure) return { detail: error.message, retry: false, ...(error.status ? { status: error.status } : {}) };
    if (error instanceof DownloadError) return undefined;

    const proxy = this.#agents.proxyLabel;
    const text = chainText(error);
    if (proxy) {
      const refused = /Bad response: (\d+)/.exec(text);
      if (refused?.[1] === '407') {
        return { detail: `the ${proxy} refused the credentials (407 Proxy Authentication Required); check proxy_username and proxy_password`, retry: false, proxy: true };
      }
      if (refused) return { detail: `the ${proxy} refused the tunnel (answered ${refused[1]})`, retry: true, proxy: true };
      if (/Socks5 Authentication failed|no accepted authentication type/i.test(text)) {
        return { detail: `the ${proxy} refused the credentials; check proxy_username and proxy_password`, retry: false, proxy: true };
      }
      if (/Socks[45]? ?proxy rejected connection/i.test(text)) {
        return { detail: `the ${proxy} could not reach the server (${firstLine(text)})`, retry: true, proxy: true };
      }
      if (codeOf(error) === 'ECONNREFUSED') return { detail: `could not connect to the ${proxy} (ECONNREFUSED)`, retry: true, proxy: true };
    }

    const code = codeOf(error);
    if (code && TLS_CODES.test(code)) {
      return { detail: `the TLS certificate was not accepted (${code}); set allow_insecure_https to download anyway`, retry: false };
    }
    if (error instanceof RequestError || (code && RETRYABLE_CODES.has(code))) {
      // A bad header value or URL fails the same way every time.
      const permanent = code === 'ENOTFOUND' || (code !== undefined && /^ERR_(?:INVALID|HTTP_INVALID|UNSUPPORTED|TOO_MANY_REDIRECTS)/.test(code));
      return { detail: describe(error), retry: !permanent };
    }
    return undefined;
  }
}

function responseOf(stream: Request): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    stream.once('error', onError);
    stream.once('response', (response: PlainResponse) => {
      stream.off('error', onError);
      resolve(response);
    });
  });
}

/** A byte-range request must come back as 206 with the range asked for. */
function checkRange(response: PlainResponse, range: ByteRange): void {
  const end = range.offset + range.length - 1;
  if (response.statusCode !== 206) {
    throw new RequestFailure(`answered HTTP ${response.statusCode} to a byte-range request, expected 206 Partial Content`, response.url, 1, {
      status: response.statusCode,
    });
  }
  const match = /bytes\s+(\d+)-(\d+)/.exec(String(response.headers['content-range'] ?? ''));
  if (match && (Number(match[1]) !== range.offset || Number(match[2]) !== end)) {
    throw new RequestFailure(`answered bytes ${match[1]}-${match[2]} for the range ${range.offset}-${end}`, response.url, 1);
  }
}

/**
 * The body as the server meant it: we ask for no encoding on media, but by HTTP rules a server may still
 * send one (gzip, deflate, br), and ffmpeg must not get compressed bytes. Content-Length counts the
 * encoded bytes, so the length check stays on the raw stream.
 */
function decodedBody(stream: Request, response: PlainResponse): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return stream;
  let decoder: Transform;
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = createGunzip();
  else if (encoding === 'deflate') decoder = createInflate();
  else if (encoding === 'br') decoder = createBrotliDecompress();
  else throw new RequestFailure(`answered Content-Encoding: ${encoding}, which m3u8dm cannot decode (gzip, deflate and br are supported)`, response.url, 1);
  // Errors of either side end the other, so the consumer sees a cut or corrupt body as an error.
  pipeline(stream, decoder, () => {});
  return decoder;
}

/** A body shorter than its Content-Length; the code is Node's for a cut stream, so it is retried like one. */
class ShortBodyError extends Error {
  override name = 'ShortBodyError';
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Node notices most cut-off bodies itself; this catches the rest before a short file is trusted. */
function checkLength(stream: Request, response: PlainResponse, options: GetOptions): void {
  const declared = response.headers['content-length'];
  if (options.decompress || declared === undefined) return;
  const received = stream.downloadProgress.transferred;
  if (received !== Number(declared)) throw new ShortBodyError(`the body ended after ${received} of ${declared} bytes`);
}

/** Exponential backoff with jitter: half the step fixed, half random, so parallel retries spread out. */
function backoff(tries: number, retryAfter?: number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (tries - 1));
  const jittered = step / 2 + Math.random() * (step / 2);
  return retryAfter === undefined ? jittered : Math.max(jittered, Math.min(retryAfter, RETRY_AFTER_CAP_MS));
}

/** Seconds, to a tenth below 10 s and whole above. */
function roundSeconds(ms: number): number {
  const seconds = ms / 1000;
  return seconds < 10 ? Number(seconds.toFixed(1)) : Math.round(seconds);
}

function formatSeconds(ms: number): string {
  return `${roundSeconds(ms)} s`;
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown';
  }
}

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ERR_GOT_REQUEST_ERROR') return code;
  }
  return (error as { code?: string } | undefined)?.code;
}

function chainText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown non-Error: its own text is all there is
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(' | ');
}

function firstLine(text: string): string {
  return text.split(' | ')[0] ?? text;
}

const PLAIN_CODES: Record<string, string> = {
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'the connection was refused',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name lookup failed',
  ERR_STREAM_PREMATURE_CLOSE: 'the connection closed before the body ended',
};

/** A short human phrase for a transfer error: `the connection was reset (ECONNRESET)`. */
export function describe(error: unknown): string {
  const code = codeOf(error);
  if (error instanceof ShortBodyError) return error.message;
  if (error instanceof Error && error.name === 'TimeoutError') {
    const event = (error as { event?: string }).event;
    return `timed out${event ? ` waiting for ${event}` : ''} (ETIMEDOUT)`;
  }
  if (code && PLAIN_CODES[code]) return `${PLAIN_CODES[code]} (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
