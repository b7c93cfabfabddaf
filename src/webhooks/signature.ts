// The webhook signature: `sha256=` and the hex HMAC-SHA256 of the raw body with the
// webhook's secret (the scheme GitHub's webhooks made familiar). Receivers recompute
// it over the bytes they got and compare in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-M3U8DM-Signature';
export const DELIVERY_HEADER = 'X-M3U8DM-Delivery';
export const EVENT_HEADER = 'X-M3U8DM-Event';

export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `signature` is the one `secret` gives for `body`. */
export function verifySignature(body: string | Buffer, secret: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
