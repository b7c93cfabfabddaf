// The human `status_bar` line and the integer `progress` of a task, from its numbers.
// One formatter, two catalogues: the compat API and /ws/progress speak Chinese as the Go
// original does (`[3/5]下载ts 速度 1.2MB/s 剩余时间 0:18`), /api/v1 and the CLI English
// (or Chinese when a v1 client asks for it with Accept-Language). A new phase or
// wording is one entry in each catalogue below.
import type { BackoffNote, LiveEnd, LiveProgress, Phase, ProgressCounts, ProgressSnapshot, TaskOptions, TaskStatus } from '../types.js';

export type Lang = 'en' | 'zh';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** `01:02:03`: a recording's length, always with hours (streams run long). */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/**
 * Downloading fills 0–95; the merge the rest, so 100 means a finished file. A recording with
 * `live_max_duration` fills 0–95 as recorded/limit; one without a limit has no end to measure
 * against and stays at 0 until its merge.
 */
export function progressPercent(s: ProgressSnapshot): number {
  if (s.phase === 'done') return 100;
  if (s.phase === 'recording') {
    const limit = s.live?.limit_s;
    return limit ? Math.min(95, Math.floor((95 * (s.live?.recorded_s ?? 0)) / limit)) : 0;
  }
  if (s.phase === 'merging') return Math.min(99, 95 + Math.floor(5 * (s.merge_fraction ?? 0)));
  if (!s.segments_total) return 0;
  return Math.min(95, Math.floor((95 * (s.segments_done + s.segments_skipped)) / s.segments_total));
}

/**
 * What the line is made of: a progress snapshot (the CLI's `get`), or a task record, which
 * adds its status, error and schedule. Fields a source lacks are simply not shown.
 */
export interface StatusLineInput extends ProgressCounts {
  /** The compat status string (`下载中` …); absent for a bare snapshot, which is then running. */
  status?: TaskStatus;
  /** `recording` is the live recorder's phase (issue 14); any other unknown phase reads as downloading. */
  phase: Phase | 'recording';
  merge_fraction?: number;
  /** 0–100; shown while merging when no merge fraction is known. */
  progress?: number;
  err_msg?: string;
  start_time?: string | null;
  /** The output's size, once done. */
  size?: number;
  /** A server asked us to slow down; said at the end of the line while it lasts. */
  backoff?: BackoffNote | null;
  /** Live recordings (issue 14): seconds recorded, from a task record… */
  recorded_s?: number;
  /** …its limit, from the record's options… */
  options?: Pick<TaskOptions, 'live_max_duration'>;
  /** …or both from a progress snapshot (a task record's `live` is a plain flag, ignored here). */
  live?: LiveProgress | boolean;
  /** Why a finished recording ended. */
  live_end?: LiveEnd;
  /** While `live_wait` waits for the stream to start: until when (ISO 8601). */
  waiting_until?: string | null;
}

/** The words of one language; the shape of the line is decided once, in `statusBar`. */
interface Catalogue {
  queued: string;
  scheduled: (at: string) => string;
  resolving: string;
  paused: string;
  /** Running phases: the label before (zh) or of (en) the segment count. */
  downloading: string;
  merging: string;
  recording: string;
  done: string;
  failed: (message: string) => string;
  segments: (done: number, total: number) => string;
  /** Segments recorded so far, when the total is open-ended (live). */
  recorded: (done: number) => string;
  /** Length recorded, and the limit when there is one. */
  recordedTime: (clock: string, limit?: string) => string;
  /** A finished recording: its length and why it ended. */
  recordedDone: (clock: string, ended: LiveEnd) => string;
  /** `live_wait` is waiting for the stream. */
  waiting: (until: string) => string;
  skipped: (n: number) => string;
  speed: (bps: number) => string;
  eta: (seconds: number) => string;
  bytes: (n: number) => string;
  percent: (p: number) => string;
  /** How the parts join, and whether the count goes in front of the phase word. */
  join: string;
  countFirst: boolean;
  /** Whether the bytes so far are shown while running (the original shows only speed and time left). */
  bytesWhileRunning: boolean;
  /** A 429/503 being waited out: who asked, for how long, how many requests at once from now. */
  backoff: (b: BackoffNote) => string;
}

/** `1.2MB`: the Go original's sizes have no space. */
const compactBytes = (n: number) => formatBytes(n).replace(' ', '');

