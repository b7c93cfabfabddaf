// The merge stage: turns a DownloadResult (ordered segment files in a work
// folder) into one MP4/MKV/TS in the save folder, or moves the segments there
// untouched with `noMerge`.
//
// How the bytes reach ffmpeg (measured, see bench/merge.ts):
// - one run without discontinuities (the usual case): the segment files are
//   streamed back to back into ffmpeg's stdin and remuxed once with stream
//   copy. TS and init+fMP4 fragments are made to be joined like that; it is as
//   fast as `cat` + one remux and the command line never grows with the count.
//   The concat demuxer over every segment was 4–5× slower (it opens and probes
//   each file) and rebases every segment, which leaves tiny audio gaps.
// - with EXT-X-DISCONTINUITY: timestamps restart at each one, and ffmpeg only
//   repairs backward jumps, so a forward jump would leave a gap. Each run
//   between discontinuities becomes one file (joined bytes; a one-segment run
//   is used in place) and the concat demuxer puts the runs end to end.
// - TS in, TS out, one run: plain byte concatenation, no ffmpeg at all.
// - a separate audio track (an alternate rendition with its own playlist): its
//   segments are joined into one file in the scratch folder, given to ffmpeg as
//   a second input, and the output maps video from the first input and audio
//   from the second (each input starts at zero, as ffmpeg rebases them).
//
// The output is written to a `.part` name in a private folder (mkdtemp) inside the save folder
// and renamed only when complete, to a name that overwrites nothing. A failure
// leaves the segments in the work folder as they were; the work folder itself
// belongs to the caller, who removes it after a success.
import { copyFile, link, mkdir, mkdtemp, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { AudioTrack, DebugLog, DownloadResult, DownloadedSegment, OutputFormat } from '../types.js';
import { abortError, throwIfAborted } from './abort-error.js';
import { concatFilesTo, writeFilesInto, type SourceFile } from './concat-files.js';
import { locateFfmpeg } from './ffmpeg-locate.js';
import { MergeError } from './merge-error.js';
import { moveSegmentsInto, type MovedSegments } from './move-segments.js';
import { partPath, stemOf, uniqueDirectory, uniqueOutputPath } from './output-path.js';
import { probeStreams } from './probe-streams.js';
import { runFfmpeg } from './run-ffmpeg.js';
import { adtsAudio, readTsStreamTypes } from './ts-stream-types.js';

export interface MergeInput {
  /** What the downloader produced: segment files in playlist order, the fMP4 init file, discontinuities, durations. */
  download: DownloadResult;
  /**
   * The task's work folder, where the segments are. The merge never removes it (the caller does, after a
   * success); it only uses a scratch folder `.merge` inside it for discontinuity runs and removes that.
   */
  workDir: string;
  /** Folder the output goes to (already checked against the allowed roots); created when missing. */
  saveDir: string;
  /** Sanitised output name with extension; `_1`, `_2`… is added when it is taken. */
  filename: string;
  /** Output container. @defaultValue 'mp4' (the caller's default; this field is required) */
  format: OutputFormat;
  /** Move the segments into a folder named after the output instead of merging. */
  noMerge: boolean;
  /** After a successful merge, move the segments into a folder named after the output, beside it. */
  keepSegments: boolean;
  /** Set as the output's modification time (`use_server_file_time`). */
  serverTime?: Date;
  /** Aborting kills ffmpeg, removes the partial output and rejects with an AbortError. */
  signal: AbortSignal;
  /** A growing fraction in 0–1; 1 when the output is in place. */
  onProgress: (fraction: number) => void;
  /** Gets the full ffmpeg command line and what the merge decided. */
  debug?: DebugLog;
  /** ffmpeg to run. @defaultValue the result of `locateFfmpeg()` */
  ffmpegPath?: string;
}

export interface MergeResult {
  /** The output file, or with `noMerge` the folder of segments. */
  outputPath: string;
  /** Size of the output file, or with `noMerge` the sum of the segment files. */
  size: number;
  /** Where the segments went with `keepSegments` or `noMerge`. */
  segmentsDir?: string;
}

/** Merges (or with `noMerge` moves) the downloaded segments; rejects with a MergeError or an AbortError. */
export async function mergeSegments(input: MergeInput): Promise<MergeResult> {
  const { download, signal } = input;
  throwIfAborted(signal);
  if (download.segments.length === 0) throw new MergeError('Nothing to merge: the download has no segments');
  await mkdir(input.saveDir, { recursive: true });
  if (input.noMerge) return moveWithoutMerging(input);

  const report = monotonic(input.onProgress);
  // The output is written in a folder only this merge knows (mkdtemp: a new name, mode 0700), so
  // nothing planted at a guessable name (a symlink at the part's) can redirect what ffmpeg writes.
  const privateDir = await mkdtemp(path.join(path.resolve(input.saveDir), '.m3u8dm-merge-'));
  const part = partPath(privateDir, input.filename, input.workDir);
  // Absolute: the concat route runs ffmpeg from inside it.
  const scratch = path.join(path.resolve(input.workDir), '.merge');
  try {
    await writeMergedFile(input, part, scratch, report);
    if (input.serverTime) await utimes(part, new Date(), input.serverTime);
    throwIfAborted(signal);
    const result = await publish(input, part);
    report(1);
    return result;
  } catch (error) {
    await rm(part, { force: true });
    throw asMergeFailure(error, signal);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(privateDir, { recursive: true, force: true });
  }
}

/** What every ffmpeg route of one merge shares. */
interface Remux {
  ffmpegPath: string;
  /** Inputs after the video's: the separate audio track, if any. */
  extraInputArgs: string[];
  /** Mapping, stream copy, filters, container and the `.part` path. */
  outputArgs: string[];
  /** Seconds of media, for progress. */
  durationSeconds: number;
  /** The fMP4 init segment, to put in front of the fragments. */
  leading: SourceFile[];
}

async function writeMergedFile(input: MergeInput, part: string, scratch: string, report: (fraction: number) => void): Promise<void> {
  const { download } = input;
  const runs = splitIntoRuns(download.segments);
  const { audio } = download;
  if (!audio && download.container === 'ts' && input.format === 'ts' && runs.length === 1) return joinAsIs(input, part, report);

  const ffmpegPath = input.ffmpegPath ?? (await locateFfmpeg()).path;
  const audioSource = audio ? { container: audio.container, first: audio.segments[0] } : { container: download.container, first: download.segments[0] };
  const remux: Remux = {
    ffmpegPath,
    extraInputArgs: audio ? await audioInput(input, audio, scratch) : [],
    outputArgs: [
      ...(audio ? ['-map', '0:v?', '-map', '1:a'] : ['-map', '0:v?', '-map', '0:a?']),
      '-c', 'copy',
      ...(await audioBitstreamFilters(input, audioSource.container, audioSource.first, ffmpegPath)),
      // Audio and video of HLS segments can sit seconds apart in the stream; let the muxer wait for both.
      '-max_muxing_queue_size', '4096',
      ...containerArgs(input.format),
      '-y', part,
    ],
    durationSeconds: download.duration > 0 ? download.duration : download.segments.reduce((sum, segment) => sum + segment.duration, 0),
    leading: download.initFile ? [{ path: download.initFile, bytes: (await stat(download.initFile)).size }] : [],
  };
  if (runs.length === 1) return remuxOneRun(input, remux, report);
  return remuxRuns(input, runs, scratch, remux, report);
}

/** TS in, TS out, no discontinuity: the joined bytes are the output. */
async function joinAsIs(input: MergeInput, part: string, report: (fraction: number) => void): Promise<void> {
  const { segments } = input.download;
  input.debug?.(`merge: ${segments.length} TS segments joined as they are into ${part}`);
  const total = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  let written = 0;
  await concatFilesTo(sourcesOf(segments), part, input.signal, (bytes) => {
    written += bytes;
    if (total > 0) report(Math.min(written / total, 0.999));
  });
}

/** Continuous timestamps: all segments back to back into ffmpeg's stdin, one remux. */
async function remuxOneRun(input: MergeInput, remux: Remux, report: (fraction: number) => void): Promise<void> {
  const { download } = input;
  input.debug?.(`merge: ${download.segments.length} segments streamed into ffmpeg as one ${download.container} input`);
  await runFfmpeg({
    ffmpegPath: remux.ffmpegPath,
    args: ['-f', download.container === 'fmp4' ? 'mov' : 'mpegts', '-i', 'pipe:0', ...remux.extraInputArgs, ...remux.outputArgs],
    durationSeconds: remux.durationSeconds,
    signal: input.signal,
    onProgress: report,
    feedStdin: (stdin, stop) => writeFilesInto([...remux.leading, ...sourcesOf(download.segments)], stdin, stop),
    debug: input.debug,
  });
}

/** Timestamps restart at each discontinuity (or jump over skipped segments): one file per run, put end to end by the concat demuxer. */
async function remuxRuns(
  input: MergeInput,
  runs: DownloadedSegment[][],
  scratch: string,
  remux: Remux,
  report: (fraction: number) => void,
): Promise<void> {
  const { download, signal } = input;
  input.debug?.(`merge: ${download.segments.length} segments in ${runs.length} runs (split at discontinuities and skipped segments), joined by the concat demuxer`);
  await mkdir(scratch, { recursive: true });
  // A lone TS segment is a run file already; everything else is joined first (half the progress bar).
  const needsJoining = (run: DownloadedSegment[]) => run.length > 1 || remux.leading.length > 0;
  const joinBytes = runs.filter(needsJoining).flat().reduce((sum, segment) => sum + segment.bytes, 0);
  const joinShare = joinBytes > 0 ? 0.5 : 0;
  let joined = 0;
  // Every list entry is a plain name in the scratch folder, beside the list: read with `-safe 1`,
  // nothing in the list can name another file (a path setting with a line break once could).
  const runFiles: string[] = [];
  for (const [i, run] of runs.entries()) {
    const runFile = path.join(scratch, `run-${String(i).padStart(5, '0')}${download.container === 'fmp4' ? '.mp4' : '.ts'}`);
    if (!needsJoining(run) && run[0]) {
      await linkOrCopy(run[0].file, runFile);
      runFiles.push(runFile);
      continue;
    }
    await concatFilesTo([...remux.leading, ...sourcesOf(run)], runFile, signal, (bytes) => {
      joined += bytes;
      if (joinShare > 0) report(Math.min(joined / joinBytes, 1) * joinShare);
    });
    runFiles.push(runFile);
  }
  const listFile = path.join(scratch, 'runs.ffconcat');
  await writeFile(listFile, ['ffconcat version 1.0', ...runFiles.map((file) => `file ${concatQuote(path.basename(file))}`), ''].join('\n'));
  await runFfmpeg({
    ffmpegPath: remux.ffmpegPath,
    // Run from the scratch folder with the list by its plain name: ffmpeg resolves list entries like URLs
    // against the list's own name, so a `#` or `?` in the folder's path must not be part of it.
    args: ['-f', 'concat', '-safe', '1', '-protocol_whitelist', 'file', '-i', path.basename(listFile), ...remux.extraInputArgs, ...remux.outputArgs],
    cwd: scratch,
    durationSeconds: remux.durationSeconds,
    signal,
    onProgress: (fraction) => report(joinShare + fraction * (1 - joinShare)),
    debug: input.debug,
  });
}

/**
 * The separate audio track as ffmpeg's second input: its segments (after its init section) joined into one
 * file in the scratch folder. Audio is a small share of the bytes, so a copy costs little and keeps stdin
 * for the video.
 */
async function audioInput(input: MergeInput, audio: AudioTrack, scratch: string): Promise<string[]> {
  await mkdir(scratch, { recursive: true });
  const file = path.join(scratch, audio.container === 'fmp4' ? 'audio.mp4' : 'audio.ts');
  const leading = audio.initFile ? [{ path: audio.initFile, bytes: (await stat(audio.initFile)).size }] : [];
  await concatFilesTo([...leading, ...sourcesOf(audio.segments)], file, input.signal);
  input.debug?.(`merge: ${audio.segments.length} audio segments joined into ${file}, muxed as the second input`);
  return ['-f', audio.container === 'fmp4' ? 'mov' : 'mpegts', '-i', file];
}

/**
 * ADTS AAC (what TS carries) must become raw AAC for MP4 and MKV. Recent ffmpeg inserts the filter by itself,
 * old builds need it asked for, and every build refuses it on a stream that is not AAC. The first segment's
 * PMT (of the separate audio track when there is one) usually settles it; when it does not, ffmpeg is asked
 * which audio streams are AAC.
 */
async function audioBitstreamFilters(
  input: MergeInput,
  container: 'ts' | 'fmp4',
  first: DownloadedSegment | undefined,
  ffmpegPath: string,
): Promise<string[]> {
  if (container !== 'ts' || input.format === 'ts' || !first) return [];
  const types = await readTsStreamTypes(first.file).catch(() => undefined);
  const fromTables = adtsAudio(types);
  input.debug?.(`merge: first segment PMT stream types: ${types?.map((t) => `0x${t.toString(16)}`).join(', ') ?? 'not found'} (ADTS audio: ${fromTables})`);
  if (fromTables === 'all') return ['-bsf:a', 'aac_adtstoasc'];
  if (fromTables === 'none') return [];
  const streams = await probeStreams(ffmpegPath, first.file, input.signal);
  input.debug?.(`merge: first segment streams: ${streams.map((s) => `${s.type}/${s.codec}`).join(', ') || 'none readable'}`);
  const audio = streams.filter((stream) => stream.type === 'audio');
  return audio.flatMap((stream, i) => (stream.codec === 'aac' ? [`-bsf:a:${i}`, 'aac_adtstoasc'] : []));
}

function containerArgs(format: OutputFormat): string[] {
  switch (format) {
    case 'mp4':
      // Index at the front so players can start before the whole file is read; costs one fast rewrite.
      return ['-movflags', '+faststart', '-f', 'mp4'];
    case 'mkv':
      return ['-f', 'matroska'];
    case 'ts':
      return ['-f', 'mpegts'];
  }
}

/** Reserves the final name, moves kept segments beside it, then renames the part over the reservation. */
async function publish(input: MergeInput, part: string): Promise<MergeResult> {
  const outputPath = await uniqueOutputPath(input.saveDir, input.filename);
  let segmentsDir: string | undefined;
  let kept: MovedSegments | undefined;
  try {
    if (input.keepSegments) {
      segmentsDir = await uniqueDirectory(input.saveDir, stemOf(path.basename(outputPath)));
      kept = await moveSegmentsInto(segmentsDir, input.download);
    }
    await rename(part, outputPath);
  } catch (error) {
    // Put everything back so a retry finds the segments where it left them.
    await kept?.undo().catch(() => {});
    if (segmentsDir) await rmdir(segmentsDir).catch(() => {});
    await rm(outputPath, { force: true });
    throw error;
  }
  const { size } = await stat(outputPath);
  input.debug?.(`merge: wrote ${outputPath} (${size} bytes)${segmentsDir ? `, segments kept in ${segmentsDir}` : ''}`);
  return { outputPath, size, ...(segmentsDir ? { segmentsDir } : {}) };
}

async function moveWithoutMerging(input: MergeInput): Promise<MergeResult> {
  const dir = await uniqueDirectory(input.saveDir, stemOf(input.filename));
  let moved: MovedSegments;
  try {
    moved = await moveSegmentsInto(dir, input.download, input.signal);
  } catch (error) {
    await rmdir(dir).catch(() => {});
    throw asMergeFailure(error, input.signal);
  }
  if (input.serverTime) await utimes(dir, new Date(), input.serverTime);
  input.debug?.(`merge: no_merge_ts, moved ${moved.files.length} files (${moved.bytes} bytes) to ${dir}`);
  input.onProgress(1);
  return { outputPath: dir, size: moved.bytes, segmentsDir: dir };
}

/**
 * Runs of segments with continuous timestamps. A run ends at a discontinuity, and
 * where skipped segments left a hole: joined as they are, the hole would stay in
 * the timeline (a 12 s stream less one skipped second must play 11 s, not 12).
 */
export function splitIntoRuns(segments: readonly DownloadedSegment[]): DownloadedSegment[][] {
  const runs: DownloadedSegment[][] = [];
  for (const segment of segments) {
    const current = runs.at(-1);
    const previous = current?.at(-1);
    if (!current || !previous || segment.discontinuity || segment.index !== previous.index + 1) runs.push([segment]);
    else current.push(segment);
  }
  return runs;
}

function sourcesOf(segments: readonly DownloadedSegment[]): SourceFile[] {
  return segments.map((segment) => ({ path: segment.file, bytes: segment.bytes }));
}

/** A lone segment as a run file: a hard link costs nothing; a copy where links are not possible. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

/** A path as one quoted token of an ffconcat file (inside single quotes only `'` is special). */
function concatQuote(file: string): string {
  return `'${file.replaceAll("'", `'\\''`)}'`;
}

function monotonic(onProgress: (fraction: number) => void): (fraction: number) => void {
  let last = 0;
  return (fraction) => {
    if (fraction > last) {
      last = fraction;
      onProgress(fraction);
    }
  };
}

function asMergeFailure(error: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return abortError(signal);
  if (error instanceof MergeError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new MergeError(`Merge failed: ${reason}`, { cause: error });
}
