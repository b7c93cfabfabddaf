// The disguise cleaner strips only what it recognises: a confirmed MPEG-TS (or
// MP4 box) start behind a known disguise. Everything else — random bytes,
// packed ADTS audio with its ID3 tag, WebVTT, fMP4 fragments in a TS playlist —
// goes through byte for byte. Real segments made by ffmpeg, real files, and one
// run through the downloader over HTTP.
import { randomBytes } from 'node:crypto';
import { close, open } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { downloadStream } from '../src/downloader/index.js';
import { SegmentSink } from '../src/downloader/segment-sink.js';
import { useDownloaderHarness } from './helpers/downloader-harness.js';
import { ensureFixture } from './helpers/hls-fixtures.js';

const { tempDir, request } = useDownloaderHarness();

/** Streams `data` through a SegmentSink in chunks of `chunk` bytes; returns what reached the file. */
async function clean(data: Buffer, container: 'ts' | 'fmp4', chunk: number): Promise<{ bytes: Buffer; stripped: number }> {
  const file = path.join(await tempDir(), 'out.bin');
  const fd = await new Promise<number>((resolve, reject) => open(file, 'w', (e, d) => (e ? reject(e) : resolve(d))));
  const sink = new SegmentSink(fd, container);
  try {
    const pieces: Buffer[] = [];
    for (let at = 0; at < data.length; at += chunk) pieces.push(data.subarray(at, at + chunk));
    await pipeline(Readable.from(pieces), sink);
  } finally {
    await new Promise<void>((resolve) => close(fd, () => resolve()));
  }
  return { bytes: await readFile(file), stripped: sink.stripped };
}

const CHUNKS = [3, 188, 4096, 65_536, 1 << 20];

async function nonTsSamples(): Promise<Array<[string, Buffer]>> {
  const packed = await ensureFixture('packed-audio');
  const fmp4 = await ensureFixture('fmp4');
  const noise = randomBytes(64 * 1024);
  // The reported case: a lone sync byte in the last 188 bytes, and a few more scattered about.
  noise[noise.length - 100] = 0x47;
  for (const at of [0x100, 0x100 + 188, 0x2000, 0x3000]) noise[at] = 0x47;
  if (noise[0] === 0x47 || noise[0] === 0x00 || noise[0] === 0xff) noise[0] = 0x12;
  const webvtt = Buffer.from(
    'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n00:00:00.000 --> 00:00:01.000\nGGG Good night, Gina\n\n' +
      `00:00:01.000 --> 00:00:02.000\n${'G'.repeat(400)}\n`,
    'utf8',
  );
  return [
    ['random bytes', noise],
    ['ADTS AAC behind an ID3 timestamp (packed audio)', await readFile(path.join(packed.dir, 'aac', 'seg002.aac'))],
    ['AC-3 behind an ID3 timestamp', await readFile(path.join(packed.dir, 'ac3', 'seg001.dat'))],
    ['MP3 behind an ID3 timestamp', await readFile(path.join(packed.dir, 'mp3', 'seg001.mp3'))],
    ['WebVTT', webvtt],
    ['an fMP4 fragment', await readFile(path.join(fmp4.dir, 'seg003.m4s'))],
    ['an fMP4 init section', await readFile(path.join(fmp4.dir, 'init.mp4'))],
    ['padding with no TS behind it', Buffer.concat([Buffer.alloc(500, 0), Buffer.from([0x47, 1, 2, 3])])],
    ['a fake PNG header with no TS behind it', Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(3000)])],
    ['a few bytes', Buffer.from([0x47, 0x47])],
    ['empty', Buffer.alloc(0)],
  ];
}

describe('segment cleaner', () => {
  it('passes non-TS data through a TS playlist unchanged, byte for byte, whatever the chunking', async () => {
    for (const [what, data] of await nonTsSamples()) {
      for (const chunk of CHUNKS) {
        const { bytes, stripped } = await clean(data, 'ts', chunk);
        expect(bytes.equals(data), `${what}, ${chunk}-byte chunks`).toBe(true);
        expect(stripped).toBe(0);
      }
    }
  });

  it('passes non-MP4 data through an fMP4 playlist unchanged', async () => {
    const samples = (await nonTsSamples()).filter(([what]) => !what.startsWith('an fMP4'));
    const ts = await readFile(path.join((await ensureFixture('ts')).dir, 'seg004.ts'));
    for (const [what, data] of [...samples, ['an MPEG-TS segment', ts] as [string, Buffer]]) {
      for (const chunk of [7, 65_536]) {
        const { bytes } = await clean(data, 'fmp4', chunk);
        expect(bytes.equals(data), `${what}, ${chunk}-byte chunks`).toBe(true);
      }
    }
  });

  it('gets the TS back from behind each known disguise', async () => {
    const plain = await ensureFixture('ts');
    const ts = await readFile(path.join(plain.dir, 'seg003.ts'));
    const id3 = Buffer.concat([Buffer.from('ID3', 'latin1'), Buffer.from([4, 0, 0, 0, 0, 0, 20]), randomBytes(20)]);
    const disguises: Array<[string, Buffer]> = [
      ['PNG', Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex'), Buffer.from('GGGG', 'latin1'), randomBytes(200)])],
      ['JPEG', Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb0043004747', 'hex')],
      ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00GGG', 'latin1')],
      ['BMP', Buffer.concat([Buffer.from('BM', 'latin1'), randomBytes(60)])],
      ['WebP', Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'), randomBytes(40)])],
      ['zero padding', Buffer.alloc(1000, 0)],
      ['0xFF padding', Buffer.alloc(37, 0xff)],
      ['an ID3 tag', id3],
    ];
    for (const [what, disguise] of disguises) {
      for (const chunk of [5, 188, 65_536]) {
        const { bytes, stripped } = await clean(Buffer.concat([disguise, ts]), 'ts', chunk);
        expect(bytes.equals(ts), `${what}, ${chunk}-byte chunks`).toBe(true);
        expect(stripped).toBe(disguise.length);
      }
    }
    // A clean TS segment is left as it is.
    expect((await clean(ts, 'ts', 4096)).bytes.equals(ts)).toBe(true);
  });

  it('gets the MP4 box back from behind a fake image header', async () => {
    const fmp4 = await ensureFixture('fmp4');
    const fragment = await readFile(path.join(fmp4.dir, 'seg002.m4s'));
    const disguise = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const { bytes } = await clean(Buffer.concat([disguise, fragment]), 'fmp4', 1000);
    expect(bytes.equals(fragment)).toBe(true);
  });

  it('downloads a TS playlist of non-TS segments as received (64 KB stays 64 KB)', async () => {
    const bodies = (await nonTsSamples()).filter(([, data]) => data.length > 0).map(([, data]) => data);
    const origin = http.createServer((req, res) => {
      if (req.url === '/index.m3u8') {
        const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1'];
        bodies.forEach((_b, i) => lines.push('#EXTINF:1,', `s${i}.ts`));
        res.end([...lines, '#EXT-X-ENDLIST', ''].join('\n'));
        return;
      }
      const body = bodies[Number(/\/s(\d+)\.ts/.exec(req.url ?? '')?.[1] ?? -1)];
      if (!body) res.writeHead(404).end();
      else res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    try {
      const result = await downloadStream(await request(`http://127.0.0.1:${(origin.address() as AddressInfo).port}/index.m3u8`));
      expect(result.segments).toHaveLength(bodies.length);
      for (const segment of result.segments) expect((await readFile(segment.file)).equals(bodies[segment.index]!)).toBe(true);
    } finally {
      origin.close();
    }
  });
});
