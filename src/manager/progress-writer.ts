// What a run writes to its task record: the progress patch of each snapshot, the
// rate limit on how often that reaches the store, and the mapping of how a run ended
// (completed, stopped for pause/shutdown/delete, failed) onto the record.
import { userFacingError } from './run-failure.js';
import { progressPercent, statusBar } from './progress-text.js';
import { boundTaskText } from './text-limits.js';
import { targetOf } from './transitions.js';
import { TaskStatus, type EngineResult, type ProgressSnapshot, type TaskRecord } from '../types.js';

/** Why the manager stopped a run (absent: it ended by itself); `lost`: another node owns the task now. */
export type StopReason = 'pause' | 'delete' | 'shutdown' | 'lost';

/**
 * The patch with the stored (English) `status_bar` of the record it makes. The APIs show a
 * line computed afresh in their language (src/api/present.ts); the stored one is for readers
 * of the raw store.
 */
export function withLine(task: TaskRecord, patch: Partial<TaskRecord>): Partial<TaskRecord> {
  return { ...patch, status_bar: statusBar({ ...task, ...patch }) };
}

/** The record's change for one progress snapshot of its run. */
export function progressPatch(live: TaskRecord, snapshot: ProgressSnapshot): Partial<TaskRecord> {
  // Resolving knows no figures yet: the record keeps those of what an earlier run left on disk.
  const figures: Partial<TaskRecord> = snapshot.phase === 'resolving' && !snapshot.segments_total ? {} : {
    segments_total: snapshot.segments_total,
    segments_done: snapshot.segments_done,
    segments_skipped: snapshot.segments_skipped,
    downloaded_bytes: snapshot.downloaded_bytes,
    size: snapshot.downloaded_bytes,
    progress: progressPercent(snapshot),
  };
  const patch: Partial<TaskRecord> = {
    phase: snapshot.phase,
    ...figures,
    speed_bps: Math.round(snapshot.speed_bps),
    eta_s: snapshot.eta_s === null ? null : Math.round(snapshot.eta_s),
    backoff: snapshot.backoff ?? null,
    status_bar: boundTaskText(statusBar({ ...live, ...figures, ...snapshot, backoff: snapshot.backoff ?? null })),
  };
  if (snapshot.live) {
    patch.live = true;
    patch.recorded_s = snapshot.live.recorded_s;
  }
  // Kept on the record so every API can say the task waits for its stream (live_wait).
  if (snapshot.waiting_until || live.waiting_until) patch.waiting_until = snapshot.waiting_until ?? null;
  return patch;
}

/** Rate-limits one task's progress writes: at most one per `intervalMs`, the newest numbers win, a trailing write catches up. */
export class ProgressThrottle {
  #lastWrite = 0;
  #pending?: () => void;

  constructor(readonly intervalMs: number) {}

  /** Runs `write` now, or once after the interval (replacing no earlier pending one: it reads the newest state itself). */
  offer(write: () => void): void {
    const writeNow = (): void => {
      this.#pending = undefined;
      this.#lastWrite = Date.now();
      write();
    };
    const wait = this.#lastWrite + this.intervalMs - Date.now();
    if (wait <= 0) writeNow();
    else if (!this.#pending) {
      this.#pending = writeNow;
      setTimeout(() => this.#pending?.(), wait).unref();
    }
  }

  /** Drops a pending trailing write (the run's final write supersedes it). */
  cancel(): void {
    this.#pending = undefined;
  }
}

/** The record of a run that produced its output. */
export function completedOutcome(live: TaskRecord, result: EngineResult, now: number): Partial<TaskRecord> {
  const outcome: Partial<TaskRecord> = {
    ...targetOf('finish', TaskStatus.downloading),
    progress: 100,
    size: result.size,
    output_path: result.outputPath,
    ...(result.posterPath ? { poster_path: result.posterPath } : {}),
    segments_total: result.segments_total,
    segments_skipped: result.segments_skipped,
    segments_done: result.segments_total - result.segments_skipped,
    speed_bps: 0,
    eta_s: 0,
    backoff: null,
    completed_at: new Date(now).toISOString(),
  };
  if (result.live) {
    outcome.live = true;
    outcome.recorded_s = result.live.recorded_s;
    outcome.live_end = result.live.ended;
  }
  outcome.status_bar = statusBar({ ...live, ...outcome });
  return outcome;
}

/**
 * The record of a run that threw: paused/waiting when the manager stopped it, nothing when it
 * is being deleted, else failed with a message fit for the user (`reportBug` gets an unexpected
 * exception's original).
 */
export function endedOutcome(live: TaskRecord, reason: StopReason | undefined, finishing: boolean, err: unknown, reportBug: (original: unknown) => void): Partial<TaskRecord> {
  const stopped = { speed_bps: 0, eta_s: null, backoff: null };
  if (reason === 'pause') return withLine(live, { ...stopped, status: TaskStatus.paused });
  // A recording stopped before its first segment has nothing to merge: it is paused, not failed.
  if (!reason && finishing && live.segments_done === 0) return withLine(live, { ...stopped, status: TaskStatus.paused, phase: 'queued' });
  if (reason === 'shutdown') return withLine(live, { ...stopped, status: TaskStatus.waiting, phase: 'queued' });
  if (reason === 'delete' || reason === 'lost') return {};
  const message = boundTaskText(userFacingError(err, reportBug).message);
  const outcome = withLine(live, { ...stopped, status: TaskStatus.failed, err_msg: message });
  if (outcome.status_bar) outcome.status_bar = boundTaskText(outcome.status_bar);
  return outcome;
}
