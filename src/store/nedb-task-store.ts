// The embedded default store: nedb keeps the whole database in memory and appends
// every change to a file, so an acknowledged write survives kill -9. The file is
// compacted on open and on a timer. One process per data directory.
import { open as openFile, readFile, unlink, writeFile } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import Datastore from 'nedb-promises';
import type { IntegrationSettings } from '../manager/integration-settings.js';
import { TASK_STATUSES, TaskStatus, type DownloadSettings, type SystemSettings, type TaskRecord } from '../types.js';
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, privateFilesIn } from '../service/private-files.js';
import {
  RECLAIMED_PAUSE, type ClaimRequest, type LeaseRef, type NewTask, type NodeBeat, type Reclaimed, type TaskChange, type TaskFilter, type TaskList,
  type TaskPage, type TaskPatch, type TaskStore,
} from './task-store.js';

interface TaskDoc extends TaskRecord {
  _id: string;
}
interface MetaDoc {
  _id: string;
  value: unknown;
}

/** The parts of the underlying seald-nedb datastore that nedb-promises does not wrap. */
interface Compactable {
  compactDatafileAsync(): Promise<void>;
  setAutocompactionInterval(ms: number): void;
  stopAutocompaction(): void;
}

export interface NedbStoreOptions {
  /** Folder holding `tasks.db` and `meta.db`. */
  dataDir: string;
  /** How often the files are compacted while running. @defaultValue 10 minutes */
  compactEveryMs?: number;
}

/** nedb-promises keeps the real datastore in `__original`; its methods must be called on it, not through the proxy. */
function raw(db: Datastore<unknown>): Compactable {
  return (db as unknown as { __original: Compactable }).__original;
}

const SEQ_ID = 'task_seq';
/** Ids reserved per sequence write. */
const ID_BLOCK = 64;
const SETTINGS_ID = 'settings';
const INTEGRATIONS_ID = 'integrations';

function toRecord(doc: TaskDoc): TaskRecord {
  const { _id, ...record } = doc;
  return record;
}

function isSoundDoc(doc: Pick<TaskDoc, '_id' | 'id'>): boolean {
  return typeof doc.id === 'number' && Number.isSafeInteger(doc.id) && doc.id > 0 && doc._id === String(doc.id);
}

/** What a list filters on, kept beside nedb so a page never sorts or scans whole documents. */
interface IndexEntry {
  status: TaskStatus;
  source: TaskRecord['source'];
  /** Lower-cased url and filename, for `q`. */
  text: string;
  /** `start_time` in ms, 0 when none: the queue picks due tasks without reading any document. */
  startAt: number;
}

const indexEntry = (t: Pick<TaskRecord, 'status' | 'source' | 'url' | 'filename' | 'start_time'>): IndexEntry => ({
  status: t.status,
  source: t.source,
  text: `${t.url}\n${t.filename}`.toLowerCase(),
  startAt: t.start_time ? Date.parse(t.start_time) || 0 : 0,
});

