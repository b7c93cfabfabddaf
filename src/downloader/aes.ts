// AES-128 (HLS full-segment encryption): keys fetched once per URI, IVs from
// the tag or the media sequence number, decryption as a stream.
import { createDecipheriv, type Decipher } from 'node:crypto';
import { KeyError } from './errors.js';
import type { SegmentKey } from './media-playlist.js';

const KEY_BYTES = 16;

/** The IV HLS implies when EXT-X-KEY has none: the media sequence number as a 128-bit big-endian integer. */
export function sequenceIv(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(sequence), 8);
  return iv;
}

export function ivFor(key: SegmentKey, sequence: number): Buffer {
  return key.iv ?? sequenceIv(sequence);
}

export function createDecryptor(key: Buffer, iv: Buffer): Decipher {
  return createDecipheriv('aes-128-cbc', key, iv);
}

/** Checks a key body: exactly 16 bytes, or a KeyError saying what came instead. */
export function checkKey(body: Buffer, url: string): Buffer {
  if (body.length === KEY_BYTES) return body;
  const looksText = body.length > 0 && body.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
  const sample = looksText ? `: "${body.toString('latin1', 0, 60).replace(/\s+/g, ' ').trim()}${body.length > 60 ? '…' : ''}"` : '';
  throw new KeyError(`the AES-128 key ${url} is ${body.length} bytes, expected 16${sample}`, url);
}

/**
 * Keys remembered at once. A live stream may rotate its key every few segments for hours;
 * segments come in playlist order, so the oldest key is the one no segment asks for again.
 */
const KEYS_KEPT = 64;

/** Keys by URI. Concurrent segments asking for one key share a single fetch. */
export class KeyCache {
  readonly #keys = new Map<string, Promise<Buffer>>();
  readonly #fetch: (uri: string) => Promise<Buffer>;

  constructor(fetch: (uri: string) => Promise<Buffer>) {
    this.#fetch = fetch;
  }

  get(uri: string): Promise<Buffer> {
    let key = this.#keys.get(uri);
    if (!key) {
      key = this.#fetch(uri);
      // A failed fetch is not remembered, so a later segment may try again.
      key.catch(() => this.#keys.delete(uri));
      this.#keys.set(uri, key);
      if (this.#keys.size > KEYS_KEPT) this.#keys.delete(this.#keys.keys().next().value as string);
    }
    return key;
  }
}
