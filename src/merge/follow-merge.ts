// A merge that follows the download: while segments are still arriving, the
// ones already final on disk (and every one before them) are streamed into the
// single ffmpeg `-c copy` remux the merge would run anyway, so when the last
// segment lands only the tail of the remux and the MP4 finalisation are left.
//
// It writes the very bytes, in the very order, with the very arguments of the
// merge's route (see merge-segments.ts), into the same private `.part` output;
// the merge stage then publishes that file as it would its own. One run of
// continuous timestamps goes into stdin; runs split by discontinuities or by
// holes the skip rules leave go to the concat demuxer one pipe per run, as the
// merge sends them (piped-runs.ts), each fed as its segments land. Those are
// FIFOs here (fifo.ts), so ffmpeg keeps pace while the event loop is busy. Separate
// audio tracks go in beside the video through a pipe each (`pipe:3`, …), where
// the merge reads their joined files (packed audio without its ID3 tags, placed
// by its ID3 time as the merge places it). Anything it does not handle the same
// way (subtitles; separate audio beside skipped video, which the merge cuts;
// runs the merge would join into files; content that is not what the playlist
// says) it declines, and the merge runs as before. A failure of its ffmpeg is no
// failure of the task: it is dropped, its output removed, and the merge runs
// from the files on disk.
//
// Segments still go to disk first and are read back from there (the page cache),
// so resume and crash safety are the downloader's, unchanged. A new run (resume,
// restart after a crash) makes a new follower, which starts from segment 1.
import { lstat, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';

import type { DebugLog, DownloadResult, FollowPlan, OutputFormat, SegmentWatcher } from '../types.js';
import { abortError } from './errors.js';
import { FileFeeder, writeFileBy, type SourceFile } from './concat-files.js';
import { locateFfmpeg } from './ffmpeg-locate.js';
import { audioBitstreamFilters, containerArgs, offsetAfter, packedFilters, retarget, segmentStartSeconds, splitIntoRuns, trackTags } from './merge-segments.js';
import { partPath } from './output-path.js';
import { detectPackedAudio, id3Length, type PackedAudio } from './packed-audio.js';
import { MAX_PIPED_RUNS, PIPED_LIST, pipedRunsInput, pipedRunsList, pipesRuns } from './piped-runs.js';
import { INPUT_QUEUE, runFfmpeg } from './run-ffmpeg.js';

export interface FollowMergeOptions {
  /** The merge's save folder, file name and work folder: together they name the `.part` output both write. */
  saveDir: string;
  filename: string;
  workDir: string;
  format: OutputFormat;
  /** The task's signal: aborting kills ffmpeg and removes the partial output. */
  signal: AbortSignal;
  debug?: DebugLog;
  /** The ffmpeg the user chose (M3U8DM_FFMPEG), as for mergeSegments. @defaultValue `ffmpeg` on PATH, else the npm-bundled one */
  ffmpeg?: string | undefined;
}

/** What the merge stage asks of a follower at the end of the download. */
export interface FollowedMerge {
  /**
   * Waits for the followed remux to finish the output of exactly `download`; resolves to the complete
   * `.part` file (for the merge to publish), or undefined when the merge must write it itself (declined,
   * failed, or another shape). Rejects only with the signal's AbortError.
   */
  complete(download: DownloadResult, onProgress: (fraction: number) => void): Promise<string | undefined>;
}

interface Landed {
  file: string;
  bytes: number;
}

/** In the work folder: the private output folder of the run in progress, for a restart after a crash to remove. */
const FOLDER_NOTE = 'follow-merge.dir';
const PRIVATE_PREFIX = '.m3u8dm-merge-';

/** MPEG-TS packets start with this byte; anything else in a `.ts` segment (packed audio, HTML) is left to the merge. */
const TS_SYNC = 0x47;

export class MergeFollower implements SegmentWatcher, FollowedMerge {
  readonly #opts: FollowMergeOptions;
  /** The output, in a folder of its own (see #privateFolder); set when the remux starts. */
  #part = '';
  #privateDir: string | undefined;
  /** Our own stop (declined late, dropped segment, the end of the task), beside the task's signal. */
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;
  #plan: FollowPlan | undefined;
  /** Why it does not follow; set once, never cleared. */
  #declined: string | undefined;
  readonly #landed = new Map<number, Landed>();
  /** The separate audio tracks' plans and files, as many as the main plan says (`separateAudio`). */
  readonly #audio: AudioFeed[] = [];
  /** The remux (or, TS to TS, the byte copy) in flight; settles when it has written the whole output or failed. */
  #run: Promise<void> | undefined;
  #failure: unknown;
  /** The feeders waiting for the next landing (video and audio each feed on their own). */
  readonly #waiting = new Set<() => void>();
  #fraction = 0;
  #report: ((fraction: number) => void) | undefined;

  constructor(options: FollowMergeOptions) {
    this.#opts = options;
    this.#signal = AbortSignal.any([options.signal, this.#stop.signal]);
  }

  planned(plan: FollowPlan): void {
    if (this.#plan || this.#declined) return;
    this.#plan = plan;
    const reason = unsupported(plan);
    if (reason) this.#decline(reason);
  }

  landed(index: number, file: string, bytes: number): void {
    if (this.#declined || !this.#plan) return;
    this.#landed.set(index, { file, bytes });
    this.#maybeStart();
    this.#wakeAll();
  }

  /** Starts the remux once the first segment of each track it takes is on disk. */
  #maybeStart(): void {
    const plan = this.#plan;
    if (this.#run || this.#declined || !plan || !this.#landed.has(plan.segments[0]?.index ?? -1)) return;
    const audio: PlannedAudio[] = [];
    for (let n = 0; n < plan.separateAudio; n++) {
      const track = this.#audio[n];
      const first = track?.plan && track.landed.get(track.plan.segments[0]?.index ?? -1);
      if (!track?.plan || !first) return;
      audio.push({ plan: track.plan, landed: track.landed, first });
    }
    this.#run = this.#follow(plan, audio);
    this.#run.catch((error: unknown) => {
      this.#failure = error;
      this.#opts.debug?.(`merge: the following remux stopped (${error instanceof Error ? error.message : String(error)}); the merge will run from the files`);
    });
  }

  /** The watcher the downloader tells of separate audio track `n`. */
  audioTrack(n: number): SegmentWatcher {
    const track: AudioFeed = (this.#audio[n] ??= { landed: new Map() });
    const name = `audio track ${n + 1}`;
    return {
      planned: (plan) => {
        if (track.plan || this.#declined) return;
        track.plan = plan;
        if (plan.initSections > 1) this.#decline(`the ${name}'s EXT-X-MAP changes mid-stream (${plan.initSections} init sections)`);
        this.#maybeStart();
      },
      landed: (index, file, bytes) => {
        if (this.#declined || !track.plan) return;
        track.landed.set(index, { file, bytes });
        this.#maybeStart();
        this.#wakeAll();
      },
      dropped: (index) => this.#decline(`segment ${index + 1} of the ${name} was dropped`),
    };
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiting]) wake();
  }

  dropped(index: number): void {
    this.#decline(`segment ${index + 1} was skipped by an http.code rule, which leaves a hole only the concat demuxer closes`);
  }

  async complete(download: DownloadResult, onProgress: (fraction: number) => void): Promise<string | undefined> {
    const mismatch = this.#declined ?? (this.#failure !== undefined ? 'it failed' : !this.#run ? 'it never started' : this.#differs(download));
    if (mismatch) {
      this.#decline(mismatch);
      await this.close();
      if (this.#opts.signal.aborted) throw abortError(this.#opts.signal);
      return undefined;
    }
    this.#report = onProgress;
    if (this.#fraction > 0) onProgress(this.#fraction);
    try {
      await this.#run;
      // Published by the merge from here on: closing must not remove it.
      this.#run = undefined;
      this.#opts.debug?.(`merge: followed the download; ${download.segments.length} segments remuxed as they landed into ${this.#part}`);
      return this.#part;
    } catch {
      if (this.#opts.signal.aborted) throw abortError(this.#opts.signal);
      await this.close();
      return undefined;
    }
  }

  /**
   * Stops following: kills ffmpeg if it still runs and removes its partial output. Idempotent; the engine
   * calls it when the task ends in any way other than a successful merge of what was followed.
   */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wakeAll();
    const run = this.#run;
    this.#run = undefined;
    if (run) {
      this.#failure ??= new Error('closed');
      await run.catch(() => {});
    }
    // After a success the merge has renamed the part out of it: only the empty folder is left.
    const dir = this.#privateDir;
    this.#privateDir = undefined;
    if (dir) {
      await rm(dir, { recursive: true, force: true });
      await rm(path.join(this.#opts.workDir, FOLDER_NOTE), { force: true });
    }
  }

  /**
   * A new folder in the save folder only this run knows (mkdtemp: unguessable, mode 0700), as the merge
   * writes its output in, so nothing planted at a guessable name can redirect ffmpeg. Its path is noted in
   * the work folder: a run that a crash ended left it behind (perhaps with an ffmpeg still writing into
   * it), and the next run removes it (only ever a real folder of that prefix right inside the save folder).
   */
  async #privateFolder(): Promise<string> {
    const saveDir = path.resolve(this.#opts.saveDir);
    const note = path.join(this.#opts.workDir, FOLDER_NOTE);
    const left = (await readFile(note, 'utf8').catch(() => '')).trim();
    if (left && path.dirname(left) === saveDir && path.basename(left).startsWith(PRIVATE_PREFIX)) {
      const info = await lstat(left).catch(() => undefined);
      if (info?.isDirectory()) await rm(left, { recursive: true, force: true });
    }
    const dir = await mkdtemp(path.join(saveDir, PRIVATE_PREFIX));
    this.#privateDir = dir;
    await writeFile(note, `${dir}\n`);
    return dir;
  }

  #decline(reason: string): void {
    if (this.#declined) return;
    this.#declined = reason;
    this.#opts.debug?.(`merge: not following the download: ${reason}`);
    // Whatever ran is of no use now; its output goes when the merge (or the engine) closes it.
    this.#stop.abort();
    this.#wakeAll();
  }

  /** Why `download` is not what was fed, or undefined when it is exactly that. */
  #differs(download: DownloadResult): string | undefined {
    const plan = this.#plan;
    if (!plan) return 'no plan';
    const audio = download.audioTracks ?? (download.audio ? [download.audio] : []);
    if ((download.subtitles?.length ?? 0) > 0 || audio.length !== plan.separateAudio) return 'the tracks are not the ones followed';
    for (const [n, track] of audio.entries()) {
      const fed = this.#audio[n];
      const differs = fed?.plan ? sameTrack(track, fed.plan, fed.landed) : 'not followed';
      if (differs) return `audio track ${n + 1}: ${differs}`;
    }
    return sameTrack(download, plan, this.#landed);
  }

  /** Starts the output once the first segment is on disk and feeds it segment after segment, in order. */
  async #follow(plan: FollowPlan, audio: readonly PlannedAudio[]): Promise<void> {
    const opts = this.#opts;
    const signal = this.#signal;
    const first = this.#landed.get(plan.segments[0]?.index ?? -1);
    if (!first) throw new Error('the first segment is not on disk');
    // Packed audio (an ID3 tag in front, stray sync bytes) is told by content, as the merge tells it.
    const mainPacked = plan.container === 'ts' ? await detectPackedAudio(first.file).catch(() => undefined) : undefined;
    if (mainPacked && audio.length > 0) throw new Error('the segments are packed audio beside separate audio tracks');
    if (plan.container === 'ts' && !mainPacked && !(await startsWithTsSync(first.file))) throw new Error('the first segment is not MPEG-TS');
    // As the merge decides (audioInput): by content, packed audio first.
    const packed: Array<PackedAudio | undefined> = [];
    for (const [n, track] of audio.entries()) {
      const found = track.plan.container === 'ts' ? await detectPackedAudio(track.first.file).catch(() => undefined) : undefined;
      packed.push(found);
      if (!found && track.plan.container === 'ts' && !(await startsWithTsSync(track.first.file))) throw new Error(`the first segment of audio track ${n + 1} is not MPEG-TS`);
    }
    await mkdir(opts.saveDir, { recursive: true });
    this.#part = partPath(await this.#privateFolder(), opts.filename, opts.workDir);
    signal.throwIfAborted();
    const leading: SourceFile[] = plan.initFile ? [{ path: plan.initFile }] : [];
    const durationSeconds = plan.segments.reduce((sum, segment) => sum + segment.duration, 0);
    opts.debug?.(`merge: following the download, ${plan.segments.length} ${plan.container} segments into ${this.#part}`);

    if (mainPacked) {
      await this.#followPackedAudio(plan, mainPacked, durationSeconds);
      return;
    }
    const runs = splitIntoRuns(plan.segments);
    if (plan.container === 'ts' && opts.format === 'ts' && runs.length === 1 && audio.length === 0) {
      // TS in, TS out: the merge joins the bytes as they are, and so does this.
      await writeFileBy(this.#part, (out) => this.#feed(plan.segments, this.#landed, leading, out, signal));
      return;
    }

    const { path: ffmpegPath, version } = await locateFfmpeg(opts.ffmpeg);
    if (runs.length > 1 && !pipesRuns(runs.length, plan.container, version)) throw new Error(`ffmpeg ${version} cannot take the ${runs.length} runs through pipes; the merge joins them into files`);
    // As the merge decides them: per separate track (aimed at its output stream), else the main track's.
    const filtersOf = (container: 'ts' | 'fmp4', file: Landed) => audioBitstreamFilters(
      { format: opts.format, signal, ...(opts.debug ? { debug: opts.debug } : {}) },
      container,
      { index: 0, file: file.file, bytes: file.bytes, duration: 0, discontinuity: false },
      ffmpegPath,
    );
    const filters = audio.length > 0
      ? (await Promise.all(audio.map(async (track, n) => {
        const raw = packed[n];
        return raw ? packedFilters(raw, opts.format, n) : retarget(await filtersOf(track.plan.container, track.first), n);
      }))).flat()
      : await filtersOf(plan.container, first);
    // Packed audio has no timestamps of its own: it starts where its first ID3 time is against the video's first
    // timestamp (the merge's packedOffset; the video starts at playlist time 0 here, nothing is cut).
    let videoStart: number | undefined;
    const audioInputs: string[][] = [];
    for (const [n, track] of audio.entries()) {
      const raw = packed[n];
      const pipe = `pipe:${FIRST_AUDIO_FD + n}`;
      if (!raw) {
        audioInputs.push([...INPUT_QUEUE, '-f', demuxerOf(track.plan.container), '-i', pipe]);
        continue;
      }
      if (raw.startSeconds !== undefined) videoStart ??= await segmentStartSeconds(plan.container, first.file, plan.initFile, path.dirname(this.#part), ffmpegPath, signal);
      const shift = raw.startSeconds === undefined || videoStart === undefined ? 0 : offsetAfter(raw.startSeconds, videoStart);
      audioInputs.push([...INPUT_QUEUE, ...(Math.abs(shift) >= 0.001 ? ['-itsoffset', shift.toFixed(6)] : []), '-f', raw.format, '-i', pipe]);
    }
    // Exactly the merge's command (remuxOneRun, or remuxRuns through pipes), so the file is the one it would write.
    const output = [
      ...(audio.length > 0 ? ['-map', '0:v?', ...audio.flatMap((_track, n) => ['-map', `${n + 1}:a`])] : ['-map', '0:v?', '-map', '0:a?']),
      '-c', 'copy',
      ...filters,
      ...trackTags(audio.map((track) => track.plan.rendition ?? {}), opts.format),
      '-max_muxing_queue_size', '4096',
      ...containerArgs(opts.format),
      '-y', this.#part,
    ];
    const common = {
      ffmpegPath,
      durationSeconds,
      signal,
      onProgress: (fraction: number) => {
        this.#fraction = fraction;
        this.#report?.(fraction);
      },
      ...(opts.debug ? { debug: opts.debug } : {}),
    };
    if (runs.length === 1) {
      await runFfmpeg({
        ...common,
        args: [
          ...INPUT_QUEUE, '-f', demuxerOf(plan.container), '-i', 'pipe:0',
          // Where the merge names each audio track's joined file (audioInput), the same bytes through a pipe.
          ...audioInputs.flat(),
          ...output,
        ],
        feedStdin: async (stdin, stop) => {
          await this.#feed(plan.segments, this.#landed, leading, stdin, AbortSignal.any([signal, stop]));
          opts.debug?.(`merge: all ${plan.segments.length} segments fed to the remux; its tail and the MP4 index are left`);
        },
        // The stream through a FIFO, written from the thread pool (fifo.ts); the audio, read side by side, not.
        fifos: { dir: path.dirname(this.#part), pipes: false },
        ...(audio.length > 0 ? {
          feedPipes: {
            count: audio.length,
            // All at once: ffmpeg reads its inputs side by side.
            feed: async (pipes: Writable[], stop: AbortSignal) => {
              await Promise.all(audio.map(async (track, n) => {
                const pipe = pipes[n];
                if (!pipe) throw new Error(`no pipe for audio track ${n + 1}`);
                const init: SourceFile[] = track.plan.initFile ? [{ path: track.plan.initFile }] : [];
                await this.#feed(track.plan.segments, track.landed, init, pipe, AbortSignal.any([signal, stop]), packed[n] ? withoutId3 : undefined);
                pipe.end();
              }));
              opts.debug?.(`merge: all segments of ${audio.length} audio track(s) fed to the remux`);
            },
          },
        } : {}),
      });
      return;
    }
    const folder = path.dirname(this.#part);
    await writeFile(path.join(folder, PIPED_LIST), pipedRunsList(runs.length));
    await runFfmpeg({
      ...common,
      args: [...pipedRunsInput(), ...output],
      cwd: folder,
      feedPipes: {
        count: runs.length,
        feed: async (pipes, stop) => {
          const feeding = AbortSignal.any([signal, stop]);
          for (const [i, run] of runs.entries()) {
            const pipe = pipes[i];
            if (!pipe) throw new Error(`no pipe for run ${i + 1}`);
            await this.#feed(run, this.#landed, leading, pipe, feeding);
            pipe.end();
          }
          opts.debug?.(`merge: all ${plan.segments.length} segments fed to the remux; its tail and the MP4 index are left`);
        },
      },
      // Run after run, each through a FIFO (fifo.ts): one is fed at a time.
      fifos: { dir: folder, pipes: true },
    });
  }

  /** An audio-only stream of packed audio: its frames without the ID3 tags, as the merge joins them (mergePackedAudio). */
  async #followPackedAudio(plan: FollowPlan, packed: PackedAudio, durationSeconds: number): Promise<void> {
    const opts = this.#opts;
    const signal = this.#signal;
    await runFfmpeg({
      ffmpegPath: (await locateFfmpeg(opts.ffmpeg)).path,
      args: ['-f', packed.format, '-i', 'pipe:0', '-map', '0:a', '-c', 'copy', ...packedFilters(packed, opts.format), ...containerArgs(opts.format), '-y', this.#part],
      durationSeconds,
      signal,
      onProgress: (fraction) => {
        this.#fraction = fraction;
        this.#report?.(fraction);
      },
      feedStdin: async (stdin, stop) => {
        await this.#feed(plan.segments, this.#landed, [], stdin, AbortSignal.any([signal, stop]), withoutId3);
        opts.debug?.(`merge: all ${plan.segments.length} segments of packed ${packed.codec} audio fed to the remux`);
      },
      ...(opts.debug ? { debug: opts.debug } : {}),
    });
  }

  /** Writes the init section, then each segment as soon as it and all before it have landed. */
  async #feed(
    segments: FollowPlan['segments'],
    files: ReadonlyMap<number, Landed>,
    leading: SourceFile[],
    sink: Writable,
    signal: AbortSignal,
    trim?: (data: Buffer) => Buffer,
  ): Promise<void> {
    // One feeder for the whole feed: its chunks are reused from segment to segment.
    const feeder = new FileFeeder(sink, signal);
    await feeder.add(leading);
    let next = 0;
    while (next < segments.length) {
      signal.throwIfAborted();
      const ready: SourceFile[] = [];
      for (let landed = files.get(segments[next]?.index ?? -1); landed; landed = files.get(segments[next]?.index ?? -1)) {
        ready.push({ path: landed.file, bytes: landed.bytes });
        next++;
      }
      if (ready.length === 0) await this.#nextLanding(signal);
      else if (!trim) await feeder.add(ready);
      else for (const file of ready) await writeTrimmed(file.path, trim, sink, signal);
    }
    await feeder.end();
  }

  /** Resolves at the next `landed` (or stop); no timer, no polling. */
  #nextLanding(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        this.#waiting.delete(wake);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting.delete(wake);
        reject(signal.reason instanceof Error ? signal.reason : abortError(signal));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.add(wake);
    });
  }
}

/** Why the follower cannot take `plan` as the merge would, or undefined when it can. */
function unsupported(plan: FollowPlan): string | undefined {
  if (plan.otherTracks) return 'subtitles, muxed in as more inputs';
  if (plan.initSections > 1) return `EXT-X-MAP changes mid-stream (${plan.initSections} init sections)`;
  if (plan.segments.length === 0) return 'no segments to merge';
  const runs = splitIntoRuns(plan.segments).length;
  if (plan.separateAudio && (runs > 1 || plan.segments[0]?.index !== 0)) return 'the separate audio track is cut to the kept video by the merge';
  if (runs > 1 && plan.container !== 'ts') return `${runs} runs of fMP4 fragments, which the merge joins into files first`;
  if (runs > MAX_PIPED_RUNS) return `${runs} runs between discontinuities, which the merge joins into files first`;
  return undefined;
}


/** Where the follower gives ffmpeg the separate audio tracks, one after another (0–2 are stdin, progress, stderr). */
const FIRST_AUDIO_FD = 3;

/** A separate audio track as the downloader tells of it. */
interface AudioFeed {
  plan?: FollowPlan;
  landed: Map<number, Landed>;
}

/** …once planned and its first segment is on disk. */
interface PlannedAudio {
  plan: FollowPlan;
  landed: ReadonlyMap<number, Landed>;
  first: Landed;
}

const demuxerOf = (container: 'ts' | 'fmp4') => (container === 'fmp4' ? 'mov' : 'mpegts');

/** Why `track` (what was downloaded) is not what `plan` and `landed` fed, or undefined when it is exactly that. */
function sameTrack(track: Pick<DownloadResult, 'container' | 'initFile' | 'initFiles' | 'segments'>, plan: FollowPlan, landed: ReadonlyMap<number, Landed>): string | undefined {
  if (track.container !== plan.container || track.initFile !== plan.initFile || (track.initFiles?.length ?? 0) > 1) return 'the container or init section changed';
  if (track.segments.length !== plan.segments.length) return `${track.segments.length} segments downloaded, ${plan.segments.length} followed`;
  for (const [i, segment] of track.segments.entries()) {
    const fed = landed.get(segment.index);
    if (plan.segments[i]?.index !== segment.index || !fed || fed.file !== segment.file || fed.bytes !== segment.bytes) {
      return `segment ${segment.index + 1} is not the file that was followed`;
    }
  }
  return undefined;
}


/** Packed audio as the merge joins it (joinPackedAudio): each segment's frames, its ID3 tag dropped. */
const withoutId3 = (data: Buffer): Buffer => data.subarray(id3Length(data));

async function writeTrimmed(file: string, trim: (data: Buffer) => Buffer, sink: Writable, signal: AbortSignal): Promise<void> {
  const data = trim(await readFile(file, { signal }));
  if (sink.destroyed) throw sink.errored ?? Object.assign(new Error('The output closed early'), { code: 'ERR_STREAM_DESTROYED' });
  if (!sink.write(data)) await once(sink, 'drain', { signal });
}

async function startsWithTsSync(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(1), 0, 1, 0);
    return bytesRead === 1 && buffer[0] === TS_SYNC;
  } finally {
    await handle.close();
  }
}