/** A write the database file did not take; the message says why in words (a full disk…). */
export class StoreWriteError extends Error {
  override name = 'StoreWriteError';
  readonly code = 'ERR_STORE_WRITE';
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk holding the data folder is full (${code}); free some space and try again`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `the data folder is not writable (${code})`;
  return code ? `the database file could not be written (${code})` : 'the database file could not be written';
}

export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
  readonly code = 'ERR_STORE_LOCKED';
}

/** Whether a process with this pid is alive (signal 0 checks without sending anything). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * nedb appends to its files from one process only: two services on one data dir would
 * interleave and corrupt them. A lock file holds the owner's pid; one left by a crash
 * (its pid gone) is taken over.
 */
export async function takeLock(file: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await openFile(file, 'wx', PRIVATE_FILE_MODE);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new StoreLockedError(`another m3u8dm (pid ${owner}) is using the data dir ${path.dirname(file)}; stop it or choose another M3U8DM_DATA_DIR`);
    }
    await unlink(file).catch(() => undefined); // stale: its owner is gone
  }
  await writeFile(file, `${process.pid}\n`, { mode: PRIVATE_FILE_MODE });
}

/** Above this many ids, one pass over all documents beats an `$in` lookup. */
const IN_LOOKUP_MAX = 500;

export class NedbTaskStore implements TaskStore {
  readonly #options: NedbStoreOptions;
  #tasks?: Datastore<TaskDoc>;
  #meta?: Datastore<MetaDoc>;
  #lastId = 0;
  /** Ids up to this one are reserved on disk (the sequence value). */
  #reservedTo = 0;
  /** Every task by id, in ascending id order (ids only grow, so insertion order is id order). */
  #index = new Map<number, IndexEntry>();
  /** Creations are serialised so ids follow the order of acknowledgement. */
  #createChain: Promise<unknown> = Promise.resolve();
  /** Lease operations are serialised: each reads then writes, and no two may decide on the same read. */
  #leaseChain: Promise<unknown> = Promise.resolve();
  /** Heartbeats: one process owns a nedb store (its lock file), so they need not outlive it. */
  readonly #nodes = new Map<string, NodeBeat>();
  readonly #changes = new EventEmitter<{ change: [TaskChange] }>();

  constructor(options: NedbStoreOptions) {
    this.#options = options;
  }

  get filename(): string {
    return path.join(this.#options.dataDir, 'tasks.db');
  }

  get #lockFile(): string {
    return path.join(this.#options.dataDir, 'm3u8dm.lock');
  }

  async open(): Promise<void> {
    await ensurePrivateDir(this.#options.dataDir);
    await takeLock(this.#lockFile);
    // nedb's own default is 0644; these files hold the proxy password and cookies.
    const modes = { fileMode: PRIVATE_FILE_MODE, dirMode: PRIVATE_DIR_MODE };
    this.#tasks = Datastore.create({ filename: this.filename, timestampData: false, modes } as Parameters<typeof Datastore.create>[0]);
    this.#meta = Datastore.create({ filename: path.join(this.#options.dataDir, 'meta.db'), timestampData: false, modes } as Parameters<typeof Datastore.create>[0]);
    // load() also compacts: nedb rewrites the file crash-safely (temp file, fsync, rename).
    await this.#tasks.load();
    await this.#meta.load();
    // Files an older version (or a copy) left readable are put right; new ones are written 0600.
    await privateFilesIn(this.#options.dataDir);
    await this.#tasks.ensureIndex({ fieldName: 'id', unique: true });
    await this.#tasks.ensureIndex({ fieldName: 'status' });
    const seq = await this.#meta.findOne({ _id: SEQ_ID });
    // A record whose id is not the positive integer its key says (a damaged or tampered file) is
    // not served: its id would otherwise end up in paths.
    const all = (await this.#tasks.find({}, { id: 1, status: 1, source: 1, url: 1, filename: 1, start_time: 1 })).filter(isSoundDoc);
    all.sort((a, b) => a.id - b.id);
    this.#index = new Map(all.map((t) => [t.id, indexEntry(t)]));
    this.#lastId = Math.max(Number(seq?.value ?? 0), all.at(-1)?.id ?? 0);
    this.#reservedTo = this.#lastId;
    const every = this.#options.compactEveryMs ?? 10 * 60_000;
    for (const db of [this.#tasks, this.#meta]) raw(db).setAutocompactionInterval(every);
  }

  async close(): Promise<void> {
    await this.#createChain;
    // A clean stop hands back the ids reserved but not given out; only a crash leaves a gap.
    if (this.#meta && this.#reservedTo > this.#lastId) {
      await this.#meta.update({ _id: SEQ_ID }, { _id: SEQ_ID, value: this.#lastId }, { upsert: true }).catch(() => undefined);
      this.#reservedTo = this.#lastId;
    }
    for (const db of [this.#tasks, this.#meta]) {
      if (!db) continue;
      raw(db).stopAutocompaction();
      await raw(db).compactDatafileAsync();
    }
    if (this.#tasks) await unlink(this.#lockFile).catch(() => undefined);
  }

  get #db(): Datastore<TaskDoc> {
    if (!this.#tasks) throw new Error('task store is not open');
    return this.#tasks;
  }

  get #metaDb(): Datastore<MetaDoc> {
    if (!this.#meta) throw new Error('task store is not open');
    return this.#meta;
  }

  async create(task: NewTask): Promise<TaskRecord> {
    const next = this.#createChain.then(async () => {
      const id = this.#lastId + 1;
      // The sequence on disk runs ahead of the ids given out, in blocks: it is written before an id
      // past it is used (so a crash burns the rest of a block rather than reusing an id), and a
      // create costs one append instead of two.
      if (id > this.#reservedTo) {
        const reserved = id + ID_BLOCK - 1;
        await this.#metaDb.update({ _id: SEQ_ID }, { _id: SEQ_ID, value: reserved }, { upsert: true });
        this.#reservedTo = reserved;
      }
      this.#lastId = id;
      const now = new Date().toISOString();
      let doc: TaskDoc;
      try {
        doc = await this.#db.insert({ ...task, id, created_at: now, updated_at: now, _id: String(id) });
      } catch (error) {
        // nedb keeps the document in memory when the append fails (a full disk): a task the
        // caller was told failed would show up and run. Taken out again (its removal's own
        // append may fail too; memory is what counts until the next load).
        await this.#db.remove({ _id: String(id) }, {}).catch(() => undefined);
        throw new StoreWriteError(`the task could not be saved: ${describeFsError(error)}`, { cause: error });
      }
      this.#index.set(id, indexEntry(doc));
      this.#changes.emit('change', { kind: 'created', id });
      return toRecord(doc);
    });
    this.#createChain = next.catch(() => undefined);
    return next;
  }

  async get(id: number): Promise<TaskRecord | null> {
    const doc = await this.#db.findOne({ _id: String(id) });
    return doc && isSoundDoc(doc) ? toRecord(doc) : null;
  }

  #matches(filter: TaskFilter): (entry: IndexEntry) => boolean {
    const statuses = filter.status === undefined ? undefined : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
    const q = filter.q?.toLowerCase();
    return (e) =>
      (!statuses || statuses.has(e.status)) &&
      (!filter.source || e.source === filter.source) &&
      (filter.dueBy === undefined || e.startAt <= filter.dueBy) &&
      (!q || e.text.includes(q));
  }

  async list(filter: TaskFilter = {}, page?: TaskPage): Promise<TaskList> {
    const match = this.#matches(filter);
    let ids: number[] = [];
    for (const [id, entry] of this.#index) if (match(entry)) ids.push(id);
    if (page?.order === 'desc') ids.reverse();
    const total = ids.length;
    if (page) ids = ids.slice(page.offset, page.offset + page.limit);
    if (ids.length === 0) return { tasks: [], total };
    const docs = ids.length <= IN_LOOKUP_MAX
      ? await this.#db.find({ _id: { $in: ids.map(String) } })
      : await this.#db.find({});
    const byId = new Map(docs.map((d) => [d.id, d]));
    const tasks = ids.map((id) => byId.get(id)).filter((d): d is TaskDoc => d !== undefined).map(toRecord);
    return { tasks, total };
  }

  async patch(id: number, patch: TaskPatch): Promise<TaskRecord | null> {
    const $set = { updated_at: new Date().toISOString(), ...patch };
    const doc = await this.#db.update<TaskDoc>({ _id: String(id) }, { $set }, { returnUpdatedDocs: true });
    if (!doc) return null;
    this.#index.set(id, indexEntry(doc));
    this.#changes.emit('change', { kind: 'updated', id });
    return toRecord(doc);
  }

  async delete(id: number): Promise<boolean> {
    const removed = (await this.#db.remove({ _id: String(id) }, {})) > 0;
    this.#index.delete(id);
    if (removed) this.#changes.emit('change', { kind: 'deleted', id });
    return removed;
  }

  // ---- leases (TaskLeases) ---------------------------------------------------

  #leased<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#leaseChain.then(fn);
    this.#leaseChain = next.catch(() => undefined);
    return next;
  }

  async claim(node: string, request: ClaimRequest): Promise<TaskRecord[]> {
    return this.#leased(async () => {
      const { now, leaseMs, max, patch } = request;
      const claimed: TaskRecord[] = [];
      if (max <= 0) return claimed;
      for (const [id, entry] of this.#index) {
        if (claimed.length >= max) break;
        if (entry.status !== TaskStatus.waiting || entry.startAt > now) continue;
        const task = await this.get(id);
        if (!task || task.status !== TaskStatus.waiting) continue;
        if (task.node && (task.lease_expires_at ?? 0) >= now) continue;
        const done = await this.patch(id, { ...patch, node, lease_epoch: (task.lease_epoch ?? 0) + 1, lease_expires_at: now + leaseMs });
        if (done) claimed.push(done);
      }
      return claimed;
    });
  }

  async renew(leases: readonly LeaseRef[], now: number, leaseMs: number): Promise<{ held: number[]; lost: number[] }> {
    return this.#leased(async () => {
      const held: number[] = [];
      const lost: number[] = [];
      for (const lease of leases) {
        const task = await this.get(lease.id);
        if (task && holds(task, lease) && (await this.patch(lease.id, { lease_expires_at: now + leaseMs }))) held.push(lease.id);
        else lost.push(lease.id);
      }
      return { held, lost };
    });
  }

  async patchLeased(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null> {
    return this.#leased(() => this.#fenced(lease, patch));
  }

  async release(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null> {
    return this.#leased(() => this.#fenced(lease, { ...patch, node: null, lease_expires_at: null }));
  }

  async #fenced(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null> {
    const task = await this.get(lease.id);
    if (!task) return null;
    if (!holds(task, lease)) return 'lost';
    return this.patch(lease.id, patch);
  }

  async reclaimExpired(now: number): Promise<Reclaimed> {
    return this.#leased(async () => {
      const docs = (await this.#db.find({ lease_expires_at: { $lt: now } })).sort((a, b) => a.id - b.id);
      const done: Reclaimed = { waiting: [], paused: [], deleted: [] };
      for (const doc of docs) {
        if (!isSoundDoc(doc) || !doc.node) continue;
        const task = toRecord(doc);
        const unleased = { node: null, lease_expires_at: null, desired: null };
        if (task.desired === 'delete') {
          if (await this.delete(task.id)) done.deleted.push(task);
        } else if (task.desired === 'pause') {
          if (await this.patch(task.id, { ...RECLAIMED_PAUSE, ...unleased })) done.paused.push(task.id);
        } else if (await this.patch(task.id, { status: TaskStatus.waiting, phase: 'queued', ...unleased })) {
          done.waiting.push(task.id);
        }
      }
      return done;
    });
  }

  touchNode(node: NodeBeat): Promise<void> {
    this.#nodes.set(node.id, { ...node });
    return Promise.resolve();
  }

  listNodes(aliveSince: number): Promise<NodeBeat[]> {
    return Promise.resolve([...this.#nodes.values()].filter((n) => n.seen_at >= aliveSince).map((n) => ({ ...n })));
  }

  watch(listener: (change: TaskChange) => void): () => void {
    this.#changes.on('change', listener);
    return () => { this.#changes.off('change', listener); };
  }

  countByStatus(): Promise<Record<TaskStatus, number>> {
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    for (const entry of this.#index.values()) counts[entry.status]++;
    return Promise.resolve(counts);
  }

  nextStartAfter(after: number): Promise<number | null> {
    let next = Infinity;
    for (const entry of this.#index.values()) {
      if (entry.status === TaskStatus.waiting && entry.startAt > after && entry.startAt < next) next = entry.startAt;
    }
    return Promise.resolve(next === Infinity ? null : next);
  }

  async getSettings(): Promise<Partial<SystemSettings> | null> {
    const doc = await this.#metaDb.findOne({ _id: SETTINGS_ID });
    return (doc?.value as Partial<SystemSettings> | undefined) ?? null;
  }

  async saveSettings(settings: DownloadSettings & Partial<SystemSettings>): Promise<void> {
    await this.#metaDb.update({ _id: SETTINGS_ID }, { _id: SETTINGS_ID, value: settings }, { upsert: true });
  }

  async getIntegrationSettings(): Promise<IntegrationSettings | null> {
    const doc = await this.#metaDb.findOne({ _id: INTEGRATIONS_ID });
    return (doc?.value as IntegrationSettings | undefined) ?? null;
  }

  async saveIntegrationSettings(settings: IntegrationSettings): Promise<void> {
    await this.#metaDb.update({ _id: INTEGRATIONS_ID }, { _id: INTEGRATIONS_ID, value: settings }, { upsert: true });
  }
}

/** Whether `lease` (owner and epoch) is the task's current one. */
function holds(task: TaskRecord, lease: LeaseRef): boolean {
  return task.node === lease.node && (task.lease_epoch ?? 0) === lease.epoch;
}
