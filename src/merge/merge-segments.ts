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
//   repairs backward jumps, so a forward jump would leave a gap. The concat
//   demuxer puts the runs between discontinuities end to end, each read from
//   a pipe of its own (piped-runs.ts: no joined copy first, and the same route
//   the follower takes); past MAX_PIPED_RUNS each run becomes one file (joined
//   bytes; a one-segment run is used in place).
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
import { copyFile, link, mkdir, mkdtemp, open, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { AudioTrack, DebugLog, DownloadResult, DownloadedSegment, OutputFormat } from '../types.js';
import { abortError, MergeError, throwIfAborted } from './errors.js';
import { concatFilesTo, writeFilesInto, type SourceFile } from './concat-files.js';
import { PIPED_LIST, pipedRunsInput, pipedRunsList, pipesRuns } from './piped-runs.js';
import type { FollowedMerge } from './follow-merge.js';
import { locateFfmpeg } from './ffmpeg-locate.js';
import { moveSegmentsInto, type MovedSegments } from './move-segments.js';
import { partPath, stemOf, uniqueDirectory, uniqueOutputPath } from './output-path.js';
import { detectPackedAudio, joinPackedAudio, type PackedAudio } from './packed-audio.js';
import { probeStartSeconds, probeStreams } from './probe-streams.js';
import { iso639_2 } from './language-codes.js';
import { formatSrt, formatVtt, stitchCues } from '../downloader/webvtt.js';
import { INPUT_QUEUE, runFfmpeg } from './run-ffmpeg.js';
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
  /**
   * The ffmpeg the user chose (M3U8DM_FFMPEG as the service config or the CLI read it), looked up
   * with `locateFfmpeg` when the merge first needs one. @defaultValue `ffmpeg` on PATH, else the npm-bundled one
   */
  ffmpeg?: string | undefined;
  /** A remux that followed the download (follow-merge.ts); when it wrote the whole output, it is published as is. */
  followed?: FollowedMerge;
}

export interface MergeResult {
  /** The output file, or with `noMerge` the folder of segments. */
  outputPath: string;
  /** Size of the output file, or with `noMerge` the sum of the segment files. */
  size: number;
  /** Where the segments went with `keepSegments` or `noMerge`. */
  segmentsDir?: string;
  /** Subtitle sidecars written beside the output (`<name>.<lang>.vtt` and `.srt`). */
  sidecars?: string[];
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
  let output = part;
  // Absolute: the concat route runs ffmpeg from inside it.
  const scratch = path.join(path.resolve(input.workDir), '.merge');
  try {
    const subtitles = await prepareSubtitles(input, scratch);
    // A remux that followed the download wrote its file in a private folder of its own; it declines
    // subtitles (muxed in from the files prepared here), so what it wrote lacks nothing this would add.
    const followed = await input.followed?.complete(download, report);
    if (followed) output = followed;
    else await writeMergedFile(input, part, scratch, report, subtitles);
    if (input.serverTime) await utimes(output, new Date(), input.serverTime);
    throwIfAborted(signal);
    const result = await publish(input, output);
    const sidecars = await writeSidecars(result.outputPath, subtitles);
    if (sidecars.length > 0) result.sidecars = sidecars;
    report(1);
    return result;
  } catch (error) {
    await rm(output, { force: true });
    throw asMergeFailure(error, signal);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(privateDir, { recursive: true, force: true });
  }
}

/** What every ffmpeg route of one merge shares. */
interface Remux {
  ffmpegPath: string;
  /** As `ffmpeg -version` says it: whether discontinuity runs can go through pipes. */
  ffmpegVersion: string;
  /** Inputs after the video's: the separate audio track, if any. */
  extraInputArgs: string[];
  /** Mapping, stream copy, filters, container and the `.part` path. */
  outputArgs: string[];
  /** Seconds of media, for progress. */
  durationSeconds: number;
  /** The fMP4 init segment, to put in front of the fragments. */
  leading: SourceFile[];
}

