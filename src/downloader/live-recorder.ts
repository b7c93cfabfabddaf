// Records a live HLS stream (a media playlist without EXT-X-ENDLIST) into the work
// folder: reloads the playlist as RFC 8216 §6.3.4 says (after a target duration, or
// half of one when the reload brought nothing new), fetches each new segment once
// with the download's client, threads and keys, and stops at EXT-X-ENDLIST, at
// `live_max_duration`, on the user's stop, or when no segment came for
// `live_idle_timeout`. Segments are told apart by media sequence number and, when
// the origin restarts its numbering, by URI. Each finished segment's record
// (sequence, URI, duration, discontinuity) goes on its manifest line, so memory
// holds counters and a bounded set of recent URIs however long the recording runs,
// and a restarted service picks the recording up where the work folder left it.
import { rm, writeFile, readFile } from 'node:fs/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import type { DebugLog, DownloadedSegment, DownloadResult, EngineObserver, LiveEnd } from '../types.js';
import { AbortError, DownloadError, EmptyPlaylistError, PlaylistError, ProxyError, RequestFailure, SegmentError, SegmentHttpError } from './errors.js';
import { describe, type HttpClient } from './http-client.js';
import { describeLiveEnd } from '../manager/progress-text.js';
import { EDGE_SEGMENTS } from './live-options.js';
import type { ConcurrencyOptions, LiveOptions } from './options.js';
import type { MediaPlaylist, Segment } from './media-playlist.js';
import type { ProgressMeter } from './progress-meter.js';
import { fetchMediaPlaylist, type ResolvedStream } from './resolve-playlist.js';
import type { FetchTarget, SegmentFetcher } from './segment-fetcher.js';
import { initFileName, segmentFileName, type WorkDir } from './work-dir.js';

export interface LiveRecordRequest {
  /** The first playlist, freshly resolved; undefined when resuming a recording (the playlist is reloaded first). */
  first: MediaPlaylist | undefined;
  /** The playlist the work folder was made for: its URL is reloaded, its container kept. */
  playlist: MediaPlaylist;
  fetcher: SegmentFetcher;
  /** For playlist reloads: few tries each, since the reload loop itself tries again. */
  reloadClient: HttpClient;
  work: WorkDir;
  meter: ProgressMeter;
  live: LiveOptions;
  concurrency: ConcurrencyOptions;
  signal: AbortSignal;
  /** Aborted by the user's stop: the recording ends and what was recorded is merged. */
  finish: AbortSignal | undefined;
  debug: DebugLog | undefined;
  /** Service-wide counters (segments fetched). */
  observer?: EngineObserver | undefined;
}

/** A live segment's record, on its manifest line beside the file name and size. */
interface LiveLine {
  /** File number in the work folder, in recording order. */
  i: number;
  /** Media sequence number. */
  s: number;
  u: string;
  /** EXTINF seconds. */
  d: number;
  /** 1 when the merge must treat it as a discontinuity (the tag, a gap before it, or a sequence restart). */
  x?: 1;
  /** When it was recorded (ms since the epoch). */
  t?: number;
}

/** Written once the recording ended, before the merge: a restart then merges instead of recording on. */
const ENDED_FILE = 'live-ended.json';
/** Recent URIs remembered at least, to tell old segments from new when the numbering restarts. */
const RECENT_MIN = 256;
/** Reloads never come closer than this, whatever the target duration says. */
const MIN_RELOAD_MS = 250;

/** Resolves the stream, retrying while its playlist answers 404 or lists no segment, for up to `waitS` seconds. */
export async function resolveWhenLive(
  resolve: () => Promise<ResolvedStream>,
  waitS: number,
  url: string,
  signal: AbortSignal,
  debug: DebugLog | undefined,
  onWaiting?: (until: Date | undefined) => void,
): Promise<ResolvedStream> {
  const deadline = Date.now() + waitS * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      const stream = await resolve();
      if (attempt > 1) onWaiting?.(undefined);
      return stream;
    } catch (error) {
      const notYet = error instanceof EmptyPlaylistError || (error instanceof PlaylistError && (error.status === 404 || error.status === 410));
      if (!notYet || waitS <= 0 || signal.aborted) throw error;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PlaylistError(`the live stream ${url} did not start within live_wait (${waitS} s): ${error.message}`, url, { cause: error });
      }
      if (attempt === 1) {
        debug?.(`live: ${error.message}; waiting up to ${waitS} s for the stream to start`);
        onWaiting?.(new Date(deadline));
      }
      await pause(Math.min(1_000, left), signal, undefined);
    }
  }
}

