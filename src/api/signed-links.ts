// Short-lived links to one task's file, for what a page cannot send headers with: a
// <video src> (which then makes its own Range requests) and a plain download link. A link
// names a task id and an expiry and is signed with HMAC-SHA256 under a key made at start
// (so a restart voids every link); it opens nothing but `GET /api/v1/tasks/<id>/file`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const KEY = randomBytes(32);
/** Long enough to watch a film with seeks; short enough that a leaked link soon dies. */
export const LINK_LIFETIME_MS = 6 * 3600_000;
const FILE_PATH = /^\/api\/v1\/tasks\/(\d{1,15})\/file$/;

const signature = (id: number, expires: number, disposition: string) =>
  createHmac('sha256', KEY).update(`file:${id}:${expires}:${disposition}`).digest('base64url');

export type Disposition = 'attachment' | 'inline';

/** The link's path and query (relative to the service root) and when it stops working. */
export function signFileLink(id: number, disposition: Disposition, now = Date.now()): { path: string; expires_at: string } {
  const expires = now + LINK_LIFETIME_MS;
  const query = new URLSearchParams({ disposition, expires: String(expires), sig: signature(id, expires, disposition) });
  return { path: `api/v1/tasks/${id}/file?${query}`, expires_at: new Date(expires).toISOString() };
}

/** True for a GET/HEAD of a task's file carrying an unexpired signature for that very task. */
export function hasValidFileLink(req: IncomingMessage, now = Date.now()): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  // Inside a mounted middleware express strips the mount path from `url`; `originalUrl` keeps it.
  const url = new URL((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/', 'http://localhost');
  const m = FILE_PATH.exec(url.pathname);
  const sig = url.searchParams.get('sig');
  const expires = Number(url.searchParams.get('expires'));
  const disposition = url.searchParams.get('disposition') ?? '';
  if (!m || !sig || !Number.isSafeInteger(expires) || expires <= now) return false;
  const expected = Buffer.from(signature(Number(m[1]), expires, disposition));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
