// The merge stage on real HLS made by ffmpeg: every fixture kind becomes one
// playable file of the right container and length, checked with ffprobe.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mergeSegments, type MergeInput } from '../src/merge/index.js';
import type { DownloadResult, OutputFormat } from '../src/types.js';
import { decodeErrors, discontinuitiesOf, expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureKind } from './helpers/hls-fixtures.js';
import { downloadResultFrom, ensureMergeFixture } from './helpers/merge-fixtures.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';

const run = promisify(execFile);
let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir('m3u8dm-merge-');
});
afterAll(async () => {
  await tmp.cleanup();
});

let counter = 0;
/** A fresh work and save folder per merge, so outputs never meet. */
function folders() {
  const base = path.join(tmp.path, `case-${++counter}`);
  return { workDir: path.join(base, 'work'), saveDir: path.join(base, 'save') };
}

function merge(download: DownloadResult, extra: Partial<MergeInput> = {}) {
  const format = extra.format ?? 'mp4';
  return mergeSegments({
    download,
    ...folders(),
    filename: `video.${format}`,
    format,
    noMerge: false,
    keepSegments: false,
    signal: new AbortController().signal,
    onProgress: () => {},
    ...extra,
  });
}

/** The audio packets of `file` in order: start and length in seconds. */
async function audioPackets(file: string): Promise<Array<{ pts: number; duration: number }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file], { maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').map((line) => {
    const [pts, duration] = line.split(',').map(Number);
    return { pts: pts ?? Number.NaN, duration: duration ?? Number.NaN };
  });
}

/** The playlist of a fixture kind; for `master`, the variant a download would pick. */
async function playlistOf(kind: FixtureKind): Promise<string> {
  const fixture = await ensureFixture(kind);
  return path.join(fixture.dir, kind === 'master' ? 'high/index.m3u8' : fixture.playlist);
}

describe('mergeSegments to MP4, one per fixture kind', () => {
  // aes, aes-iv and byterange are decrypted / cut by the helper first: once downloaded they are plain TS.
  it.each<FixtureKind>(['ts', 'aes', 'aes-iv', 'byterange', 'fmp4', 'master', 'discontinuity'])('%s', async (kind) => {
    const { workDir } = folders();
    const download = await downloadResultFrom(await playlistOf(kind), workDir);
    const result = await merge(download, { workDir });

    expect(path.basename(result.outputPath)).toBe('video.mp4');
    expectMedia(await ffprobe(result.outputPath), 'mp4', download.duration, discontinuitiesOf(download));
    expect(result.size).toBeGreaterThan(0);
    // No .part, no scratch left behind; the segments are still in the work folder for the caller.
    expect(await readdir(path.dirname(result.outputPath))).toEqual(['video.mp4']);
    expect((await readdir(workDir)).sort()).toEqual(
      [...(download.initFile ? [path.basename(download.initFile)] : []), ...download.segments.map((s) => path.basename(s.file))].sort(),
    );
  });
});

describe('output containers', () => {
  it.each<[FixtureKind, OutputFormat]>([
    ['ts', 'mkv'],
    ['ts', 'ts'],
    ['fmp4', 'mkv'],
    ['fmp4', 'ts'],
  ])('%s segments → %s', async (kind, format) => {
    const download = await downloadResultFrom(await playlistOf(kind));
    const result = await merge(download, { format });
    expect(path.extname(result.outputPath)).toBe(`.${format}`);
    expectMedia(await ffprobe(result.outputPath), format, download.duration);
  });
});

describe('discontinuities', () => {
  // merge-jump: the second part's timestamps jump 3 s *forward*; joined bytes alone would give an 11 s file.
  it.each<OutputFormat>(['mp4', 'mkv', 'ts'])('a forward timestamp jump still gives the summed length (%s)', async (format) => {
    const fixture = await ensureMergeFixture('merge-jump');
    const download = await downloadResultFrom(fixture.playlist);
    expect(download.segments.filter((s) => s.discontinuity)).toHaveLength(1);
    const result = await merge(download, { format });
    expectMedia(await ffprobe(result.outputPath), format, fixture.duration, 1);
  });

  it('runs go to the concat demuxer through pipes, no joined copy, and the audio runs on without gap or overlap', async () => {
    const download = await downloadResultFrom(await playlistOf('discontinuity'));
    const debug: string[] = [];
    const { workDir } = folders();
    const result = await merge(download, { workDir, debug: (line) => debug.push(line) });
    const command = debug.find((line) => line.startsWith('ffmpeg: ')) ?? '';
    expect(command).toContain('-f concat -safe 0 -protocol_whitelist file,pipe -i runs.ffconcat');
    expect(debug.join('\n')).not.toMatch(/run-0000/);
    // Each audio packet starts where the one before it ends (to the millisecond), across the boundary too.
    const audio = await audioPackets(result.outputPath);
    expect(audio.length).toBeGreaterThan(300);
    const seams = audio.slice(1).map((packet, i) => Math.abs(packet.pts - (audio[i]!.pts + audio[i]!.duration)));
    expect(Math.max(...seams)).toBeLessThan(0.001);
  });

  it('the discontinuity fixture decodes without errors', async () => {
    const download = await downloadResultFrom(await playlistOf('discontinuity'));
    const result = await merge(download);
    expect(await decodeErrors(result.outputPath)).toBe('');
  });
});

describe('audio that is not (only) AAC', () => {
  it.each<OutputFormat>(['mp4', 'mkv'])('AAC + MP2 tracks: the ADTS filter goes on the AAC one only (%s)', async (format) => {
    const fixture = await ensureMergeFixture('merge-mixed-audio');
    const download = await downloadResultFrom(fixture.playlist);
    const debug: string[] = [];
    const result = await merge(download, { format, debug: (line) => debug.push(line) });
    const media = await ffprobe(result.outputPath);
    // MP4 tags MPEG-1 audio with the object type ffprobe reads back as mp3; the samples are the same.
    expect(media.streams.map((s) => `${s.type}/${s.codec}`.replace('mp3', 'mp2'))).toEqual(['video/h264', 'audio/aac', 'audio/mp2']);
    expect(Math.abs(media.duration - fixture.duration)).toBeLessThanOrEqual(fixture.duration * 0.01);
    expect(debug.find((line) => line.startsWith('ffmpeg: '))).toContain('-bsf:a:0 aac_adtstoasc');
  });
});

describe('3,000 segments', () => {
  it('merges into one MP4 with a command line that does not grow with the count, reporting progress', async () => {
    const fixture = await ensureMergeFixture('merge-3000');
    const download = await downloadResultFrom(fixture.playlist);
    expect(download.segments).toHaveLength(3000);
    const fractions: number[] = [];
    const debugLines: string[] = [];
    const started = performance.now();
    const result = await merge(download, { onProgress: (f) => fractions.push(f), debug: (line) => debugLines.push(line) });
    const seconds = (performance.now() - started) / 1000;

    expectMedia(await ffprobe(result.outputPath), 'mp4', fixture.duration);
    expect(seconds).toBeLessThan(10);
    const command = debugLines.find((line) => line.startsWith('ffmpeg: '));
    expect(command).toContain('-c copy');
    expect(command).toContain('aac_adtstoasc');
    expect(command).not.toContain('s0001.ts');
    expect(command!.length).toBeLessThan(1000);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
  });
});