async function writeMergedFile(input: MergeInput, part: string, scratch: string, report: (fraction: number) => void, subtitles: PreparedSubtitles[] = []): Promise<void> {
  const { download } = input;
  const runs = splitIntoRuns(download.segments);
  const { audio } = download;
  // Content decides, not names: an audio-only playlist of packed audio has no EXT-X-MAP and looks like TS.
  const first = download.segments[0];
  const packed = download.container === 'ts' && first ? await detectPackedAudio(first.file).catch(() => undefined) : undefined;
  // (TS output holds no text subtitles: they go beside it only.)
  if (!packed && !audio && download.container === 'ts' && input.format === 'ts' && runs.length === 1) return joinAsIs(input, part, report);

  const { path: ffmpegPath, version: ffmpegVersion } = await locateFfmpeg(input.ffmpeg);
  const durationSeconds = download.duration > 0 ? download.duration : download.segments.reduce((sum, segment) => sum + segment.duration, 0);
  if (packed) return mergePackedAudio(input, packed, part, scratch, ffmpegPath, durationSeconds, report);
  if (download.container === 'ts' && first) await assertMedia(first);

  const tracks = download.audioTracks ?? (audio ? [audio] : []);
  const kept = keptSpans(download.segments);
  const separate: AudioInput[] = [];
  for (const [n, track] of tracks.entries()) separate.push(await audioInput(input, track, n, kept, scratch, ffmpegPath));
  const audioSource = audio ? { container: audio.container, first: audio.segments[0] } : { container: download.container, first: download.segments[0] };
  // Every separate track is decided on its own: one may be packed AAC, another TS.
  const filters = separate.length > 0
    ? (await Promise.all(separate.map(async (track, n) => (track.packed
      ? packedFilters(track.packed, input.format, n)
      : retarget(await audioBitstreamFilters(input, track.container, track.first, ffmpegPath), n))))).flat()
    : await audioBitstreamFilters(input, audioSource.container, audioSource.first, ffmpegPath);
  const muxed = input.format === 'ts' ? [] : subtitles;
  const firstSubtitleInput = separate.length + 1;
  const remux: Remux = {
    ffmpegPath,
    ffmpegVersion,
    extraInputArgs: [...separate.flatMap((track) => track.args), ...muxed.flatMap((sub) => [...INPUT_QUEUE, '-f', 'srt', '-i', sub.srtFile])],
    outputArgs: [
      ...(separate.length > 0 ? ['-map', '0:v?', ...separate.flatMap((_t, n) => ['-map', `${n + 1}:a`])] : ['-map', '0:v?', '-map', '0:a?']),
      ...muxed.flatMap((_sub, j) => ['-map', `${firstSubtitleInput + j}:s`]),
      '-c', 'copy',
      ...(muxed.length > 0 ? ['-c:s', input.format === 'mp4' ? 'mov_text' : 'srt'] : []),
      ...filters,
      ...trackTags(tracks, input.format),
      ...subtitleTags(muxed),
      // Audio and video of HLS segments can sit seconds apart in the stream; let the muxer wait for both.
      '-max_muxing_queue_size', '4096',
      ...containerArgs(input.format),
      '-y', part,
    ],
    durationSeconds,
    leading: download.initFile ? [{ path: download.initFile, bytes: (await stat(download.initFile)).size }] : [],
  };
  if (runs.length === 1) return remuxOneRun(input, remux, report);
  return remuxRuns(input, runs, scratch, remux, report);
}

/** `-bsf:a …` / `-bsf:a:i …` of one input's audio, aimed at output audio stream `n` (one audio stream per separate track). */
export function retarget(filters: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < filters.length; i += 2) out.push(`-bsf:a:${n}`, filters[i + 1] as string);
  return out;
}

/** LANGUAGE and NAME of each separate audio track as stream tags; the first (the DEFAULT rendition) flagged default. */
export function trackTags(tracks: ReadonlyArray<Pick<AudioTrack, 'name' | 'language'>>, format: OutputFormat): string[] {
  if (tracks.length === 0 || format === 'ts') return [];
  return tracks.flatMap((track, n) => {
    const language = iso639_2(track.language);
    return [
      ...(language ? [`-metadata:s:a:${n}`, `language=${language}`] : []),
      ...(track.name ? [`-metadata:s:a:${n}`, `title=${track.name}`, `-metadata:s:a:${n}`, `handler_name=${track.name}`] : []),
      `-disposition:a:${n}`, n === 0 ? 'default' : '0',
    ];
  });
}

