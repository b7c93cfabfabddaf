// downloadStream: one HLS stream from URL to finished segment files in the work
// folder, ready for the merge stage. Resolves the playlist (or reuses the one a
// previous run saved), applies the skip rules, then fetches what is missing with
// `options.concurrency.threads` segments in flight. A variant whose audio is an alternate
// rendition with its own playlist is two tracks: the audio's segments go to the
// `audio/` subfolder (more tracks, with the option `audio`, in `audio1/`…) and
// share the same threads; the skip rules (numbers, times, http.code) pick video
// segments only, the audio is fetched whole and the merge cuts it by the same
// media time.
import { setMaxListeners } from 'node:events';
import { dirname } from 'node:path';
import { cuesOnClock, parseVtt, stitchCues } from './webvtt.js';
import type { AudioTrack, DebugLog, DownloadedSegment, DownloadResult, EngineObserver, FollowPlan, SubtitleTrack, HeaderMap, ProgressSnapshot, SegmentWatcher, SkippedSegment } from '../types.js';
import { AbortError, DownloadError, isBug, RequestFailure, SegmentError, SegmentHttpError, UnsupportedStreamError } from './errors.js';
import { credentialScope } from './credential-scope.js';
import { describe, HttpClient } from './http-client.js';
import { LiveRecorder, resolveWhenLive } from './live-recorder.js';
import type { MediaPlaylist, Segment } from './media-playlist.js';
import { orderedLimit, type OrderedLimit } from './ordered-limit.js';
import { ProgressMeter } from './progress-meter.js';
import { resolvePlaylist } from './resolve-playlist.js';
import { SegmentFetcher, type FetchLimits, type FetchTarget } from './segment-fetcher.js';
import type { DownloadLimits } from './transfer-limits.js';
import type { DownloadOptions } from './options.js';
import { httpSkipReason, NO_SKIP_RULES, skipReason, type SkipRules } from './skip-rules.js';
import { initFileName, segmentFileName, WorkDir, type FinishedFile } from './work-dir.js';

export interface DownloadRequest {
  url: string;
  /** Sent on playlist, key and segment requests alike; Cookie and Authorization only to the URL's origin and `options.headers.credentialHosts`. */
  headers: HeaderMap;
  /** What to fetch and how, by concern; built by the task manager (src/manager/download-options.ts). */
  options: DownloadOptions;
  /** Work folder of this task; a later run on the same folder resumes. */
  workDir: string;
  /** Aborting stops every request within a second; downloadStream then rejects with an AbortError. */
  signal: AbortSignal;
  /** Live streams: aborting it ends the recording, and the segments recorded so far are the result. */
  finish?: AbortSignal;
  /** Asked before each request goes out; false: none starts and the download ends with an AbortError. */
  mayRequest?: () => boolean;
  /** Called at most every 250 ms, plus once at each phase change and at the end. */
  onProgress: (snapshot: ProgressSnapshot) => void;
  /** Receives a line per request (method, url, status, bytes, try) and per decision. */
  debug?: DebugLog;
  /** Told of each main-track segment file as it becomes final (a merge that follows the download). */
  watcher?: SegmentWatcher;
  /** Service-wide counters: segments fetched, retries. */
  observer?: EngineObserver;
  /** Free space kept on the work folder's disk, in bytes. @defaultValue 16 MiB */
  minFreeBytes?: number;
  /** Speed limits and per-host politeness shared with other downloads; none when absent. */
  limits?: DownloadLimits;
}

/**
 * Downloads every segment of the stream at `req.url` that the skip rules keep.
 * Rejects with PlaylistError, SegmentHttpError, SegmentError, KeyError, ProxyError,
 * or UnsupportedStreamError (all DownloadErrors, message fit for err_msg), or with an
 * AbortError when `req.signal` aborts.
 */
