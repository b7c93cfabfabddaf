// The task manager: the state machine of a download task, the queue that runs at
// most `maxActive` of them in creation order, scheduled starts, and recovery after a
// crash. It owns no HTTP and no database details: routes call it, it calls the
// engine and the store, and it emits an event for every change. Several managers
// (nodes) may share one store: tasks are leased from it (node-runtime.ts), commands
// for a task another node runs go to that node through the record, and changes made
// elsewhere are emitted here too (marked `remote`).
import { EventEmitter } from 'node:events';
import { lstat, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nextOccurrence, systemClock, type Clock } from './clock.js';
import { Scheduler } from './scheduler.js';
import { NodeRuntime } from './node-runtime.js';
import { filenameFromUrl, resolveSaveDir, sanitizeFilename } from './paths.js';
import { isTaskId, openWorkFolder, removeWorkFolders } from './work-folders.js';
import { completedOutcome, endedOutcome, progressPatch, ProgressThrottle, withLine, type StopReason } from './progress-writer.js';
import { statusBar } from './progress-text.js';
import { DEFAULT_INTEGRATIONS, mergeIntegrations, type IntegrationSettings } from './integration-settings.js';
import { FileUnavailableError, PathError, RunBugError, SettingsError, TaskNotFoundError, TransitionError } from './errors.js';
import { stepOf, targetOf, type Command } from './transitions.js';
import { infersAdvanced, numbered, resolveFolders, taskOptionsFor, type TaskFolders } from './task-options.js';
import { TransferLimits } from '../downloader/transfer-limits.js';
import { checkProxySettings, DEFAULT_SYSTEM_SETTINGS, mergeSettings, replaceSettings } from './settings.js';
import { retryWhileUnavailable } from '../store/store-errors.js';
import { RECLAIMED_PAUSE, type LeaseRef, type NodeBeat, type Reclaimed, type TaskChange, type TaskFilter, type TaskList, type TaskPage, type TaskStore } from '../store/task-store.js';
import {
  TaskStatus,
  type DownloadSettings,
  type Engine,
  type HeaderMap,
  type ProgressSnapshot,
  type SystemSettings,
  type TaskCommand,
  type TaskOptions,
  type TaskRecord,
  type TaskSource,
} from '../types.js';

export { FileUnavailableError, TaskNotFoundError, TransitionError } from './errors.js';

export interface CreateTaskInput {
  url: string;
  /** As the client gave it; the manager sanitises it. */
  filename: string;
  headers: HeaderMap;
  /** Whether the task carries its own settings (`advanced: true`) or takes the saved ones. */
  advanced: boolean;
  /** Overrides on top of the saved settings; ignored (but for the v1 extras) when not `advanced`. */
  options: Partial<TaskOptions>;
  source: TaskSource;
  /** Do not start before this time. */
  startAt?: Date | null;
  /** Do not start before the next local "HH:MM" (by the manager's clock); wins over `startAt`. */
  startTime?: string | null;
}

/** A batch create: one task per URL, sharing the rest (`POST /api/v1/tasks`). */
export interface CreateManyInput extends Omit<CreateTaskInput, 'url' | 'filename' | 'advanced'> {
  urls: string[];
  /** One name for the batch (numbered `_1`, `_2`… when more than one URL); absent: each URL's own. */
  filename?: string | null;
}

export type TaskEvent = (
  | { type: 'created'; task: TaskRecord }
  | { type: 'updated'; task: TaskRecord }
  | { type: 'deleted'; task: TaskRecord }
) & {
  /** Made by another node and read back from the store: that node tells webhooks and hooks, not this one. */
  remote?: true;
};

export interface TaskManagerOptions {
  store: TaskStore;
  engine: Engine;
  dataDir: string;
  downloadDir: string;
  saveRoots: string[];
  /** Tasks this node downloads at once (0: none, an API-only node). */
  maxActive: number;
  /** This node's name in leases. @defaultValue `${hostname}-${pid}` */
  nodeId?: string;
  /** Lease length; the heartbeat runs every third of it. @defaultValue 30000 */
  leaseMs?: number;
  clock?: Clock;
  /** Least time between two progress writes of one task to the store. @defaultValue 500 */
  progressWriteMs?: number;
  /** Why on_complete/on_fail may not be set here (see hooksDisabledReason), or null/absent when they may. */
  hooksDisabledReason?: string | null;
  /** Speed limits and per-host politeness of every task; the manager applies the settings to them. @defaultValue its own */
  limits?: TransferLimits;
}

