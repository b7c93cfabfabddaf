// Reads which elementary streams an MPEG-TS segment carries straight from its
// PAT/PMT tables: a few microseconds instead of starting ffmpeg to ask it.
// The merge uses it to decide on the ADTS → MP4 audio filter.
import { open } from 'node:fs/promises';

const PACKET = 188;
const SYNC = 0x47;
/** The tables come first in every segment ffmpeg and packagers write; look no further than this. */
const SCAN_BYTES = 256 * 1024;

/** Stream types (ISO 13818-1 table 2-34) of the first program, in PMT order; undefined when no PMT was found. */
export async function readTsStreamTypes(file: string): Promise<number[] | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(SCAN_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SCAN_BYTES, 0);
    return streamTypesIn(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

export function streamTypesIn(data: Buffer): number[] | undefined {
  let pmtPid: number | undefined;
  for (let at = firstSync(data); at >= 0 && at + PACKET <= data.length; at += PACKET) {
    const packet = data.subarray(at, at + PACKET);
    if (packet[0] !== SYNC) return undefined;
    const pid = ((packet[1]! & 0x1f) << 8) | packet[2]!;
    const startsSection = (packet[1]! & 0x40) !== 0;
    if (!startsSection || (pid !== 0 && pid !== pmtPid)) continue;
    const section = sectionOf(packet);
    if (!section) continue;
    if (pid === 0 && section[0] === 0x00) pmtPid = firstPmtPid(section);
    else if (pid === pmtPid && section[0] === 0x02) return pmtStreamTypes(section);
  }
  return undefined;
}

/** Where packets start: a sync byte repeated at the packet size (cleaned segments start at 0). */
function firstSync(data: Buffer): number {
  for (let at = 0; at < PACKET && at + 2 * PACKET < data.length; at++) {
    if (data[at] === SYNC && data[at + PACKET] === SYNC && data[at + 2 * PACKET] === SYNC) return at;
  }
  return -1;
}

/** The PSI section that starts in this packet, cut to its section_length; undefined when it spans packets. */
function sectionOf(packet: Buffer): Buffer | undefined {
  const adaptation = (packet[3]! >> 4) & 0x3;
  if ((adaptation & 0x1) === 0) return undefined;
  let payload = 4;
  if (adaptation & 0x2) payload += 1 + packet[4]!;
  const start = payload + 1 + (packet[payload] ?? PACKET);
  if (start + 3 > PACKET) return undefined;
  const length = 3 + (((packet[start + 1]! & 0x0f) << 8) | packet[start + 2]!);
  if (start + length > PACKET) return undefined;
  return packet.subarray(start, start + length);
}

function firstPmtPid(pat: Buffer): number | undefined {
  // 8 header bytes, 4-byte program entries, 4 CRC bytes.
  for (let at = 8; at + 4 <= pat.length - 4; at += 4) {
    const program = (pat[at]! << 8) | pat[at + 1]!;
    if (program !== 0) return ((pat[at + 2]! & 0x1f) << 8) | pat[at + 3]!;
  }
  return undefined;
}

function pmtStreamTypes(pmt: Buffer): number[] {
  const types: number[] = [];
  const programInfo = ((pmt[10]! & 0x0f) << 8) | pmt[11]!;
  for (let at = 12 + programInfo; at + 5 <= pmt.length - 4; ) {
    types.push(pmt[at]!);
    at += 5 + (((pmt[at + 3]! & 0x0f) << 8) | pmt[at + 4]!);
  }
  return types;
}

/** MPEG-1/2 video, H.264, HEVC, MPEG-4 part 2: never audio. */
const VIDEO_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24]);
/** Timed ID3, SCTE-35 cues, private sections: data ffmpeg does not turn into audio streams. */
const DATA_TYPES = new Set([0x05, 0x15, 0x86]);
const ADTS_AAC = 0x0f;
/** MPEG audio, LATM AAC, AC-3, E-AC-3: audio the ADTS filter must not touch. */
const OTHER_AUDIO_TYPES = new Set([0x03, 0x04, 0x11, 0x81, 0x87]);

/**
 * Whether every audio stream is ADTS AAC (`all`), none is (`none`), or the tables leave it open
 * (`unknown`: AAC beside other audio, private streams that may be audio, unknown types, or no PMT found).
 */
export function adtsAudio(types: readonly number[] | undefined): 'all' | 'none' | 'unknown' {
  if (!types) return 'unknown';
  const audio = types.filter((type) => !VIDEO_TYPES.has(type) && !DATA_TYPES.has(type));
  if (audio.every((type) => type === ADTS_AAC)) return audio.length > 0 ? 'all' : 'none';
  if (audio.every((type) => OTHER_AUDIO_TYPES.has(type))) return 'none';
  return 'unknown';
}