/** One subtitle rendition, its cues on the output's timeline. */
interface PreparedSubtitles {
  /** `en`, `fr`… for the sidecar names (`sub1`… when the rendition has no LANGUAGE). */
  tag: string;
  name: string;
  language?: string;
  isDefault: boolean;
  vtt: string;
  srt: string;
  /** The SRT in the scratch folder, ffmpeg's input for muxing. */
  srtFile: string;
}

/**
 * Puts each subtitle rendition's cues on the output's timeline: cues on the MPEG-TS clock are placed against
 * the video's first timestamp; then the stretches the video lost (skip rules, gaps) are cut from the cues
 * too, and what follows moves up, exactly as the video does.
 */
async function prepareSubtitles(input: MergeInput, scratch: string): Promise<PreparedSubtitles[]> {
  const { download } = input;
  const tracks = download.subtitles ?? [];
  if (tracks.length === 0) return [];
  await mkdir(scratch, { recursive: true });
  const first = download.segments[0];
  const spans = keptSpans(download.segments) ?? [{ start: first?.start ?? 0, end: Number.POSITIVE_INFINITY }];
  let videoStart: number | undefined;
  if (tracks.some((t) => t.clock === 'mpegts')) {
    const ffmpegPath = (await locateFfmpeg(input.ffmpeg)).path;
    videoStart = await firstTimestamp(input, scratch, ffmpegPath);
  }
  const prepared: PreparedSubtitles[] = [];
  const used = new Set<string>();
  for (const [j, track] of tracks.entries()) {
    // MPEG-TS seconds → playlist time: the first kept segment starts at the video's first timestamp.
    const toPlaylist = track.clock === 'mpegts' && videoStart !== undefined ? (first?.start ?? 0) - videoStart : 0;
    const cues = stitchCues(track.cues.flatMap((cue) => onOutput(cue.start + toPlaylist, cue.end + toPlaylist, spans).map((t) => ({ ...t, text: cue.text }))));
    let tag = (track.language ?? `sub${j + 1}`).replace(/[^A-Za-z0-9-]/g, '');
    if (used.has(tag)) tag = `${tag}-${j + 1}`;
    used.add(tag);
    const srtFile = path.join(scratch, `subtitles-${j}.srt`);
    const srt = formatSrt(cues);
    await writeFile(srtFile, srt);
    prepared.push({ tag, name: track.name, isDefault: track.isDefault, vtt: formatVtt(cues), srt, srtFile, ...(track.language ? { language: track.language } : {}) });
    input.debug?.(`merge: subtitles "${track.name}": ${cues.length} cues on the output timeline (${track.clock} clock${videoStart !== undefined ? `, video starts at ${videoStart} s` : ''})`);
  }
  return prepared;
}

/** A cue of playlist time on the output's timeline: the parts inside kept stretches, moved up past the cut ones. */
function onOutput(start: number, end: number, spans: readonly Span[]): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  let before = 0;
  for (const span of spans) {
    const from = Math.max(start, span.start);
    const to = Math.min(end, span.end);
    if (to - from > 0.001) out.push({ start: before + from - span.start, end: before + to - span.start });
    before += span.end - span.start;
  }
  return out;
}

function subtitleTags(subtitles: readonly PreparedSubtitles[]): string[] {
  return subtitles.flatMap((sub, j) => {
    const language = iso639_2(sub.language);
    return [
      ...(language ? [`-metadata:s:s:${j}`, `language=${language}`] : []),
      `-metadata:s:s:${j}`, `title=${sub.name}`, `-metadata:s:s:${j}`, `handler_name=${sub.name}`,
      `-disposition:s:${j}`, sub.isDefault ? 'default' : '0',
    ];
  });
}

/** `<stem>.<lang>.vtt` and `.srt` beside the output, never overwriting a file (a `_1`… suffix instead). */
async function writeSidecars(outputPath: string, subtitles: readonly PreparedSubtitles[]): Promise<string[]> {
  const written: string[] = [];
  const dir = path.dirname(outputPath);
  const stem = stemOf(path.basename(outputPath));
  for (const sub of subtitles) {
    for (const [ext, text] of [['vtt', sub.vtt], ['srt', sub.srt]] as const) {
      const file = await uniqueOutputPath(dir, `${stem}.${sub.tag}.${ext}`);
      await writeFile(file, text);
      written.push(file);
    }
  }
  return written;
}

