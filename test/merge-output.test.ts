// What the merge leaves on disk: names that never overwrite, the segment
// folders of no_merge_ts / keep_ts_files, the server's file time, and — when
// a merge fails or is aborted — no visible partial output and every segment
// still in the work folder for a retry.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MergeError, mergeSegments, uniqueOutputPath, type MergeInput } from '../src/merge/index.js';
import type { DownloadResult } from '../src/types.js';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { downloadResultFrom, ensureMergeFixture } from './helpers/merge-fixtures.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir('m3u8dm-merge-out-');
});
afterAll(async () => {
  await tmp.cleanup();
});

let counter = 0;
/** Fresh folders, with a private copy of a fixture's segments in the work folder (tests move and break them). */
async function setup(kind: 'ts' | 'fmp4' = 'ts') {
  const base = path.join(tmp.path, `case-${++counter}`);
  const workDir = path.join(base, 'work');
  const saveDir = path.join(base, 'save');
  const fixture = await ensureFixture(kind);
  const download = await downloadResultFrom(path.join(fixture.dir, fixture.playlist), workDir);
  return { workDir, saveDir, download };
}

function input(download: DownloadResult, folders: { workDir: string; saveDir: string }, extra: Partial<MergeInput> = {}): MergeInput {
  return {
    download,
    ...folders,
    filename: 'clip.mp4',
    format: 'mp4',
    noMerge: false,
    keepSegments: false,
    signal: new AbortController().signal,
    onProgress: () => {},
    ...extra,
  };
}

/** Every file name in a folder, hidden ones included, so a stray `.part` would show. */
const listing = async (dir: string) => (await readdir(dir)).sort();

async function digest(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) hash.update(await readFile(file));
  return hash.digest('hex');
}

describe('uniqueOutputPath', () => {
  it('adds _1, _2… and reserves each name, also when called concurrently', async () => {
    const dir = path.join(tmp.path, 'unique');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'movie.mp4'), 'taken');
    expect(path.basename(await uniqueOutputPath(dir, 'movie.mp4'))).toBe('movie_1.mp4');
    expect(path.basename(await uniqueOutputPath(dir, 'movie.mp4'))).toBe('movie_2.mp4');
    const racing = await Promise.all(Array.from({ length: 8 }, () => uniqueOutputPath(dir, 'movie.mp4')));
    expect(new Set(racing).size).toBe(8);
    expect(await readFile(path.join(dir, 'movie.mp4'), 'utf8')).toBe('taken');
  });

  it('refuses names with folders in them', async () => {
    await expect(uniqueOutputPath(tmp.path, '../escape.mp4')).rejects.toThrow(/without folders/);
  });
});

describe('never overwrites', () => {
  it('a second merge to the same name becomes clip_1.mp4 and leaves clip.mp4 alone', async () => {
    const first = await setup();
    const second = { ...(await setup()), saveDir: first.saveDir };
    const a = await mergeSegments(input(first.download, first));
    const before = await digest([a.outputPath]);
    const b = await mergeSegments(input(second.download, second));
    expect(path.basename(a.outputPath)).toBe('clip.mp4');
    expect(path.basename(b.outputPath)).toBe('clip_1.mp4');
    expect(await digest([a.outputPath])).toBe(before);
    expect(await listing(first.saveDir)).toEqual(['clip.mp4', 'clip_1.mp4']);
  });
});

describe('no_merge_ts', () => {
  it('moves the segments into a folder named after the output; outputPath is that folder, size their sum', async () => {
    const folders = await setup();
    const before = await digest(folders.download.segments.map((s) => s.file));
    const result = await mergeSegments(input(folders.download, folders, { noMerge: true }));

    expect(result.outputPath).toBe(path.join(folders.saveDir, 'clip'));
    const moved = await listing(result.outputPath);
    expect(moved).toEqual(folders.download.segments.map((s) => `${String(s.index).padStart(4, '0')}.ts`));
    expect(await digest(moved.map((name) => path.join(result.outputPath, name)))).toBe(before);
    expect(result.size).toBe(folders.download.segments.reduce((sum, s) => sum + s.bytes, 0));
    expect(await listing(folders.workDir)).toEqual([]); // moved, not copied
    expect(await listing(folders.saveDir)).toEqual(['clip']);
  });

  it('keeps the fMP4 init segment with them, and picks clip_1 when clip exists', async () => {
    const folders = await setup('fmp4');
    await mkdir(path.join(folders.saveDir, 'clip'), { recursive: true });
    const result = await mergeSegments(input(folders.download, folders, { noMerge: true }));
    expect(path.basename(result.outputPath)).toBe('clip_1');
    const moved = await listing(result.outputPath);
    expect(moved[moved.length - 1]).toBe('init.mp4');
    expect(moved).toHaveLength(folders.download.segments.length + 1);
  });
});

