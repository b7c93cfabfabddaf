// Finds where the media really starts in a segment that some sites disguise
// with junk in front (a fake PNG/JPEG/GIF header, padding). SegmentSink uses
// these while the bytes stream through: only the head is held back, and only
// until the real media start is found.

const TS_PACKET = 188;
const TS_SYNC = 0x47;
/** Packets after the candidate that must also start with a sync byte. */
const TS_CHECKS = 3;
/** How far into a segment the real start is looked for before giving up and passing it through. */
const SCAN_LIMIT = 512 * 1024;

const MP4_BOXES = new Set(['ftyp', 'styp', 'moof', 'moov', 'sidx', 'emsg', 'prft', 'mdat', 'free', 'skip']);

/** Where the media starts in `head`; `more` when undecidable yet; `none` when no start is found. */
export type Finder = (head: Buffer, final: boolean) => number | 'more' | 'none';

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
