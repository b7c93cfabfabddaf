// The downloads this node runs, each under the store lease its claim gave: the engine call,
// progress applied at once and written throttled, the final write that gives the lease back,
// the poster made after. Every write of a run is fenced by its lease and queued behind the
// task's earlier ones (write-chain.ts). A run whose lease is gone stops at once and writes
// nothing: another node may own the task by then.
import { rm } from 'node:fs/promises';
import type { Clock } from './clock.js';
import { openWorkFolder } from './work-folders.js';
import { completedOutcome, endedOutcome, progressPatch, ProgressThrottle, type StopReason } from './progress-writer.js';
import { statusBar } from './progress-text.js';
import type { TaskFolders } from './task-options.js';
import type { WriteChain } from './write-chain.js';
import type { TransferLimits } from '../downloader/transfer-limits.js';
import { retryWhileUnavailable } from '../store/store-errors.js';
import type { LeaseRef, TaskStore } from '../store/task-store.js';
import { TaskStatus, type DownloadSettings, type Engine, type ProgressSnapshot, type TaskCommand, type TaskOptions, type TaskRecord } from '../types.js';

export interface TaskRunsOptions {
  store: TaskStore;
  /** The manager's chain of writes per task; a run's writes join it. */
  writes: WriteChain;
  engine: Engine;
  clock: Clock;
  /** Speed limits and per-host politeness; each run opens its own share. */
  limits: TransferLimits;
  /** This node's name in leases. */
  nodeId: string;
  /** Least time between two progress writes of one task to the store. */
  progressWriteMs: number;
  /** Where a task's output and work folders are, by the settings (throws when they allow none). */
  folders: (options: DownloadSettings) => TaskFolders;
  /** Whether this node's leases still hold by its own time (NodeRuntime.fresh). */
  fresh: () => boolean;
  /** Runs `fn` under the manager's lock. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** A change of a run's record this node wrote: told as the manager tells its own. */
  tell: (task: TaskRecord) => void;
  /** Progress applied to a run but not written yet: emitted, not remembered. */
  progress: (task: TaskRecord) => void;
  /** An unexpected exception ended a run. */
  bug: (id: number, original: unknown) => void;
  /** A run ended and gave its slot back. */
  ended: () => void;
}

interface RunningTask {
  controller: AbortController;
  /** A live task's stop: ends the recording, which is then merged (not a pause). */
  finish: AbortController;
  finishing?: boolean;
  stopReason?: StopReason;
  done: Promise<void>;
  /** The record with the latest progress applied (the store lags it by up to progressWriteMs). */
  live: TaskRecord;
  /** Progress fields applied to `live` but not written yet. */
  unsaved: Partial<TaskRecord>;
  progress: ProgressThrottle;
  /** The store's grant of the task to this node: every write of the run is fenced by it. */
  lease: LeaseRef;
}

export class TaskRuns {
  readonly #o: TaskRunsOptions;
  readonly #running = new Map<number, RunningTask>();
  /** Posters of completed tasks still being made, finished work folders being removed; shutdown waits for them before the store closes. */
  readonly #afterwards = new Set<Promise<void>>();

  constructor(options: TaskRunsOptions) {
    this.#o = options;
  }

  /** How many tasks run now. */
  get size(): number {
    return this.#running.size;
  }

  has(id: number): boolean {
    return this.#running.has(id);
  }