/** What may change on an existing task (`PATCH /api/v1/tasks/:id`); applied to a running one at once. */
export interface TaskOptionsUpdate {
  max_speed?: number;
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

const NO_FIGURES = { segments_total: 0, segments_done: 0, segments_skipped: 0, downloaded_bytes: 0, speed_bps: 0, eta_s: null };
/** How long a command waits for the node running the task to carry it out (it does within a second). */
const COMMAND_WAIT_MS = 5_000;
/** Records remembered for telling changes made elsewhere from echoes of this node's own writes. */
const SEEN_MAX = 1_000;


/** A saved settings change: what was, what is (passwords included: never log these whole). */
export interface SettingsChange {
  before: DownloadSettings;
  after: DownloadSettings;
}

/** What a claim writes on every task it gives this node: what starting a task has always written. */
function startPatch(now: number): Partial<TaskRecord> {
  const start = targetOf('start', TaskStatus.waiting);
  return { ...start, err_msg: '', started_at: new Date(now).toISOString(), status_bar: statusBar({ ...NO_FIGURES, ...start }) };
}

export class TaskManager extends EventEmitter<{ task: [TaskEvent]; error: [unknown]; settings: [SettingsChange] }> {
  readonly #store: TaskStore;
  readonly #engine: Engine;
  readonly #opts: TaskManagerOptions;
  readonly #clock: Clock;
  readonly #running = new Map<number, RunningTask>();
  /** Serialises state changes so two calls never decide on the same stale status. */
  #lock: Promise<unknown> = Promise.resolve();
  /** Per-task chain of store writes, so a late progress write never overtakes the final one. */
  readonly #writes = new Map<number, Promise<unknown>>();
  /** Posters of completed tasks still being made; shutdown waits for them before the store closes. */
  readonly #posters = new Set<Promise<void>>();
  readonly #scheduler: Scheduler;
  readonly #node: NodeRuntime;
  readonly #limits: TransferLimits;
  /** The last record emitted per task (bounded), so an echo of a change already told is not told again. */
  readonly #seen = new Map<number, TaskRecord>();
  /** Tasks whose `desired` command this node is carrying out. */
  readonly #acting = new Set<number>();

