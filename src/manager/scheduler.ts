// The queue's timing: coalesced scheduling passes, the one timer for the next scheduled
// start (start_time), and which waiting tasks a pass starts. The manager supplies how to
// start a task and the lock the pass runs under; the scheduler decides when and what.
import type { Clock } from './clock.js';
import type { TaskStore } from '../store/task-store.js';
import { TaskStatus, type TaskRecord } from '../types.js';

export interface SchedulerOptions {
  store: TaskStore;
  clock: Clock;
  maxActive: number;
  /** Ids of the tasks running now. */
  running: () => ReadonlySet<number> | ReadonlyMap<number, unknown>;
  /** Starts one waiting task (under the lock). */
  begin: (task: TaskRecord) => Promise<void>;
  /** Runs a pass under the manager's lock, so it never decides on a stale status. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** A failed pass; the next request tries again. */
  onError: (err: unknown) => void;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  #cancelTimer?: () => void;
  #closed = false;
  #queued = false;
  /** When the armed timer fires (ms), Infinity when none: a scheduled task later than it needs no pass. */
  #timerAt = Infinity;

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Whether a task created now (due at `startAt`, or at once) could change what a pass does. */
  wouldMatter(startAt: Date | null): boolean {
    return startAt ? startAt.getTime() < this.#timerAt : this.#o.running().size < this.#o.maxActive;
  }

  /** Stops passes and the timer for good (call under the lock: a pass under way finishes first). */
  close(): void {
    this.#closed = true;
    this.#cancelTimer?.();
  }

  /** Starts waiting tasks while there is room. Cheap to call often: calls coalesce. */
  request(): void {
    if (this.#closed || this.#queued) return;
    this.#queued = true;
    void this.#o.exclusive(async () => {
      this.#queued = false;
      if (this.#closed) return;
      await this.#pass();
    }).catch(this.#o.onError);
  }

  async #pass(): Promise<void> {
    const { store, clock, maxActive } = this.#o;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
    const running = this.#o.running();
    const room = maxActive - running.size;
    const now = clock.now();
    // Only the first few due tasks are read, from the store's index: a pass costs the same with
    // ten thousand waiting as with ten (reading them all made 10,000 creates quadratic).
    if (room > 0) {
      const { tasks } = await store.list({ status: TaskStatus.waiting, dueBy: now }, { offset: 0, limit: room + running.size });
      let started = 0;
      for (const task of tasks) {
        if (started >= room) break;
        if (running.has(task.id)) continue;
        started++;
        await this.#o.begin(task);
      }
    }
    const nextStart = await store.nextStartAfter(now);
    this.#timerAt = nextStart ?? Infinity;
    if (nextStart !== null) this.#cancelTimer = clock.setTimer(() => this.request(), nextStart - now);
  }
}
