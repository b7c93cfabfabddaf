// Optional bearer token on every /api and /ws request (`?token=` for EventSource and
// WebSocket, which cannot set headers). Compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The token a request carries, from the Authorization header or the `token` query parameter. */
export function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m?.[1];
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

/** True when no token is configured, or the request carries the right one. */
export function isAuthorized(req: IncomingMessage, expected: string | undefined): boolean {
  if (!expected) return true;
  const given = tokenOf(req);
  // Hashing first makes the comparison constant-time whatever the lengths.
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

/** The request URL with any `token=` value hidden, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/gi, '$1[redacted]');
}
