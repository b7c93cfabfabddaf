// Task records as each API shows them. The proxy password never leaves here.
import { statusBar, type Lang } from '../manager/progress-text.js';
import { maskSettings } from '../manager/settings.js';
import { boundTaskText } from '../manager/text-limits.js';
import { TaskStatus, type TaskOptions, type TaskRecord } from '../types.js';
import { STATUS_NAME_OF, Status, TASK_STATUSES, type StatusCode } from '../wire-vocabulary.js';
import type { TaskStats, V1Task } from './wire.js';

export type { TaskStats, V1Task };

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
export const STATUS_CODE = Object.fromEntries(TASK_STATUSES.map((s) => [s, Status[STATUS_NAME_OF[s]]])) as Record<TaskStatus, StatusCode>;
export const STATUS_BY_CODE = Object.fromEntries(TASK_STATUSES.map((s) => [STATUS_CODE[s], s])) as Record<number, TaskStatus>;

export function toV1Task(t: TaskRecord, lang: Lang = 'en'): V1Task {
  return {
    ...toCompatTask(t, lang),
    id: t.id,
    status: STATUS_CODE[t.status],
    status_text: STATUS_NAME_OF[t.status],
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
