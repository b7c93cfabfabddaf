// The storage contract. Everything above the store talks to this interface, so the
// embedded nedb store can be swapped for a shared one (PostgreSQL) without touching
// the task manager or the API.
import type { IntegrationSettings } from '../integration-settings.js';
import type { DownloadSettings, SystemSettings, TaskRecord, TaskSource, TaskStatus } from '../types.js';

/** A task before the store gives it an id and timestamps. */
export type NewTask = Omit<TaskRecord, 'id' | 'created_at' | 'updated_at'>;

/** Fields a patch may change (never the id or the creation time). */
export type TaskPatch = Partial<Omit<TaskRecord, 'id' | 'created_at'>>;

export interface TaskFilter {
  status?: TaskStatus | TaskStatus[];
  /** Case-insensitive substring of the url or the filename. */
  q?: string;
  source?: TaskSource;
  ids?: number[];
  /** Only tasks that may start by then (ms since the epoch): no `start_time`, or one at or before it. */
  dueBy?: number;
}

export interface TaskPage {
  /** 0-based number of tasks to skip. */
  offset: number;
  limit: number;
  /** By id: oldest first (`asc`, the default) or newest first. */
  order?: 'asc' | 'desc';
}

export interface TaskList {
  tasks: TaskRecord[];
  /** Matches before paging. */
  total: number;
}

export interface TaskStore {
  /** Loads (and compacts) the data; must be called once before anything else. */
  open(): Promise<void>;
  /** Flushes and releases the data file. */
  close(): Promise<void>;
  /** Assigns the next id (positive, creation order, never reused) and stores the task. */
  create(task: NewTask): Promise<TaskRecord>;
  get(id: number): Promise<TaskRecord | null>;
  /** Matching tasks in id order (oldest first unless the page says otherwise), optionally one page of them. */
  list(filter?: TaskFilter, page?: TaskPage): Promise<TaskList>;
  /** Applies the patch (and bumps `updated_at` unless given); null when the task is gone. */
  patch(id: number, patch: TaskPatch): Promise<TaskRecord | null>;
  delete(id: number): Promise<boolean>;
  countByStatus(): Promise<Record<TaskStatus, number>>;
  /** The earliest `start_time` (ms) of a waiting task that is later than `after`, or null: when the queue next needs a look. */
  nextStartAfter(after: number): Promise<number | null>;
  getSettings(): Promise<Partial<SystemSettings> | null>;
  saveSettings(settings: DownloadSettings & Partial<SystemSettings>): Promise<void>;
  /** Webhooks and hooks (service settings, never a task's options); null when never saved. */
  getIntegrationSettings(): Promise<IntegrationSettings | null>;
  saveIntegrationSettings(settings: IntegrationSettings): Promise<void>;
}
