// Real HLS streams made by ffmpeg in test setup, cached under test/.fixtures
// (git-ignored). Each kind is a folder servable as-is by the fixture server.
import { execFile } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FIXTURES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.fixtures');
/** Bump when the recipes change so caches are rebuilt. */
const RECIPE_VERSION = '3';

/** 16 bytes; the AES-128 fixture's key (served as key.bin). */
export const AES_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
/** The `aes-seq` fixture's second key (key2.bin), for its second half. */
export const AES_KEY_2 = Buffer.from('f0e0d0c0b0a090807060504030201000', 'hex');
/** EXT-X-MEDIA-SEQUENCE of the `aes-seq` fixture: its IVs are 100, 101, … */
export const AES_SEQ_FIRST = 100;

export type FixtureKind = 'ts' | 'aes' | 'aes-iv' | 'fmp4' | 'byterange' | 'master' | 'discontinuity' | 'aes-seq' | 'disguised' | 'long' | 'alt-audio' | 'live' | 'packed-audio' | 'quirks' | 'subtitles';

export interface FixtureInfo {
  kind: FixtureKind;
  dir: string;
  /** Path of the playlist to request, relative to the fixture folder. */
  playlist: string;
  /** Total media duration in seconds. */
  duration: number;
  segments: number;
}

const ffmpegBin = () => process.env.M3U8DM_FFMPEG ?? 'ffmpeg';

/** A/V source: a test pattern with a 440 Hz tone, keyframe every second so 1 s segments cut cleanly. */
function sourceArgs(seconds: number, size = '320x240', tone = 440): string[] {
  return [
    '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=44100`,
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '64k',
  ];
}

async function ffmpeg(args: string[], cwd: string): Promise<void> {
  await run(ffmpegBin(), ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, maxBuffer: 16 << 20 });
}

const hls = (seconds = 1) => ['-f', 'hls', '-hls_time', String(seconds), '-hls_list_size', '0', '-hls_playlist_type', 'vod'];

/** ID3 PRIV timestamps (90 kHz) of packed audio start here: the MPEG-TS start ffmpeg writes (1.4 s), so packed audio lines up with its video. */
export const PACKED_AUDIO_BASE_PTS = 126_000;

/** An ID3v2.4 tag holding Apple's packed-audio timestamp (a PRIV frame, 33-bit 90 kHz PTS). */
export function id3Timestamp(pts: number): Buffer {
  const owner = Buffer.from('com.apple.streaming.transportStreamTimestamp\0', 'latin1');
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(BigInt(Math.round(pts)) & 0x1ffffffffn);
  const body = Buffer.concat([owner, stamp]);
  const syncsafe = (n: number) => Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);
  const frame = Buffer.concat([Buffer.from('PRIV', 'latin1'), syncsafe(body.length), Buffer.from([0, 0]), body]);
  return Buffer.concat([Buffer.from('ID3', 'latin1'), Buffer.from([4, 0, 0]), syncsafe(frame.length), frame]);
}

/**
 * Packed audio as Apple publishes it: raw audio frames (ADTS AAC, MP3, AC-3, E-AC-3) cut into ~1 s segments by
 * ffmpeg's segment muxer, each behind an ID3 tag whose PRIV timestamp says where it starts. `skipFirst` leaves
 * out the first segments (their timestamps stay), for a rendition that starts later than its video.
 */
async function packedAudio(dir: string, name: string, codec: string[], format: string, ext: string, tone: number, seconds: number): Promise<{ playlist: string; duration: number; segments: number }> {
  const raw = path.join(dir, `${name}-raw`);
  await mkdir(raw, { recursive: true });
  await mkdir(path.join(dir, name), { recursive: true });
  await ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=44100`, '-t', String(seconds), '-map', '0:a', ...codec,
    '-f', 'segment', '-segment_time', '1', '-segment_format', format, '-segment_list', 'list.m3u8', '-segment_list_type', 'm3u8', `seg%03d.${ext}`], raw);
  const list = (await readFile(path.join(raw, 'list.m3u8'), 'utf8')).split('\n');
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
  let start = 0;
  let count = 0;
  let extinf = 0;
  for (const line of list) {
    if (line.startsWith('#EXTINF:')) extinf = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      // The last cut of the segment muxer may hold a frame or two; a packager would not publish that alone.
      if (extinf < 0.1) continue;
      const body = await readFile(path.join(raw, line));
      await writeFile(path.join(dir, name, line), Buffer.concat([id3Timestamp(PACKED_AUDIO_BASE_PTS + start * 90_000), body]));
      lines.push(`#EXTINF:${extinf.toFixed(6)},`, line);
      start += extinf;
      count++;
    }
  }
  lines.push('#EXT-X-ENDLIST', '');
  await writeFile(path.join(dir, name, 'index.m3u8'), lines.join('\n'));
  await rm(raw, { recursive: true, force: true });
  return { playlist: `${name}/index.m3u8`, duration: start, segments: count };
}

