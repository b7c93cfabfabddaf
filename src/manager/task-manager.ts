// The task manager: the state machine of a download task, the queue that runs at
// most `maxActive` of them in creation order, scheduled starts, and recovery after a
// crash. It owns no HTTP and no database details: routes call it, it calls the
// engine and the store, and it emits an event for every change. Several managers
// (nodes) may share one store: tasks are leased from it (node-runtime.ts), commands
// for a task another node runs go to that node through the record, and changes made
// elsewhere are emitted here too (marked `remote`): cluster-sync.ts. The runs themselves,
// under their leases, are task-runs.ts.
import { EventEmitter } from 'node:events';
import { lstat, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nextOccurrence, systemClock, type Clock } from './clock.js';
import { Scheduler } from './scheduler.js';
import { NodeRuntime } from './node-runtime.js';
import { TaskRuns } from './task-runs.js';
import { ClusterSync } from './cluster-sync.js';
import { WriteChain } from './write-chain.js';
import { filenameFromUrl, resolveSaveDir, sanitizeFilename } from './paths.js';
import { isTaskId, removeSetAside, removeWorkFolders } from './work-folders.js';
import { withLine } from './progress-writer.js';
import { statusBar } from './progress-text.js';
import { DEFAULT_INTEGRATIONS, mergeIntegrations, type IntegrationSettings } from './integration-settings.js';
import { FileUnavailableError, PathError, RunBugError, SettingsError, TaskNotFoundError, TransitionError } from './errors.js';
import { stepOf, targetOf, type Command } from './transitions.js';
import { infersAdvanced, numbered, resolveFolders, taskOptionsFor, type TaskFolders } from './task-options.js';
import { TransferLimits } from '../downloader/transfer-limits.js';
import { checkProxySettings, DEFAULT_SYSTEM_SETTINGS, mergeSettings, replaceSettings } from './settings.js';
import type { NodeBeat, TaskFilter, TaskList, TaskPage, TaskStore } from '../store/task-store.js';
import {
  TaskStatus,
  type DownloadSettings,
  type Engine,
  type HeaderMap,
  type SystemSettings,
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

/** How many tasks other nodes run that stats() reads for the cluster's speed: far more than nodes run at once. */
const OTHER_RUNS_COUNTED = 1_000;
const NO_FIGURES = { segments_total: 0, segments_done: 0, segments_skipped: 0, downloaded_bytes: 0, speed_bps: 0, eta_s: null };


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
  readonly #opts: TaskManagerOptions;
  readonly #clock: Clock;
  /** Serialises state changes so two calls never decide on the same stale status. */
  #lock: Promise<unknown> = Promise.resolve();
  readonly #writes: WriteChain;
  readonly #runs: TaskRuns;
  readonly #scheduler: Scheduler;
  readonly #node: NodeRuntime;
  readonly #sync: ClusterSync;
  readonly #limits: TransferLimits;

  constructor(options: TaskManagerOptions) {
    super();
    // Every SSE and WebSocket client listens; they are many by design.
    this.setMaxListeners(0);
    this.#opts = options;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#limits = options.limits ?? new TransferLimits();
    const nodeId = options.nodeId ?? `${os.hostname()}-${process.pid}`;
    const leaseMs = options.leaseMs ?? 30_000;
    this.#writes = new WriteChain(this.#store);
    this.#runs = new TaskRuns({
      store: this.#store,
      writes: this.#writes,
      engine: options.engine,
      clock: this.#clock,
      limits: this.#limits,
      nodeId,
      progressWriteMs: options.progressWriteMs ?? 500,
      folders: (o) => this.#checkFolders(o),
      fresh: () => this.#node.fresh,
      exclusive: (fn) => this.#locked(fn),
      tell: (task) => this.#sync.tell({ type: 'updated', task }),
      progress: (task) => this.emit('task', { type: 'updated', task }),
      bug: (id, err) => this.#reportBug(id, err),
      ended: () => this.schedule(),
    });
    this.#scheduler = new Scheduler({
      store: this.#store,
      clock: this.#clock,
      maxActive: options.maxActive,
      running: () => this.#runs.size,
      claim: (max, now) => this.#store.claim(nodeId, { now, leaseMs, max, patch: startPatch(now) }),
      begin: (task) => {
        this.#runs.begin(task);
        // Asked of it before this node had it (its node died with the command pending).
        if (task.desired) this.#sync.carryOut(task.id, task.desired);
      },
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
      leases: () => this.#runs.leases(),
      onLost: (id) => this.#runs.lose(id),
      onChange: (change, task) => this.#sync.onStoreChange(change, task),
      reclaimed: (done) => this.#sync.settleReclaimed(done),
      afterBeat: () => this.schedule(),
      onError: (err) => {
        if (this.listenerCount('error')) this.emit('error', err);
        else console.error('m3u8dm: node heartbeat failed:', err);
      },
    });
    this.#sync = new ClusterSync({
      store: this.#store,
      clock: this.#clock,
      node: this.#node,
      runs: this.#runs,
      writes: this.#writes,
      scheduler: this.#scheduler,
      manager: {
        get: (id) => this.get(id),
        pause: (id) => this.pause(id),
        remove: (id) => this.remove(id),
        filesOf: (task) => this.#filesOf(task),
        write: (id, patch) => this.#write(id, patch),
        exclusive: (fn) => this.#locked(fn),
        emit: (event) => this.emit('task', event),
        error: (err) => { if (this.listenerCount('error')) this.emit('error', err); },
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
    const settings = await this.getSettings();
    this.#limits.configure(settings);
    await this.#sync.recover();
    // Finished work folders a crash left set aside (work-folders.ts), in the background: in the service's
    // own base and in the settings' temp_directory (a task's own temp_directory is left to the user).
    for (const base of new Set([path.join(this.#opts.dataDir, 'work'), this.#workBaseOf(settings)])) {
      if (base) void removeSetAside(base).catch(() => undefined);
    }
    this.#node.start();
    this.schedule();
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async #write(id: number, patch: Partial<TaskRecord>): Promise<TaskRecord | null> {
    const task = await this.#writes.enqueue(id, patch);
    if (task) this.#sync.tell({ type: 'updated', task });
    return task;
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

  /** The work base these settings name; undefined when they name one outside the allowed roots. */
  #workBaseOf(settings: DownloadSettings): string | undefined {
    try {
      return this.#checkFolders(settings).workBase;
    } catch {
      return undefined;
    }
  }

  /** Where the task's work folder is (or will be made); its records' id must be a real id. */
  workDirOf(task: TaskRecord): string {
    if (!isTaskId(task.id)) throw new PathError(`task id \`${String(task.id).slice(0, 40)}\` is not a positive integer`, 'id');
    return task.work_dir ?? path.join(this.#checkFolders(task.options).workBase, String(task.id));
  }

  // ---- queries -------------------------------------------------------------

  async get(id: number): Promise<TaskRecord> {
    const live = this.#runs.live(id);
    if (live) return live;
    const task = await this.#store.get(id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }

  async list(filter?: TaskFilter, page?: TaskPage): Promise<TaskList> {
    const result = await this.#store.list(filter, page);
    result.tasks = result.tasks.map((t) => this.#runs.live(t.id) ?? t);
    return result;
  }

  async stats(): Promise<{ counts: Record<TaskStatus, number>; speed_bps: number; speed_limit_bps: number }> {
    const counts = await this.#store.countByStatus();
    let speed = this.#runs.speed();
    // Tasks other nodes run count at the speed their last progress write gave (a dead node's, whose
    // lease has run out, not at all): the total is the cluster's, as the counts are.
    if (counts[TaskStatus.downloading] > this.#runs.size) {
      const now = this.#clock.now();
      const { tasks } = await this.#store.list({ status: TaskStatus.downloading }, { offset: 0, limit: OTHER_RUNS_COUNTED });
      for (const t of tasks) if (!this.#runs.live(t.id) && (t.lease_expires_at ?? 0) > now) speed += t.speed_bps;
    }
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
    this.#sync.tell({ type: 'created', task });
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
      this.#runs.setOptions(id, options, update.max_speed);
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
      const task = await this.#sync.settled(id);
      if (mayAsk && this.#sync.heldElsewhere(task)) return { elsewhere: true as const };
      const step = this.#step(task, 'pause');
      if (step.kind === 'stay') return undefined;
      if (step.kind === 'set') {
        await this.#write(id, withLine(task, { status: step.status, phase: step.phase, ...(task.desired ? { desired: null } : {}) }));
        return undefined;
      }
      // Stopping a recording finishes it: what was recorded becomes the output (已完成).
      // Wrapped: a returned promise would make the lock wait for the run, which needs the lock to end.
      return { done: this.#runs.finishRecording(id) ?? this.#runs.stop(id, 'pause') };
    });
    if (running && 'elsewhere' in running) {
      await this.#sync.askOwner(id, 'pause');
      // Its node has paused it (or finished, or died meanwhile): the table decides from what is there now.
      return this.#pause(id, false);
    }
    await running?.done;
    return this.get(id);
  }

  /** 等待中: from 已暂停 (resume) or 失败 (resume, retry), keeping downloaded segments; no-op when waiting or running. */
  async resume(id: number, command: 'resume' | 'retry' = 'resume'): Promise<TaskRecord> {
    const task = await this.#locked(async () => {
      const current = await this.#sync.settled(id);
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
      const task = await this.#sync.settled(id);
      if (mayAsk && this.#sync.heldElsewhere(task)) return { elsewhere: task };
      return { done: this.#runs.stop(id, 'delete') };
    });
    if (stopping.elsewhere) {
      // Gone: its node deleted it. Still there (it finished meanwhile, or its node does not answer): deleted
      // here; a node still running it then finds the record gone and stops.
      if (!(await this.#sync.askOwner(id, 'delete'))) return stopping.elsewhere;
      return this.#remove(id, false);
    }
    await stopping.done;
    return this.#locked(async () => {
      const task = await this.#store.get(id);
      if (!task) throw new TaskNotFoundError(id);
      await this.#writes.settled(id);
      const files = this.#filesOf(task);
      if (!(await this.#store.delete(id))) throw new TaskNotFoundError(id);
      await files();
      this.#sync.tell({ type: 'deleted', task });
      return task;
    });
  }

  /** Removes what a deleted task leaves: its work folder and its poster. The output file stays. */
  #filesOf(task: TaskRecord): () => Promise<void> {
    // Resolved before the record goes: a folder the settings no longer allow is left alone, not an error.
    const workBase = this.#workBaseOf(task.options);
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
   * Stops accepting work, puts running tasks back to 等待中 (segments stay on disk) and releases their
   * leases so other nodes may take them, closes the store.
   */
  async shutdown(): Promise<void> {
    // Under the lock: a scheduling pass already under way finishes first, and none starts after.
    const stops = await this.#locked(() => {
      this.#scheduler.close();
      return Promise.resolve({
        all: Promise.all(this.#runs.ids().map((id) => this.#runs.stop(id, 'shutdown') ?? Promise.resolve())),
        node: this.#node.stop(),
      });
    });
    await stops.all;
    await stops.node;
    await this.#runs.idle();
    await this.#writes.all();
    await this.#store.close();
  }

  // ---- the queue -----------------------------------------------------------

  /** Starts waiting tasks while there is room. Cheap to call often: calls coalesce. */
  schedule(): void {
    this.#scheduler.request();
  }

  /** An unexpected exception ended a run: the user sees an InternalError, the log gets the original. */
  #reportBug(id: number, original: unknown): void {
    const error = new RunBugError(id, { cause: original });
    if (this.listenerCount('error')) this.emit('error', error);
    else console.error(`m3u8dm: task ${id} ended with an unexpected error:`, original);
  }
}
