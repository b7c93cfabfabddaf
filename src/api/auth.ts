// Optional bearer token on every /api and /ws request (`?token=` for EventSource and
// WebSocket, which cannot set headers, and only there: a token in a URL ends up in
// histories and logs). Compared in constant time.
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

/** True when no token is configured, or the request carries the right one. */
export function isAuthorized(req: IncomingMessage, expected: string | undefined): boolean {
  if (!expected) return true;
  const given = tokenOf(req);
  // Hashing first makes the comparison constant-time whatever the lengths.
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/** Query parameters whose values never reach a log, by their decoded name. */
const SECRET_PARAMS = new Set(['token', 'access_token']);

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
