// Inputs for the merge suites without the downloader: a DownloadResult made
// from a fixture folder by reading its playlist here (AES-128 decrypted and
// byte ranges cut with node:crypto / plain reads, as a downloader would), and
// two extra streams made by ffmpeg and cached like the shared fixtures:
// - merge-3000: 3,000 one-frame TS segments (120 s, 25 fps, every frame a keyframe);
// - merge-jump: two 4 s parts whose timestamps jump 3 s *forward* at the
//   discontinuity, which ffmpeg does not repair when the bytes are simply joined;
// - merge-mixed-audio: 8 s of video with two audio tracks, AAC and MPEG-1 layer II,
//   where the ADTS filter may go on the first audio stream only.
import { execFile } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import type { DownloadResult, DownloadedSegment } from '../../src/types.js';
import { FIXTURES_DIR } from './hls-fixtures.js';

const run = promisify(execFile);
const RECIPE_VERSION = '2';

/**
 * Reads the media playlist and returns what the downloader would hand over. With `workDir`, every segment
 * is written there (decrypted, cut out of its byte range) as `seg-00000.ts`…, so a test may move or break
 * them; without it the fixture's own files are referenced (plain segments only; never move those).
 */
export async function downloadResultFrom(playlistFile: string, workDir?: string): Promise<DownloadResult> {
  const base = path.dirname(playlistFile);
  const lines = (await readFile(playlistFile, 'utf8')).split(/\r?\n/).map((line) => line.trim());
  if (workDir) await mkdir(workDir, { recursive: true });

  let mediaSequence = 0;
  let key: { uri: string; iv?: Buffer } | undefined;
  let initUri: string | undefined;
  let duration = 0;
  let discontinuity = false;
  let range: { length: number; offset?: number } | undefined;
  const nextOffset = new Map<string, number>();
  const segments: DownloadedSegment[] = [];

  for (const line of lines) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(line.split(':')[1]);
    else if (line.startsWith('#EXT-X-KEY:')) {
      const attrs = attributes(line);
      key = attrs.METHOD === 'AES-128' && attrs.URI ? { uri: attrs.URI, ...(attrs.IV ? { iv: Buffer.from(attrs.IV.replace(/^0x/i, ''), 'hex') } : {}) } : undefined;
    } else if (line.startsWith('#EXT-X-MAP:')) initUri = attributes(line).URI;
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line.startsWith('#EXT-X-BYTERANGE:')) {
      const [length, offset] = line.slice('#EXT-X-BYTERANGE:'.length).split('@');
      range = { length: Number(length), ...(offset === undefined ? {} : { offset: Number(offset) }) };
    } else if (line && !line.startsWith('#')) {
      const index = segments.length;
      const source = path.resolve(base, line);
      const transformed = Boolean(key || range);
      if (transformed && !workDir) throw new Error(`${playlistFile}: encrypted or byte-range segments need a workDir`);
      let file = source;
      if (workDir) {
        file = path.join(workDir, `seg-${String(index).padStart(5, '0')}${path.extname(source)}`);
        let bytes = await readFile(source);
        if (range) {
          const offset = range.offset ?? nextOffset.get(source) ?? 0;
          bytes = bytes.subarray(offset, offset + range.length);
          nextOffset.set(source, offset + range.length);
        }
        if (key) {
          const keyBytes = await readFile(path.resolve(base, key.uri));
          const iv = key.iv ?? sequenceIv(mediaSequence + index);
          const decipher = createDecipheriv('aes-128-cbc', keyBytes, iv);
          bytes = Buffer.concat([decipher.update(bytes), decipher.final()]);
        }
        await writeFile(file, bytes);
      }
      const { size } = await stat(file);
      segments.push({ index, file, duration, discontinuity: discontinuity && index > 0, bytes: size });
      discontinuity = false;
      range = undefined;
    }
  }

  let initFile: string | undefined;
  if (initUri) {
    initFile = path.resolve(base, initUri);
    if (workDir) {
      const copy = path.join(workDir, `init${path.extname(initFile)}`);
      await copyFile(initFile, copy);
      initFile = copy;
    }
  }
  return {
    container: initUri ? 'fmp4' : 'ts',
    ...(initFile ? { initFile } : {}),
    segments,
    skipped: [],
    duration: segments.reduce((sum, segment) => sum + segment.duration, 0),
  };
}

