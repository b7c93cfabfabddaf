// This node in step with the other nodes sharing its store: a command for a task another node
// runs goes to that node through the record (and waits for it), a command left on the record of
// a task this node runs is carried out here, tasks left running by nodes that are gone go back
// to the queue, and changes made elsewhere are told here too (marked `remote`), echoes of this
// node's own writes not again. The manager's commands stay the manager's: this calls them.
import type { Clock } from './clock.js';
import type { NodeRuntime } from './node-runtime.js';
import type { Scheduler } from './scheduler.js';
import type { TaskEvent } from './task-manager.js';
import type { TaskRuns } from './task-runs.js';
import type { WriteChain } from './write-chain.js';
import { withLine } from './progress-writer.js';
import { TaskNotFoundError, TransitionError } from './errors.js';
import { RECLAIMED_PAUSE, type Reclaimed, type TaskChange, type TaskStore } from '../store/task-store.js';
import { TaskStatus, type TaskCommand, type TaskRecord } from '../types.js';

/** What the coordination asks of the manager: its commands, carried out as a local call's are. */
export interface ManagerCalls {
  get: (id: number) => Promise<TaskRecord>;
  pause: (id: number) => Promise<unknown>;
  remove: (id: number) => Promise<unknown>;
  /** Removes what a deleted task leaves (resolved now, run later). */
  filesOf: (task: TaskRecord) => () => Promise<void>;
  /** A write of the manager's own, told as a change. */
  write: (id: number, patch: Partial<TaskRecord>) => Promise<TaskRecord | null>;
  /** Runs `fn` under the manager's lock. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  emit: (event: TaskEvent) => void;
  /** A command carried out for another node failed. */
  error: (err: unknown) => void;
}

export interface ClusterSyncOptions {
  store: TaskStore;
  clock: Clock;
  node: NodeRuntime;
  runs: TaskRuns;
  writes: WriteChain;
  scheduler: Scheduler;
  manager: ManagerCalls;
}

/** How long a command waits for the node running the task to carry it out (it does within a second). */
const COMMAND_WAIT_MS = 5_000;
/** Records remembered for telling changes made elsewhere from echoes of this node's own writes. */
const SEEN_MAX = 1_000;

export class ClusterSync {
  readonly #o: ClusterSyncOptions;
  /** The last record emitted per task (bounded), so an echo of a change already told is not told again. */
  readonly #seen = new Map<number, TaskRecord>();
  /** Tasks whose `desired` command this node is carrying out. */
  readonly #acting = new Set<number>();

  constructor(options: ClusterSyncOptions) {
    this.#o = options;
  }