export class LiveRecorder {
  readonly #req: LiveRecordRequest;
  readonly #limit: LimitFunction;
  /** Next file number. */
  #nextIndex = 0;
  /** Media sequence number of the last segment taken. */
  #lastSequence: number | undefined;
  /** URIs of recent segments, oldest first, bounded. */
  readonly #recent = new Set<string>();
  #recentCap = RECENT_MIN;
  #count = 0;
  #recordedS = 0;
  /** Seconds of media queued or in flight. */
  #queuedS = 0;
  #bytes = 0;
  readonly #pending = new Set<Promise<void>>();
  /** The last segment failure, the error when nothing at all could be recorded. */
  #lastError: Error | undefined;
  #lastPlaylistError: Error | undefined;
  /** A failure that ends the recording (the disk, the proxy). */
  #fatal: Error | undefined;
  #lastProgressAt = Date.now();
  /** Files a restart found missing or torn: their records are left out. */
  readonly #dropped = new Set<string>();
  #targetMs = 1_000;

  constructor(req: LiveRecordRequest) {
    this.#req = req;
    this.#limit = pLimit(req.concurrency.threads);
  }

  async run(): Promise<DownloadResult> {
    const { meter, live: settings, signal, finish, debug, work } = this.#req;
    const fresh = this.#req.first !== undefined;
    let ended = fresh ? undefined : await this.#endedBefore();
    if (fresh) await rm(work.path(ENDED_FILE), { force: true });
    else await this.#restore(ended !== undefined);
    meter.beginLive(settings.maxDuration, this.#count, this.#bytes, this.#recordedS);
    this.#lastProgressAt = Date.now();
    await work.openManifest();
    const initFile = await this.#fetchInit();

    if (ended === undefined) {
      debug?.(
        `live: recording ${this.#req.playlist.url} from ${fresh ? (settings.start === 'edge' ? `the live edge (last ${EDGE_SEGMENTS} segments)` : 'the start of the window') : 'where it stopped'}` +
          `${settings.maxDuration ? `, up to ${settings.maxDuration} s` : ''}, idle timeout ${settings.idleTimeoutS} s, ${this.#req.concurrency.threads} threads`,
      );
      let playlist = fresh ? this.#req.first : await this.#reload();
      let edge = fresh && settings.start === 'edge';
      let loadedAt = performance.now();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the loop body sets it
      while (ended === undefined) {
        let added = 0;
        if (playlist) {
          this.#targetMs = targetMs(playlist);
          added = this.#takeNew(playlist, edge);
          edge = false;
        }
        if (this.#fatal !== undefined) break;
        if (playlist?.endList) {
          ended = 'endlist';
          break;
        }
        const max = settings.maxDuration;
        if (max !== undefined && this.#recordedS + this.#queuedS >= max) {
          await this.#drain();
          if (this.#recordedS >= max - 1e-6) {
            ended = 'limit';
            break;
          }
        }
        if (finish?.aborted) {
          ended = 'stopped';
          break;
        }
        const idle = () => Date.now() - this.#lastProgressAt >= settings.idleTimeoutS * 1000;
        if (idle()) {
          // A segment still in flight may yet arrive and count.
          await this.#drain();
          if (idle()) {
            ended = 'idle';
            break;
          }
        }
        const wait = (added > 0 ? this.#targetMs : this.#targetMs / 2) - (performance.now() - loadedAt);
        await pause(Math.max(MIN_RELOAD_MS, wait), signal, finish);
        if (finish?.aborted) {
          ended = 'stopped';
          break;
        }
        loadedAt = performance.now();
        playlist = await this.#reloadUnlessFinished();
      }
      await this.#drain();
      if (this.#fatal !== undefined) throw this.#fatal;
      if (signal.aborted) throw new AbortError();
      if (this.#count === 0) throw this.#nothingRecorded(ended ?? 'idle');
      debug?.(`live: recording ended (${describeLiveEnd(ended ?? 'idle')}): ${this.#count} segments, ${this.#recordedS.toFixed(3)} s`);
      await writeFile(work.path(ENDED_FILE), `${JSON.stringify({ ended })}\n`);
    }
    const result = await this.#result(initFile, ended ?? 'idle');
    meter.finish();
    return result;
  }

  /** Takes the playlist's new segments and queues them; returns how many. */
  #takeNew(playlist: MediaPlaylist, edge: boolean): number {
    const { segments } = playlist;
    const last = segments.at(-1);
    if (!last) return 0;
    this.#recentCap = Math.max(RECENT_MIN, segments.length * 4);
    let restarted = this.#lastSequence !== undefined && last.sequence < this.#lastSequence;
    if (restarted) {
      this.#req.debug?.(
        `live: the media sequence went back from ${this.#lastSequence} to ${segments[0]?.sequence}–${last.sequence}: the origin restarted its numbering; new segments are told by URI`,
      );
    }
    let fresh = segments.filter(
      (s) => !this.#recent.has(s.uri) && (restarted || this.#lastSequence === undefined || s.sequence > this.#lastSequence),
    );
    if (edge && fresh.length > EDGE_SEGMENTS) {
      const skipped = fresh.slice(0, -EDGE_SEGMENTS);
      for (const s of skipped) this.#remember(s.uri);
      this.#lastSequence = skipped.at(-1)?.sequence;
      this.#req.debug?.(`live: live_start edge: ${skipped.length} older segments of the window left out`);
      fresh = fresh.slice(-EDGE_SEGMENTS);
    }
    const max = this.#req.live.maxDuration;
    let added = 0;
    for (const segment of fresh) {
      if (max !== undefined && this.#recordedS + this.#queuedS >= max) break;
      if (segment.gap) {
        // EXT-X-GAP: nothing to fetch; the next segment follows a hole (a sequence jump), so a discontinuity.
        this.#remember(segment.uri);
        continue;
      }
      const previous = this.#lastSequence;
      const gap = previous !== undefined && !restarted && segment.sequence !== previous + 1;
      if (gap) {
        const missed = segment.sequence - (previous + 1);
        this.#req.debug?.(`live: ${missed} segment(s) after media sequence ${previous} left the playlist before they were seen; the output has a gap there`);
      }
      this.#queue(segment, segment.discontinuity || gap || restarted);
      restarted = false;
      added++;
    }
    // A restart whose segments were all known already: the new numbering is the one to compare with from now on.
    if (restarted && added === 0 && (max === undefined || this.#recordedS + this.#queuedS < max)) this.#lastSequence = last.sequence;
    return added;
  }

  #queue(segment: Segment, discontinuity: boolean): void {
    const index = this.#nextIndex++;
    this.#lastSequence = segment.sequence;
    this.#remember(segment.uri);
    const target: FetchTarget = {
      name: segmentFileName(index, this.#req.playlist.container),
      uri: segment.uri,
      label: `live segment ${index + 1} (media sequence ${segment.sequence})`,
      sequence: segment.sequence,
    };
    if (segment.byterange) target.byterange = segment.byterange;
    if (segment.key) target.key = segment.key;
    const line: LiveLine = { i: index, s: segment.sequence, u: segment.uri, d: segment.duration, ...(discontinuity ? { x: 1 as const } : {}) };
    this.#queuedS += segment.duration;
    this.#req.meter.segmentQueued();
    const job: Promise<void> = this.#fetch(target, line).finally(() => this.#pending.delete(job));
    this.#pending.add(job);
  }

  async #fetch(target: FetchTarget, line: LiveLine): Promise<void> {
    const { fetcher, meter, signal, debug } = this.#req;
    try {
      let fetching: Promise<{ bytes: number; lastModified?: Date }> | undefined;
      // The slot covers the transfer only, as for VOD: renaming and the manifest line do not hold it.
      await this.#limit(() => {
        if (this.#fatal !== undefined || signal.aborted) return undefined;
        return new Promise<void>((received) => {
          fetching = fetcher.fetch(target, received);
          fetching.then(() => received(), () => received());
        });
      });
      if (!fetching) throw new AbortError();
      const file = await fetching;
      await fetcher.commit(target, file, { ...line, t: Date.now() });
      this.#queuedS = Math.max(0, this.#queuedS - line.d);
      this.#recordedS += line.d;
      this.#count++;
      this.#bytes += file.bytes;
      meter.segmentDone(file.bytes);
      this.#req.observer?.segmentFetched?.(file.bytes);
      meter.recorded(line.d);
      this.#lastProgressAt = Date.now();
    } catch (error) {
      this.#queuedS = Math.max(0, this.#queuedS - line.d);
      meter.segmentLost();
      if (error instanceof AbortError || signal.aborted) return;
      const failure = segmentFailure(error, target, line.i);
      if (isFatal(error)) {
        this.#fatal ??= failure;
        return;
      }
      this.#lastError = failure;
      debug?.(`live: ${failure.message}; that segment is lost, the recording goes on`);
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** A reload that a stop does not wait for: an origin that hangs must not hold up the user's file. */
  async #reloadUnlessFinished(): Promise<MediaPlaylist | undefined> {
    const { finish } = this.#req;
    const reload = this.#reload();
    if (!finish) return reload;
    reload.catch(() => {});
    let onFinish: (() => void) | undefined;
    const finished = new Promise<undefined>((resolve) => {
      onFinish = () => resolve(undefined);
      finish.addEventListener('abort', onFinish, { once: true });
    });
    try {
      return await Promise.race([reload, finished]);
    } finally {
      if (onFinish) finish.removeEventListener('abort', onFinish);
    }
  }

  async #reload(): Promise<MediaPlaylist | undefined> {
    const { reloadClient, playlist, signal, debug } = this.#req;
    try {
      const reloaded = await fetchMediaPlaylist(reloadClient, playlist.url);
      if (this.#lastPlaylistError) debug?.('live: the playlist answers again');
      this.#lastPlaylistError = undefined;
      return reloaded;
    } catch (error) {
      if (signal.aborted || error instanceof AbortError) throw new AbortError('download aborted', { cause: error });
      if (!(error instanceof DownloadError)) throw error;
      if (error instanceof ProxyError) throw error;
      if (!this.#lastPlaylistError) debug?.(`live: reloading the playlist failed (${error.message}); trying again until the idle timeout`);
      this.#lastPlaylistError = error;
      return undefined;
    }
  }

  async #fetchInit(): Promise<string | undefined> {
    const { playlist, fetcher, work } = this.#req;
    const init = playlist.init;
    if (!init) return undefined;
    const name = initFileName();
    const known = (await work.finished()).has(name);
    if (!known) {
      const target: FetchTarget = { name, uri: init.uri, label: 'the init segment', sequence: playlist.segments[0]?.sequence ?? 0 };
      if (init.byterange) target.byterange = init.byterange;
      if (init.key) target.key = init.key;
      try {
        await fetcher.commit(target, await fetcher.fetch(target));
      } catch (error) {
        throw segmentFailure(error, target, -1);
      }
    }
    return work.path(name);
  }

  #remember(uri: string): void {
    this.#recent.delete(uri);
    this.#recent.add(uri);
    while (this.#recent.size > this.#recentCap) this.#recent.delete(this.#recent.values().next().value as string);
  }

  /** Counters and the recent URIs from the records of a previous run. */
  async #restore(ended: boolean): Promise<void> {
    const { work, debug } = this.#req;
    const finished = await work.finished();
    let lastIndex = -1;
    let lastAt = 0;
    for (const line of await work.manifestLines()) {
      const record = liveLine(line);
      if (!record) continue;
      if (!finished.has(line.f)) {
        this.#dropped.add(line.f);
        continue;
      }
      this.#count++;
      this.#recordedS += record.d;
      this.#bytes += line.b;
      this.#nextIndex = Math.max(this.#nextIndex, record.i + 1);
      if (record.i > lastIndex) {
        lastIndex = record.i;
        this.#lastSequence = record.s;
      }
      this.#remember(record.u);
      if (record.t && record.t > lastAt) lastAt = record.t;
    }
    if (ended) {
      debug?.(`live: the recording had ended before the restart (${this.#count} segments); merging it`);
    } else {
      const since = lastAt ? ` since ${new Date(lastAt).toISOString()}` : '';
      debug?.(
        `live: resuming the recording after a restart: ${this.#count} segments (${this.#recordedS.toFixed(3)} s) are on disk; ` +
          `the stream was not recorded${since} while the service was down, so the output has a gap there`,
      );
    }
  }

  async #endedBefore(): Promise<LiveEnd | undefined> {
    try {
      const { ended } = JSON.parse(await readFile(this.#req.work.path(ENDED_FILE), 'utf8')) as { ended?: LiveEnd };
      return ended;
    } catch {
      return undefined;
    }
  }

  #nothingRecorded(ended: LiveEnd): Error {
    const url = this.#req.playlist.url;
    if (ended === 'stopped') return new AbortError('the recording was stopped before any segment was recorded');
    const last = this.#lastError;
    const prefix = `no segment of the live stream could be recorded within live_idle_timeout (${this.#req.live.idleTimeoutS} s); the last one: `;
    if (last instanceof SegmentHttpError) return new SegmentHttpError(`${prefix}${last.message}`, last.url, last.status, last.index, { cause: last });
    if (last instanceof SegmentError) return new SegmentError(`${prefix}${last.message}`, last.url, last.index, { cause: last });
    if (last) return last;
    if (this.#lastPlaylistError) return this.#lastPlaylistError;
    return new PlaylistError(`the live stream ${url} brought no segment in ${this.#req.live.idleTimeoutS} s (live_idle_timeout)`, url);
  }

  async #result(initFile: string | undefined, ended: LiveEnd): Promise<DownloadResult> {
    const { work, playlist } = this.#req;
    const segments: DownloadedSegment[] = [];
    const seen = new Set<number>();
    let lastModified: Date | undefined;
    let duration = 0;
    for (const line of await work.manifestLines()) {
      const record = liveLine(line);
      if (!record || this.#dropped.has(line.f) || seen.has(record.i)) continue;
      seen.add(record.i);
      segments.push({ index: record.i, file: work.path(line.f), duration: record.d, discontinuity: record.x === 1, bytes: line.b });
      duration += record.d;
      const lm = typeof line.lm === 'string' ? new Date(line.lm) : undefined;
      if (lm && !Number.isNaN(lm.getTime()) && (!lastModified || lm > lastModified)) lastModified = lm;
    }
    segments.sort((a, b) => a.index - b.index);
    if (segments.length === 0) throw this.#nothingRecorded(ended);
    const result: DownloadResult = { container: playlist.container, segments, skipped: [], duration, live: { recorded_s: duration, ended } };
    if (initFile) result.initFile = initFile;
    if (lastModified) result.lastModified = lastModified;
    return result;
  }
}

function liveLine(line: Record<string, unknown>): LiveLine | undefined {
  const { i, s, u, d } = line;
  if (typeof i !== 'number' || typeof s !== 'number' || typeof u !== 'string' || typeof d !== 'number') return undefined;
  const record: LiveLine = { i, s, u, d };
  if (line.x === 1) record.x = 1;
  if (typeof line.t === 'number') record.t = line.t;
  return record;
}

/** RFC 8216 §6.3.4's reload interval: the target duration (the longest segment when the tag is missing or 0). */
function targetMs(playlist: MediaPlaylist): number {
  const target = playlist.targetDuration ?? 0;
  const longest = playlist.segments.reduce((max, s) => Math.max(max, s.duration), 0);
  return Math.max(MIN_RELOAD_MS, (target > 0 ? target : longest || 1) * 1000);
}

/** Waits `ms`; returns early when `finish` aborts, rejects with an AbortError when `signal` does. */
function pause(ms: number, signal: AbortSignal, finish: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortError());
      return;
    }
    if (finish?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      finish?.removeEventListener('abort', onFinish);
    };
    const onAbort = () => {
      done();
      reject(new AbortError());
    };
    const onFinish = () => {
      done();
      resolve();
    };
    const timer = setTimeout(onFinish, ms);
    signal.addEventListener('abort', onAbort, { once: true });
    finish?.addEventListener('abort', onFinish, { once: true });
  });
}

/** A disk or proxy failure ends the recording; a segment's own failure only loses that segment. */
function isFatal(error: unknown): boolean {
  if (error instanceof ProxyError) return true;
  const e = error as { code?: unknown; syscall?: unknown } | undefined;
  return typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && e.syscall !== undefined;
}

/** A segment's failure in words a user can act on: which one, its URL, the status or cause. */
function segmentFailure(error: unknown, target: FetchTarget, index: number): Error {
  const where = `${target.label} (${target.uri})`;
  if (error instanceof RequestFailure) {
    if (error.status !== undefined) return new SegmentHttpError(`${where} ${error.message}`, target.uri, error.status, index, { cause: error });
    return new SegmentError(`${where} failed: ${error.message}`, target.uri, index, { cause: error });
  }
  if (error instanceof DownloadError) return error;
  if (isFatal(error)) return new SegmentError(`${where} could not be saved: ${describe(error)}`, target.uri, index, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
