// What keeps a web page the user happens to visit from driving the service (the
// drive-by attacks on aria2's RPC, Transmission and Jupyter):
// - a Host allow-list, so a DNS-rebound name (`evil.example` resolving to 127.0.0.1)
//   gets nothing, reads included;
// - cross-site refusal: a state-changing request, the event stream or the WebSocket
//   upgrade that a browser sent from another origin (its `Origin`, or its
//   `Sec-Fetch-Site`) is refused unless that origin is listed in M3U8DM_CORS_ORIGINS;
// - which bodies reach the JSON parser: `application/json`, or any type from a client
//   that is not a browser (no `Origin`, no `Sec-Fetch-Site`: curl, scripts, the CLI).
//   A browser can send other types cross-site without a preflight; those never parse.
// The checks work on a plain IncomingMessage, so the HTTP routes and the WebSocket
// upgrade share them.
import type { IncomingMessage } from 'node:http';

export interface RequestGuardOptions {
  /** The listen address (`HOST`); answered to as a Host name besides the loopback ones. */
  host: string;
  /** Extra Host names (`M3U8DM_ALLOWED_HOSTS`); `*` accepts any. */
  allowedHosts: readonly string[];
  /** Origins of other pages allowed to call the API (`M3U8DM_CORS_ORIGINS`). */
  corsOrigins: readonly string[];
}

/** Why a request is refused: a 403 with this text. */
export interface Refusal {
  status: 403;
  /** Names what to change (the variable to set, or the header at fault). */
  message: string;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
/** Names a listen address can have that a client never uses as a Host. */
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);

/** `Host` without its port, lower-cased, brackets and a trailing dot dropped: `[::1]:8080` → `::1`. */
export function hostName(hostHeader: string): string {
  let host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end > 0 ? host.slice(1, end) : host;
  } else {
    const colon = host.lastIndexOf(':');
    // One colon: name:port. More than one without brackets is a bare IPv6 address.
    if (colon >= 0 && host.indexOf(':') === colon) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

export class RequestGuard {
  readonly #names: Set<string>;
  readonly #anyHost: boolean;
  readonly #corsOrigins: Set<string>;

  constructor(options: RequestGuardOptions) {
    const extra = options.allowedHosts.map((h) => h.trim()).filter(Boolean);
    this.#anyHost = extra.includes('*');
    const names = [...LOOPBACK_NAMES, ...extra.filter((h) => h !== '*')];
    if (!WILDCARD_ADDRESSES.has(options.host.trim())) names.push(options.host);
    this.#names = new Set(names.map(hostName));
    this.#corsOrigins = new Set(options.corsOrigins.map((o) => o.trim().replace(/\/$/, '').toLowerCase()));
  }

  /** A refusal when the `Host` header names something this service was not told it is (DNS rebinding). */
  checkHost(req: IncomingMessage): Refusal | undefined {
    const header = req.headers.host;
    // HTTP/1.0 clients may send none; a browser always does.
    if (header === undefined || this.#anyHost) return undefined;
    if (this.#names.has(hostName(header))) return undefined;
    return {
      status: 403,
      message: `the Host \`${printable(header)}\` is not one this service answers to (127.0.0.1, localhost, [::1] or HOST); ` +
        'to use another name, list it in M3U8DM_ALLOWED_HOSTS (comma-separated)',
    };
  }

  /** A refusal when a browser sent the request from a page of another origin that is not in M3U8DM_CORS_ORIGINS. */
  checkCrossSite(req: IncomingMessage): Refusal | undefined {
    const origin = single(req.headers.origin);
    if (origin !== undefined && this.#corsOrigins.has(origin.trim().toLowerCase())) return undefined;
    if (origin !== undefined && !this.#isOwnOrigin(origin, req.headers.host)) {
      return {
        status: 403,
        message: `cross-site request refused: the page at Origin \`${printable(origin)}\` is not this service; ` +
          'to allow another page, list its origin in M3U8DM_CORS_ORIGINS',
      };
    }
    const site = single(req.headers['sec-fetch-site'])?.trim().toLowerCase();
    if (site === 'cross-site' || site === 'same-site') {
      return {
        status: 403,
        message: `cross-site request refused (Sec-Fetch-Site: ${site}); to allow another page, list its origin in M3U8DM_CORS_ORIGINS`,
      };
    }
    return undefined;
  }

  /** Both checks, Host first: what the WebSocket upgrade and the event stream need. */
  check(req: IncomingMessage): Refusal | undefined {
    return this.checkHost(req) ?? this.checkCrossSite(req);
  }

  #isOwnOrigin(origin: string, hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    try {
      const from = new URL(origin);
      if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
      // Through URL both ways, so a default port written out or left off compares equal.
      return from.host === new URL(`${from.protocol}//${hostHeader}`).host;
    } catch {
      // `null` (file:// pages, sandboxed frames) and anything unparsable
      return false;
    }
  }
}

/** True when the request came from a browser (fetch metadata or an Origin), which may have sent it cross-site. */
export function fromBrowser(req: IncomingMessage): boolean {
  return req.headers['sec-fetch-site'] !== undefined || req.headers.origin !== undefined;
}

/** Whether the body's Content-Type says JSON (`application/json`, `application/*+json`). */
export function isJsonType(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

/**
 * Whether a body may go to the JSON parser: JSON by type, or from a client that is no
 * browser (curl's default `application/x-www-form-urlencoded` included). A browser can
 * send text/plain, form or multipart bodies cross-site without asking first: those
 * never parse.
 */
export function mayParseJson(req: IncomingMessage): boolean {
  return isJsonType(req) || !fromBrowser(req);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A header value as shown back in a message: control characters out, length bounded. */
function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 99)}…` : clean;
}
