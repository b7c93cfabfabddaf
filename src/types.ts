// The shapes every stage shares: task records, download settings, and the
// contract between the task manager and the download/merge engine.
import type { DownloadLimits } from './downloader/transfer-limits.js';

export { PHASES, TASK_SOURCES, TASK_STATUSES, TaskStatus, type Phase, type TaskSource } from './wire-vocabulary.js';
import type { Phase, TaskSource, TaskStatus } from './wire-vocabulary.js';

export type ProxyType = 'none' | 'http' | 'https' | 'socks5' | 'socks4';
export type OutputFormat = 'mp4' | 'mkv' | 'ts';
/** `best`, `worst`, or the largest acceptable video height in pixels. */
export type VariantChoice = 'best' | 'worst' | number;
/** Audio renditions to take: the DEFAULT one (`default`), every one (`all`), or those in these languages. */
export type AudioChoice = 'default' | 'all' | string[];
/** Subtitle renditions to take: every one (`all`), none, or those in these languages. */
export type SubtitleChoice = 'all' | 'none' | string[];

/** HTTP headers as the Go original carries them: one name, many values. */
export type HeaderMap = Record<string, string[]>;

/** The original's system settings object (`/api/settings`), also a task's effective settings. */
export interface DownloadSettings {
  /** Folder the output goes to; inside the download dir or a save root. */
  save_location: string;
  /** Base folder for work folders of segments; empty means `$M3U8DM_DATA_DIR/work`. */
  temp_directory: string;
  /** Segments in flight at once for one task. @defaultValue 8 */
  download_threads: number;
  /** Skip expression (`1,92-100,http.code=403,time:00:00:10-00:00:20`). */
  skip_ts_info: string;
  proxy_type: ProxyType;
  proxy_host: string;
  proxy_port: number;
  proxy_username: string;
  /** Write-only: never returned by any API. */
  proxy_password: string;
  allow_insecure_https: boolean;
  keep_ts_files: boolean;
  use_server_file_time: boolean;
  no_merge_ts: boolean;
  debug_log: boolean;
  log_skipped_ts: boolean;
}

/** Per-task options: the settings plus what `/api/v1` adds. */
export interface TaskOptions extends DownloadSettings {
  /** Which variant of a master playlist to take. @defaultValue 'best' */
  variant: VariantChoice;
  /** Output container. @defaultValue 'mp4' */
  format: OutputFormat;
  /** Tries per request (segment, key, playlist) before giving up. @defaultValue 5 */
  retries: number;
  /** This task's own download speed limit in bytes per second (under the service-wide one); 0 = none. @defaultValue 0 */
  max_speed: number;
  /**
   * Alternate audio renditions (EXT-X-MEDIA TYPE=AUDIO) to download and mux, each with its LANGUAGE/NAME
   * tags, the DEFAULT one first. @defaultValue 'default'
   */
  audio?: AudioChoice;
  /**
   * Subtitle renditions (EXT-X-MEDIA TYPE=SUBTITLES, segmented WebVTT): written beside the output as
   * `.vtt` and `.srt` and muxed into MP4/MKV. @defaultValue 'all'
   */
  subtitles?: SubtitleChoice;
  /** Live streams: where the recording starts. `edge` keeps only the last 3 listed segments. @defaultValue 'window' */
  live_start?: LiveStart;
  /** Live streams: stop once this many seconds of media are recorded. @defaultValue no limit */
  live_max_duration?: number;
  /** Live streams: stop when no new segment was recorded for this many seconds. @defaultValue 60 */
  live_idle_timeout?: number;
  /** Seconds to wait for a stream whose playlist answers 404 or lists no segment yet. @defaultValue 0 */
  live_wait?: number;
  /** Remux while the segments arrive (src/merge/follow-merge.ts); false merges only after the download. @defaultValue true */
  follow_merge?: boolean;
  /** Largest segment accepted, in MiB: one endless segment must not fill the disk. @defaultValue 2048 */
  max_segment_mb: number;
  /**
   * Origins (`https://cdn.example`) or hosts (`cdn.example`) besides the task URL's origin that get the
   * task's Cookie and Authorization headers. @defaultValue []
   */
  header_hosts?: string[];
}