const recipes: Record<FixtureKind, (dir: string) => Promise<Omit<FixtureInfo, 'kind' | 'dir'>>> = {
  async live(dir) {
    // The live simulator's material (test/helpers/live-hls.ts): 60 × 0.5 s, small frames, a keyframe
    // every 12 frames at 24 fps so every segment starts on one and lasts exactly half a second.
    await ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=24', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '30',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '12', '-keyint_min', '12', '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '32k',
      ...hls(0.5), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8',
    ], dir);
    return { playlist: 'index.m3u8', duration: 30, segments: 60 };
  },
  async long(dir) {
    // Long enough (60 × 1 s) that crash and fault tests can interrupt it many times.
    await ffmpeg([...sourceArgs(60, '160x120'), ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], dir);
    return { playlist: 'index.m3u8', duration: 60, segments: 60 };
  },
  async ts(dir) {
    await ffmpeg([...sourceArgs(12), ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], dir);
    return { playlist: 'index.m3u8', duration: 12, segments: 12 };
  },
  async aes(dir) {
    // No IV in the key info: ffmpeg then uses the media sequence number as IV and omits IV= from the tag.
    await writeFile(path.join(dir, 'key.bin'), AES_KEY);
    await writeFile(path.join(dir, 'keyinfo'), 'key.bin\nkey.bin\n');
    await ffmpeg([...sourceArgs(8), ...hls(), '-hls_key_info_file', 'keyinfo', '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], dir);
    return { playlist: 'index.m3u8', duration: 8, segments: 8 };
  },
  async 'aes-iv'(dir) {
    await writeFile(path.join(dir, 'key.bin'), AES_KEY);
    await writeFile(path.join(dir, 'keyinfo'), 'key.bin\nkey.bin\n0f0e0d0c0b0a09080706050403020100\n');
    await ffmpeg([...sourceArgs(6), ...hls(), '-hls_key_info_file', 'keyinfo', '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], dir);
    return { playlist: 'index.m3u8', duration: 6, segments: 6 };
  },
  async fmp4(dir) {
    await ffmpeg([...sourceArgs(8), ...hls(), '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', 'seg%03d.m4s', 'index.m3u8'], dir);
    return { playlist: 'index.m3u8', duration: 8, segments: 8 };
  },
  async byterange(dir) {
    await ffmpeg([...sourceArgs(8), ...hls(), '-hls_flags', 'single_file', 'index.m3u8'], dir);
    return { playlist: 'index.m3u8', duration: 8, segments: 8 };
  },
  async master(dir) {
    // Two real variants of different size and bandwidth, each its own media playlist.
    for (const [name, size] of [['low', '160x120'], ['high', '320x240']] as const) {
      await mkdir(path.join(dir, name), { recursive: true });
      await ffmpeg([...sourceArgs(6, size), ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], path.join(dir, name));
    }
    await writeFile(
      path.join(dir, 'master.m3u8'),
      [
        '#EXTM3U',
        '#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2"',
        'low/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=320x240,CODECS="avc1.42c00d,mp4a.40.2"',
        'high/index.m3u8',
        '',
      ].join('\n'),
    );
    return { playlist: 'master.m3u8', duration: 6, segments: 6 };
  },
  async discontinuity(dir) {
    // Two independently encoded parts whose timestamps both start at zero, joined by a discontinuity.
    for (const [name, tone] of [['a', 440], ['b', 880]] as const) {
      await mkdir(path.join(dir, name), { recursive: true });
      await ffmpeg([...sourceArgs(4, '320x240', tone), ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], path.join(dir, name));
    }
    const partA = await readFile(path.join(dir, 'a', 'index.m3u8'), 'utf8');
    const partB = await readFile(path.join(dir, 'b', 'index.m3u8'), 'utf8');
    const body = (text: string, prefix: string) =>
      text.split('\n').filter((l) => l.startsWith('#EXTINF') || (l && !l.startsWith('#'))).map((l) => (l.startsWith('#') ? l : `${prefix}/${l}`));
    await writeFile(
      path.join(dir, 'index.m3u8'),
      ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD',
        ...body(partA, 'a'), '#EXT-X-DISCONTINUITY', ...body(partB, 'b'), '#EXT-X-ENDLIST', ''].join('\n'),
    );
    return { playlist: 'index.m3u8', duration: 8, segments: 8 };
  },
  async 'aes-seq'(dir) {
    // ffmpeg always writes IV= into the tag, so the implicit IV (the media sequence number) is made here:
    // the plain `ts` fixture's segments encrypted with node:crypto, sequence starting at 100, two keys.
    const plain = await ensureFixture('ts');
    await writeFile(path.join(dir, 'key1.bin'), AES_KEY);
    await writeFile(path.join(dir, 'key2.bin'), AES_KEY_2);
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${AES_SEQ_FIRST}`, '#EXT-X-PLAYLIST-TYPE:VOD'];
    for (let i = 0; i < plain.segments; i++) {
      const key = i < plain.segments / 2 ? AES_KEY : AES_KEY_2;
      if (i === 0) lines.push('#EXT-X-KEY:METHOD=AES-128,URI="key1.bin"');
      if (key === AES_KEY_2 && i === Math.ceil(plain.segments / 2)) lines.push('#EXT-X-KEY:METHOD=AES-128,URI="key2.bin"');
      const name = `seg${String(i).padStart(3, '0')}.ts`;
      const iv = Buffer.alloc(16);
      iv.writeUInt32BE(AES_SEQ_FIRST + i, 12);
      const cipher = createCipheriv('aes-128-cbc', key, iv);
      const body = await readFile(path.join(plain.dir, name));
      await writeFile(path.join(dir, name), Buffer.concat([cipher.update(body), cipher.final()]));
      lines.push('#EXTINF:1.000000,', name);
    }
    lines.push('#EXT-X-ENDLIST', '');
    await writeFile(path.join(dir, 'index.m3u8'), lines.join('\n'));
    return { playlist: 'index.m3u8', duration: plain.duration, segments: plain.segments };
  },
  async disguised(dir) {
    // Segments dressed up as images, as some sites serve them: a fake PNG, JPEG or GIF header
    // (the PNG and GIF signatures both contain 0x47, the TS sync byte) in front of real TS.
    const plain = await ensureFixture('ts');
    const disguises = [
      Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082', 'hex'),
      Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb0043004747', 'hex'),
      Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00GGG', 'latin1'),
    ];
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
    for (let i = 0; i < plain.segments; i++) {
      const body = await readFile(path.join(plain.dir, `seg${String(i).padStart(3, '0')}.ts`));
      const name = `img${String(i).padStart(3, '0')}.png`;
      await writeFile(path.join(dir, name), Buffer.concat([disguises[i % disguises.length] as Buffer, body]));
      lines.push('#EXTINF:1.000000,', name);
    }
    lines.push('#EXT-X-ENDLIST', '');
    await writeFile(path.join(dir, 'index.m3u8'), lines.join('\n'));
    return { playlist: 'index.m3u8', duration: plain.duration, segments: plain.segments };
  },
  async 'alt-audio'(dir) {
    // Audio as an alternate rendition: a video-only and an audio-only media playlist of the same 8 s, plus a
    // master whose variants name the audio group. The group's first rendition is neither DEFAULT nor
    // AUTOSELECT and its URI does not exist, so taking it by mistake fails loudly. `master-muxed.m3u8`
    // names a rendition without URI (audio muxed into the variant, here the A/V stream in `muxed/`).
    const parts: Array<[string, string[]]> = [
      ['video', [...sourceArgs(8), '-an']],
      ['low', [...sourceArgs(8, '160x120'), '-an']],
      ['audio', [...sourceArgs(8), '-vn']],
      ['muxed', sourceArgs(8)],
    ];
    for (const [name, args] of parts) {
      await mkdir(path.join(dir, name), { recursive: true });
      await ffmpeg([...args, ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], path.join(dir, name));
    }
    await writeFile(
      path.join(dir, 'master.m3u8'),
      [
        '#EXTM3U',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Commentary",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=NO,URI="missing/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2",AUDIO="aud"',
        'low/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=320x240,CODECS="avc1.42c00d,mp4a.40.2",AUDIO="aud"',
        'video/index.m3u8',
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(dir, 'master-muxed.m3u8'),
      [
        '#EXTM3U',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,AUTOSELECT=YES',
        '#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=320x240,CODECS="avc1.42c00d,mp4a.40.2",AUDIO="aud"',
        'muxed/index.m3u8',
        '',
      ].join('\n'),
    );
    return { playlist: 'master.m3u8', duration: 8, segments: 8 };
  },
  async 'packed-audio'(dir) {
    // Audio-only playlists of packed audio in four codecs (the AC-3 one named .dat: detected by content, not by
    // name), and a master with video-only TS plus English and French packed-AAC renditions. `master-late.m3u8`
    // has an English rendition whose playlist starts one segment later: only its ID3 timestamps say so.
    const aac = ['-c:a', 'aac', '-b:a', '48k'];
    const en = await packedAudio(dir, 'aac', aac, 'adts', 'aac', 440, 6);
    await packedAudio(dir, 'fr', aac, 'adts', 'aac', 660, 6);
    await packedAudio(dir, 'mp3', ['-c:a', 'libmp3lame', '-b:a', '64k', '-write_xing', '0', '-id3v2_version', '0'], 'mp3', 'mp3', 550, 6);
    await packedAudio(dir, 'ac3', ['-c:a', 'ac3', '-b:a', '96k'], 'ac3', 'dat', 330, 6);
    await packedAudio(dir, 'ec3', ['-c:a', 'eac3', '-b:a', '96k'], 'eac3', 'ec3', 770, 6);
    await mkdir(path.join(dir, 'video'), { recursive: true });
    await ffmpeg([...sourceArgs(6, '160x120'), '-an', ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], path.join(dir, 'video'));
    const enLines = (await readFile(path.join(dir, 'aac', 'index.m3u8'), 'utf8')).split('\n');
    const firstUri = enLines.findIndex((l) => l && !l.startsWith('#'));
    await writeFile(path.join(dir, 'aac', 'late.m3u8'), [...enLines.slice(0, firstUri - 1), ...enLines.slice(firstUri + 1)].join('\n'));
    const master = (audioUri: string) => [
      '#EXTM3U',
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="${audioUri}"`,
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Français",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,URI="fr/index.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2",AUDIO="aud"',
      'video/index.m3u8',
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'master.m3u8'), master('aac/index.m3u8'));
    await writeFile(path.join(dir, 'master-late.m3u8'), master('aac/late.m3u8'));
    return { playlist: en.playlist, duration: en.duration, segments: en.segments };
  },
  async quirks(dir) {
    // Playlist shapes real servers publish, over one 4 s TS stream in media/ (and an fMP4 one in map/):
    // CR-only line endings; EXT-X-DEFINE with NAME/VALUE, IMPORT and QUERYPARAM; an EXT-X-GAP segment whose
    // file does not exist; masters with a bare, a BANDWIDTH-less and a malformed EXT-X-STREAM-INF; and fMP4
    // whose EXT-X-MAP changes after a discontinuity (two encodes, two init sections).
    const media = path.join(dir, 'media');
    await mkdir(media, { recursive: true });
    await ffmpeg([...sourceArgs(4, '160x120'), ...hls(), '-hls_segment_filename', 'seg%03d.ts', 'index.m3u8'], media);
    const text = await readFile(path.join(media, 'index.m3u8'), 'utf8');
    const entries = text.split('\n').filter((l) => l.startsWith('#EXTINF') || (l && !l.startsWith('#')));
    const head = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
    await writeFile(path.join(media, 'cr.m3u8'), text.replace(/\n/g, '\r'));
    await writeFile(path.join(media, 'define.m3u8'), [
      ...head, '#EXT-X-DEFINE:IMPORT="prefix"', '#EXT-X-DEFINE:QUERYPARAM="token"', '#EXT-X-DEFINE:NAME="ext",VALUE=".ts"',
      ...entries.map((l) => (l.startsWith('#') ? l : `${l.replace(/\.ts$/, '').replace(/^seg/, '{$prefix}')}{$ext}?t={$token}`)), '#EXT-X-ENDLIST', ''].join('\n'));
    await writeFile(path.join(dir, 'define-master.m3u8'), [
      '#EXTM3U', '#EXT-X-DEFINE:NAME="prefix",VALUE="seg"', '#EXT-X-DEFINE:NAME="folder",VALUE="media"', '#EXT-X-DEFINE:QUERYPARAM="token"',
      '#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120', '{$folder}/define.m3u8?token={$token}', ''].join('\n'));
    // Segment 3 is a gap: the playlist says so and the server has no such file.
    const gapped = entries.flatMap((l, i) => (i === 4 ? ['#EXT-X-GAP'] : []).concat(i === 5 ? ['gone002.ts'] : [l]));
    await writeFile(path.join(media, 'gap.m3u8'), [...head, ...gapped, '#EXT-X-ENDLIST', ''].join('\n'));
    const masters: Record<string, string[]> = {
      'bare-master.m3u8': ['#EXT-X-STREAM-INF:', 'media/index.m3u8'],
      'nobw-master.m3u8': ['#EXT-X-STREAM-INF:RESOLUTION=160x120', 'media/index.m3u8', '#EXT-X-STREAM-INF:CODECS="avc1.42c00c"', 'missing/index.m3u8'],
      'malformed-master.m3u8': ['#EXT-X-STREAM-INF:BANDWIDTH=lots,RESOLUTION=wide', 'media/index.m3u8', '#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=,RESOLUTION=x', 'missing/index.m3u8', '#EXT-X-STREAM-INF:BANDWIDTH=1'],
    };
    for (const [name, lines] of Object.entries(masters)) await writeFile(path.join(dir, name), ['#EXTM3U', ...lines, ''].join('\n'));
    // fMP4 in two encodes: each part has its own init section; the playlist switches at the discontinuity.
    const map = path.join(dir, 'map');
    const parts: string[][] = [];
    for (const [part, tone] of [['a', 440], ['b', 880]] as const) {
      await mkdir(path.join(map, part), { recursive: true });
      await ffmpeg([...sourceArgs(3, '160x120', tone), ...hls(), '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4',
        '-hls_segment_filename', 'seg%03d.m4s', 'index.m3u8'], path.join(map, part));
      const partText = await readFile(path.join(map, part, 'index.m3u8'), 'utf8');
      parts.push([`#EXT-X-MAP:URI="${part}/init.mp4"`,
        ...partText.split('\n').filter((l) => l.startsWith('#EXTINF') || (l && !l.startsWith('#'))).map((l) => (l.startsWith('#') ? l : `${part}/${l}`))]);
    }
    await writeFile(path.join(map, 'index.m3u8'), ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD',
      ...(parts[0] ?? []), '#EXT-X-DISCONTINUITY', ...(parts[1] ?? []), '#EXT-X-ENDLIST', ''].join('\n'));
    return { playlist: 'media/index.m3u8', duration: 4, segments: 4 };
  },
  async subtitles(dir) {
    // A 6 s A/V stream (ffmpeg) with segmented WebVTT subtitle renditions in English and French, written here
    // as packagers publish them (ffmpeg 5.1's hls muxer writes neither the subtitle playlist nor the map): an
    // X-TIMESTAMP-MAP header (English: MPEG-TS 1.4 s = local 0, the video's start; French: local times one
    // second late, with a map that says local 1 s is the video's start), and a cue that crosses a segment boundary repeated in both.
    for (const [lang, cues] of Object.entries(SUBTITLE_CUES).filter(([lang]) => lang !== 'de')) {
      const srt = cues.map((c, i) => `${i + 1}\n${srtClock(c.start)} --> ${srtClock(c.end)}\n${c.text}\n`).join('\n');
      await writeFile(path.join(dir, `${lang}.srt`), srt);
      await mkdir(path.join(dir, lang), { recursive: true });
    }
    await ffmpeg([...sourceArgs(6, '160x120'), ...hls(), '-hls_segment_filename', 'v%03d.ts', 'video.m3u8'], dir);
    const segments = 6;
    for (const [lang, cues] of Object.entries(SUBTITLE_CUES).filter(([lang]) => lang !== 'de')) {
      const late = lang === 'fr' ? 1 : 0;
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
      for (let i = 0; i < segments; i++) {
        // Every cue that overlaps the segment is in it, as packagers repeat cues across boundaries.
        const inSegment = cues.filter((c) => c.start < i + 1 && c.end > i);
        const map = late ? 'X-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:01.000' : 'X-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000';
        const body = inSegment.map((c) => `${vttClock(c.start + late)} --> ${vttClock(c.end + late)}\n${c.text}\n`).join('\n');
        await writeFile(path.join(dir, lang, `sub${i}.vtt`), `WEBVTT\n${map}\n\n${body}`);
        lines.push('#EXTINF:1.000000,', `sub${i}.vtt`);
      }
      lines.push('#EXT-X-ENDLIST', '');
      await writeFile(path.join(dir, lang, 'index.m3u8'), lines.join('\n'));
    }
    // German, segmented by ffmpeg's own hls muxer: its subtitle playlist (muxed_vtt.m3u8) and WebVTT segments,
    // which carry playlist time and no X-TIMESTAMP-MAP.
    await mkdir(path.join(dir, 'de'), { recursive: true });
    const de = SUBTITLE_CUES.de ?? [];
    await writeFile(path.join(dir, 'de.srt'), de.map((c, i) => `${i + 1}\n${srtClock(c.start)} --> ${srtClock(c.end)}\n${c.text}\n`).join('\n'));
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-i', '../de.srt', '-t', '6', '-map', '0:v', '-map', '1:s',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:s', 'webvtt', ...hls(), '-hls_segment_filename', 'v%03d.ts', 'muxed.m3u8'], path.join(dir, 'de'));
    await writeFile(path.join(dir, 'master-de.m3u8'), [
      '#EXTM3U',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",DEFAULT=YES,AUTOSELECT=YES,URI="de/muxed_vtt.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2",SUBTITLES="subs"',
      'video.m3u8',
      '',
    ].join('\n'));
    await writeFile(path.join(dir, 'master.m3u8'), [
      '#EXTM3U',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="en/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,URI="fr/index.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120,CODECS="avc1.42c00c,mp4a.40.2",SUBTITLES="subs"',
      'video.m3u8',
      '',
    ].join('\n'));
    return { playlist: 'master.m3u8', duration: 6, segments };
  },
};

