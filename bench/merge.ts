// Merge-stage benchmark: mergeSegments against its lower bound, `cat` of all
// segments into one file plus one `ffmpeg -c copy` remux of it, measured in
// the same run on the same segments with the same ffmpeg and output options.
// Target: merge ≤ 1.2 × lower bound.
//
// The segment set (400 × 1 s of 640×360 H.264 at 1.5 Mbit/s + AAC, ~80 MB) is
// made by ffmpeg on first use and cached in bench/.work/merge-400.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { locateFfmpeg, mergeSegments } from '../src/merge/index.js';
import type { DownloadResult, DownloadedSegment } from '../src/types.js';

const run = promisify(execFile);

const SEGMENTS = 400;
const ROUNDS = 6;
const TARGET_RATIO = 1.2;
const RECIPE = `v1-${SEGMENTS}`;

/** Same output options as the merge stage uses for MP4, so both sides do the same remux work. */
const MP4_OUTPUT = ['-map', '0:v?', '-map', '0:a?', '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', '+faststart', '-f', 'mp4'];

export async function benchMerge(): Promise<Record<string, unknown>> {
  const ffmpeg = await locateFfmpeg();
  const root = path.join(packageRoot(), 'bench', '.work');
  const setDir = await ensureSegmentSet(root, ffmpeg.path);
  const download = await downloadResultOf(setDir);
  const scratch = path.join(root, 'merge-run');
  const totalBytes = download.segments.reduce((sum, segment) => sum + segment.bytes, 0);

  const withBreak = {
    ...download,
    segments: download.segments.map((segment, i) => ({ ...segment, discontinuity: i === Math.floor(download.segments.length / 2) })),
  };
  const times = { cat: [] as number[], remux: [] as number[], lowerBound: [] as number[], merge: [] as number[], mergeDiscontinuity: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });

    const lowerBound = async () => {
      const joined = path.join(scratch, 'all.ts');
      const catMs = await timed(() => run('sh', ['-c', 'cat "$@" > "$0"', joined, ...download.segments.map((segment) => segment.file)]));
      const remuxMs = await timed(() => run(ffmpeg.path, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', joined, ...MP4_OUTPUT, '-y', path.join(scratch, 'lower-bound.mp4')]));
      times.cat.push(catMs);
      times.remux.push(remuxMs);
      times.lowerBound.push(catMs + remuxMs);
      await rm(joined);
      await rm(path.join(scratch, 'lower-bound.mp4'));
    };
    const merge = async () => {
      times.merge.push(await timed(() => mergeInto(scratch, 'merge.mp4', download, ffmpeg.path)));
      await rm(path.join(scratch, 'merge.mp4'));
    };
    // Alternate which goes first: whichever follows pays for the other's ~80 MB of dirty pages.
    if (round % 2 === 0) {
      await lowerBound();
      await merge();
    } else {
      await merge();
      await lowerBound();
    }
    times.mergeDiscontinuity.push(await timed(() => mergeInto(scratch, 'merge-discontinuity.mp4', withBreak, ffmpeg.path)));
    await rm(path.join(scratch, 'merge-discontinuity.mp4'));
  }
  await rm(scratch, { recursive: true, force: true });

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const lowerBoundMs = median(times.lowerBound);
  const mergeMs = median(times.merge);
  const figures = {
    ffmpeg: `${ffmpeg.version} (${ffmpeg.source})`,
    segments: download.segments.length,
    totalMB: Number((totalBytes / 2 ** 20).toFixed(1)),
    rounds: ROUNDS,
    catMs: round1(median(times.cat)),
    remuxMs: round1(median(times.remux)),
    lowerBoundMs: round1(lowerBoundMs),
    mergeMs: round1(mergeMs),
    ratio: Number((mergeMs / lowerBoundMs).toFixed(2)),
    targetRatio: TARGET_RATIO,
    withinTarget: mergeMs / lowerBoundMs <= TARGET_RATIO,
    mergeWithDiscontinuityMs: round1(median(times.mergeDiscontinuity)),
    discontinuityRatio: Number((median(times.mergeDiscontinuity) / lowerBoundMs).toFixed(2)),
  };
  printTable(figures);
  return figures;
}

async function mergeInto(dir: string, filename: string, download: DownloadResult, ffmpegPath: string): Promise<void> {
  await mergeSegments({
    download,
    workDir: path.join(dir, `work-${filename}`),
    saveDir: dir,
    filename,
    format: 'mp4',
    noMerge: false,
    keepSegments: false,
    signal: new AbortController().signal,
    onProgress: () => {},
    ffmpeg: ffmpegPath,
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

function printTable(figures: Record<string, unknown>): void {
  const rows = [
    ['segments', `${String(figures.segments)} (${String(figures.totalMB)} MB), median of ${String(figures.rounds)} rounds, ffmpeg ${String(figures.ffmpeg)}`],
    ['cat all segments', `${String(figures.catMs)} ms`],
    ['+ one ffmpeg -c copy remux', `${String(figures.remuxMs)} ms`],
    ['= lower bound', `${String(figures.lowerBoundMs)} ms`],
    ['mergeSegments', `${String(figures.mergeMs)} ms`],
    ['ratio (target ≤ 1.2)', `${String(figures.ratio)} ${figures.withinTarget ? 'ok' : 'OVER TARGET'}`],
    ['mergeSegments, 1 discontinuity', `${String(figures.mergeWithDiscontinuityMs)} ms (${String(figures.discontinuityRatio)}×, joins each run into a file first)`],
  ];
  const width = Math.max(...rows.map(([label]) => (label ?? '').length));
  console.log('\nmerge stage');
  for (const [label, value] of rows) console.log(`  ${(label ?? '').padEnd(width)}  ${value ?? ''}`);
}

async function ensureSegmentSet(root: string, ffmpegPath: string): Promise<string> {
  const dir = path.join(root, `merge-${SEGMENTS}`);
  const stamp = path.join(dir, '.ready');
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === RECIPE) return dir;
  const scratch = `${dir}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  console.log(`merge bench: making ${SEGMENTS} segments with ffmpeg (once)…`);
  // CBR with filler keeps the bitrate of a real stream even though the test pattern compresses well.
  await run(ffmpegPath, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(SEGMENTS),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '1500k', '-x264-params', 'nal-hrd=cbr',
    '-c:a', 'aac', '-b:a', '96k',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-hls_segment_filename', 's%04d.ts', 'index.m3u8',
  ], { cwd: scratch, maxBuffer: 16 << 20 });
  await writeFile(path.join(scratch, '.ready'), RECIPE);
  await rm(dir, { recursive: true, force: true });
  await rename(scratch, dir);
  return dir;
}

/** The segment set as the downloader would describe it (plain TS, one EXTINF per file). */
async function downloadResultOf(dir: string): Promise<DownloadResult> {
  const lines = (await readFile(path.join(dir, 'index.m3u8'), 'utf8')).split('\n');
  const segments: DownloadedSegment[] = [];
  let duration = 0;
  for (const line of lines) {
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      const file = path.join(dir, line.trim());
      segments.push({ index: segments.length, file, duration, discontinuity: false, bytes: (await stat(file)).size });
    }
  }
  if (segments.length !== (await readdir(dir)).filter((name) => name.endsWith('.ts')).length) throw new Error(`${dir}: playlist and files disagree`);
  return { container: 'ts', segments, skipped: [], duration: segments.reduce((sum, segment) => sum + segment.duration, 0) };
}

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchMerge();
}
