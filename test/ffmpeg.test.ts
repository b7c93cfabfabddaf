// ffmpeg discovery (the chosen M3U8DM_FFMPEG, PATH, the npm-bundled binary), the typed
// ffmpeg runner, and the merge run with both the system and the bundled build.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { FfmpegNotFoundError, MergeError, locateFfmpeg, mergeSegments, parseFfmpegVersion, runFfmpeg } from '../src/merge/index.js';
import { writeFilesInto } from '../src/merge/concat-files.js';
import { INPUT_QUEUE, withInputQueues } from '../src/merge/run-ffmpeg.js';
import { configFromEnv } from '../src/service/config.js';
import type { OutputFormat } from '../src/types.js';
import { discontinuitiesOf, expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { downloadResultFrom, ensureMergeFixture } from './helpers/merge-fixtures.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';

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

  const segmentFiles = async () => {
    const fixture = await ensureFixture('ts');
    const files = (await readdir(fixture.dir)).filter((f) => f.endsWith('.ts')).sort().map((f) => ({ path: path.join(fixture.dir, f) }));
    return { fixture, files };
  };

  it('feeds stdin through a FIFO, which leaves no name behind', async () => {
    const { fixture, files } = await segmentFiles();
    const dir = path.join(tmp.path, 'fifo-feed');
    await mkdir(dir);
    const out = path.join(tmp.path, 'from-fifo.ts');
    const debug: string[] = [];
    await runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy', '-f', 'mpegts', '-y', out],
      feedStdin: (stdin, signal) => writeFilesInto(files, stdin, signal),
      fifos: { dir, pipes: false },
      debug: (line) => debug.push(line),
    });
    expect(debug).toContain('ffmpeg: stdin through FIFOs');
    expect((await ffprobe(out)).duration).toBeCloseTo(fixture.duration, 0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps the socket pairs where there is no mkfifo', async () => {
    const { fixture, files } = await segmentFiles();
    const bin = path.join(tmp.path, 'bin-no-mkfifo');
    await mkdir(bin);
    await symlink(SYSTEM, path.join(bin, 'ffmpeg'));
    const debug: string[] = [];
    const out = path.join(tmp.path, 'from-socket.ts');
    process.env.PATH = bin;
    await runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy', '-f', 'mpegts', '-y', out],
      feedStdin: (stdin, signal) => writeFilesInto(files, stdin, signal),
      fifos: { dir: tmp.path, pipes: false },
      debug: (line) => debug.push(line),
    });
    process.env.PATH = savedPath;
    expect(debug.join('\n')).not.toMatch(/through FIFOs/);
    expect((await ffprobe(out)).duration).toBeCloseTo(fixture.duration, 0);
  });

  it('an ffmpeg that fails at once ends its FIFO feed with its error, and holds no pool thread', async () => {
    const { files } = await segmentFiles();
    // Five such runs would block the pool (four threads) for good if a write stayed pending.
    for (let i = 0; i < 5; i++) {
      const error = await runFfmpeg({
        ffmpegPath: SYSTEM,
        args: ['-no_such_option', '-f', 'mpegts', '-i', 'pipe:0', '-f', 'null', '-'],
        feedStdin: (stdin, signal) => writeFilesInto(files, stdin, signal),
        fifos: { dir: tmp.path, pipes: false },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MergeError);
      expect((error as MergeError).message).toMatch(/ffmpeg exited with code/);
    }
    await expect(readFile(files[0]?.path as string)).resolves.toBeInstanceOf(Buffer);
  });

  it('FIFO writes leave the thread pool room, however many ffmpeg keep them waiting', async () => {
    const { files } = await segmentFiles();
    const controller = new AbortController();
    // Four ffmpeg reading at the media's pace (-re): each write into their FIFOs blocks for seconds.
    const runs = Array.from({ length: 4 }, () => runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-re', '-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy', '-f', 'null', '-'],
      signal: controller.signal,
      feedStdin: (stdin, signal) => writeFilesInto(files, stdin, signal),
      fifos: { dir: tmp.path, pipes: false },
    }).catch((e: unknown) => e));
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
    const controller = new AbortController();
    const run = runFfmpeg({
      ffmpegPath: SYSTEM,
      args: ['-f', 'mpegts', '-i', 'pipe:0', '-c', 'copy', '-f', 'mpegts', '-y', path.join(tmp.path, 'aborted.ts')],
      signal: controller.signal,
      fifos: { dir: tmp.path, pipes: false },
      feedStdin: async (stdin, signal) => {
        // A feed that never ends on its own: a segment that is not there yet.
        stdin.write(Buffer.alloc(188 * 100));
        controller.abort();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('ffmpeg reading a FIFO ends when the process feeding it dies (kill -9)', async () => {
    const { files } = await segmentFiles();
    const marker = `m3u8dm-orphan-${process.pid}-${Date.now()}`;
    // A feeder that hands ffmpeg one segment through a FIFO, then waits forever, and is killed.
    const script = [
      `import { runFfmpeg } from ${JSON.stringify(path.resolve('src/merge/run-ffmpeg.ts'))};`,
      `import { writeFilesInto } from ${JSON.stringify(path.resolve('src/merge/concat-files.ts'))};`,
      `await runFfmpeg({ ffmpegPath: ${JSON.stringify(SYSTEM)}, args: ['-f', 'mpegts', '-i', 'pipe:0', '-metadata', 'comment=${marker}', '-c', 'copy', '-f', 'null', '-'],`,
      `  fifos: { dir: ${JSON.stringify(tmp.path)}, pipes: false },`,
      `  feedStdin: async (stdin, signal) => { await writeFilesInto([${JSON.stringify(files[0])}], stdin, signal); console.log('fed'); await new Promise(() => {}); } });`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => (String(chunk).includes('fed') ? resolve() : undefined));
      child.once('exit', () => reject(new Error('the feeder exited early')));
    });
    // The ffmpeg processes carrying the marker (pgrep exits 1 when none match).
    const ffmpegs = () => {
      try {
        return execFileSync('pgrep', ['-a', '-f', marker], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`${SYSTEM} `));
      } catch {
        return [];
      }
    };
    expect(ffmpegs()).toHaveLength(1);
    child.kill('SIGKILL');
    await waitFor(() => ffmpegs().length === 0, { timeoutMs: 5_000, what: 'the orphaned ffmpeg to see the end of its input' });
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