  /** Ids of the tasks running now. */
  ids(): number[] {
    return [...this.#running.keys()];
  }

  /** The record of a running task with its latest progress; undefined when it does not run here. */
  live(id: number): TaskRecord | undefined {
    return this.#running.get(id)?.live;
  }

  /** The summed speed of every run. */
  speed(): number {
    let speed = 0;
    for (const r of this.#running.values()) speed += r.live.speed_bps;
    return speed;
  }

  /** The leases this node still holds (for the heartbeat to renew). */
  leases(): LeaseRef[] {
    return [...this.#running.values()].filter((e) => e.stopReason !== 'lost').map((e) => e.lease);
  }

  /** Resolves once every poster being made is on its record and every finished work folder is gone (at shutdown, before the store closes). */
  async idle(): Promise<void> {
    await Promise.all([...this.#afterwards]);
  }

  /** Waits for `work`, which shutdown waits for too. */
  async #track(work: Promise<unknown>): Promise<void> {
    const done = work.then(() => undefined, () => undefined);
    this.#afterwards.add(done);
    await done;
    this.#afterwards.delete(done);
  }

  /** New options of a running task: its record follows, and the speed limit at once when given. */
  setOptions(id: number, options: TaskOptions, maxSpeed?: number): void {
    const entry = this.#running.get(id);
    if (!entry) return;
    entry.live = { ...entry.live, options };
    if (maxSpeed !== undefined) this.#o.limits.setTaskSpeed(id, maxSpeed);
  }

  /**
   * A live task recording (or already finishing): its stop ends the recording, which is then merged;
   * resolves when the run is done. Undefined for any other task.
   */
  finishRecording(id: number): Promise<void> | undefined {
    const entry = this.#running.get(id);
    if (!(entry?.live.live && (entry.finishing || entry.live.phase === 'recording'))) return undefined;
    entry.finishing = true;
    entry.finish.abort();
    return entry.done;
  }

  /** Stops a run for `reason`; resolves when it is done (undefined: it does not run here). */
  stop(id: number, reason: StopReason): Promise<void> | undefined {
    const running = this.#running.get(id);
    if (!running) return undefined;
    running.stopReason = reason;
    running.controller.abort(new Error(`task ${reason}`));
    return running.done;
  }

  /** The store no longer gives this node the task: the run stops at once and writes nothing. */
  lose(id: number): void {
    const entry = this.#running.get(id);
    if (entry) this.#lose(entry);
  }

  /**
   * A running task as the store has it now (null: gone): stopped when the lease went elsewhere, its speed
   * limit followed when changed there. Returns the command left on it for this node to carry out.
   */
  follow(id: number, task: TaskRecord | null): TaskCommand | undefined {
    const entry = this.#running.get(id);
    if (!entry || entry.stopReason) return undefined;
    if (!task || task.node !== entry.lease.node || (task.lease_epoch ?? 0) !== entry.lease.epoch) {
      this.#lose(entry);
      return undefined;
    }
    // Paused by a node that wrote the record without seeing the lease (a pause racing this node's claim).
    const command = task.desired ?? (task.status === TaskStatus.paused ? 'pause' : undefined);
    if (command) return command;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a task saved by an older version may lack it
    const speed = task.options.max_speed ?? 0;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a task saved by an older version may lack it
    if (speed !== (entry.live.options.max_speed ?? 0)) {
      entry.live = { ...entry.live, options: { ...entry.live.options, max_speed: speed } };
      this.#o.limits.setTaskSpeed(task.id, speed);
    }
    return undefined;
  }

  /** Runs a task the store just gave this node (the claim already wrote it as started). */
  begin(task: TaskRecord): void {
    // The claim wrote one line for every task it took; this task's own (its figures) goes with the first write.
    const line = { status_bar: statusBar(task) };
    const live = { ...task, ...line };
    let resolveDone!: () => void;
    const entry: RunningTask = {
      controller: new AbortController(),
      finish: new AbortController(),
      live,
      unsaved: line,
      progress: new ProgressThrottle(this.#o.progressWriteMs),
      lease: { id: task.id, node: this.#o.nodeId, epoch: task.lease_epoch ?? 0 },
      done: new Promise<void>((r) => { resolveDone = r; }),
    };
    this.#running.set(task.id, entry);
    this.#o.tell(live);
    void this.#run(entry).catch((err: unknown) => this.#o.bug(task.id, err)).finally(resolveDone);
  }

  /**
   * A write of a running task about itself, fenced by its lease and queued behind its earlier ones;
   * `release` also gives the lease up. When the store says the lease is gone the run stops, writing nothing more.
   */
  #leasedWrite(entry: RunningTask, patch: Partial<TaskRecord>, how: 'patch' | 'release' = 'patch'): Promise<TaskRecord | null> {
    return this.#o.writes.enqueue(entry.lease.id, async () => {
      if (entry.stopReason === 'lost') return null;
      const { store } = this.#o;
      const result = how === 'release' ? await store.release(entry.lease, patch) : await store.patchLeased(entry.lease, patch);
      if (result !== 'lost' && result !== null) return result;
      this.#lose(entry);
      return null;
    });
  }

  /**
   * Before each request of a run: past a lease length since the last renew (the node stalled, or the store
   * does not answer) the task may be another node's already, so the run stops as with a lost lease, writing
   * nothing, before its next request rather than at the next heartbeat. Its segments stay on disk for
   * whoever takes it over, this node included once the lease is reclaimed.
   */
  #mayRequest(entry: RunningTask): boolean {
    if (entry.stopReason === 'lost') return false;
    if (this.#o.fresh()) return true;
    this.#lose(entry);
    return false;
  }

  /** This node no longer holds the task: the run stops at once and writes nothing (another node may own it now). */
  #lose(entry: RunningTask): void {
    if (entry.stopReason === 'lost') return;
    entry.stopReason = 'lost';
    entry.progress.cancel();
    entry.controller.abort(new Error('task lease lost'));
  }

  #onProgress(entry: RunningTask, snapshot: ProgressSnapshot): void {
    if (entry.stopReason) return;
    const patch = progressPatch(entry.live, snapshot);
    entry.live = { ...entry.live, ...patch, updated_at: new Date(this.#o.clock.now()).toISOString() };
    Object.assign(entry.unsaved, patch);
    this.#o.progress(entry.live);
    entry.progress.offer(() => {
      if (entry.stopReason === 'lost') return;
      const unsaved = entry.unsaved;
      entry.unsaved = {};
      // A write that failed (the store away a moment) goes again with the next one.
      void this.#leasedWrite(entry, unsaved).catch(() => { entry.unsaved = { ...unsaved, ...entry.unsaved }; });
    });
  }

  async #run(entry: RunningTask): Promise<void> {
    const { engine, clock, limits: transfer } = this.#o;
    const task = entry.live;
    const id = task.id;
    let outcome: Partial<TaskRecord>;
    let poster: Promise<string | undefined> | undefined;
    let leftover: string | undefined;
    // Records from before per-task limits carry no max_speed.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
    const limits = transfer.open(id, task.options.max_speed ?? 0);
    try {
      const { saveDir, workBase, ownBase } = this.#o.folders(task.options);
      const workDir = await openWorkFolder(workBase, id, task.work_dir, { adoptUnmarked: ownBase });
      if (workDir !== task.work_dir) {
        entry.live = { ...entry.live, work_dir: workDir };
        await this.#leasedWrite(entry, { work_dir: workDir });
      }
      const result = await engine.run({
        taskId: id,
        url: task.url,
        headers: task.header_map,
        options: task.options,
        workDir,
        saveDir,
        filename: task.filename,
        signal: entry.controller.signal,
        finish: entry.finish.signal,
        onProgress: (s) => this.#onProgress(entry, s),
        mayRequest: () => this.#mayRequest(entry),
        limits,
      });
      if (entry.stopReason) throw new Error('stopped');
      poster = result.poster;
      leftover = result.leftover;
      outcome = completedOutcome(entry.live, result, clock.now());
    } catch (err) {
      outcome = endedOutcome(entry.live, entry.stopReason, entry.finishing === true, err, (original) => this.#o.bug(id, original));
    }
    transfer.release(id, limits);
    entry.progress.cancel();
    // Nothing when deleted or when the lease went to another node; else the end, and the lease back. It must
    // reach the store: while the store is away (a database restart) it is tried again, the task still this
    // node's (its lease renewed); past a lease length the heartbeat gives the lease up and nothing is written.
    const final = { ...entry.unsaved, ...outcome, desired: null };
    await retryWhileUnavailable(() => this.#o.exclusive(async () => {
      if (Object.keys(outcome).length && entry.stopReason !== 'lost') {
        const task = await this.#leasedWrite(entry, final, 'release');
        if (task) this.#o.tell(task);
      }
      this.#running.delete(id);
    }));
    this.#o.ended();
    // Both tracked at once, so a shutdown from now on waits for each: the finished work folder, set
    // aside by the engine, removed now the completion is out (a crash meanwhile leaves it to the sweep
    // at the next start), and the poster.
    await Promise.all([
      leftover ? this.#track(rm(leftover, { recursive: true, force: true })) : undefined,
      poster ? this.#track(this.#addPoster(id, poster)) : undefined,
    ]);
  }

  /** Puts a poster made after the completion on the record; removes it when the task is gone meanwhile. */
  async #addPoster(id: number, poster: Promise<string | undefined>): Promise<void> {
    const file = await poster.catch(() => undefined);
    if (!file) return;
    await this.#o.exclusive(async () => {
      const task = await this.#o.store.get(id);
      if (task?.status === TaskStatus.completed) {
        const written = await this.#o.writes.enqueue(id, { poster_path: file });
        if (written) this.#o.tell(written);
      } else await rm(file, { force: true }).catch(() => undefined);
    });
  }
}