const CATALOGUES: Record<Lang, Catalogue> = {
  en: {
    queued: 'queued',
    scheduled: (at) => `scheduled for ${at}`,
    resolving: 'resolving playlist',
    paused: 'paused',
    downloading: 'downloading',
    merging: 'merging',
    recording: 'recording',
    done: 'done',
    failed: (message) => (message ? `failed: ${message}` : 'failed'),
    segments: (done, total) => `${done}/${total} segments`,
    recorded: (done) => `${done} segments`,
    recordedTime: (clock, limit) => (limit ? `${clock} / ${limit}` : clock),
    recordedDone: (clock, ended) => `recorded ${clock} (${describeLiveEnd(ended)})`,
    waiting: (until) => `waiting for the stream to start (live_wait, until ${until})`,
    skipped: (n) => `(${n} skipped)`,
    speed: (bps) => `${formatBytes(bps)}/s`,
    eta: (s) => `ETA ${formatDuration(s)}`,
    bytes: (n) => formatBytes(n),
    percent: (p) => `${p}%`,
    join: ' · ',
    countFirst: false,
    bytesWhileRunning: true,
    backoff: (b) => `backing off: ${b.host} answered HTTP ${b.status}${b.retry_after_s !== undefined ? `, Retry-After ${b.retry_after_s} s` : ''}, next try in ${b.next_try_s} s` +
      (b.allowance !== undefined ? `; at most ${b.allowance} request${b.allowance === 1 ? '' : 's'} at once to it for now` : ''),
  },
  zh: {
    queued: '等待中',
    scheduled: (at) => `计划于 ${at} 开始`,
    resolving: '解析播放列表',
    paused: '已暂停',
    downloading: '下载ts',
    merging: '合并中',
    recording: '录制中',
    done: '已完成',
    failed: (message) => (message ? `失败: ${message}` : '失败'),
    segments: (done, total) => `[${done}/${total}]`,
    recorded: (done) => `[${done}]`,
    recordedTime: (clock, limit) => `[${limit ? `${clock}/${limit}` : clock}]`,
    recordedDone: (clock, ended) => `已录制 ${clock}（${LIVE_END_ZH[ended]}）`,
    waiting: (until) => `等待直播开始（live_wait，至 ${until}）`,
    skipped: (n) => `跳过 ${n}`,
    speed: (bps) => `速度 ${compactBytes(bps)}/s`,
    eta: (s) => `剩余时间 ${formatDuration(s)}`,
    bytes: (n) => `已下载 ${compactBytes(n)}`,
    percent: (p) => `${p}%`,
    join: ' ',
    countFirst: true,
    bytesWhileRunning: false,
    backoff: (b) => `退避中: ${b.host} 返回 HTTP ${b.status}${b.retry_after_s !== undefined ? `, 要求等待 ${b.retry_after_s} 秒` : ''}, ${b.next_try_s} 秒后重试` +
      (b.allowance !== undefined ? `; 暂时最多同时 ${b.allowance} 个请求` : ''),
  },
};

/** The language a request asks for: Chinese when its first choice is zh, else English. */
export function langFromAcceptLanguage(header: string | undefined): Lang {
  if (!header) return 'en';
  const ranked = header.split(',').map((part, i) => {
    const [tag = '', ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return { tag: tag.trim().toLowerCase(), q: q === undefined ? 1 : Number(q), i };
  }).filter((r) => r.tag && r.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  const first = ranked.find((r) => r.tag !== '*');
  return first && (first.tag === 'zh' || first.tag.startsWith('zh-')) ? 'zh' : 'en';
}

export function statusBar(s: StatusLineInput, lang: Lang = 'en'): string {
  const c = CATALOGUES[lang];
  const status = s.status;
  if (status === '失败') return c.failed(s.err_msg ?? '');
  if (s.waiting_until && s.phase === 'resolving' && (status === undefined || status === '下载中')) return c.waiting(s.waiting_until);
  // Not compared with the time here: the service's clock decides (a waiting task past its time starts at once).
  if (status === '等待中') return s.start_time ? c.scheduled(s.start_time) : c.queued;

  const parts: string[] = [];
  let word: string;
  let running = false;
  if (status === '已暂停') word = c.paused;
  else if (status === '已完成' || s.phase === 'done') word = c.done;
  else if (s.phase === 'queued') word = c.queued;
  else if (s.phase === 'resolving') word = c.resolving;
  else if (s.phase === 'merging') word = c.merging;
  else if (s.phase === 'recording') {
    word = c.recording;
    running = true;
  } else {
    word = c.downloading;
    running = true;
  }

  let count = '';
  if (s.phase === 'recording' && status !== '已完成') {
    // A recording's total grows with the stream: its length says more than a segment count.
    const progress = typeof s.live === 'object' ? s.live : undefined;
    const limit = progress?.limit_s ?? s.options?.live_max_duration;
    count = c.recordedTime(formatClock(progress?.recorded_s ?? s.recorded_s ?? 0), limit ? formatClock(limit) : undefined);
  } else if (s.segments_total) count = c.segments(s.segments_done, s.segments_total);
  else if (s.phase === 'recording') count = c.recorded(s.segments_done);
  if (s.live_end && (status === '已完成' || s.phase === 'done')) parts.push(word, c.recordedDone(formatClock(s.recorded_s ?? 0), s.live_end));
  if (parts.length) parts.push(...(count ? [count] : []));
  else if (count && c.countFirst) parts.push(`${count}${word}`);
  else parts.push(word, ...(count ? [count] : []));
  if (s.segments_skipped) parts.push(c.skipped(s.segments_skipped));

  const bytes = status === '已完成' && s.size ? s.size : s.downloaded_bytes;
  if (bytes && (!running || c.bytesWhileRunning)) parts.push(c.bytes(bytes));
  if (running) {
    if (s.speed_bps) parts.push(c.speed(s.speed_bps));
    if (s.eta_s !== null && s.phase !== 'recording') parts.push(c.eta(s.eta_s));
  }
  if (s.phase === 'merging' && status !== '已完成') {
    // A record keeps the merge's share only inside `progress` (95–99).
    const fraction = s.merge_fraction ?? (s.progress !== undefined ? Math.max(0, s.progress - 95) / 5 : undefined);
    if (fraction !== undefined) parts.push(c.percent(Math.min(99, Math.floor(fraction * 100))));
  }
  if (s.backoff && status !== '已完成' && status !== '已暂停') parts.push(c.backoff(s.backoff));
  return parts.join(c.join);
}

/** Why a recording ended, for status_bar and logs. */
export function describeLiveEnd(ended: LiveEnd): string {
  switch (ended) {
    case 'endlist':
      return 'the stream ended';
    case 'limit':
      return 'live_max_duration reached';
    case 'stopped':
      return 'stopped by the user';
    case 'idle':
      return 'no new segment within live_idle_timeout';
  }
}

const LIVE_END_ZH: Record<LiveEnd, string> = {
  endlist: '直播已结束',
  limit: '已达 live_max_duration',
  stopped: '用户停止',
  idle: 'live_idle_timeout 内无新分片',
};
