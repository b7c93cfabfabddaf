// Packed audio (RFC 8216 §3.4): segments of raw audio frames — ADTS AAC, MP3,
// AC-3, E-AC-3 — each behind an ID3 tag whose PRIV frame
// `com.apple.streaming.transportStreamTimestamp` says where it starts on the
// 90 kHz MPEG-TS clock. Recognised by content (many servers name them `.ts`
// or nothing telling), joined into one raw stream without the ID3 tags (which
// ffmpeg's raw demuxers only skip at the very start), and placed in time by
// the first timestamp, so a rendition stays in sync with its video.
import { createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { DownloadedSegment } from '../types.js';

export type PackedCodec = 'aac' | 'mp3' | 'ac3' | 'eac3';

export interface PackedAudio {
  codec: PackedCodec;
  /** ffmpeg's demuxer for it (`-f`). */
  format: 'aac' | 'mp3' | 'ac3' | 'eac3';
  /** File extension of the joined stream. */
  extension: string;
  /** The first segment's ID3 timestamp in seconds (90 kHz clock), when it has one. */
  startSeconds?: number;
}

/** Enough of a segment's head for the ID3 tag and the first frame header. */
const HEAD_BYTES = 64 * 1024;
const TS_PACKET = 188;
const PRIV_OWNER = 'com.apple.streaming.transportStreamTimestamp';

/** What packed audio the segment file holds, or undefined when it is something else (MPEG-TS, fMP4, unknown). */
export async function detectPackedAudio(file: string): Promise<PackedAudio | undefined> {
  const handle = await open(file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  return packedAudioIn(head);
}

export function packedAudioIn(head: Buffer): PackedAudio | undefined {
  if (head.length >= 3 * TS_PACKET && head[0] === 0x47 && head[TS_PACKET] === 0x47 && head[2 * TS_PACKET] === 0x47) return undefined;
  const tags = id3Length(head);
  const codec = frameCodec(head, tags);
  if (!codec) return undefined;
  const packed: PackedAudio = { codec, format: codec, extension: codec === 'aac' ? 'aac' : codec };
  const pts = id3Timestamp(head.subarray(0, tags));
  if (pts !== undefined) packed.startSeconds = pts / 90_000;
  return packed;
}

/** Bytes taken by the ID3v2 tags at the start of `data` (0 when there are none). */
export function id3Length(data: Buffer): number {
  let at = 0;
  while (at + 10 <= data.length && data.toString('latin1', at, at + 3) === 'ID3') {
    const size = syncsafe(data, at + 6);
    const footer = (data[at + 5]! & 0x10) !== 0 ? 10 : 0;
    at += 10 + size + footer;
  }
  return at;
}

function syncsafe(data: Buffer, at: number): number {
  return ((data[at]! & 0x7f) << 21) | ((data[at + 1]! & 0x7f) << 14) | ((data[at + 2]! & 0x7f) << 7) | (data[at + 3]! & 0x7f);
}

/** The codec of the audio frame at `at`, from its sync word and header. */
function frameCodec(data: Buffer, at: number): PackedCodec | undefined {
  if (at + 6 > data.length) return undefined;
  const b0 = data[at]!;
  const b1 = data[at + 1]!;
  if (b0 === 0x0b && b1 === 0x77) {
    // AC-3 and E-AC-3 share the sync word; bsid (5 bits of byte 5) tells them apart: ≤ 8 AC-3, 11–16 E-AC-3.
    const bsid = data[at + 5]! >> 3;
    if (bsid <= 8) return 'ac3';
    if (bsid >= 11 && bsid <= 16) return 'eac3';
    return undefined;
  }
  if (b0 !== 0xff) return undefined;
  // ADTS: 12-bit sync, layer 00. MPEG audio: 11-bit sync, layer ≠ 00, bitrate index ≠ 1111.
  if ((b1 & 0xf6) === 0xf0) return 'aac';
  if ((b1 & 0xe0) === 0xe0 && (b1 & 0x06) !== 0 && (data[at + 2]! & 0xf0) !== 0xf0) return 'mp3';
  return undefined;
}

/** The 33-bit 90 kHz timestamp of Apple's PRIV frame in an ID3v2.3/2.4 tag, or undefined. */
export function id3Timestamp(tag: Buffer): number | undefined {
  if (tag.length < 10 || tag.toString('latin1', 0, 3) !== 'ID3') return undefined;
  const version = tag[3]!;
  const end = Math.min(tag.length, 10 + syncsafe(tag, 6));
  for (let at = 10; at + 10 <= end; ) {
    const id = tag.toString('latin1', at, at + 4);
    if (!/^[A-Z0-9]{4}$/.test(id)) break;
    const size = version >= 4 ? syncsafe(tag, at + 4) : tag.readUInt32BE(at + 4);
    const body = tag.subarray(at + 10, Math.min(end, at + 10 + size));
    if (id === 'PRIV') {
      const zero = body.indexOf(0);
      if (zero > 0 && body.toString('latin1', 0, zero) === PRIV_OWNER && body.length >= zero + 9) {
        return Number(body.readBigUInt64BE(zero + 1) & 0x1ffffffffn);
      }
    }
    at += 10 + size;
  }
  return undefined;
}

/**
 * Writes the segments' audio frames, ID3 tags left out, into `dest` as one raw stream. Packed audio
 * segments are small (seconds of audio), so each is read whole.
 */
export async function joinPackedAudio(segments: readonly DownloadedSegment[], dest: string, signal: AbortSignal): Promise<void> {
  async function* frames(): AsyncGenerator<Buffer> {
    for (const segment of segments) {
      signal.throwIfAborted();
      const data = await readFile(segment.file, { signal });
      yield data.subarray(id3Length(data));
    }
  }
  await pipeline(Readable.from(frames()), createWriteStream(dest), { signal });
}
