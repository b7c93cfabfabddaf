// Optional bearer token on every /api and /ws request (`?token=` for EventSource and
// WebSocket, which cannot set headers, and only there: a token in a URL ends up in histories
// and logs), also accepted as the password of HTTP Basic, plus an optional Basic user/password
// pair. Compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The routes that take `?token=`: EventSource and WebSocket cannot send an Authorization header. */
const QUERY_TOKEN_PATHS = new Set(['/api/v1/events', '/ws/progress']);

/** The token a request carries, from the Authorization header or (on the stream routes) the `token` query parameter. */
export function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m?.[1];
  }
  // Express rewrites `url` below a mount point; `originalUrl` is the one the client sent.
  const url = new URL((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/', 'http://localhost');
  if (!QUERY_TOKEN_PATHS.has(url.pathname.toLowerCase().replace(/\/+$/, ''))) return undefined;
  return url.searchParams.get('token') ?? undefined;
}

/** A user name and password for HTTP Basic (`M3U8DM_AUTH_USER` / `M3U8DM_AUTH_PASS`). */
export interface BasicCredentials {
  user: string;
  pass: string;
}

// Hashing first makes the comparison constant-time whatever the lengths.
const same = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

/** The user and password of an `Authorization: Basic` header, if it has one. */
export function basicOf(req: IncomingMessage): BasicCredentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization?.trim() ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/**
 * True when nothing is configured, or the request carries the token (Bearer, `?token=`, or as
 * the password of Basic with any user name, as the Go original's scripts send it), or the
 * configured Basic user and password.
 */
export function isAuthorized(req: IncomingMessage, expected: string | undefined, basic?: BasicCredentials): boolean {
  if (!expected && !basic) return true;
  const pair = basicOf(req);
  if (pair) {
    if (expected && same(pair.pass, expected)) return true;
    if (!basic) return false;
    // Both compared, so a wrong user takes as long as a wrong password.
    const userOk = same(pair.user, basic.user);
    const passOk = same(pair.pass, basic.pass);
    return userOk && passOk;
  }
  const given = tokenOf(req);
  return expected !== undefined && given !== undefined && same(given, expected);
}

/**
 * The `WWW-Authenticate` of a 401. With a token, both schemes (Basic takes the token as its
 * password), except for a script request of a same-origin page (our own, which has its own
 * token prompt): Bearer only, so the browser's login dialog does not cover the page. With only
 * a Basic pair, Basic alone: the browser asks for it, as it did for the original.
 */
export function challengeFor(req: IncomingMessage, token: string | undefined): string {
  const basic = 'Basic realm="m3u8dm", charset="UTF-8"';
  if (!token) return basic;
  const bearer = 'Bearer realm="m3u8dm"';
  const fromOurPage = req.headers['sec-fetch-site'] === 'same-origin' && req.headers['sec-fetch-mode'] !== undefined && req.headers['sec-fetch-mode'] !== 'navigate';
  return fromOurPage ? bearer : `${bearer}, ${basic}`;
}

/** Query parameters whose values never reach a log (tokens, signed links' `sig`), by their decoded name. */
const SECRET_PARAMS = new Set(['token', 'access_token', 'sig']);

function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).trim().toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * The request URL with secret query values hidden, for logs. Names are compared decoded, as the
 * query parser reads them: `?%74oken=` is the token too.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split(/([&;])/).map((part) => {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    return eq >= 0 && SECRET_PARAMS.has(decodedName(name)) ? `${name}=[redacted]` : part;
  });
  return `${url.slice(0, q + 1)}${parts.join('')}${hash < 0 ? '' : url.slice(hash)}`;
}