/** The subtitle fixture's cues per language, in seconds of the video: what the sidecars must hold. */
export const SUBTITLE_CUES: Record<string, Array<{ start: number; end: number; text: string }>> = {
  en: [
    { start: 0.5, end: 1.5, text: 'Hello, this is the first line' },
    { start: 2.2, end: 3.8, text: 'This one crosses a segment boundary' },
    { start: 4.25, end: 5.5, text: 'And the last one' },
  ],
  fr: [
    { start: 0.5, end: 1.5, text: 'Bonjour, voici la première ligne' },
    { start: 2.2, end: 3.8, text: 'Celle-ci traverse une limite de segment' },
    { start: 4.25, end: 5.5, text: 'Et la dernière' },
  ],
  de: [
    { start: 0.5, end: 1.5, text: 'Hallo, das ist die erste Zeile' },
    { start: 4.25, end: 5.5, text: 'Und die letzte' },
  ],
};

function clockParts(seconds: number): [string, string, string, string] {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return [pad(Math.floor(ms / 3_600_000)), pad(Math.floor(ms / 60_000) % 60), pad(Math.floor(ms / 1000) % 60), pad(ms % 1000, 3)];
}
const vttClock = (s: number) => { const [h, m, sec, ms] = clockParts(s); return `${h}:${m}:${sec}.${ms}`; };
const srtClock = (s: number) => { const [h, m, sec, ms] = clockParts(s); return `${h}:${m}:${sec},${ms}`; };