export type LiveStart = 'window' | 'edge';

/** Service-wide limits, saved with the settings (`/api/settings`) but not part of a task's options. */
export interface TransferSettings {
  /** Bytes per second shared fairly by every running task; 0 = unlimited. @defaultValue 0 */
  max_download_speed: number;
  /** Requests in flight to one host, all tasks together; 0 = only `download_threads` applies. @defaultValue 0 */
  max_connections_per_host: number;
}

/** What `/api/settings` reads and writes: the original's settings plus the service-wide limits. */
export type SystemSettings = DownloadSettings & TransferSettings;

/** The progress counters a run reports and a task record keeps: each the current total, not a delta. */
export interface ProgressCounts {
  segments_total: number;
  segments_done: number;
  segments_skipped: number;
  downloaded_bytes: number;
  /** Smoothed download speed in bytes per second. */
  speed_bps: number;
  /** Seconds left, or null when unknown. */
  eta_s: number | null;
}

/** A task as the store keeps it (the password inside `options` is real here, masked on output). */
export interface TaskRecord extends ProgressCounts {
  id: number;
  url: string;
  /** Sanitised file name, extension included. */
  filename: string;
  status: TaskStatus;
  phase: Phase;
  /** 0–100, integer. */
  progress: number;
  status_bar: string;
  err_msg: string;
  /** Bytes on disk so far; the output's size when done. */
  size: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  started_at: string | null;
  /** ISO time before which the task does not start (from v1 `start_time`), or null. */
  start_time: string | null;
  header_map: HeaderMap;
  /** Whether the task was created with its own advanced settings. */
  advanced: boolean;
  options: TaskOptions;
  source: TaskSource;
  /** Final output file (or segment folder with `no_merge_ts`), set when known. */
  output_path: string;
  /** While running: a server asked us to slow down (shown in status_bar); null or absent otherwise. */
  backoff?: BackoffNote | null;
  /** True once the playlist turned out to be live (no EXT-X-ENDLIST): the task records it. Absent on older records. */
  live?: boolean;
  /** Seconds of media recorded so far (live tasks). */
  recorded_s?: number;
  /** Why a finished live recording ended. */
  live_end?: LiveEnd;
  /** While `live_wait` waits for the stream to start: until when (ISO 8601); null once it started. */
  waiting_until?: string | null;
  /** The poster frame (JPEG, in the data folder) of a finished file; absent when there is none. */
  poster_path?: string;
  /** The work folder the service made for it (see work-folders.ts); absent until it first starts. */
  work_dir?: string;
  /**
   * The node (service instance, `M3U8DM_NODE_ID`) that holds the task's lease and runs it; null or absent
   * when no node does. Shown on the API as `node`.
   */
  node?: string | null;
  /** Lease number: grows by one on every claim, so a write fenced by an older number is refused. */
  lease_epoch?: number;
  /** When the current lease runs out (ms since the epoch) unless renewed; null when not leased. */
  lease_expires_at?: number | null;
  /**
   * A command for the node that runs the task, written by whichever instance took the API call and
   * carried out by the lease holder on its next notify or heartbeat; null once carried out.
   */
  desired?: TaskCommand | null;
}

/** What another instance may ask of the node running a task. */
export type TaskCommand = 'pause' | 'delete' | 'shutdown';


/** What the engine reports while it works. Every field is the current total, not a delta. */
export interface ProgressSnapshot extends ProgressCounts {
  phase: Phase;
  /** 0–1 during the merge phase. */
  merge_fraction?: number;
  /** Set while a server has asked us to slow down (429/503); the status line says so. */
  backoff?: BackoffNote;
  /** Set while a live stream is recorded. */
  live?: LiveProgress;
  /** Set while `live_wait` waits for a stream to start: when the wait gives up (ISO 8601). */
  waiting_until?: string;
}