describe('keep_ts_files', () => {
  it('leaves the segments in a folder named after the output, beside it', async () => {
    const folders = await setup();
    await writeFile(path.join(await mkdirp(folders.saveDir), 'clip.mp4'), 'taken');
    const result = await mergeSegments(input(folders.download, folders, { keepSegments: true }));

    expect(path.basename(result.outputPath)).toBe('clip_1.mp4');
    expect(result.segmentsDir).toBe(path.join(folders.saveDir, 'clip_1'));
    expectMedia(await ffprobe(result.outputPath), 'mp4', folders.download.duration);
    expect(await listing(result.segmentsDir!)).toHaveLength(folders.download.segments.length);
    expect(await listing(folders.workDir)).toEqual([]);
    expect(await listing(folders.saveDir)).toEqual(['clip.mp4', 'clip_1', 'clip_1.mp4']);
  });
});

describe('use_server_file_time', () => {
  it('sets the output mtime to the server time', async () => {
    const folders = await setup();
    const serverTime = new Date('2021-03-04T05:06:07Z');
    const result = await mergeSegments(input(folders.download, folders, { serverTime }));
    expect((await stat(result.outputPath)).mtime.getTime()).toBe(serverTime.getTime());
  });
});

describe('failures', () => {
  it('segments ffmpeg cannot read: MergeError with the stderr tail, segments untouched, nothing visible', async () => {
    const folders = await setup();
    // TS sync bytes with nothing readable between them: past the merge's own "is this media" check, refused by ffmpeg.
    const junk = (bytes: number) => {
      const data = Buffer.alloc(bytes, 0x5a);
      for (let at = 0; at < bytes; at += 188) data[at] = 0x47;
      return data;
    };
    for (const segment of folders.download.segments) await writeFile(segment.file, junk(segment.bytes));
    const files = folders.download.segments.map((s) => s.file);
    const before = await digest(files);

    const error = await mergeSegments(input(folders.download, folders)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MergeError);
    const merge = error as MergeError;
    expect(merge.code).toBe('ERR_MERGE');
    expect(merge.stderrTail).not.toBe('');
    expect(merge.message).toMatch(/^ffmpeg exited with code \d+: /);
    expect(merge.message).toContain(merge.stderrTail.split('\n').at(-1));
    expect(await digest(files)).toBe(before);
    expect(await listing(folders.saveDir)).toEqual([]);
    expect(await listing(folders.workDir)).toEqual(files.map((f) => path.basename(f)));
  });

  it('a missing segment file: MergeError naming it, the other segments untouched', async () => {
    const folders = await setup();
    const missing = folders.download.segments[5]!.file;
    await rm(missing);
    const error = await mergeSegments(input(folders.download, folders)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MergeError);
    expect((error as Error).message).toContain(path.basename(missing));
    expect(await listing(folders.saveDir)).toEqual([]);
    expect(await listing(folders.workDir)).toHaveLength(folders.download.segments.length - 1);
  });

  it('a missing segment with no_merge_ts moves nothing back and forth: all or none', async () => {
    const folders = await setup();
    await rm(folders.download.segments.at(-1)!.file);
    await expect(mergeSegments(input(folders.download, folders, { noMerge: true }))).rejects.toBeInstanceOf(MergeError);
    expect(await listing(folders.workDir)).toHaveLength(folders.download.segments.length - 1);
    expect(await listing(folders.saveDir)).toEqual([]);
  });
});

describe('abort', () => {
  it('kills ffmpeg, rejects with an AbortError, leaves no partial output and the segments in place', async () => {
    const fixture = await ensureMergeFixture('merge-3000');
    const download = await downloadResultFrom(fixture.playlist);
    const folders = { workDir: path.join(tmp.path, 'abort-work'), saveDir: path.join(tmp.path, 'abort-save') };
    const controller = new AbortController();
    let commandLine = '';
    const error = await mergeSegments(
      input(download, folders, {
        signal: controller.signal,
        // Abort the moment ffmpeg is being started: the wrapper must kill the process it spawns.
        debug: (line) => {
          if (!line.startsWith('ffmpeg: ')) return;
          commandLine = line;
          controller.abort();
        },
      }),
    ).catch((e: unknown) => e);

    expect((error as Error).name).toBe('AbortError');
    expect(commandLine).not.toBe('');
    expect(await listing(folders.saveDir)).toEqual([]);
    expect(ffmpegProcessesWriting(folders.saveDir)).toEqual([]);
    const present = new Set(readdirSync(fixture.dir));
    expect(download.segments.every((s) => present.has(path.basename(s.file)))).toBe(true);
  });

  it('an already aborted signal starts nothing', async () => {
    const folders = await setup();
    const error = await mergeSegments(input(folders.download, folders, { signal: AbortSignal.abort() })).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(await listing(folders.workDir)).toHaveLength(folders.download.segments.length);
  });
});

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Processes whose command line mentions the folder (Linux /proc); an ffmpeg left running would show here. */
function ffmpegProcessesWriting(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
