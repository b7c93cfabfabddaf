// Calls to the service: the `/api/v1` envelope, the compat `/api/settings`, and the
// token every call carries. A 401 asks for the token and retries the call.
import { T } from './i18n.js';
import { currentToken, tokenAfter401 } from './token.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    /** HTTP status; 0 when the service could not be reached. */
    readonly status: number,
    /** The v1 error code (40001 …), or null for compat and network errors. */
    readonly code: number | null,
  ) {
    super(message);
  }
}

type Method = 'GET' | 'POST' | 'DELETE';

interface Envelope<T> {
  code: number;
  message: string;
  data: T;
}

async function send(method: Method, path: string, body: unknown, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new ApiError(T.unreachable((err as Error).message), 0, null);
  }
}

/** Sends, and on 401 retries with the token the person enters (again if that one is refused too). */
async function call(method: Method, path: string, body?: unknown): Promise<Response> {
  let token = currentToken();
  let res = await send(method, path, body, token);
  // Only a service that takes a token says Bearer; one with a Basic user/password only is
  // answered by the browser's own login dialog, and a token prompt would be no use there.
  const wantsToken = (r: Response) => /\bBearer\b/i.test(r.headers.get('www-authenticate') ?? '');
  for (let tries = 0; res.status === 401 && wantsToken(res) && tries < 5; tries++) {
    const next = await tokenAfter401(token);
    if (next === null) break;
    token = next;
    res = await send(method, path, body, token);
  }
  return res;
}

/** A `/api/v1` call; the envelope's `data`, or an ApiError with the envelope's message and code. */
export async function v1<T>(method: Method, path: string, body?: unknown): Promise<T> {
  // Relative, so the page also works behind a proxy that serves it under a sub-path.
  const res = await call(method, `api/v1${path}`, body);
  const envelope = (await res.json().catch(() => null)) as Envelope<T> | null;
  if (!envelope || typeof envelope.code !== 'number') throw new ApiError(T.unexpected(res.status), res.status, null);
  if (!res.ok || envelope.code !== 0) throw new ApiError(envelope.message, res.status, envelope.code);
  return envelope.data;
}

/** A compat call (`/api/settings`): plain JSON, or a text error `解析设置失败: <detail>`. */
export async function compat<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const res = await call(method, `api${path}`, body);
  if (!res.ok) {
    const text = (await res.text()).trim();
    // The Chinese message is the original's; the English detail after it names the field.
    const cut = text.indexOf(': ');
    throw new ApiError(cut >= 0 ? text.slice(cut + 2) : text || `HTTP ${res.status}`, res.status, null);
  }
  return (await res.json()) as T;
}

/** A binary answer (the poster JPEG) fetched with the token, as a blob; null when there is none. */
export async function fetchBlob(path: string): Promise<Blob | null> {
  const res = await call('GET', `api/v1${path}`);
  return res.ok ? res.blob() : null;
}

/**
 * A link to a task's file that works without headers (for <video src> and a download link):
 * signed by the service for this task only, for a few hours. See SECURITY.md.
 */
export async function fileLink(id: number, disposition: 'attachment' | 'inline'): Promise<string> {
  const { path } = await v1<{ path: string; expires_at: string }>('POST', `/tasks/${id}/file-link?disposition=${disposition}`);
  return path;
}

/** EventSource cannot send headers, so the token goes in the query. */
export function eventsUrl(): string {
  const token = currentToken();
  return token ? `api/v1/events?token=${encodeURIComponent(token)}` : 'api/v1/events';
}
