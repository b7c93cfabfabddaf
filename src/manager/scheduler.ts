// The queue's timing: coalesced scheduling passes and the one timer for the next scheduled
// start (start_time). Which waiting tasks start is the store's decision (a claim of leases,
// so several nodes on one database never start the same task); the manager supplies the
// claim, how to begin a claimed task and the lock the pass runs under.
import type { Clock } from './clock.js';
import type { TaskStore } from '../store/task-store.js';
import type { TaskRecord } from '../types.js';

export interface SchedulerOptions {
  store: TaskStore;
  clock: Clock;
  maxActive: number;
  /** How many tasks run now. */
  running: () => number;
  /** Claims up to `max` due waiting tasks for this node in the store, already marked as started. */
  claim: (max: number, now: number) => Promise<TaskRecord[]>;
  /** Runs one claimed task (under the lock). */
  begin: (task: TaskRecord) => void;
  /** Runs a pass under the manager's lock, so it never decides on a stale status. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** A failed pass; another follows by itself after a back-off (or sooner, on the next request). */
  onError: (err: unknown) => void;
}

/** After a failed pass the next one comes this long after, doubling per failure up to the cap. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 8_000;

export class Scheduler {
  readonly #o: SchedulerOptions;
  #cancelTimer?: () => void;
  #closed = false;
  #queued = false;
  /** When the armed timer fires (ms), Infinity when none: a scheduled task later than it needs no pass. */
  #timerAt = Infinity;
  /** Passes failed in a row: a store that is away is not asked every moment. */
  #failures = 0;

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Whether a task created now (due at `startAt`, or at once) could change what a pass does. */
  wouldMatter(startAt: Date | null): boolean {
    return startAt ? startAt.getTime() < this.#timerAt : this.#o.running() < this.#o.maxActive;
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
      try {
        await this.#pass();
        this.#failures = 0;
      } catch (err) {
        // A waiting task must not wait for the next heartbeat (a third of the lease) because the
        // store failed once: try again soon, backing off while it keeps failing.
        this.#retry();
        throw err;
      }
    }).catch(this.#o.onError);
  }

  #retry(): void {
    if (this.#closed) return;
    const ms = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.#failures);
    this.#failures++;
    this.#cancelTimer?.();
    this.#timerAt = this.#o.clock.now() + ms;
    this.#cancelTimer = this.#o.clock.setTimer(() => this.request(), ms);
  }

  async #pass(): Promise<void> {
    const { store, clock, maxActive } = this.#o;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
    const room = maxActive - this.#o.running();
    const now = clock.now();
    // The store picks the oldest due tasks from its index: a pass costs the same with ten thousand
    // waiting as with ten.
    if (room > 0) for (const task of await this.#o.claim(room, now)) this.#o.begin(task);
    const nextStart = await store.nextStartAfter(now);
    this.#timerAt = nextStart ?? Infinity;
    if (nextStart !== null) this.#cancelTimer = clock.setTimer(() => this.request(), nextStart - now);
  }
}