function attributes(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of line.slice(line.indexOf(':') + 1).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
    const [, name, value] = match;
    if (name && value !== undefined) out[name] = value.replace(/^"|"$/g, '');
  }
  return out;
}

/** HLS: without IV=, the IV is the media sequence number as a 128-bit big-endian integer. */
function sequenceIv(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(sequence), 8);
  return iv;
}

export type MergeFixtureKind = 'merge-3000' | 'merge-jump' | 'merge-mixed-audio';

export interface MergeFixture {
  dir: string;
  /** Absolute path of the media playlist. */
  playlist: string;
  /** Seconds of media. */
  duration: number;
}

const ffmpeg = (args: string[], cwd: string) =>
  run(process.env.M3U8DM_FFMPEG ?? 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, maxBuffer: 16 << 20 });

function source(seconds: number, { size = '320x240', tone = 440, gop = 25 } = {}): string[] {
  return [
    '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=44100`,
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '32k',
  ];
}

const recipes: Record<MergeFixtureKind, (dir: string) => Promise<number>> = {
  async 'merge-3000'(dir) {
    // Every frame a keyframe, so the 0.04 s cut really happens at every frame: 120 s × 25 fps = 3,000 segments.
    await ffmpeg([...source(120, { size: '128x72', gop: 1 }), '-f', 'hls', '-hls_time', '0.04', '-hls_list_size', '0', '-hls_playlist_type', 'vod',
      '-hls_segment_filename', 's%04d.ts', 'index.m3u8'], dir);
    return 120;
  },
  async 'merge-jump'(dir) {
    const hls = ['-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod'];
    await ffmpeg([...source(4), ...hls, '-hls_segment_filename', 'a%03d.ts', 'a.m3u8'], dir);
    // Part a ends near 5.4 s (TS starts at 1.4 s); part b starts at 8.4 s: a 3 s forward jump.
    await ffmpeg([...source(4, { tone: 880 }), '-output_ts_offset', '7', ...hls, '-hls_segment_filename', 'b%03d.ts', 'b.m3u8'], dir);
    const body = async (name: string) =>
      (await readFile(path.join(dir, name), 'utf8')).split('\n').filter((line) => line.startsWith('#EXTINF') || (line && !line.startsWith('#')));
    await writeFile(path.join(dir, 'index.m3u8'), ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0',
      ...(await body('a.m3u8')), '#EXT-X-DISCONTINUITY', ...(await body('b.m3u8')), '#EXT-X-ENDLIST', ''].join('\n'));
    return 8;
  },
  async 'merge-mixed-audio'(dir) {
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=44100', '-t', '8', '-map', '0:v', '-map', '1:a', '-map', '2:a',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-c:a:0', 'aac', '-b:a:0', '32k', '-c:a:1', 'mp2',
      '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-hls_segment_filename', 's%03d.ts', 'index.m3u8'], dir);
    return 8;
  },
};

/** Builds once (cached in test/.fixtures, safe against parallel workers) and returns the fixture. */
export async function ensureMergeFixture(kind: MergeFixtureKind): Promise<MergeFixture> {
  const dir = path.join(FIXTURES_DIR, kind);
  const stamp = path.join(dir, '.ready');
  if (existsSync(stamp)) {
    const info = JSON.parse(await readFile(stamp, 'utf8')) as { version: string; duration: number };
    if (info.version === RECIPE_VERSION) return { dir, playlist: path.join(dir, 'index.m3u8'), duration: info.duration };
  }
  const scratch = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(scratch, { recursive: true });
  const duration = await recipes[kind](scratch);
  await writeFile(path.join(scratch, '.ready'), JSON.stringify({ version: RECIPE_VERSION, duration }));
  await rm(dir, { recursive: true, force: true });
  try {
    await rename(scratch, dir);
  } catch {
    await rm(scratch, { recursive: true, force: true }); // another worker won the race
  }
  return { dir, playlist: path.join(dir, 'index.m3u8'), duration };
}
