// Finds where the media really starts in a segment that some sites disguise
// with junk in front (a fake PNG/JPEG/GIF/BMP/WebP header, padding, an ID3
// tag). SegmentSink uses these while the bytes stream through: only the head
// is held back, and only until the real media start is found.
//
// Only what is recognised is stripped: a segment that does not start with
// media is cut only when it starts with a known disguise AND a confirmed media
// start follows it. Anything else (packed audio, WebVTT, a format we do not
// know) passes through byte for byte, because dropping bytes we do not
// understand destroys data ffmpeg could have read.

const TS_PACKET = 188;
const TS_SYNC = 0x47;
/** Sync bytes at 188-byte spacing that confirm a TS start (one 0x47 alone proves nothing: PNG and GIF signatures hold one). */
const TS_CONFIRM = 4;
/** How far into a segment the real start is looked for behind a disguise before giving up and passing it through. */
const SCAN_LIMIT = 512 * 1024;
/** Bytes needed to recognise every disguise signature below. */
const SIGNATURE_BYTES = 12;

const MP4_BOXES = new Set(['ftyp', 'styp', 'moof', 'moov', 'sidx', 'emsg', 'prft', 'mdat', 'free', 'skip']);

/** Where the media starts in `head`; `more` when undecidable yet; `none` when no start is recognised (pass it through). */
export type Finder = (head: Buffer, final: boolean) => number | 'more' | 'none';

/** Where a recognised disguise ends: `at` exactly (padding, an ID3 tag) or somewhere after `from` (an image header of unknown length). */
type Disguise = { exact: number } | { from: number };

const startsWith = (head: Buffer, bytes: readonly number[], at = 0) => bytes.every((byte, i) => head[at + i] === byte);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const BMP = ascii('BM');
const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');
const ID3 = ascii('ID3');

/** The disguise `head` starts with, or undefined when it starts with something else. */
export function recogniseDisguise(head: Buffer): Disguise | undefined {
  if (startsWith(head, PNG)) return { from: PNG.length };
  if (startsWith(head, JPEG)) return { from: JPEG.length };
  if (startsWith(head, GIF87) || startsWith(head, GIF89)) return { from: GIF89.length };
  if (startsWith(head, RIFF) && startsWith(head, WEBP, 8)) return { from: 12 };
  if (startsWith(head, BMP)) return { from: BMP.length };
  if (startsWith(head, ID3) && head.length >= 10) {
    // ID3v2: 10-byte header, then a syncsafe size (7 bits per byte), plus a 10-byte footer when flagged.
    const size = ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
    return { exact: 10 + size + ((head[5]! & 0x10) !== 0 ? 10 : 0) };
  }
  // Padding: a run of zero or 0xFF bytes.
  const pad = head[0];
  if (pad === 0x00 || pad === 0xff) {
    let end = 1;
    while (end < head.length && head[end] === pad) end++;
    return { exact: end };
  }
  return undefined;
}

/** True when TS packets start at `p` (TS_CONFIRM syncs, or all whole packets of a short final segment); `more` when the head is too short yet. */
function confirmTs(head: Buffer, p: number, final: boolean): boolean | 'more' {
  for (let k = 0; k < TS_CONFIRM; k++) {
    const q = p + k * TS_PACKET;
    if (q >= head.length) {
      if (!final) return 'more';
      return k >= 1 && (head.length - p) % TS_PACKET === 0;
    }
    if (head[q] !== TS_SYNC) return false;
  }
  return true;
}

/** True when a plausible ISO-BMFF box header (size, known type) starts at `p`; `more` when the head is too short yet. */
function confirmMp4(head: Buffer, p: number, final: boolean): boolean | 'more' {
  if (p + 8 > head.length) return final ? false : 'more';
  if (!MP4_BOXES.has(head.toString('latin1', p + 4, p + 8))) return false;
  const size = head.readUInt32BE(p);
  return size === 1 || size >= 8;
}

function finder(confirm: (head: Buffer, p: number, final: boolean) => boolean | 'more', candidate: (head: Buffer, p: number) => boolean): Finder {
  return (head, final) => {
    if (head.length < SIGNATURE_BYTES && !final) return 'more';
    const atStart = confirm(head, 0, final);
    if (atStart === 'more') return 'more';
    if (atStart) return 0;
    const disguise = recogniseDisguise(head);
    if (!disguise) return 'none';
    if ('exact' in disguise) {
      if (disguise.exact >= SCAN_LIMIT) return 'none';
      if (disguise.exact >= head.length && !final) return 'more';
      const confirmed = confirm(head, disguise.exact, final);
      if (confirmed === 'more') return 'more';
      return confirmed ? disguise.exact : 'none';
    }
    const limit = Math.min(head.length, SCAN_LIMIT);
    for (let p = disguise.from; p < limit; p++) {
      if (!candidate(head, p)) continue;
      const confirmed = confirm(head, p, final);
      if (confirmed === 'more') return 'more';
      if (confirmed) return p;
    }
    return final || head.length >= SCAN_LIMIT ? 'none' : 'more';
  };
}

/** 0 for a segment that starts with TS packets; the offset behind a recognised disguise; `none` otherwise. */
export const findTsStart: Finder = finder(confirmTs, (head, p) => head[p] === TS_SYNC);

/** 0 for a segment that starts with an MP4 box; the offset behind a recognised disguise; `none` otherwise. */
export const findMp4Start: Finder = finder(confirmMp4, (head, p) => p + 8 <= head.length && MP4_BOXES.has(head.toString('latin1', p + 4, p + 8)));
