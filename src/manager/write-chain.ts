// The order of this node's store writes to each task: a write waits for the ones queued for the
// same task before it, so a late progress write never overtakes a run's final one, nor a command's
// write a run's. While one is under way, the task's change event is this node's own to tell
// (cluster-sync.ts does not tell the store's echo of it).
import type { TaskStore } from '../store/task-store.js';
import type { TaskRecord } from '../types.js';

export class WriteChain {
  readonly #store: TaskStore;
  readonly #writes = new Map<number, Promise<unknown>>();

  constructor(store: TaskStore) {
    this.#store = store;
  }

  /** Queues a store write (a patch, or a write of its own) behind the task's earlier ones. */
  enqueue(id: number, write: Partial<TaskRecord> | (() => Promise<TaskRecord | null>)): Promise<TaskRecord | null> {
    const prev = this.#writes.get(id) ?? Promise.resolve();
    const next = prev.then(() => (typeof write === 'function' ? write() : this.#store.patch(id, write)));
    const tail = next.catch(() => undefined);
    this.#writes.set(id, tail);
    void tail.then(() => { if (this.#writes.get(id) === tail) this.#writes.delete(id); });
    return next;
  }

  /** Whether a write to the task is under way. */
  busy(id: number): boolean {
    return this.#writes.has(id);
  }

  /** Resolves once the task's writes queued so far are done. */
  async settled(id: number): Promise<void> {
    await this.#writes.get(id);
  }

  /** Resolves once every write queued so far is done. */
  async all(): Promise<void> {
    await Promise.all([...this.#writes.values()]);
  }
}