export async function downloadStream(req: DownloadRequest): Promise<DownloadResult> {
  if (req.signal.aborted) throw new AbortError();
  const { options, debug } = req;
  const { threads } = options.concurrency;
  const { variant, audio: audioChoice, subtitles: subtitleChoice } = options.variant;
  const rules = options.skip;
  const { live } = options;

  const meter = new ProgressMeter(req.onProgress);
  // Our own stop, for when one segment fails for good and the others should not carry on.
  const stop = new AbortController();
  const signal = AbortSignal.any([req.signal, stop.signal]);
  // Every request in flight listens on it (plus backoff sleeps); more than Node's default 10 is expected.
  setMaxListeners(threads * 4 + 16, signal);
  // Cookie and Authorization only to the task URL's origin and header_hosts (credential-scope.ts).
  const scope = credentialScope(req.url, options.headers.credentialHosts);
  const connection = { proxy: options.proxy, tls: options.tls, timeouts: options.timeouts };
  const client = new HttpClient(req.headers, {
    ...connection,
    retry: options.retry,
    maxSockets: threads,
    credentialScope: scope,
    ...(req.limits?.hosts ? { hosts: req.limits.hosts } : {}),
    ...(req.limits?.bandwidth ? { gate: req.limits.bandwidth.take } : {}),
    onBackoff: (note, untilMs) => meter.backoff(note, untilMs),
    onRetry: req.observer?.retry?.bind(req.observer),
    ...(req.mayRequest ? { mayRequest: req.mayRequest } : {}),
  }, signal, debug);
  const work = new WorkDir(req.workDir);
  const limits: FetchLimits = {
    maxSegmentBytes: options.segments.maxBytes,
    ...(req.minFreeBytes !== undefined ? { minFreeBytes: req.minFreeBytes } : {}),
  };

  // The playlist save runs while the first segments are requested (commits wait for it); its failure is the download's.
  let saved: Promise<void> | undefined;
  try {
    meter.phase('resolving');
    await work.create();
    let stream = await work.loadPlaylist(req.url, variant);
    if (stream) {
      debug?.(`resuming with the playlist saved in ${work.dir} (${stream.playlist.url}${stream.audio ? `, audio ${stream.audio.url}` : ''})`);
    } else {
      stream = await resolveWhenLive(() => resolvePlaylist(client, req.url, variant, debug, audioChoice, subtitleChoice), live.waitS, req.url, req.signal, debug, (until) => meter.waiting(until));
      saved = work.savePlaylist(req.url, variant, stream);
      saved.catch((error: unknown) => stop.abort(error));
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it aborts during the awaits above
    if (req.signal.aborted) throw new AbortError();

    const { playlist, audio } = stream;
    const audios = audio ? [audio, ...(stream.moreAudio ?? [])] : [];
    if (!playlist.endList) {
      if (audio) throw new UnsupportedStreamError('recording a live stream whose audio is a separate rendition is not supported yet; pick a variant with muxed audio');
      if (rules.ranges.length || rules.httpCodes.length || rules.skipTimes.length || rules.keepTimes.length) debug?.('live: skip_ts_info does not apply to a live recording; ignored');
      // Reloads get two tries each: the recorder tries again itself, every half target duration, until the idle timeout.
      const reloadClient = new HttpClient(req.headers, { ...connection, retry: { tries: 2 }, maxSockets: 1, credentialScope: scope, ...(req.mayRequest ? { mayRequest: req.mayRequest } : {}) }, signal, debug);
      try {
        const recorder = new LiveRecorder({
          first: saved !== undefined ? playlist : undefined,
          playlist,
          fetcher: new SegmentFetcher(client, work, meter, playlist.container, debug, limits),
          reloadClient,
          work,
          meter,
          live,
          concurrency: options.concurrency,
          signal,
          finish: req.finish,
          debug,
          observer: req.observer,
        });
        const result = await recorder.run();
        await saved;
        return result;
      } finally {
        reloadClient.destroy();
      }
    }
    const main = new DownloadRun(playlist, rules, work, new SegmentFetcher(client, work, meter, playlist.container, debug, limits), meter, '', debug, req.observer);
    const subtitled = (stream.subtitles?.length ?? 0) > 0;
    // Separate audio tracks and no subtitles: the watcher follows the audio too.
    const { watcher } = req;
    const audioWatchers = !subtitled && watcher?.audioTrack ? audios.map((_audio, n) => watcher.audioTrack?.(n)) : [];
    if (watcher) main.watch(watcher, { otherTracks: subtitled || audioWatchers.length < audios.length, separateAudio: audioWatchers.length });
    const tracks = [main];
    for (const [n, audio] of audios.entries()) {
      // Before planning: its manifest opens right away, while the playlist save (which also makes the folder) runs.
      const folder = work.audioTrack(n);
      await folder.create();
      const fetcher = new SegmentFetcher(client, folder, meter, audio.container, debug, limits);
      const label = audios.length > 1 ? `audio ${audio.rendition?.language ?? n + 1} ` : 'audio ';
      // The audio track has no rules: it is fetched whole, and the merge cuts it by the video's media time.
      const run = new DownloadRun(audio, NO_SKIP_RULES, folder, fetcher, meter, label, debug, req.observer);
      const audioWatcher = audioWatchers[n];
      if (audioWatcher) {
        const { rendition } = audio;
        run.watch(audioWatcher, {
          otherTracks: false,
          separateAudio: 0,
          ...(rendition ? { rendition: { name: rendition.name, isDefault: rendition.isDefault, ...(rendition.language ? { language: rendition.language } : {}) } } : {}),
        });
      }
      tracks.push(run);
    }
    // A fresh playlist comes after loadPlaylist cleared the folder: no finished file to look for.
    const fresh = saved !== undefined;
    const plans = await Promise.all(tracks.map((track) => track.plan(fresh)));
    meter.begin(
      plans.reduce((sum, p) => sum + p.total, 0),
      plans.reduce((sum, p) => sum + p.skipped, 0),
      plans.reduce((sum, p) => sum + p.done, 0),
      plans.reduce((sum, p) => sum + p.bytesOnDisk, 0),
    );
    // Shared by the tracks in media-time order: audio and video advance side by side.
    const limit = orderedLimit(threads);
    const abortOthers = (error: unknown) => stop.abort(error);
    // Settled, not raced: a failing track stops the other, which must be off the work folder before it closes.
    const outcomes = await Promise.allSettled(
      tracks.map((track) =>
        track.execute(limit, threads, signal, abortOthers).catch((error: unknown) => {
          abortOthers(error);
          throw error;
        }),
      ),
    );
    const [result, ...audioResults] = outcomes.map((outcome) => {
      // The first failure is the one that stopped the rest: the others' are mostly AbortErrors.
      if (outcome.status === 'rejected') throw stop.signal.aborted ? stop.signal.reason : outcome.reason;
      return outcome.value;
    }) as [DownloadResult, ...DownloadResult[]];
    const audioTracks = audioResults.map((track, n): AudioTrack => {
      const { container, initFile, initFiles, segments, duration } = track;
      const rendition = audios[n]?.rendition;
      return {
        container, segments, duration,
        ...(initFile ? { initFile } : {}),
        ...(initFiles ? { initFiles } : {}),
        ...(rendition ? { name: rendition.name, isDefault: rendition.isDefault, ...(rendition.language ? { language: rendition.language } : {}) } : {}),
      };
    });
    if (audioTracks[0]) result.audio = audioTracks[0];
    if (audioTracks.length > 1) result.audioTracks = audioTracks;
    if (stream.subtitles && stream.subtitles.length > 0) {
      result.subtitles = await Promise.all(stream.subtitles.map((playlist) => fetchSubtitles(client, playlist, limit, debug)));
    }
    await saved;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it aborts during the awaits above
    if (req.signal.aborted) throw new AbortError();
    meter.finish();
    return result;
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it aborts during the awaits above
    if (req.signal.aborted) throw error instanceof AbortError ? error : new AbortError('download aborted', { cause: error });
    meter.settle();
    throw (await saved?.then(() => undefined, (saveError: unknown) => saveError)) ?? error;
  } finally {
    await saved?.catch(() => {});
    meter.stop();
    client.destroy();
    await work.close();
  }
}

/**
 * A subtitle rendition's WebVTT segments, read as text and stitched into one cue list. A segment that
 * cannot be fetched is left out with a debug line: subtitles are an extra the video does not depend on.
 */
async function fetchSubtitles(client: HttpClient, playlist: MediaPlaylist, limit: OrderedLimit, debug?: DebugLog): Promise<SubtitleTrack> {
  const rendition = playlist.rendition ?? { name: 'Subtitles', isDefault: false };
  let mapped = false;
  const parts = await Promise.all(playlist.segments.filter((segment) => !segment.gap).map((segment) => limit(async () => {
    try {
      const text = await client.get(segment.uri, { decompress: true }, async (body) => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > SUBTITLE_SEGMENT_MAX) throw new SegmentError(`subtitle segment ${segment.index + 1} (${segment.uri}) is over ${SUBTITLE_SEGMENT_MAX >> 20} MB`, segment.uri, segment.index);
          chunks.push(chunk);
        }
        return Buffer.concat(chunks).toString('utf8');
      });
      const parsed = parseVtt(text);
      if (parsed.map) mapped = true;
      return { parsed, segment };
    } catch (error) {
      if (error instanceof AbortError) throw error;
      debug?.(`subtitles "${rendition.name}": segment ${segment.index + 1} (${segment.uri}) left out: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  })));
  // One clock for the whole rendition: segments without a map then count as starting at zero on it.
  const cues = parts.flatMap((part) => (part ? (mapped ? cuesOnClock(part.parsed.map ? part.parsed : { ...part.parsed, map: { mpegts: 0, local: 0 } }) : part.parsed.cues) : []));
  const stitched = stitchCues(cues);
  debug?.(`subtitles "${rendition.name}"${rendition.language ? ` [${rendition.language}]` : ''}: ${stitched.length} cues from ${parts.filter(Boolean).length} segments`);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the segment callbacks above set it
  return { name: rendition.name, isDefault: rendition.isDefault, clock: mapped ? 'mpegts' : 'playlist', cues: stitched, ...(rendition.language ? { language: rendition.language } : {}) };
}

/** A WebVTT segment is a few KB; anything this big is not one. */
const SUBTITLE_SEGMENT_MAX = 4 << 20;

/** What a track has before fetching, for the meter's totals. */
interface TrackPlan {
  total: number;
  skipped: number;
  done: number;
  bytesOnDisk: number;
}

/** What a watcher is told of the other tracks beside this one. */
type TrackShape = Pick<FollowPlan, 'otherTracks' | 'separateAudio' | 'rendition'>;

/** One pass over a media playlist: what is on disk, what the rules skip, what to fetch. */
class DownloadRun {
  readonly #playlist: MediaPlaylist;
  readonly #rules: SkipRules;
  readonly #work: WorkDir;
  readonly #fetcher: SegmentFetcher;
  readonly #meter: ProgressMeter;
  /** `audio ` for the alternate audio track, in front of every label and log line; '' for the main one. */
  readonly #track: string;
  readonly #debug: DebugLog | undefined;
  readonly #observer: EngineObserver | undefined;
  readonly #done = new Map<number, FinishedFile>();
  readonly #skipped: SkippedSegment[] = [];
  #onDisk = new Map<string, FinishedFile>();
  #pending: Segment[] = [];
  #manifest: Promise<void> = Promise.resolve();
  #watcher: SegmentWatcher | undefined;
  #shape: TrackShape = { otherTracks: false, separateAudio: 0 };

  constructor(playlist: MediaPlaylist, rules: SkipRules, work: WorkDir, fetcher: SegmentFetcher, meter: ProgressMeter, track: string, debug?: DebugLog, observer?: EngineObserver) {
    this.#observer = observer;
    this.#playlist = playlist;
    this.#rules = rules;
    this.#work = work;
    this.#fetcher = fetcher;
    this.#meter = meter;
    this.#track = track;
    this.#debug = debug;
  }

  /** Tells `watcher` of this track's files as they become final. */
  watch(watcher: SegmentWatcher, shape: TrackShape): void {
    this.#watcher = watcher;
    this.#shape = shape;
  }

  /** Sorts the segments into on disk, skipped and to fetch. */
  async plan(fresh: boolean): Promise<TrackPlan> {
    const { segments, container } = this.#playlist;
    // The manifest opens while the first requests go out; the first commit waits for it (and `execute` reports its failure).
    this.#manifest = this.#work.openManifest();
    this.#manifest.catch(() => {});
    const onDisk = fresh ? new Map<string, FinishedFile>() : await this.#work.finished();
    this.#onDisk = onDisk;
    const pending = this.#pending;
    let bytesOnDisk = 0;
    for (const segment of segments) {
      // EXT-X-GAP: no media there, so nothing to request; the output lacks that stretch, as with ffmpeg.
      const reason = segment.gap ? 'EXT-X-GAP' : skipReason(this.#rules, segment);
      if (reason) {
        this.#skipped.push({ index: segment.index, uri: segment.uri, reason });
        continue;
      }
      const finished = onDisk.get(segmentFileName(segment.index, container));
      if (finished) {
        this.#done.set(segment.index, finished);
        bytesOnDisk += finished.bytes;
      } else {
        pending.push(segment);
      }
    }
    return { total: segments.length, skipped: this.#skipped.length, done: this.#done.size, bytesOnDisk };
  }

  /** Fetches what `plan` found missing, `limit` deciding how many at once (shared with the other track, if any). */
  async execute(limit: OrderedLimit, threads: number, signal: AbortSignal, abortOthers: (error: unknown) => void): Promise<DownloadResult> {
    const pending = this.#pending;
    const manifest = this.#manifest;
    manifest.catch(abortOthers);
    this.#debug?.(
      `${this.#track}${this.#playlist.segments.length} segments: ${this.#done.size} already in the work folder, ${this.#skipped.length} skipped by rules, ` +
        `${pending.length} to fetch with ${threads} threads`,
    );

    const initFiles = await this.#fetchInits(this.#onDisk);
    this.#announce(initFiles);

    let failure: unknown;
    await Promise.all(
      pending.map(async (segment) => {
        const target = this.#target(segment);
        try {
          // The slot covers the transfer only: it frees once the body has arrived, so writing its
          // last bytes, closing and renaming the file do not delay the next request.
          let fetching: Promise<FinishedFile> | undefined;
          await limit(() => {
            if (failure !== undefined || signal.aborted) return undefined;
            return new Promise<void>((received) => {
              fetching = this.#fetcher.fetch(target, received);
              fetching.then(() => received(), () => received());
            });
          }, segment.start);
          if (!fetching) return;
          const file = await fetching;
          await this.#fetcher.commit(target, file);
          this.#done.set(segment.index, file);
          this.#meter.segmentDone(file.bytes);
          this.#watcher?.landed(segment.index, this.#work.path(target.name), file.bytes);
          this.#observer?.segmentFetched?.(file.bytes);
        } catch (error) {
          if (this.#skippedByStatus(segment, error)) return;
          if (failure === undefined) {
            failure = inContext(error, target, segment.index);
            abortOthers(failure);
          }
        }
      }),
    );
    await manifest;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- what was thrown goes on as it was (see inContext)
    if (failure !== undefined) throw failure;
    return this.#result(initFiles);
  }

  /** The plan, then the files an earlier run left, to the watcher (before any new segment lands). */
  #announce(initFiles: Map<number, string>): void {
    const watcher = this.#watcher;
    if (!watcher) return;
    const { segments, container } = this.#playlist;
    const skipped = new Set(this.#skipped.map((s) => s.index));
    const initFile = initFiles.get(0);
    watcher.planned({
      container,
      ...(initFile ? { initFile } : {}),
      initSections: initFiles.size,
      segments: segments.filter((s) => !skipped.has(s.index)).map(({ index, duration, discontinuity }) => ({ index, duration, discontinuity })),
      ...this.#shape,
    });
    for (const [index, file] of [...this.#done].sort(([a], [b]) => a - b)) watcher.landed(index, this.#work.path(segmentFileName(index, container)), file.bytes);
  }

  /** Fetches every init section the kept segments use (one, unless EXT-X-MAP changes mid-stream); their paths by position. */
  async #fetchInits(onDisk: Map<string, FinishedFile>): Promise<Map<number, string>> {
    const { inits, segments } = this.#playlist;
    const files = new Map<number, string>();
    const skipped = new Set(this.#skipped.map((s) => s.index));
    const used = new Set(segments.filter((s) => !skipped.has(s.index)).map((s) => s.initIndex ?? 0));
    for (const [n, init] of inits.entries()) {
      // The first one always: the merge puts it in front even when every segment using it was skipped.
      if (n > 0 && !used.has(n)) continue;
      const name = initFileName(n);
      if (!onDisk.has(name)) {
        const user = segments.find((s) => (s.initIndex ?? 0) === n);
        const label = inits.length > 1 ? `init segment ${n + 1}` : 'init segment';
        const target: FetchTarget = { name, uri: init.uri, label: `the ${this.#track}${label}`, sequence: user?.sequence ?? 0 };
        if (init.byterange) target.byterange = init.byterange;
        if (init.key) target.key = init.key;
        try {
          await this.#fetcher.commit(target, await this.#fetcher.fetch(target));
        } catch (error) {
          throw inContext(error, target, -1);
        }
      }
      files.set(n, this.#work.path(name));
    }
    return files;
  }

  #target(segment: Segment): FetchTarget {
    const target: FetchTarget = {
      name: segmentFileName(segment.index, this.#playlist.container),
      uri: segment.uri,
      label: `${this.#track}segment ${segment.index + 1}`,
      sequence: segment.sequence,
    };
    if (segment.byterange) target.byterange = segment.byterange;
    if (segment.key) target.key = segment.key;
    return target;
  }

  /** True when an `http.code=` rule covers the status the segment answered; it is then listed as skipped. */
  #skippedByStatus(segment: Segment, error: unknown): boolean {
    if (!(error instanceof RequestFailure) || error.status === undefined) return false;
    const reason = httpSkipReason(this.#rules, error.status);
    if (!reason) return false;
    this.#debug?.(`segment ${segment.index + 1} (${segment.uri}) ${error.message}: skipped by ${reason}`);
    this.#skipped.push({ index: segment.index, uri: segment.uri, reason });
    this.#meter.segmentSkipped();
    this.#watcher?.dropped(segment.index);
    return true;
  }

  #result(initFiles: Map<number, string>): DownloadResult {
    const { segments: all, container } = this.#playlist;
    const initFile = initFiles.get(0);
    const several = this.#playlist.inits.length > 1;
    const segments: DownloadedSegment[] = [];
    let lastModified: Date | undefined;
    let duration = 0;
    for (const segment of all) {
      const file = this.#done.get(segment.index);
      if (!file) continue;
      const downloaded: DownloadedSegment = {
        index: segment.index,
        file: this.#work.path(segmentFileName(segment.index, container)),
        duration: segment.duration,
        discontinuity: segment.discontinuity,
        bytes: file.bytes,
        start: segment.start,
      };
      const init = several ? initFiles.get(segment.initIndex ?? 0) : undefined;
      if (init) downloaded.initFile = init;
      segments.push(downloaded);
      duration += segment.duration;
      if (file.lastModified && (!lastModified || file.lastModified > lastModified)) lastModified = file.lastModified;
    }
    const result: DownloadResult = {
      container,
      segments,
      skipped: [...this.#skipped].sort((a, b) => a.index - b.index),
      duration,
    };
    if (initFile) result.initFile = initFile;
    if (several) result.initFiles = [...initFiles.values()];
    if (lastModified) result.lastModified = lastModified;
    return result;
  }
}

/** Puts a failure in the words of the segment it happened to. */
function inContext(error: unknown, target: FetchTarget, index: number): unknown {
  // A bug is not the segment's fault: it goes on as it is, for the run to report as an internal error.
  if (error instanceof AbortError || error instanceof DownloadError || isBug(error)) return error;
  const where = `${target.label} (${target.uri})`;
  if (error instanceof RequestFailure) {
    if (error.status !== undefined) return new SegmentHttpError(`${where} ${error.message}`, target.uri, error.status, index, { cause: error });
    return new SegmentError(`${where} failed: ${error.message}`, target.uri, index, { cause: error });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && (error as { syscall?: unknown }).syscall) {
    const file = (error as { path?: unknown }).path;
    const hint = code === 'ENOSPC' || code === 'EDQUOT'
      ? `: the disk is full${typeof file === 'string' ? ` (${dirname(file)})` : ''}; free some space and retry — finished segments are kept`
      : `: ${describe(error)}`;
    return new SegmentError(`${where} could not be saved${hint}`, target.uri, index, { cause: error });
  }
  return new SegmentError(`${where} failed: ${describe(error)}`, target.uri, index, { cause: error });
}