/** A stretch of the playlist the output keeps, in seconds of playlist time. */
export interface Span {
  start: number;
  end: number;
}

/**
 * The stretches of playlist time the kept video segments cover, merged where they touch. Skip rules and
 * EXT-X-GAP take segments out; other tracks must lose the same media time so they stay in sync. Undefined
 * when the segments do not say where they sit (a download of an older version).
 */
export function keptSpans(segments: readonly DownloadedSegment[]): Span[] | undefined {
  const spans: Span[] = [];
  for (const segment of segments) {
    if (segment.start === undefined) return undefined;
    const last = spans.at(-1);
    const end = segment.start + segment.duration;
    if (last && Math.abs(segment.start - last.end) < 1e-3) last.end = end;
    else spans.push({ start: segment.start, end });
  }
  return spans;
}

/**
 * A segment that is neither MPEG-TS (no sync pattern anywhere in its head) nor packed audio: ffmpeg would
 * only say `Could not detect TS packet size`; this says what came instead.
 */
async function assertMedia(segment: DownloadedSegment): Promise<void> {
  const handle = await open(segment.file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  // Too short to judge by the pattern: ffmpeg decides.
  if (head.length < 3 * 188) return;
  for (let at = 0; at + 2 * 188 < head.length; at++) {
    if (head[at] === 0x47 && head[at + 188] === 0x47 && head[at + 376] === 0x47) return;
  }
  const text = head.subarray(0, 40).toString('latin1');
  const shown = /^[\x20-\x7e\t\r\n]*$/.test(text) ? `"${text.replace(/\s+/g, ' ').trim()}"` : head.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim();
  throw new MergeError(
    `segment ${segment.index + 1} is neither MPEG-TS nor packed audio (AAC, MP3, AC-3, E-AC-3): it starts with ${shown}; ` +
      'the server may be sending an error page or a format m3u8dm does not know',
  );
}

/** ADTS AAC needs the ADTS → MP4 filter for MP4 and MKV; MP3, AC-3 and E-AC-3 go in as they are. */
export function packedFilters(packed: PackedAudio, format: OutputFormat, stream?: number): string[] {
  return packed.codec === 'aac' && format !== 'ts' ? [stream === undefined ? '-bsf:a' : `-bsf:a:${stream}`, 'aac_adtstoasc'] : [];
}

/** An audio-only stream of packed audio: its frames joined without the ID3 tags, remuxed into the container asked for. */
async function mergePackedAudio(
  input: MergeInput,
  packed: PackedAudio,
  part: string,
  scratch: string,
  ffmpegPath: string,
  durationSeconds: number,
  report: (fraction: number) => void,
): Promise<void> {
  const { segments } = input.download;
  await mkdir(scratch, { recursive: true });
  const joined = path.join(scratch, `audio.${packed.extension}`);
  await joinPackedAudio(segments, joined, input.signal);
  input.debug?.(`merge: ${segments.length} segments of packed ${packed.codec} audio (detected by content) joined into ${joined}`);
  await runFfmpeg({
    ffmpegPath,
    args: ['-f', packed.format, '-i', joined, '-map', '0:a', '-c', 'copy', ...packedFilters(packed, input.format), ...containerArgs(input.format), '-y', part],
    durationSeconds,
    signal: input.signal,
    onProgress: report,
    debug: input.debug,
  });
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
    args: [...INPUT_QUEUE, '-f', download.container === 'fmp4' ? 'mov' : 'mpegts', '-i', 'pipe:0', ...remux.extraInputArgs, ...remux.outputArgs],
    durationSeconds: remux.durationSeconds,
    signal: input.signal,
    onProgress: report,
    feedStdin: async (stdin, stop) => writeFilesInto([...(await leadingFor(download.segments, remux)), ...sourcesOf(download.segments)], stdin, stop),
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
  // With more inputs (a separate audio track cut by media time, subtitles) the runs keep their files: their
  // lengths as ffmpeg estimates them from a file are what those inputs are cut against.
  if (pipesRuns(runs.length, download.container, remux.ffmpegVersion) && remux.extraInputArgs.length === 0) {
    await writeFile(path.join(scratch, PIPED_LIST), pipedRunsList(runs.length));
    await runFfmpeg({
      ffmpegPath: remux.ffmpegPath,
      args: [...pipedRunsInput(), ...remux.extraInputArgs, ...remux.outputArgs],
      cwd: scratch,
      durationSeconds: remux.durationSeconds,
      signal,
      onProgress: report,
      feedPipes: {
        count: runs.length,
        feed: async (pipes, stop) => {
          for (const [i, run] of runs.entries()) {
            const pipe = pipes[i];
            if (!pipe) throw new Error(`no pipe for run ${i + 1}`);
            await writeFilesInto([...(await leadingFor(run, remux)), ...sourcesOf(run)], pipe, stop);
            pipe.end();
          }
        },
      },
      debug: input.debug,
    });
    return;
  }
  // A lone TS segment is a run file already; everything else is joined first (half the progress bar).
  const needsJoining = (run: DownloadedSegment[]) => run.length > 1 || remux.leading.length > 0 || run[0]?.initFile !== undefined;
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
    await concatFilesTo([...(await leadingFor(run, remux)), ...sourcesOf(run)], runFile, signal, (bytes) => {
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
    args: [...INPUT_QUEUE, '-f', 'concat', '-safe', '1', '-protocol_whitelist', 'file', '-i', path.basename(listFile), ...remux.extraInputArgs, ...remux.outputArgs],
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
 * for the video. Packed audio has no timestamps of its own: its first ID3 timestamp, against the video's
 * first timestamp, says how far to shift it (`-itsoffset`), so the two play in sync.
 */
interface AudioInput {
  /** ffmpeg input arguments. */
  args: string[];
  packed?: PackedAudio;
  container: 'ts' | 'fmp4';
  first: DownloadedSegment | undefined;
}

async function audioInput(input: MergeInput, audio: AudioTrack, n: number, kept: Span[] | undefined, scratch: string, ffmpegPath: string): Promise<AudioInput> {
  if ((audio.initFiles?.length ?? 0) > 1) {
    throw new MergeError('the audio rendition switches EXT-X-MAP init sections mid-stream, which m3u8dm can merge for the video track only');
  }
  await mkdir(scratch, { recursive: true });
  const first = audio.segments[0];
  const packed = audio.container === 'ts' && first ? await detectPackedAudio(first.file).catch(() => undefined) : undefined;
  const suffix = n === 0 ? '' : String(n);
  let file: string;
  let format: string;
  /** Seconds of playlist time at the joined file's time 0. */
  let origin = 0;
  if (packed) {
    file = path.join(scratch, `audio${suffix}.${packed.extension}`);
    format = packed.format;
    await joinPackedAudio(audio.segments, file, input.signal);
    const offset = packed.startSeconds === undefined ? undefined : await packedOffset(input, packed.startSeconds, scratch, ffmpegPath);
    origin = (offset ?? 0) + (input.download.segments[0]?.start ?? 0);
    input.debug?.(`merge: ${audio.segments.length} segments of packed ${packed.codec} audio joined into ${file}; ID3 start ${packed.startSeconds ?? 'none'} s, ${offset ?? 0} s after the video`);
  } else {
    file = path.join(scratch, `audio${suffix}${audio.container === 'fmp4' ? '.mp4' : '.ts'}`);
    format = audio.container === 'fmp4' ? 'mov' : 'mpegts';
    const leading = audio.initFile ? [{ path: audio.initFile, bytes: (await stat(audio.initFile)).size }] : [];
    await concatFilesTo([...leading, ...sourcesOf(audio.segments)], file, input.signal);
    input.debug?.(`merge: ${audio.segments.length} audio segments joined into ${file}, muxed as input ${n + 1}`);
  }
  const base = { ...(packed ? { packed } : {}), container: audio.container, first };
  if (!kept || input.download.skipped.length === 0) {
    // Nothing cut from the video: the audio only needs placing.
    const shift = origin - (kept?.[0]?.start ?? 0);
    return { ...base, args: [...INPUT_QUEUE, ...(Math.abs(shift) >= 0.001 ? ['-itsoffset', shift.toFixed(6)] : []), '-f', format, '-i', file] };
  }
  // The video lost stretches (skip rules, gaps): the audio loses the same media time, cut by the concat
  // demuxer's in and out points (audio packets are all key frames, so the cut is within one packet).
  // In and out points are in the file's own timestamps: MPEG-TS and fMP4 seldom start at zero, raw audio does.
  let fileStart = packed ? 0 : (await probeStartSeconds(ffmpegPath, file, input.signal)) ?? 0;
  if (!packed && audio.container === 'ts') {
    // MPEG-TS carries several audio frames per PES packet, and the concat demuxer cuts whole packets (a third
    // of a second): the track is first copied out as raw frames, whose time 0 is the TS file's start.
    const raw = await rawAudioOf(input, file, scratch, suffix, ffmpegPath);
    if (raw) {
      file = raw;
      fileStart = 0;
    }
  }
  const lines = ['ffconcat version 1.0'];
  let lead = 0;
  for (const [i, span] of kept.entries()) {
    let inpoint = span.start - origin;
    const outpoint = span.end - origin + fileStart;
    if (outpoint <= fileStart) continue;
    if (inpoint < 0) {
      // The audio starts inside this stretch: it plays that much later.
      if (i === 0) lead = -inpoint;
      inpoint = 0;
    }
    lines.push(`file '${path.basename(file)}'`, `inpoint ${(inpoint + fileStart).toFixed(6)}`, `outpoint ${outpoint.toFixed(6)}`);
  }
  const list = path.join(scratch, `audio${suffix}.ffconcat`);
  await writeFile(list, `${lines.join('\n')}\n`);
  input.debug?.(`merge: audio input ${n + 1} cut to the video's ${kept.length} kept stretches (${kept.map((k) => `${k.start.toFixed(3)}-${k.end.toFixed(3)}`).join(', ')} s)`);
  return { ...base, args: [...INPUT_QUEUE, ...(lead >= 0.001 ? ['-itsoffset', lead.toFixed(6)] : []), '-f', 'concat', '-safe', '1', '-i', list] };
}

const RAW_FORMATS: Record<string, { format: string; extension: string }> = {
  aac: { format: 'adts', extension: 'aac' },
  mp3: { format: 'mp3', extension: 'mp3' },
  ac3: { format: 'ac3', extension: 'ac3' },
  eac3: { format: 'eac3', extension: 'eac3' },
};

/** The TS audio track's first audio stream copied into its raw format, or undefined for a codec without one. */
async function rawAudioOf(input: MergeInput, file: string, scratch: string, suffix: string, ffmpegPath: string): Promise<string | undefined> {
  const codec = (await probeStreams(ffmpegPath, file, input.signal)).find((stream) => stream.type === 'audio')?.codec;
  const raw = codec ? RAW_FORMATS[codec] : undefined;
  if (!raw) return undefined;
  const out = path.join(scratch, `audio${suffix}-raw.${raw.extension}`);
  await runFfmpeg({ ffmpegPath, args: ['-f', 'mpegts', '-i', file, '-map', '0:a:0', '-c', 'copy', '-f', raw.format, '-y', out], signal: input.signal, debug: input.debug });
  return out;
}

/** The first timestamp (seconds) of the video's first kept segment, which the output's time 0 is. */
async function firstTimestamp(input: MergeInput, scratch: string, ffmpegPath: string): Promise<number | undefined> {
  const { download } = input;
  const first = download.segments[0];
  if (!first) return undefined;
  const init = first.initFile ?? download.initFile;
  return segmentStartSeconds(download.container, first.file, init, scratch, ffmpegPath, input.signal);
}

/** The first timestamp (seconds) of one segment; an fMP4 fragment is probed with `init` in front, in `scratch`. */
export async function segmentStartSeconds(
  container: 'ts' | 'fmp4',
  file: string,
  init: string | undefined,
  scratch: string,
  ffmpegPath: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  let probed = file;
  if (container === 'fmp4' && init) {
    // A fragment alone is unreadable; with its init section in front it is a tiny MP4.
    probed = path.join(scratch, 'probe-start.mp4');
    await concatFilesTo([{ path: init }, { path: file }], probed, signal);
  }
  return probeStartSeconds(ffmpegPath, probed, signal);
}

/** 2^33 ticks of the 90 kHz clock: where MPEG-TS timestamps wrap. */
const PTS_WRAP_SECONDS = 2 ** 33 / 90_000;

/**
 * Seconds the packed audio starts after the video (negative: before). ffmpeg rebases each input to its own
 * start, so this is the audio's ID3 start minus the first timestamp of the video's first kept segment.
 */
async function packedOffset(input: MergeInput, audioStart: number, scratch: string, ffmpegPath: string): Promise<number | undefined> {
  const videoStart = await firstTimestamp(input, scratch, ffmpegPath);
  return videoStart === undefined ? undefined : offsetAfter(audioStart, videoStart);
}

/** Seconds from `videoStart` to `audioStart`, both MPEG-TS clock readings. */
export function offsetAfter(audioStart: number, videoStart: number): number {
  let offset = audioStart - videoStart;
  // Timestamps on either side of a wrap: take the short way round.
  if (offset > PTS_WRAP_SECONDS / 2) offset -= PTS_WRAP_SECONDS;
  else if (offset < -PTS_WRAP_SECONDS / 2) offset += PTS_WRAP_SECONDS;
  return Math.abs(offset) < 0.001 ? 0 : offset;
}

/**
 * ADTS AAC (what TS carries) must become raw AAC for MP4 and MKV. Recent ffmpeg inserts the filter by itself,
 * old builds need it asked for, and every build refuses it on a stream that is not AAC. The first segment's
 * PMT (of the separate audio track when there is one) usually settles it; when it does not, ffmpeg is asked
 * which audio streams are AAC.
 */
export async function audioBitstreamFilters(
  input: Pick<MergeInput, 'format' | 'signal' | 'debug'>,
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

export function containerArgs(format: OutputFormat): string[] {
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
  // Subtitles go beside the segment folder (`<name>.<lang>.vtt`), timed from its first segment; placed before
  // the segments move, since that reads the first one.
  const scratch = path.join(input.workDir, '.merge');
  let subtitles: PreparedSubtitles[];
  try {
    subtitles = await prepareSubtitles(input, scratch);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw asMergeFailure(error, input.signal);
  }
  const dir = await uniqueDirectory(input.saveDir, stemOf(input.filename));
  let moved: MovedSegments;
  try {
    moved = await moveSegmentsInto(dir, input.download, input.signal);
  } catch (error) {
    await rmdir(dir).catch(() => {});
    throw asMergeFailure(error, input.signal);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (input.serverTime) await utimes(dir, new Date(), input.serverTime);
  input.debug?.(`merge: no_merge_ts, moved ${moved.files.length} files (${moved.bytes} bytes) to ${dir}`);
  const sidecars = await writeSidecars(dir, subtitles);
  input.onProgress(1);
  return { outputPath: dir, size: moved.bytes, segmentsDir: dir, ...(sidecars.length > 0 ? { sidecars } : {}) };
}

/**
 * Runs of segments with continuous timestamps. A run ends at a discontinuity, and
 * where skipped segments left a hole: joined as they are, the hole would stay in
 * the timeline (a 12 s stream less one skipped second must play 11 s, not 12).
 */
export function splitIntoRuns<T extends Pick<DownloadedSegment, 'index' | 'discontinuity' | 'initFile'>>(segments: readonly T[]): T[][] {
  const runs: T[][] = [];
  for (const segment of segments) {
    const current = runs.at(-1);
    const previous = current?.at(-1);
    // A new init section (EXT-X-MAP changing) starts a run too: each run file gets the init its fragments need.
    if (!current || !previous || segment.discontinuity || segment.index !== previous.index + 1 || segment.initFile !== previous.initFile) runs.push([segment]);
    else current.push(segment);
  }
  return runs;
}

/** The init section in front of a run: its own when the playlist switches init sections, else the download's. */
async function leadingFor(run: readonly DownloadedSegment[], remux: Remux): Promise<SourceFile[]> {
  const own = run[0]?.initFile;
  return own ? [{ path: own, bytes: (await stat(own)).size }] : remux.leading;
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
  // A bug is not ffmpeg's or the disk's: passed on as it is, for the run to report as an internal error.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new MergeError(`Merge failed: ${reason}`, { cause: error });
}
