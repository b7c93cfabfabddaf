// The storage contract. Everything above the store talks to this interface, so the
// embedded nedb store can be swapped for a shared one (PostgreSQL) without touching
// the task manager or the API.
import type { IntegrationSettings } from '../manager/integration-settings.js';
import { TaskStatus, type DownloadSettings, type SystemSettings, type TaskRecord, type TaskSource } from '../types.js';

/** A task before the store gives it an id and timestamps. */
export type NewTask = Omit<TaskRecord, 'id' | 'created_at' | 'updated_at'>;

/** Fields a patch may change (never the id or the creation time). */
export type TaskPatch = Partial<Omit<TaskRecord, 'id' | 'created_at'>>;

export interface TaskFilter {
  status?: TaskStatus | TaskStatus[];
  /** Case-insensitive substring of the url or the filename. */
  q?: string;
  source?: TaskSource;
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

/** Tasks and settings: what every store keeps (the lease operations come on top, in `TaskLeases`). */
export interface TaskRecords {
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

/**
 * Leases: which node runs which task. Both stores implement the same semantics and the task manager's
 * start decision is made here, not in its memory.
 */
export interface TaskLeases {

  /**
   * Atomically claims up to `max` runnable tasks for `node`, oldest id first, and applies `patch` to each
   * in the same write. Runnable: status 等待中, due (`start_time` null or at/before `now`), and not leased
   * (no `node`, or a lease that expired before `now`). Each claimed task gets `node`, `lease_epoch + 1` and
   * `lease_expires_at = now + leaseMs`. Two concurrent callers never receive the same task
   * (PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`).
   */
  claim(node: string, request: ClaimRequest): Promise<TaskRecord[]>;
  /**
   * Extends to `now + leaseMs` each listed lease that is still held (owner and epoch match); reports which
   * are held and which are lost (reclaimed, released or deleted), so the node stops the lost ones.
   */
  renew(leases: readonly LeaseRef[], now: number, leaseMs: number): Promise<{ held: number[]; lost: number[] }>;
  /**
   * A write fenced by the lease: applied (bumping `updated_at`) only while `lease.node` still holds the task
   * with `lease.epoch`; `lost` when another node owns it now, null when the task is gone.
   */
  patchLeased(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null>;
  /** Like `patchLeased`, and clears the lease (`node`, `lease_expires_at`) in the same write: pause, stop, finish. */
  release(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null>;
  /**
   * Tasks whose lease expired before `now` (their node died or stalled) are settled as the command pending on
   * them (`desired`) asks, so no node runs a task it was asked to stop: none or `shutdown` → runnable again
   * (status 等待中, phase queued); `pause` → 已暂停 as a local pause leaves it (phase kept, speed 0, no eta,
   * no backoff); `delete` → the record is removed. Lease and `desired` cleared, `lease_epoch` kept (the next
   * claim raises it). The status line (`status_bar`) is the caller's to rewrite. Says what became of which.
   */
  reclaimExpired(now: number): Promise<Reclaimed>;
  /** A node's heartbeat: records that it is alive now (upsert by id). */
  touchNode(node: NodeBeat): Promise<void>;
  /** Nodes whose last heartbeat is at or after `aliveSince` (ms since the epoch). */
  listNodes(aliveSince: number): Promise<NodeBeat[]>;
  /**
   * Calls `listener` after every create, patch and delete of a task made through any store client on this
   * database (nedb: this process; PostgreSQL: every instance, via LISTEN/NOTIFY). Returns the unsubscribe.
   * `onResync` is called when changes may have gone unheard (PostgreSQL: the listening connection is
   * back after a loss): whatever must not be missed is read again then.
   */
  watch(listener: (change: TaskChange) => void, onResync?: () => void): () => void;
}

/** What `reclaimExpired` did with each expired lease's task (ids ascending). */
export interface Reclaimed {
  /** Back to 等待中: no command was pending, or `shutdown`. */
  waiting: number[];
  /** `desired: 'pause'`: 已暂停 now. */
  paused: number[];
  /** `desired: 'delete'`: removed; the records as they were, so the caller can remove their work folders and posters. */
  deleted: TaskRecord[];
}

/** What `reclaimExpired` writes on a task whose node died with a pause pending: what a local pause of a run writes. */
export const RECLAIMED_PAUSE = { status: TaskStatus.paused, speed_bps: 0, eta_s: null, backoff: null } as const satisfies TaskPatch;

/** Identifies one grant of a task's lease: every fenced write names both. */
export interface LeaseRef {
  id: number;
  node: string;
  epoch: number;
}

export interface ClaimRequest {
  /** ms since the epoch, as the caller's clock has it. */
  now: number;
  leaseMs: number;
  /** Most tasks to claim; 0 claims none. */
  max: number;
  /** Applied to each claimed task in the same write (e.g. status 下载中, started_at). */
  patch: TaskPatch;
}

export interface NodeBeat {
  id: string;
  /** ms since the epoch. */
  seen_at: number;
  /** Its `M3U8DM_MAX_ACTIVE` (0: an API-only node). */
  max_active: number;
  /** Tasks it runs right now. */
  running: number;
}

/** One change to a task, as the watchers see it; read the record again for its contents. */
export interface TaskChange {
  kind: 'created' | 'updated' | 'deleted';
  id: number;
}

/** The whole store contract: the service runs on a store that does both. */
export interface TaskStore extends TaskRecords, TaskLeases {}