  constructor(options: TaskManagerOptions) {
    super();
    // Every SSE and WebSocket client listens; they are many by design.
    this.setMaxListeners(0);
    this.#opts = options;
    this.#store = options.store;
    this.#engine = options.engine;
    this.#clock = options.clock ?? systemClock;
    this.#limits = options.limits ?? new TransferLimits();
    const nodeId = options.nodeId ?? `${os.hostname()}-${process.pid}`;
    const leaseMs = options.leaseMs ?? 30_000;
    this.#scheduler = new Scheduler({
      store: this.#store,
      clock: this.#clock,
      maxActive: options.maxActive,
      running: () => this.#running,
      claim: (max, now) => this.#store.claim(nodeId, { now, leaseMs, max, patch: startPatch(now) }),
      begin: (task) => this.#begin(task),
      exclusive: (fn) => this.#locked(fn),
      onError: (err: unknown) => {
        // The queue must not die with one failed pass; the next call tries again.
        if (this.listenerCount('error')) this.emit('error', err);
        else console.error('m3u8dm: scheduling failed:', err);
      },
    });
    this.#node = new NodeRuntime({
      store: this.#store,
      clock: this.#clock,
      nodeId,
      leaseMs,
      maxActive: options.maxActive,
      leases: () => [...this.#running.values()].filter((e) => e.stopReason !== 'lost').map((e) => e.lease),
      onLost: (id) => {
        const entry = this.#running.get(id);
        if (entry) this.#lose(entry);
      },
      onChange: (change, task) => this.#onStoreChange(change, task),
      reclaimed: (done) => this.#settleReclaimed(done),
      afterBeat: () => this.schedule(),
      onError: (err) => {
        if (this.listenerCount('error')) this.emit('error', err);
        else console.error('m3u8dm: node heartbeat failed:', err);
      },
    });
  }

  get maxActive(): number {
    return this.#opts.maxActive;
  }

  /** This node's name in task leases (`M3U8DM_NODE_ID`). */
  get nodeId(): string {
    return this.#node.nodeId;
  }

  /** Nodes sharing the store that were heard from within one lease length, this one included. */
  async nodes(): Promise<NodeBeat[]> {
    return this.#node.nodes();
  }

  /**
   * Recovers tasks a crash left running (this node's, unleased ones, and those of nodes no longer
   * alive), then starts the heartbeat and the queue. A task another live node runs is left to it.
   */
  async start(): Promise<void> {
    this.#limits.configure(await this.getSettings());
    await this.#node.touch();
    const now = this.#clock.now();
    const alive = new Set((await this.#node.nodes()).map((n) => n.id));
    const { tasks } = await this.#store.list({ status: TaskStatus.downloading });
    for (const task of tasks) {
      if (task.node && task.node !== this.nodeId && alive.has(task.node) && (task.lease_expires_at ?? 0) >= now) continue;
      await this.#requeue(task);
    }
    this.#node.start();
    this.schedule();
  }

  /**
   * A task marked running that no node runs back to 等待中 (已暂停 when a pause was pending on it, as
   * `reclaimExpired` does), fenced by the lease it still names.
   */
  async #requeue(task: TaskRecord): Promise<void> {
    const patch = task.desired === 'pause'
      ? withLine(task, { ...RECLAIMED_PAUSE, desired: null })
      : withLine(task, { status: TaskStatus.waiting, phase: 'queued', speed_bps: 0, eta_s: null });
    if (task.node) await this.#store.release({ id: task.id, node: task.node, epoch: task.lease_epoch ?? 0 }, patch);
    else await this.#store.patch(task.id, patch);
  }

  /** Whether another node holds a live lease on the task (so commands go to it through the record). */
  #heldElsewhere(task: TaskRecord): boolean {
    return task.status === TaskStatus.downloading && !this.#running.has(task.id) && Boolean(task.node) && task.node !== this.nodeId
      && (task.lease_expires_at ?? 0) >= this.#clock.now();
  }

  /** The task as a command should see it: one marked running by a node that is gone is requeued first. */
  async #settled(id: number): Promise<TaskRecord> {
    const task = await this.get(id);
    if (task.status !== TaskStatus.downloading || this.#running.has(id) || this.#heldElsewhere(task)) return task;
    await this.#requeue(task);
    return this.get(id);
  }

  /** Asks the node running the task to carry out `command` (it does on its next notify or heartbeat) and waits for it. */
  async #askOwner(id: number, command: TaskCommand): Promise<TaskRecord | null> {
    await this.#store.patch(id, { desired: command });
    return this.#node.waitFor(id, (t) => !t || !this.#heldElsewhere(t), COMMAND_WAIT_MS);
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  /** Queues a store write (a patch, or a write of its own) behind the task's earlier ones. */
  #enqueueWrite(id: number, write: Partial<TaskRecord> | (() => Promise<TaskRecord | null>)): Promise<TaskRecord | null> {
    const prev = this.#writes.get(id) ?? Promise.resolve();
    const next = prev.then(() => (typeof write === 'function' ? write() : this.#store.patch(id, write)));
    const tail = next.catch(() => undefined);
    this.#writes.set(id, tail);
    void tail.then(() => { if (this.#writes.get(id) === tail) this.#writes.delete(id); });
    return next;
  }

  async #write(id: number, patch: Partial<TaskRecord>): Promise<TaskRecord | null> {
    const task = await this.#enqueueWrite(id, patch);
    if (task) this.#tell({ type: 'updated', task });
    return task;
  }

  /**
   * A write of a running task about itself, fenced by its lease and queued behind its earlier ones;
   * `release` also gives the lease up. When the store says the lease is gone the run stops, writing nothing more.
   */
  #leasedWrite(entry: RunningTask, patch: Partial<TaskRecord>, how: 'patch' | 'release' = 'patch'): Promise<TaskRecord | null> {
    return this.#enqueueWrite(entry.lease.id, async () => {
      if (entry.stopReason === 'lost') return null;
      const result = how === 'release' ? await this.#store.release(entry.lease, patch) : await this.#store.patchLeased(entry.lease, patch);
      if (result !== 'lost' && result !== null) return result;
      this.#lose(entry);
      return null;
    });
  }

  /** Emits a change this node made, remembering the record so the store's echo of it is not told again. */
  #tell(event: TaskEvent): void {
    this.#seen.delete(event.task.id);
    if (event.type !== 'deleted') {
      this.#seen.set(event.task.id, event.task);
      if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
    }
    this.emit('task', event);
  }

  /**
   * A task changed in the store, read again (null: gone). For a task this node runs: its lease and its
   * `desired` command are checked. For any other: the change is emitted (unless it is the echo of one
   * this node told already) and a task that became runnable gets a pass.
   */
  #onStoreChange(change: TaskChange, task: TaskRecord | null): void {
    const entry = this.#running.get(change.id);
    if (entry) return this.#checkOwn(entry, task);
    // This node's own write is on its way: it tells its own event.
    if (this.#writes.has(change.id)) return;
    const last = this.#seen.get(change.id);
    if (!task) {
      this.#seen.delete(change.id);
      if (last) this.emit('task', { type: 'deleted', task: last, remote: true });
      return;
    }
    if (last && last.updated_at >= task.updated_at) return;
    this.#seen.delete(task.id);
    this.#seen.set(task.id, task);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
    this.emit('task', { type: change.kind === 'created' && !last ? 'created' : 'updated', task, remote: true });
    if (task.status === TaskStatus.waiting && this.#scheduler.wouldMatter(task.start_time ? new Date(task.start_time) : null)) this.schedule();
  }

  /** A task this node runs, as the store has it now: stopped when the lease went elsewhere, or as another node asked. */
  #checkOwn(entry: RunningTask, task: TaskRecord | null): void {
    if (entry.stopReason) return;
    if (!task || task.node !== entry.lease.node || (task.lease_epoch ?? 0) !== entry.lease.epoch) return this.#lose(entry);
    // Paused by a node that wrote the record without seeing the lease (a pause racing this node's claim).
    const command = task.desired ?? (task.status === TaskStatus.paused ? 'pause' : undefined);
    if (command) return this.#carryOut(task.id, command);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a task saved by an older version may lack it
    const speed = task.options.max_speed ?? 0;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a task saved by an older version may lack it
    if (speed !== (entry.live.options.max_speed ?? 0)) {
      entry.live = { ...entry.live, options: { ...entry.live.options, max_speed: speed } };
      this.#limits.setTaskSpeed(task.id, speed);
    }
  }

  /** Carries out a command another node left on the record of a task this node runs. */
  #carryOut(id: number, command: TaskCommand): void {
    if (this.#acting.has(id)) return;
    this.#acting.add(id);
    const done = command === 'delete' ? this.remove(id)
      : command === 'pause' ? this.pause(id)
      : this.#locked(() => Promise.resolve({ done: this.#stop(id, 'shutdown') })).then((s) => s.done);
    void done.catch((err: unknown) => {
      if (err instanceof TaskNotFoundError || err instanceof TransitionError) return;
      if (this.listenerCount('error')) this.emit('error', err);
    }).finally(() => this.#acting.delete(id));
  }

  /**
   * Before each request of a run: past a lease length since the last renew (the node stalled, or the store
   * does not answer) the task may be another node's already, so the run stops as with a lost lease, writing
   * nothing, before its next request rather than at the next heartbeat. Its segments stay on disk for
   * whoever takes it over, this node included once the lease is reclaimed.
   */
  #mayRequest(entry: RunningTask): boolean {
    if (entry.stopReason === 'lost') return false;
    if (this.#node.fresh) return true;
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

  // ---- settings ------------------------------------------------------------

  async getSettings(): Promise<SystemSettings> {
    return { ...DEFAULT_SYSTEM_SETTINGS, ...(await this.#store.getSettings()) };
  }

  /**
   * Validates folders and saves; returns the saved settings (password included: mask before output).
   * `merge` changes only the given fields; `replace` (the compat `POST /api/settings`) stores the given
   * object whole, absent fields at their defaults (see `replaceSettings`). The speed limit and the
   * per-host cap apply to the running downloads at once.
   */
  async saveSettings(update: Partial<SystemSettings>, how: 'merge' | 'replace' = 'merge'): Promise<SystemSettings> {
    const saved = await this.getSettings();
    const next = how === 'replace' ? replaceSettings(saved, update) : mergeSettings(saved, update);
    this.#checkFolders(next);
    checkProxySettings(next);
    await this.#store.saveSettings(next);
    this.#limits.configure(next);
    this.emit('settings', { before: saved, after: next });
    return next;
  }

  async getIntegrations(): Promise<IntegrationSettings> {
    return { ...DEFAULT_INTEGRATIONS, ...(await this.#store.getIntegrationSettings()) };
  }

  /**
   * Webhooks and hooks after the update, checked but not saved (a settings call
   * checks everything before it saves anything). Password-like secrets included.
   */
  async prepareIntegrations(update: Parameters<typeof mergeIntegrations>[1]): Promise<IntegrationSettings> {
    const reason = this.#opts.hooksDisabledReason;
    if (reason) {
      for (const field of ['on_complete', 'on_fail'] as const) {
        if (update[field]?.length) throw new SettingsError(`${field} cannot be set: ${reason}`, field);
      }
    }
    return mergeIntegrations(await this.getIntegrations(), update);
  }

  async saveIntegrations(settings: IntegrationSettings): Promise<void> {
    await this.#store.saveIntegrationSettings(settings);
  }

  #checkFolders(options: DownloadSettings): TaskFolders {
    return resolveFolders(options, this.#opts);
  }

  /** Where the task's work folder is (or will be made); its records' id must be a real id. */
  workDirOf(task: TaskRecord): string {
    if (!isTaskId(task.id)) throw new PathError(`task id \`${String(task.id).slice(0, 40)}\` is not a positive integer`, 'id');
    return task.work_dir ?? path.join(this.#checkFolders(task.options).workBase, String(task.id));
  }

  // ---- queries -------------------------------------------------------------

  async get(id: number): Promise<TaskRecord> {
    const live = this.#running.get(id)?.live;
    if (live) return live;
    const task = await this.#store.get(id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }

  async list(filter?: TaskFilter, page?: TaskPage): Promise<TaskList> {
    const result = await this.#store.list(filter, page);
    result.tasks = result.tasks.map((t) => this.#running.get(t.id)?.live ?? t);
    return result;
  }

  async stats(): Promise<{ counts: Record<TaskStatus, number>; speed_bps: number; speed_limit_bps: number }> {
    const counts = await this.#store.countByStatus();
    let speed = 0;
    for (const r of this.#running.values()) speed += r.live.speed_bps;
    return { counts, speed_bps: speed, speed_limit_bps: this.#limits.shared.rate };
  }

  /**
   * The file a task wrote, for the Download/Play and thumbnail routes: only ever the path in the
   * task's own record (a client names a task, never a file), and only when it is a regular file
   * inside the folders it may be in (the download dir and save roots for the output, the data
   * folder's posters/ for the poster), symlinks resolved.
   */
  async fileOf(id: number, which: 'output' | 'poster'): Promise<{ path: string; name: string; size: number }> {
    const task = await this.get(id);
    const file = which === 'output' ? task.output_path : task.poster_path ?? '';
    if (which === 'output' && task.status !== TaskStatus.completed) {
      throw new FileUnavailableError(id, `task ${id} has no file yet: it is ${task.status}, not ${TaskStatus.completed}`);
    }
    if (!file) throw new FileUnavailableError(id, `task ${id} has no ${which === 'output' ? 'output file' : 'poster frame'}`);
    try {
      if (which === 'output') resolveSaveDir(path.dirname(file), this.#opts.downloadDir, this.#opts.saveRoots);
      else resolveSaveDir(path.dirname(file), path.join(this.#opts.dataDir, 'posters'), []);
    } catch {
      throw new FileUnavailableError(id, `task ${id}'s ${which === 'output' ? 'file' : 'poster'} is outside the folders it may be served from`);
    }
    const info = await lstat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new FileUnavailableError(id, `task ${id}'s ${which === 'output' ? 'output is not a single file (no_merge_ts) or is gone' : 'poster is gone'}: ${path.basename(file)}`);
    }
    return { path: file, name: path.basename(file), size: info.size };
  }

  // ---- commands ------------------------------------------------------------

  async create(input: CreateTaskInput): Promise<TaskRecord> {
    const saved = await this.getSettings();
    const options = taskOptionsFor(saved, input.options, input.advanced, this.#opts);
    const wanted = input.startTime ? nextOccurrence(input.startTime, this.#clock.now()) : input.startAt;
    const startAt = wanted && wanted.getTime() > this.#clock.now() ? wanted : null;
    const task = await this.#store.create({
      url: input.url,
      filename: sanitizeFilename(input.filename, options.format),
      status: TaskStatus.waiting,
      phase: 'queued',
      progress: 0,
      status_bar: statusBar({ ...NO_FIGURES, status: TaskStatus.waiting, phase: 'queued', start_time: startAt ? startAt.toISOString() : null }),
      err_msg: '',
      size: 0,
      completed_at: null,
      started_at: null,
      start_time: startAt ? startAt.toISOString() : null,
      header_map: input.headers,
      advanced: input.advanced,
      options,
      source: input.source,
      segments_total: 0,
      segments_done: 0,
      segments_skipped: 0,
      downloaded_bytes: 0,
      speed_bps: 0,
      eta_s: null,
      output_path: '',
      live: false,
      recorded_s: 0,
    });
    this.#tell({ type: 'created', task });
    // A pass only when it can change something: a free slot for a due task, or an earlier timer
    // for a scheduled one. (A full queue otherwise paid a pass per create.)
    if (this.#scheduler.wouldMatter(startAt)) this.schedule();
    return task;
  }

  /**
   * Creates one task per URL, all or nothing: when one fails, those already made are removed
   * and the error is thrown. A shared filename is numbered; a request setting any download
   * setting makes the tasks `advanced`.
   */
  async createMany(input: CreateManyInput): Promise<number[]> {
    const { urls, filename, ...rest } = input;
    const advanced = infersAdvanced(input.options);
    const ids: number[] = [];
    try {
      for (const [i, url] of urls.entries()) {
        const name = filename ? (urls.length > 1 ? numbered(filename, i + 1) : filename) : filenameFromUrl(url);
        ids.push((await this.create({ ...rest, url, filename: name, advanced })).id);
      }
    } catch (err) {
      for (const id of ids) await this.remove(id).catch(() => undefined);
      throw err;
    }
    return ids;
  }

  /** Removes every task of `ids` that exists (each once); those that do not are listed, not an error. */
  async removeMany(ids: readonly number[]): Promise<{ deleted: number; notFound: number[] }> {
    const notFound: number[] = [];
    let deleted = 0;
    for (const id of new Set(ids)) {
      try {
        await this.remove(id);
        deleted++;
      } catch (err) {
        if (!(err instanceof TaskNotFoundError)) throw err;
        notFound.push(id);
      }
    }
    return { deleted, notFound };
  }

  /** Changes options of an existing task in any state, saved with it; a running download follows within a second. */
  async updateOptions(id: number, update: TaskOptionsUpdate): Promise<TaskRecord> {
    return this.#locked(async () => {
      const task = await this.get(id);
      const options: TaskOptions = { ...task.options };
      if (update.max_speed !== undefined) options.max_speed = update.max_speed;
      const entry = this.#running.get(id);
      if (entry) {
        entry.live = { ...entry.live, options };
        if (update.max_speed !== undefined) this.#limits.setTaskSpeed(id, update.max_speed);
      }
      return (await this.#write(id, { options })) ?? task;
    });
  }

  /**
   * 已暂停: from 等待中 or 下载中 (stopping it); idempotent on 已暂停 (see transitions.ts). A task
   * another node runs is paused by that node, asked through the record.
   */
  async pause(id: number): Promise<TaskRecord> {
    return this.#pause(id, true);
  }

  async #pause(id: number, mayAsk: boolean): Promise<TaskRecord> {
    const running = await this.#locked(async () => {
      const task = await this.#settled(id);
      if (mayAsk && this.#heldElsewhere(task)) return { elsewhere: true as const };
      const step = this.#step(task, 'pause');
      if (step.kind === 'stay') return undefined;
      if (step.kind === 'set') {
        await this.#write(id, withLine(task, { status: step.status, phase: step.phase, ...(task.desired ? { desired: null } : {}) }));
        return undefined;
      }
      const entry = this.#running.get(id);
      if (entry?.live.live && (entry.finishing || entry.live.phase === 'recording')) {
        // Stopping a recording finishes it: what was recorded becomes the output (已完成).
        entry.finishing = true;
        entry.finish.abort();
        return { done: entry.done };
      }
      // Wrapped: a returned promise would make the lock wait for the run, which needs the lock to end.
      return { done: this.#stop(id, 'pause') };
    });
    if (running && 'elsewhere' in running) {
      await this.#askOwner(id, 'pause');
      // Its node has paused it (or finished, or died meanwhile): the table decides from what is there now.
      return this.#pause(id, false);
    }
    await running?.done;
    return this.get(id);
  }

  /** 等待中: from 已暂停 (resume) or 失败 (resume, retry), keeping downloaded segments; no-op when waiting or running. */
  async resume(id: number, command: 'resume' | 'retry' = 'resume'): Promise<TaskRecord> {
    const task = await this.#locked(async () => {
      const current = await this.#settled(id);
      const step = this.#step(current, command);
      if (step.kind !== 'set') return current;
      const clear = { ...(step.clearError ? { err_msg: '' } : {}), ...(current.desired ? { desired: null } : {}) };
      return (await this.#write(id, withLine(current, { status: step.status, phase: step.phase, ...clear }))) ?? current;
    });
    this.schedule();
    return task;
  }

  /** Retry: only a failed task. */
  async retry(id: number): Promise<TaskRecord> {
    return this.resume(id, 'retry');
  }

  /** The table's step for `command` from the task's status; TransitionError when it allows none. */
  #step(task: TaskRecord, command: Command): NonNullable<ReturnType<typeof stepOf>> {
    const step = stepOf(command, task.status);
    if (!step) throw new TransitionError(task.id, task.status, command);
    return step;
  }

  async retryAll(): Promise<number> {
    const { tasks } = await this.#store.list({ status: TaskStatus.failed });
    let count = 0;
    for (const task of tasks) {
      try {
        await this.resume(task.id, 'retry');
        count++;
      } catch (err) {
        if (!(err instanceof TransitionError || err instanceof TaskNotFoundError)) throw err;
      }
    }
    return count;
  }

  /**
   * Stops the task if it runs, removes its work folder and its record. The output file stays. A task
   * another node runs is deleted by that node, asked through the record.
   */
  async remove(id: number): Promise<TaskRecord> {
    return this.#remove(id, true);
  }

  async #remove(id: number, mayAsk: boolean): Promise<TaskRecord> {
    const stopping = await this.#locked(async (): Promise<{ elsewhere?: TaskRecord; done?: Promise<void> }> => {
      const task = await this.#settled(id);
      if (mayAsk && this.#heldElsewhere(task)) return { elsewhere: task };
      return { done: this.#stop(id, 'delete') };
    });
    if (stopping.elsewhere) {
      // Gone: its node deleted it. Still there (it finished meanwhile, or its node does not answer): deleted
      // here; a node still running it then finds the record gone and stops.
      if (!(await this.#askOwner(id, 'delete'))) return stopping.elsewhere;
      return this.#remove(id, false);
    }
    await stopping.done;
    return this.#locked(async () => {
      const task = await this.#store.get(id);
      if (!task) throw new TaskNotFoundError(id);
      await this.#writes.get(id);
      const files = this.#filesOf(task);
      if (!(await this.#store.delete(id))) throw new TaskNotFoundError(id);
      await files();
      this.#tell({ type: 'deleted', task });
      return task;
    });
  }

  /** Removes what a deleted task leaves: its work folder and its poster. The output file stays. */
  #filesOf(task: TaskRecord): () => Promise<void> {
    // Resolved before the record goes: a folder the settings no longer allow is left alone, not an error.
    let workBase: string | undefined;
    try {
      workBase = this.#checkFolders(task.options).workBase;
    } catch {
      workBase = undefined;
    }
    return async () => {
      // Only folders carrying this task's marker go: never one the record merely names.
      if (workBase && isTaskId(task.id)) await removeWorkFolders(workBase, task.id, task.work_dir).catch(() => undefined);
      // The poster is the service's, not the user's file: it goes with the task.
      const posters = path.join(this.#opts.dataDir, 'posters');
      if (task.poster_path && path.dirname(path.resolve(task.poster_path)) === path.resolve(posters)) {
        await rm(task.poster_path, { force: true }).catch(() => undefined);
      }
    };
  }

  /**
   * The heartbeat settled tasks whose node died with a command pending: a deleted one's files go as a local
   * delete's do; a paused one gets its status line (the store does not write lines).
   */
  async #settleReclaimed(done: Reclaimed): Promise<void> {
    for (const task of done.deleted) await this.#filesOf(task)();
    for (const id of done.paused) {
      await this.#locked(async () => {
        const task = await this.#store.get(id);
        if (task?.status === TaskStatus.paused && !task.node) await this.#write(id, withLine(task, {}));
      });
    }
  }

  #stop(id: number, reason: StopReason): Promise<void> | undefined {
    const running = this.#running.get(id);
    if (!running) return undefined;
    running.stopReason = reason;
    running.controller.abort(new Error(`task ${reason}`));
    return running.done;
  }

  /**
   * Stops accepting work, puts running tasks back to 等待中 (segments stay on disk) and releases their
   * leases so other nodes may take them, closes the store.
   */
  async shutdown(): Promise<void> {
    // Under the lock: a scheduling pass already under way finishes first, and none starts after.
    const stops = await this.#locked(() => {
      this.#scheduler.close();
      return Promise.resolve({
        all: Promise.all([...this.#running.keys()].map((id) => this.#stop(id, 'shutdown') ?? Promise.resolve())),
        node: this.#node.stop(),
      });
    });
    await stops.all;
    await stops.node;
    await Promise.all([...this.#posters]);
    await Promise.all([...this.#writes.values()]);
    await this.#store.close();
  }

  // ---- the queue -----------------------------------------------------------

  /** Starts waiting tasks while there is room. Cheap to call often: calls coalesce. */
  schedule(): void {
    this.#scheduler.request();
  }

  /** Runs a task the store just gave this node (the claim already wrote it as started). */
  #begin(task: TaskRecord): void {
    // The claim wrote one line for every task it took; this task's own (its figures) goes with the first write.
    const line = { status_bar: statusBar(task) };
    const live = { ...task, ...line };
    let resolveDone!: () => void;
    const entry: RunningTask = {
      controller: new AbortController(),
      finish: new AbortController(),
      live,
      unsaved: line,
      progress: new ProgressThrottle(this.#opts.progressWriteMs ?? 500),
      lease: { id: task.id, node: this.nodeId, epoch: task.lease_epoch ?? 0 },
      done: new Promise<void>((r) => { resolveDone = r; }),
    };
    this.#running.set(task.id, entry);
    this.#tell({ type: 'updated', task: live });
    void this.#run(entry).catch((err: unknown) => this.#reportBug(task.id, err)).finally(resolveDone);
    // Asked of it before this node had it (its node died with the command pending).
    if (task.desired) this.#carryOut(task.id, task.desired);
  }

  #onProgress(id: number, entry: RunningTask, snapshot: ProgressSnapshot): void {
    if (entry.stopReason) return;
    const patch = progressPatch(entry.live, snapshot);
    entry.live = { ...entry.live, ...patch, updated_at: new Date(this.#clock.now()).toISOString() };
    Object.assign(entry.unsaved, patch);
    this.emit('task', { type: 'updated', task: entry.live });
    entry.progress.offer(() => {
      if (entry.stopReason === 'lost') return;
      const unsaved = entry.unsaved;
      entry.unsaved = {};
      // A write that failed (the store away a moment) goes again with the next one.
      void this.#leasedWrite(entry, unsaved).catch(() => { entry.unsaved = { ...unsaved, ...entry.unsaved }; });
    });
  }

  /** An unexpected exception ended a run: the user sees an InternalError, the log gets the original. */
  #reportBug(id: number, original: unknown): void {
    const error = new RunBugError(id, { cause: original });
    if (this.listenerCount('error')) this.emit('error', error);
    else console.error(`m3u8dm: task ${id} ended with an unexpected error:`, original);
  }

  async #run(entry: RunningTask): Promise<void> {
    const task = entry.live;
    const id = task.id;
    let outcome: Partial<TaskRecord>;
    let poster: Promise<string | undefined> | undefined;
    // Records from before per-task limits carry no max_speed.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
    const limits = this.#limits.open(id, task.options.max_speed ?? 0);
    try {
      const { saveDir, workBase, ownBase } = this.#checkFolders(task.options);
      const workDir = await openWorkFolder(workBase, id, task.work_dir, { adoptUnmarked: ownBase });
      if (workDir !== task.work_dir) {
        entry.live = { ...entry.live, work_dir: workDir };
        await this.#leasedWrite(entry, { work_dir: workDir });
      }
      const result = await this.#engine.run({
        taskId: id,
        url: task.url,
        headers: task.header_map,
        options: task.options,
        workDir,
        saveDir,
        filename: task.filename,
        signal: entry.controller.signal,
        finish: entry.finish.signal,
        onProgress: (s) => this.#onProgress(id, entry, s),
        mayRequest: () => this.#mayRequest(entry),
        limits,
      });
      if (entry.stopReason) throw new Error('stopped');
      poster = result.poster;
      outcome = completedOutcome(entry.live, result, this.#clock.now());
    } catch (err) {
      outcome = endedOutcome(entry.live, entry.stopReason, entry.finishing === true, err, (original) => this.#reportBug(id, original));
    }
    this.#limits.release(id, limits);
    entry.progress.cancel();
    // Nothing when deleted or when the lease went to another node; else the end, and the lease back. It must
    // reach the store: while the store is away (a database restart) it is tried again, the task still this
    // node's (its lease renewed); past a lease length the heartbeat gives the lease up and nothing is written.
    const final = { ...entry.unsaved, ...outcome, desired: null };
    await retryWhileUnavailable(() => this.#locked(async () => {
      if (Object.keys(outcome).length && entry.stopReason !== 'lost') {
        const task = await this.#leasedWrite(entry, final, 'release');
        if (task) this.#tell({ type: 'updated', task });
      }
      this.#running.delete(id);
    }));
    this.schedule();
    if (poster) {
      const adding = this.#addPoster(id, poster).catch(() => undefined);
      this.#posters.add(adding);
      await adding;
      this.#posters.delete(adding);
    }
  }

  /** Puts a poster made after the completion on the record; removes it when the task is gone meanwhile. */
  async #addPoster(id: number, poster: Promise<string | undefined>): Promise<void> {
    const file = await poster.catch(() => undefined);
    if (!file) return;
    await this.#locked(async () => {
      const task = await this.#store.get(id);
      if (task?.status === TaskStatus.completed) await this.#write(id, { poster_path: file });
      else await rm(file, { force: true }).catch(() => undefined);
    });
  }
}