  /**
   * Puts back in the queue the tasks a crash left running: this node's, unleased ones, and those of nodes
   * no longer alive. A task another live node runs is left to it.
   */
  async recover(): Promise<void> {
    const { store, clock, node } = this.#o;
    await node.touch();
    const now = clock.now();
    const alive = new Set((await node.nodes()).map((n) => n.id));
    const { tasks } = await store.list({ status: TaskStatus.downloading });
    for (const task of tasks) {
      if (task.node && task.node !== node.nodeId && alive.has(task.node) && (task.lease_expires_at ?? 0) >= now) continue;
      await this.#requeue(task);
      // A delete asked of it and not yet carried out when the crash came: done now, before any node
      // starts it again (it would, only to delete it then, with a task.started in between).
      if (task.desired === 'delete') {
        await this.#o.manager.remove(task.id).catch((err: unknown) => {
          if (!(err instanceof TaskNotFoundError)) throw err;
        });
      }
    }
  }

  /** The task as a command should see it: one marked running by a node that is gone is requeued first. */
  async settled(id: number): Promise<TaskRecord> {
    const { manager, runs } = this.#o;
    const task = await manager.get(id);
    if (task.status !== TaskStatus.downloading || runs.has(id) || this.heldElsewhere(task)) return task;
    await this.#requeue(task);
    return manager.get(id);
  }

  /**
   * A task marked running that no node runs back to 等待中 (已暂停 when a pause was pending on it, as
   * `reclaimExpired` does), fenced by the lease it still names.
   */
  async #requeue(task: TaskRecord): Promise<void> {
    const patch = task.desired === 'pause'
      ? withLine(task, { ...RECLAIMED_PAUSE, desired: null })
      : withLine(task, { status: TaskStatus.waiting, phase: 'queued', speed_bps: 0, eta_s: null });
    if (task.node) await this.#o.store.release({ id: task.id, node: task.node, epoch: task.lease_epoch ?? 0 }, patch);
    else await this.#o.store.patch(task.id, patch);
  }

  /** Whether another node holds a live lease on the task (so commands go to it through the record). */
  heldElsewhere(task: TaskRecord): boolean {
    const { runs, node, clock } = this.#o;
    return task.status === TaskStatus.downloading && !runs.has(task.id) && Boolean(task.node) && task.node !== node.nodeId
      && (task.lease_expires_at ?? 0) >= clock.now();
  }

  /** Asks the node running the task to carry out `command` (it does on its next notify or heartbeat) and waits for it. */
  async askOwner(id: number, command: TaskCommand): Promise<TaskRecord | null> {
    await this.#o.store.patch(id, { desired: command });
    return this.#o.node.waitFor(id, (t) => !t || !this.heldElsewhere(t), COMMAND_WAIT_MS);
  }

  /** Emits a change this node made, remembering the record so the store's echo of it is not told again. */
  tell(event: TaskEvent): void {
    this.#seen.delete(event.task.id);
    if (event.type !== 'deleted') {
      this.#seen.set(event.task.id, event.task);
      if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
    }
    this.#o.manager.emit(event);
  }

  /**
   * A task changed in the store, read again (null: gone). For a task this node runs: its lease and its
   * `desired` command are checked. For any other: the change is emitted (unless it is the echo of one
   * this node told already) and a task that became runnable gets a pass.
   */
  onStoreChange(change: TaskChange, task: TaskRecord | null): void {
    const { runs, writes, scheduler, manager } = this.#o;
    if (runs.has(change.id)) {
      const command = runs.follow(change.id, task);
      if (command) this.carryOut(change.id, command);
      return;
    }
    // This node's own write is on its way: it tells its own event.
    if (writes.busy(change.id)) return;
    const last = this.#seen.get(change.id);
    if (!task) {
      this.#seen.delete(change.id);
      if (last) manager.emit({ type: 'deleted', task: last, remote: true });
      return;
    }
    if (last && last.updated_at >= task.updated_at) return;
    this.#seen.delete(task.id);
    this.#seen.set(task.id, task);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
    manager.emit({ type: change.kind === 'created' && !last ? 'created' : 'updated', task, remote: true });
    if (task.status === TaskStatus.waiting && scheduler.wouldMatter(task.start_time ? new Date(task.start_time) : null)) scheduler.request();
  }

  /** Carries out a command another node left on the record of a task this node runs. */
  carryOut(id: number, command: TaskCommand): void {
    if (this.#acting.has(id)) return;
    this.#acting.add(id);
    const { manager, runs } = this.#o;
    const done = command === 'delete' ? manager.remove(id)
      : command === 'pause' ? manager.pause(id)
      // 'shutdown': its node is leaving; the run stops and the task goes back to the queue.
      : manager.exclusive(() => Promise.resolve({ done: runs.stop(id, 'shutdown') })).then((s) => s.done);
    void done.catch((err: unknown) => {
      if (err instanceof TaskNotFoundError || err instanceof TransitionError) return;
      manager.error(err);
    }).finally(() => this.#acting.delete(id));
  }

  /**
   * The heartbeat settled tasks whose node died with a command pending: a deleted one's files go as a local
   * delete's do; a paused one gets its status line (the store does not write lines).
   */
  async settleReclaimed(done: Reclaimed): Promise<void> {
    const { store, manager } = this.#o;
    for (const task of done.deleted) await manager.filesOf(task)();
    for (const id of done.paused) {
      await manager.exclusive(async () => {
        const task = await store.get(id);
        if (task?.status === TaskStatus.paused && !task.node) await manager.write(id, withLine(task, {}));
      });
    }
  }
}