/** A server answered 429/503: what m3u8dm does about it, for the task's status line. */
export interface BackoffNote {
  /** `host:port` as in the URL. */
  host: string;
  status: number;
  /** Seconds the server asked for (Retry-After), when it said. */
  retry_after_s?: number;
  /** Seconds until the next try. */
  next_try_s: number;
  /** Requests allowed at once to the host from now, when this answer lowered it. */
  allowance?: number;
}

export interface LiveProgress {
  /** Seconds of media recorded (finished segments). */
  recorded_s: number;
  /** `live_max_duration`, when there is one. */
  limit_s?: number;
}

/** Why a live recording ended. */
export type LiveEnd = 'endlist' | 'limit' | 'stopped' | 'idle';

export interface LiveSummary {
  recorded_s: number;
  ended: LiveEnd;
}

/** A plain description of one download: no store, no HTTP route in sight. */
export interface DownloadJob {
  taskId: number;
  url: string;
  headers: HeaderMap;
  options: TaskOptions;
  /** Work folder for this task's segments; survives restarts so a resume skips finished ones. */
  workDir: string;
  /** Folder the output goes to (already checked against the allowed roots). */
  saveDir: string;
  /** Wanted output file name (sanitised, extension included); a suffix is added if it exists. */
  filename: string;
  signal: AbortSignal;
  /** Live streams: aborting it ends the recording and merges what was recorded (a user's stop). */
  finish?: AbortSignal;
  onProgress: (snapshot: ProgressSnapshot) => void;
  /**
   * Asked before each new request (segment, key, playlist reload) goes out: false means stop, and no
   * request starts; the download then ends as aborted (the caller aborts `signal` too). Absent: always yes.
   */
  mayRequest?: () => boolean;
  /** Speed limits and per-host politeness shared with the other tasks; none when absent. */
  limits?: DownloadLimits;
}

export interface EngineResult {
  /** The MP4/MKV/TS written, or the folder of segments with `no_merge_ts`. */
  outputPath: string;
  size: number;
  segments_total: number;
  segments_skipped: number;
  /** Set when the stream was live and recorded. */
  live?: LiveSummary;
  /** The poster JPEG made from the output (in the data folder), when one could be made. */
  posterPath?: string;
  /** The same, still being made when the result comes: the task is completed first, its poster added when it resolves. */
  poster?: Promise<string | undefined>;
  /** The work folder, set aside (work-folders.ts): the caller removes it once the completion is out. */
  leftover?: string;
}

/** Downloads and merges one job. Rejects with an AbortError when `job.signal` aborts. */
export interface Engine {
  run(job: DownloadJob): Promise<EngineResult>;
}

/** One segment the downloader finished, in playlist order. */
export interface DownloadedSegment {
  /** 0-based position in the media playlist (skipped ones keep their number). */
  index: number;
  /** Absolute path of the finished (decrypted, cleaned) segment file. */
  file: string;
  /** Seconds, from EXTINF. */
  duration: number;
  /** True when an EXT-X-DISCONTINUITY stands before this segment in the playlist. */
  discontinuity: boolean;
  bytes: number;
  /** Seconds from the start of the playlist (sum of the EXTINFs before it), for cutting other tracks alike. */
  start?: number;
  /**
   * The init section this segment plays with, when the playlist switches init sections (EXT-X-MAP
   * changing mid-stream); absent when every segment uses the download's `initFile`.
   */
  initFile?: string;
}

export interface SkippedSegment {
  index: number;
  uri: string;
  /** Why, for people: `rule 3-5`, `http.code=403`, `time:00:00:10-00:00:20`. */
  reason: string;
}