export const FIXTURE_KINDS = Object.keys(recipes) as FixtureKind[];

/** Builds (once, cached across runs) and returns the fixture of that kind. */
export async function ensureFixture(kind: FixtureKind): Promise<FixtureInfo> {
  const dir = path.join(FIXTURES_DIR, kind);
  const stamp = path.join(dir, '.ready');
  if (existsSync(stamp)) {
    const info = JSON.parse(await readFile(stamp, 'utf8')) as FixtureInfo & { version: string };
    if (info.version === RECIPE_VERSION) return { ...info, dir };
  }
  // Build in a scratch folder and rename, so parallel workers never see half a fixture.
  const scratch = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(scratch, { recursive: true });
  const made = await recipes[kind](scratch);
  const info: FixtureInfo = { kind, dir, ...made };
  await writeFile(path.join(scratch, '.ready'), JSON.stringify({ ...info, version: RECIPE_VERSION }));
  await rm(dir, { recursive: true, force: true });
  try {
    await rename(scratch, dir);
  } catch {
    await rm(scratch, { recursive: true, force: true }); // another worker won the race
  }
  return { ...info, dir };
}

export async function ensureAllFixtures(): Promise<FixtureInfo[]> {
  const out: FixtureInfo[] = [];
  for (const kind of FIXTURE_KINDS) out.push(await ensureFixture(kind));
  return out;
}
