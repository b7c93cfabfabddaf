// Task records as each API shows them. The proxy password never leaves here.
import { statusBar, type Lang } from '../manager/progress-text.js';
import { maskSettings } from '../manager/settings.js';
import { boundTaskText } from '../manager/text-limits.js';
import { TaskStatus, type TaskOptions, type TaskRecord } from '../types.js';

export interface CompatTask {
  id: string;
  url: string;
  filename: string;
  size: number;
  progress: number;
  status: TaskStatus;
  status_bar: string;
  err_msg: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  header_map: Record<string, string[]>;
  advanced_settings: TaskOptions;
}

/** The compat API speaks Chinese, as the original; v1 passes the language its client asked for. */
export function toCompatTask(t: TaskRecord, lang: Lang = 'zh'): CompatTask {
  return {
    id: String(t.id),
    url: t.url,
    filename: t.filename,
    size: t.size,
    progress: t.progress,
    status: t.status,
    // Bounded when written; again here for records an older version stored whole.
    status_bar: boundTaskText(statusBar(t, lang)),
    err_msg: boundTaskText(t.err_msg),
    created_at: t.created_at,
    updated_at: t.updated_at,
    completed_at: t.completed_at,
    header_map: t.header_map,
    advanced_settings: maskSettings(t.options),
  };
}

/** The Go original's `GET /api/tasks` order: by status in this order, then by id. */
const COMPAT_STATUS_ORDER: readonly TaskStatus[] = [TaskStatus.downloading, TaskStatus.waiting, TaskStatus.paused, TaskStatus.completed, TaskStatus.failed];

export function compatOrder(tasks: readonly TaskRecord[]): TaskRecord[] {
  const rank = (t: TaskRecord) => COMPAT_STATUS_ORDER.indexOf(t.status);
  return [...tasks].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
}

/** Numeric statuses of the Local API seeds, plus 4 for paused. */
export const STATUS_CODE: Record<TaskStatus, number> = {
  [TaskStatus.waiting]: 0,
  [TaskStatus.downloading]: 1,
  [TaskStatus.completed]: 2,
  [TaskStatus.failed]: 3,
  [TaskStatus.paused]: 4,
};
export const STATUS_TEXT: Record<TaskStatus, string> = {
  [TaskStatus.waiting]: 'pending',
  [TaskStatus.downloading]: 'running',
  [TaskStatus.completed]: 'completed',
  [TaskStatus.failed]: 'failed',
  [TaskStatus.paused]: 'paused',
};
export const STATUS_BY_CODE = Object.fromEntries(Object.entries(STATUS_CODE).map(([s, c]) => [c, s])) as Record<number, TaskStatus>;

export interface V1Task extends Omit<CompatTask, 'id' | 'status'> {
  id: number;
  status: number;
  status_text: string;
  /** The compat API's status string. */
  status_label: TaskStatus;
  phase: TaskRecord['phase'];
  segments_total: number;
  segments_done: number;
  segments_skipped: number;
  downloaded_bytes: number;
  speed_bps: number;
  eta_s: number | null;
  output_path: string;
  source: TaskRecord['source'];
  start_time: string | null;
  started_at: string | null;
  /** True when the stream is live: the task records it (phase `recording`). */
  live: boolean;
  /** Seconds of media recorded (live tasks; 0 otherwise). */
  recorded_s: number;
  /** A poster frame can be fetched at `/api/v1/tasks/:id/poster`. */
  has_poster: boolean;
  /** The node (`M3U8DM_NODE_ID`) running the task; null when none does. */
  node: string | null;
}

export function toV1Task(t: TaskRecord, lang: Lang = 'en'): V1Task {
  return {
    ...toCompatTask(t, lang),
    id: t.id,
    status: STATUS_CODE[t.status],
    status_text: STATUS_TEXT[t.status],
    status_label: t.status,
    phase: t.phase,
    segments_total: t.segments_total,
    segments_done: t.segments_done,
    segments_skipped: t.segments_skipped,
    downloaded_bytes: t.downloaded_bytes,
    speed_bps: t.speed_bps,
    eta_s: t.eta_s,
    output_path: t.output_path,
    source: t.source,
    start_time: t.start_time,
    started_at: t.started_at,
    live: t.live === true,
    recorded_s: Math.round((t.recorded_s ?? 0) * 10) / 10,
    has_poster: Boolean(t.poster_path),
    node: t.node ?? null,
  };
}

/** `GET /api/v1/tasks/stats`. */
export interface TaskStats {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  paused: number;
  speed_bps: number;
  /** The service-wide limit (`max_download_speed`); 0 = unlimited. */
  speed_limit_bps: number;
}

export function toTaskStats(counts: Record<TaskStatus, number>, speedBps: number, speedLimitBps = 0): TaskStats {
  return {
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    pending: counts[TaskStatus.waiting],
    running: counts[TaskStatus.downloading],
    completed: counts[TaskStatus.completed],
    failed: counts[TaskStatus.failed],
    paused: counts[TaskStatus.paused],
    speed_bps: speedBps,
    speed_limit_bps: speedLimitBps,
  };
}