/** What the downloader hands to the merge stage. */
export interface DownloadResult {
  /** `fmp4` when the playlist has EXT-X-MAP. */
  container: 'ts' | 'fmp4';
  /** The EXT-X-MAP init segment, fetched once, to put before the media segments. */
  initFile?: string;
  /** Every init section when there are several (the first is `initFile`); segments name theirs. */
  initFiles?: string[];
  segments: DownloadedSegment[];
  skipped: SkippedSegment[];
  /** Latest `Last-Modified` among the segments, for `use_server_file_time`. */
  lastModified?: Date;
  /** Sum of the kept segments' EXTINF durations, in seconds. */
  duration: number;
  /**
   * The variant's alternate audio rendition, when it has a media playlist of its own (EXT-X-MEDIA
   * TYPE=AUDIO with URI): its segments, to be muxed with the video. Absent when the audio is in the
   * video segments. The first of `audioTracks` when there are several.
   */
  audio?: AudioTrack;
  /** Set when the stream was live: how much was recorded and why it ended. */
  live?: LiveSummary;
  /** Every separate audio track, the DEFAULT one first (option `audio`: `all` or languages). */
  audioTracks?: AudioTrack[];
  /** Subtitle renditions, stitched into one cue list each (option `subtitles`). */
  subtitles?: SubtitleTrack[];
}

/** One subtitle rendition's cues. */
export interface SubtitleTrack {
  name: string;
  language?: string;
  isDefault: boolean;
  /** `mpegts`: cue times on the MPEG-TS clock (X-TIMESTAMP-MAP applied); `playlist`: seconds of playlist time. */
  clock: 'mpegts' | 'playlist';
  cues: Array<{ start: number; end: number; text: string }>;
}

/** A separate audio track of a download, in playlist order. */
export interface AudioTrack {
  container: 'ts' | 'fmp4';
  /** Its own EXT-X-MAP init segment. */
  initFile?: string;
  /** Every init section when there are several (the first is `initFile`). */
  initFiles?: string[];
  segments: DownloadedSegment[];
  /** Sum of its segments' EXTINF durations, in seconds. */
  duration: number;
  /** The rendition's NAME, LANGUAGE and DEFAULT=YES, for the output's stream tags. */
  name?: string;
  language?: string;
  isDefault?: boolean;
}

/**
 * Watches the main track's segment files become final in the work folder, so a merge can follow
 * the download (src/merge/follow-merge.ts). The downloader calls it; it must not throw or block.
 */
export interface SegmentWatcher {
  /** Once, before the first `landed`, when the segments to fetch are known (never for a live recording). */
  planned(plan: FollowPlan): void;
  /** Segment `index` is final on disk (renamed into place); also called at once for the ones an earlier run left. */
  landed(index: number, file: string, bytes: number): void;
  /** Segment `index` will not come after all (an `http.code=` skip rule covered its answer). */
  dropped(index: number): void;
  /**
   * A watcher told of separate audio track `n` the same way, asked for each of them when the stream has
   * no subtitles; the main track's plan then says how many (`separateAudio`).
   */
  audioTrack?(n: number): SegmentWatcher;
}

/** The shape of the main track, as the downloader sees it once the playlist is planned. */
export interface FollowPlan {
  container: 'ts' | 'fmp4';
  /** The (first) EXT-X-MAP init section, already on disk. */
  initFile?: string;
  /** How many init sections the kept segments use: more than one when EXT-X-MAP changes mid-stream. */
  initSections: number;
  /** The segments the skip rules keep, in playlist order. */
  segments: Array<Pick<DownloadedSegment, 'index' | 'duration' | 'discontinuity'>>;
  /** True when the merge muxes in tracks this watcher is not told of (more audio renditions, subtitles) as more inputs. */
  otherTracks: boolean;
  /** How many separate audio tracks come through the watcher's `audioTrack` (0: none). */
  separateAudio: number;
  /** An audio track's rendition (NAME, LANGUAGE, DEFAULT=YES), for the output's stream tags. */
  rendition?: Pick<AudioTrack, 'name' | 'language' | 'isDefault'>;
}

/**
 * What the engine tells about its work beyond a task's progress, for service-wide
 * counters (metrics). Every method is optional and must not throw.
 */
export interface EngineObserver {
  /** A segment (or init segment) arrived whole from the network. */
  segmentFetched?(bytes: number): void;
  /** A request failed in a way worth another try: the URL's host and the HTTP status or error code. */
  retry?(host: string, reason: string): void;
  /** The merge stage ran for this long. */
  merged?(seconds: number): void;
}

/** A line for the per-task debug log (`debug_log`); a no-op when the option is off. */
export type DebugLog = (message: string) => void;
