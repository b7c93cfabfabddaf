// One attempt at one webhook delivery: a JSON POST with its id, event and signature
// headers, and what the answer means for the next attempt. A 2xx is delivered;
// 5xx, 408, 429, a timeout or a connection error is worth another try; any other
// answer (4xx, a redirect, which is not followed) is the receiver saying no.
import { VERSION } from '../service/version.js';
import type { Delivery } from '../store/outbox-store.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from './signature.js';

export interface AttemptResult {
  outcome: 'delivered' | 'retry' | 'rejected';
  status: number | null;
  /** For people: `answered HTTP 503`, `timed out after 10000 ms`, `connection refused (ECONNREFUSED)`. */
  error: string;
  /** A 429's or 503's Retry-After, in ms. */
  retryAfterMs?: number;
}

function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const PLAIN: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name does not resolve',
  EAI_AGAIN: 'host name lookup failed',
  UND_ERR_SOCKET: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
};

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return `${PLAIN[code] ?? 'request failed'} (${code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export async function sendDelivery(delivery: Delivery, attempt: number, timeoutMs: number, signal?: AbortSignal): Promise<AttemptResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `m3u8dm/${VERSION}`,
    [DELIVERY_HEADER]: delivery.id,
    [EVENT_HEADER]: delivery.event,
    'X-M3U8DM-Attempt': String(attempt),
  };
  if (delivery.signature) headers[SIGNATURE_HEADER] = delivery.signature;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(delivery.url, {
      method: 'POST',
      headers,
      body: delivery.body,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    // The answer's body is not needed; cancelling frees the connection.
    await res.body?.cancel().catch(() => undefined);
    const status = res.status;
    if (status >= 200 && status <= 299) return { outcome: 'delivered', status, error: '' };
    const after = retryAfter(res.headers.get('retry-after'));
    const result: AttemptResult = { outcome: status >= 500 || status === 429 || status === 408 ? 'retry' : 'rejected', status, error: `answered HTTP ${status}` };
    if (status >= 300 && status <= 399) result.error += ' (redirects are not followed: give the final URL)';
    if (after !== undefined) result.retryAfterMs = after;
    return result;
  } catch (error) {
    return { outcome: 'retry', status: null, error: describeFailure(error, timeoutMs) };
  }
}
