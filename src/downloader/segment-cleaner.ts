// Removes the junk some sites put in front of segments to disguise them (a fake
// PNG/JPEG/GIF header, padding) while the bytes stream through. Only the head
// is held back, and only until the real media start is found.
import { Transform, type TransformCallback } from 'node:stream';

const TS_PACKET = 188;
const TS_SYNC = 0x47;
/** Packets after the candidate that must also start with a sync byte. */
const TS_CHECKS = 3;
/** How far into a segment the real start is looked for before giving up and passing it through. */
const SCAN_LIMIT = 512 * 1024;

const MP4_BOXES = new Set(['ftyp', 'styp', 'moof', 'moov', 'sidx', 'emsg', 'prft', 'mdat', 'free', 'skip']);

/** Where the media starts in `head`; `more` when undecidable yet; `none` when no start is found. */
type Finder = (head: Buffer, final: boolean) => number | 'more' | 'none';

/**
 * The first offset where a 0x47 sync byte repeats every 188 bytes. A PNG signature
 * contains 0x47 ('G'), so one sync byte alone proves nothing.
 */
export const findTsStart: Finder = (head, final) => {
  const limit = Math.min(head.length, SCAN_LIMIT);
  for (let p = 0; p < limit; p++) {
    if (head[p] !== TS_SYNC) continue;
    let checked = 0;
    let ok = true;
    for (let k = 1; k <= TS_CHECKS; k++) {
      const q = p + k * TS_PACKET;
      if (q >= head.length) break;
      if (head[q] !== TS_SYNC) {
        ok = false;
        break;
      }
      checked++;
    }
    if (!ok) continue;
    if (checked === TS_CHECKS) return p;
    // Not enough bytes yet to confirm this candidate.
    if (!final) return 'more';
    // A short segment: what could be checked matched.
    if (checked > 0 || head.length - p <= TS_PACKET) return p;
  }
  return final || head.length >= SCAN_LIMIT + TS_CHECKS * TS_PACKET ? 'none' : 'more';
};

/** The first offset holding a plausible ISO-BMFF box header (size, then a known type). */
export const findMp4Start: Finder = (head, final) => {
  const limit = Math.min(head.length - 8, SCAN_LIMIT);
  for (let p = 0; p <= limit; p++) {
    const type = head.toString('latin1', p + 4, p + 8);
    if (!MP4_BOXES.has(type)) continue;
    const size = head.readUInt32BE(p);
    if (size === 1 || size >= 8) return p;
  }
  return final || head.length >= SCAN_LIMIT + 8 ? 'none' : 'more';
};

export class SegmentCleaner extends Transform {
  /** Bytes dropped from the front; 0 when the segment was clean. */
  stripped = 0;
  /** False when no media start was found and the bytes went through untouched. */
  recognised = true;
  readonly #find: Finder;
  #head: Buffer[] = [];
  #headLength = 0;
  #decided = false;

  constructor(container: 'ts' | 'fmp4') {
    super();
    this.#find = container === 'ts' ? findTsStart : findMp4Start;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#decided) {
      callback(null, chunk);
      return;
    }
    this.#head.push(chunk);
    this.#headLength += chunk.length;
    this.#decide(false);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#decided) this.#decide(true);
    callback();
  }

  #decide(final: boolean): void {
    const head = this.#head.length === 1 ? (this.#head[0] as Buffer) : Buffer.concat(this.#head, this.#headLength);
    this.#head = [head];
    const found = this.#find(head, final);
    if (found === 'more') return;
    this.#decided = true;
    this.#head = [];
    if (found === 'none') {
      this.recognised = head.length === 0;
      if (head.length > 0) this.push(head);
      return;
    }
    this.stripped = found;
    if (found < head.length) this.push(found === 0 ? head : head.subarray(found));
  }
}
