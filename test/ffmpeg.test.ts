// ffmpeg discovery (the chosen M3U8DM_FFMPEG, PATH, the npm-bundled binary), the typed
// ffmpeg runner, and the merge run with both the system and the bundled build.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { FfmpegNotFoundError, MergeError, locateFfmpeg, mergeSegments, parseFfmpegVersion, runFfmpeg } from '../src/merge/index.js';
import { writeFilesInto } from '../src/merge/concat-files.js';
import { makeFifos } from '../src/merge/fifo.js';
import { INPUT_QUEUE, withInputQueues } from '../src/merge/run-ffmpeg.js';
import { configFromEnv } from '../src/service/config.js';
import type { OutputFormat } from '../src/types.js';
import { discontinuitiesOf, expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { downloadResultFrom, ensureMergeFixture } from './helpers/merge-fixtures.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';

const BUNDLED = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const SYSTEM = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();

let tmp: TempDir;
const savedPath = process.env.PATH;
beforeAll(async () => {
  tmp = await tempDir('m3u8dm-ffmpeg-');
});
afterAll(async () => {
  await tmp.cleanup();
});
afterEach(() => {
  process.env.PATH = savedPath;
});

describe('locateFfmpeg', () => {
  it('finds ffmpeg on PATH with its version', async () => {
    const found = await locateFfmpeg();
    expect(found).toEqual({ path: SYSTEM, version: parseFfmpegVersion(execFileSync(SYSTEM, ['-version'], { encoding: 'utf8' })), source: 'path' });
    expect(found.version).toMatch(/^\d+\.\d+/);
    expect(await locateFfmpeg()).toBe(found); // cached
  });

  it('M3U8DM_FFMPEG comes first', async () => {
    expect(await locateFfmpeg(BUNDLED)).toMatchObject({ path: BUNDLED, source: 'env' });
  });

  it('M3U8DM_FFMPEG as the service config reads it reaches the lookup', async () => {
    const { ffmpeg } = configFromEnv({ M3U8DM_FFMPEG: BUNDLED });
    expect(await locateFfmpeg(ffmpeg)).toMatchObject({ path: BUNDLED, source: 'env' });
    expect(configFromEnv({ M3U8DM_FFMPEG: '' }).ffmpeg).toBeUndefined();
  });

  it('M3U8DM_FFMPEG pointing at a missing file is an error naming the variable, not a fallback', async () => {
    const error = await locateFfmpeg(path.join(tmp.path, 'no-such-ffmpeg')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegNotFoundError);
    expect((error as Error).message).toMatch(/^M3U8DM_FFMPEG=.*no-such-ffmpeg: no such file$/);
  });

  it('M3U8DM_FFMPEG pointing at something that is not ffmpeg is an error too', async () => {
    await expect(locateFfmpeg('/bin/true')).rejects.toThrow(/^M3U8DM_FFMPEG=\/bin\/true: .*did not print an ffmpeg version/);
  });

  it('falls back to the npm-bundled binary when PATH has no ffmpeg', async () => {
    process.env.PATH = tmp.path;
    const found = await locateFfmpeg();
    expect(found).toMatchObject({ path: BUNDLED, source: 'bundled' });
    expect(found.version).not.toBe('');
  });

  it('reads the version token of every kind of build', () => {
    expect(parseFfmpegVersion('ffmpeg version 6.1.1 Copyright (c) 2000-2023 the FFmpeg developers\n')).toBe('6.1.1');
    expect(parseFfmpegVersion('ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/')).toBe('N-47683-g0e8eb07980-static');
    expect(parseFfmpegVersion('usage: true')).toBeUndefined();
  });
});

describe('runFfmpeg', () => {
  it('gives the input queue only to commands with several inputs', () => {
    const one = [...INPUT_QUEUE, '-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy', 'out.mp4'];
    expect(withInputQueues(one)).toEqual(['-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy', 'out.mp4']);
    const two = [...INPUT_QUEUE, '-i', 'pipe:0', ...INPUT_QUEUE, '-i', 'pipe:3', 'out.mp4'];
    expect(withInputQueues(two)).toEqual(two);
  });

  it('reports progress as a fraction of the known duration, ending at 1', async () => {
    const fractions: number[] = [];
    await runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-t', '20', '-f', 'null', '-'],
      durationSeconds: 20,
      onProgress: (f) => fractions.push(f),
    });
    expect(fractions.at(-1)).toBe(1);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
  });

  it('an abort kills a run that would never end', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const run = runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-re', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-f', 'null', '-'],
      durationSeconds: 3600,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('feeds the main input through a FIFO', async () => {
    const fixture = await ensureFixture('ts');
    const fifo = (await makeFifos(tmp.path, ['feed.fifo']))?.[0];
    expect(fifo).toBeDefined();
    const files = (await readdir(fixture.dir)).filter((f) => f.endsWith('.ts')).sort().map((f) => ({ path: path.join(fixture.dir, f) }));
    const out = path.join(tmp.path, 'from-fifo.ts');
    await runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-f', 'mpegts', '-i', `file:${fifo}`, '-c', 'copy', '-f', 'mpegts', '-y', out],
      fifos: { paths: [fifo as string], feed: (fill, signal) => fill(0, (sink) => writeFilesInto(files, sink, signal)) },
    });
    expect((await ffprobe(out)).duration).toBeCloseTo(fixture.duration, 0);
  });

  it('ffmpeg failing before it opens its FIFO leaves no thread-pool thread blocked', async () => {
    let fed = false;
    // Five such runs would block the pool (four threads) for good if an open stayed pending.
    for (let i = 0; i < 5; i++) {
      const fifo = (await makeFifos(tmp.path, [`never-${i}.fifo`]))?.[0];
      const error = await runFfmpeg({
        ffmpegPath: SYSTEM,
        args: ['-no_such_option', '-f', 'mpegts', '-i', `file:${fifo}`, '-f', 'null', '-'],
        fifos: { paths: [fifo as string], feed: (fill) => fill(0, () => Promise.resolve(void (fed = true))) },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MergeError);
    }
    expect(fed).toBe(false);
    // Each open is released just after its run: in a moment the pool is free again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(readFile(path.join(tmp.path, 'from-fifo.ts'))).resolves.toBeInstanceOf(Buffer);
  });

  it('FIFO writes leave the thread pool room, however many ffmpeg keep them waiting', async () => {
    const fixture = await ensureFixture('ts');
    const files = (await readdir(fixture.dir)).filter((f) => f.endsWith('.ts')).sort().map((f) => ({ path: path.join(fixture.dir, f) }));
    const controller = new AbortController();
    // Four ffmpeg reading at the media's pace (-re): each write into their FIFOs blocks for seconds.
    const runs = Array.from({ length: 4 }, async (_, i) => {
      const fifo = (await makeFifos(tmp.path, [`slow-${i}.fifo`]))?.[0] as string;
      return runFfmpeg({
        ffmpegPath: SYSTEM,
        args: ['-re', '-f', 'mpegts', '-i', `file:${fifo}`, '-c', 'copy', '-f', 'null', '-'],
        signal: controller.signal,
        fifos: { paths: [fifo], feed: (fill, signal) => fill(0, (sink) => writeFilesInto(files, sink, signal)) },
      }).catch((e: unknown) => e);
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 700));
      const started = performance.now();
      await readFile(files[0]?.path as string);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      controller.abort();
      for (const run of await Promise.all(runs)) expect(run).toMatchObject({ name: 'AbortError' });
    }
  });

  it('an abort while feeding a FIFO ends the run', async () => {
    const fifo = (await makeFifos(tmp.path, ['abort.fifo']))?.[0];
    const controller = new AbortController();
    const run = runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-f', 'mpegts', '-i', `file:${fifo}`, '-c', 'copy', '-f', 'mpegts', '-y', path.join(tmp.path, 'aborted.ts')],
      signal: controller.signal,
      fifos: {
        paths: [fifo as string],
        feed: (fill, signal) => fill(0, async (sink) => {
          // A feed that never ends on its own: a segment that is not there yet.
          sink.write(Buffer.alloc(188 * 100));
          controller.abort();
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        }),
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('bad arguments give a MergeError carrying the stderr tail', async () => {
    const error = await runFfmpeg({ ffmpegPath: SYSTEM, args: ['-i', path.join(tmp.path, 'missing.ts'), '-f', 'null', '-'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MergeError);
    expect((error as MergeError).stderrTail).toContain('No such file or directory');
    expect((error as MergeError).message).toContain('No such file or directory');
  });
});

describe.each([
  ['system', SYSTEM],
  ['npm-bundled', BUNDLED],
])('mergeSegments with the %s ffmpeg (chosen as M3U8DM_FFMPEG)', (_name, binary) => {
  const cases: Array<[string, () => Promise<string>, OutputFormat]> = [
    ['ts', async () => playlist(await ensureFixture('ts')), 'mp4'],
    ['fmp4', async () => playlist(await ensureFixture('fmp4')), 'mp4'],
    ['discontinuity', async () => playlist(await ensureFixture('discontinuity')), 'mp4'],
    ['forward-jump discontinuity', async () => (await ensureMergeFixture('merge-jump')).playlist, 'mkv'],
  ];
  it.each(cases)('%s', async (_kind, playlistOf, format) => {
    expect((await locateFfmpeg(binary)).path).toBe(binary);
    const download = await downloadResultFrom(await playlistOf());
    const debug: string[] = [];
    const base = path.join(tmp.path, `${_name}-${_kind}`);
    const result = await mergeSegments({
      download,
      workDir: path.join(base, 'work'),
      saveDir: path.join(base, 'save'),
      filename: `out.${format}`,
      format,
      noMerge: false,
      keepSegments: false,
      signal: new AbortController().signal,
      onProgress: () => {},
      debug: (line) => debug.push(line),
      ffmpeg: binary,
    });
    expect(debug.find((line) => line.startsWith('ffmpeg: '))).toContain(binary);
    expectMedia(await ffprobe(result.outputPath), format, download.duration, discontinuitiesOf(download));
  });
});

function playlist(fixture: { dir: string; playlist: string }): string {
  return path.join(fixture.dir, fixture.playlist);
}
