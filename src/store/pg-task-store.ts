// The shared store: tasks, settings and integration settings in PostgreSQL, so several
// service instances can use one database. Same semantics as the nedb store (ids from a
// sequence: positive, creation order, never reused). Leases are rows locked with
// `FOR UPDATE SKIP LOCKED`, so two instances claiming at once never take the same task, and
// every change of a task is announced with NOTIFY (see pg-schema.ts) for the other instances.
import pg from 'pg';
import type { IntegrationSettings } from '../manager/integration-settings.js';
import { TASK_STATUSES, TaskStatus, type DownloadSettings, type SystemSettings, type TaskRecord } from '../types.js';
import { PgChangeFeed } from './pg-change-feed.js';
import { migrate, TASK_CHANNEL } from './pg-schema.js';
import { maskUrl, StoreConnectError, StoreUnavailableError } from './store-errors.js';
import {
  RECLAIMED_PAUSE, type ClaimRequest, type LeaseRef, type NewTask, type NodeBeat, type Reclaimed, type TaskChange, type TaskFilter, type TaskList,
  type TaskPage, type TaskPatch, type TaskStore,
} from './task-store.js';

export { maskUrl, StoreConnectError, StoreUnavailableError } from './store-errors.js';

export interface PgStoreOptions {
  /** postgres://user:pass@host:port/db */
  url: string;
  /** Connections in the pool (the change feed has one more of its own). @defaultValue 10 */
  poolSize?: number;
  /** How long getting a connection may take before the call fails with StoreUnavailableError. @defaultValue 5000 */
  connectTimeoutMs?: number;
  /**
   * How long one statement may run (server side), and a transaction sit idle holding its row locks (a node
   * stopped mid-claim must not block the others for longer). @defaultValue 10000
   */
  queryTimeoutMs?: number;
}

/** Error codes (node's and PostgreSQL's SQLSTATE) that mean the database is away, not that the query was wrong. */
const AWAY_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout
  '25P03', // idle_in_transaction_session_timeout
]);
/** What pg says, without a code, when a connection broke or never came. */
const AWAY_TEXT = /connection terminated|timeout exceeded when trying to connect|query read timeout|not queryable|connection error|server closed the connection/i;

function isAway(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  return AWAY_CODES.has(code) || code.startsWith('08') || (typeof e?.message === 'string' && AWAY_TEXT.test(e.message));
}

const SETTINGS_KEY = 'settings';
const INTEGRATIONS_KEY = 'integrations';

/** The columns a list or a claim filters on, derived from the document exactly as the nedb store's index does. */
type Indexed = Pick<TaskRecord, 'status' | 'source' | 'url' | 'filename' | 'start_time' | 'node' | 'lease_epoch' | 'lease_expires_at'>;

function columns(t: Indexed): unknown[] {
  return [
    t.status,
    t.source,
    `${t.url}\n${t.filename}`.toLowerCase(),
    t.start_time ? Date.parse(t.start_time) || 0 : 0,
    t.node ?? null,
    t.lease_epoch ?? 0,
    t.lease_expires_at == null ? null : Math.round(t.lease_expires_at),
  ];
}

/** A patch without the fields no patch may change. */
function patchable(patch: TaskPatch): TaskPatch {
  const { id: _id, created_at: _created, ...rest } = patch as TaskPatch & { id?: unknown; created_at?: unknown };
  return rest;
}

const validId = (id: number) => Number.isSafeInteger(id) && id > 0;

const META_UPSERT = 'INSERT INTO m3u8dm_meta (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value';

/** What `importAll` copies in: another store's whole contents. */
export interface StoreImport {
  tasks: readonly TaskRecord[];
  settings: Partial<SystemSettings> | null;
  integrations: IntegrationSettings | null;
}

/** A node silent this long is forgotten (it is long out of `listNodes` by then). */
const NODE_FORGET_MS = 24 * 3_600_000;

/** Rows per INSERT when importing. */
const IMPORT_BATCH = 500;

/** `importAll` into a store that already has tasks: a migration would mix two queues. */
export class StoreNotEmptyError extends Error {
  override name = 'StoreNotEmptyError';
  readonly code = 'ERR_STORE_NOT_EMPTY';
}

interface Row { doc: TaskRecord }

export class PgTaskStore implements TaskStore {
  readonly #options: PgStoreOptions;
  #pool?: pg.Pool;
  #feed?: PgChangeFeed;
  readonly #watchers = new Set<(change: TaskChange) => void>();
  readonly #resyncs = new Set<() => void>();

  constructor(options: PgStoreOptions) {
    this.#options = options;
  }

  get #db(): pg.Pool {
    if (!this.#pool) throw new Error('task store is not open');
    return this.#pool;
  }

  async open(): Promise<void> {
    const url = this.#options.url;
    const queryMs = this.#options.queryTimeoutMs ?? 10_000;
    const config: pg.ClientConfig = {
      connectionString: url,
      connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 5_000,
      keepAlive: true,
    };
    const pooled: pg.ClientConfig = {
      ...config,
      statement_timeout: queryMs,
      idle_in_transaction_session_timeout: queryMs,
      // The client's own limit, past the server's: a server that stopped answering altogether.
      query_timeout: queryMs + 2_000,
    };
    const pool = new pg.Pool({ ...pooled, max: this.#options.poolSize ?? 10 });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    // A checked-out client has no pool listener: a server shutting down (57P01) would emit an unhandled
    // 'error' and end the process. The query under way gets the error too, and reports it.
    pool.on('connect', (client) => { client.on('error', () => undefined); });
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new StoreConnectError(`cannot connect to the PostgreSQL store ${maskUrl(url)}: ${(err as Error).message || (err as { code?: string }).code}`, { cause: err });
    }
    const feed = new PgChangeFeed({ client: config, channel: TASK_CHANNEL, onChange: (change) => this.#emit(change), onReconnect: () => this.#resync() });
    try {
      await migrate(client, url);
      await feed.start();
    } catch (err) {
      await feed.stop();
      await pool.end().catch(() => undefined);
      if (err instanceof StoreConnectError) throw err;
      throw new StoreConnectError(`cannot set up the PostgreSQL store ${maskUrl(url)}: ${(err as Error).message}`, { cause: err });
    } finally {
      client.release();
    }
    this.#pool = pool;
    this.#feed = feed;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await this.#feed?.stop();
    this.#feed = undefined;
    await pool?.end();
  }

  #resync(): void {
    for (const listener of this.#resyncs) {
      try {
        listener();
      } catch { /* as in #emit */ }
    }
  }

  #emit(change: TaskChange): void {
    for (const listener of this.#watchers) {
      try {
        listener(change);
      } catch { /* one watcher's fault is not the feed's */ }
    }
  }

  /** The error a caller gets: a database that is away becomes StoreUnavailableError, anything else stays as it was. */
  #unavailable(err: unknown): unknown {
    if (err instanceof StoreUnavailableError || !isAway(err)) return err;
    const why = (err as Error).message || (err as { code?: string }).code || 'no answer';
    return new StoreUnavailableError(`the PostgreSQL store ${maskUrl(this.#options.url)} is unavailable (${why.replace(/\s+/g, ' ')}); try again shortly`, { cause: err });
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#db.query<R>(sql, params);
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  async #tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.#inTx(fn);
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  async #inTx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#db.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => { broken = e; });
      throw err;
    } finally {
      // A connection that cannot even roll back is dropped, not handed to the next caller.
      client.release(broken);
    }
  }

  /**
   * Merges `set` into the task's document (only while `fence` holds the lease, when given) and brings the
   * filter columns in line with the result; inside the caller's transaction. Undefined when no row matched.
   */
  async #merge(client: pg.PoolClient, id: number, set: TaskPatch, fence?: LeaseRef): Promise<TaskRecord | undefined> {
    const params: unknown[] = [id, JSON.stringify(set)];
    let where = 'id = $1';
    if (fence) {
      params.push(fence.node, fence.epoch);
      where += ' AND node = $3 AND lease_epoch = $4';
    }
    const { rows } = await client.query<Row>(`UPDATE m3u8dm_tasks SET doc = doc || $2::jsonb WHERE ${where} RETURNING doc`, params);
    const doc = rows[0]?.doc;
    if (!doc) return undefined;
    // Same transaction and same row: the trigger's two identical notifications are delivered as one.
    await client.query(
      `UPDATE m3u8dm_tasks SET status = $2, source = $3, search = $4, start_at = $5, node = $6, lease_epoch = $7, lease_expires_at = $8
       WHERE id = $1`, [id, ...columns(doc)]);
    return doc;
  }

  async create(task: NewTask): Promise<TaskRecord> {
    const now = new Date().toISOString();
    // One statement: the id comes from the sequence (a rolled-back insert burns it, never reuses it).
    const { rows } = await this.#query<Row>(
      `WITH next AS (SELECT nextval('m3u8dm_task_id_seq') AS id)
       INSERT INTO m3u8dm_tasks (id, status, source, search, start_at, node, lease_epoch, lease_expires_at, doc)
       SELECT id, $1, $2, $3, $4, $5, $6, $7, $8::jsonb || jsonb_build_object('id', id) FROM next
       RETURNING doc`,
      [...columns(task), JSON.stringify({ ...task, created_at: now, updated_at: now })],
    );
    return rows[0]!.doc;
  }

  async get(id: number): Promise<TaskRecord | null> {
    if (!validId(id)) return null;
    const { rows } = await this.#query<Row>('SELECT doc FROM m3u8dm_tasks WHERE id = $1', [id]);
    return rows[0]?.doc ?? null;
  }

  #where(filter: TaskFilter): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      parts.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.status !== undefined) add('status = ANY(?::text[])', Array.isArray(filter.status) ? filter.status : [filter.status]);
    if (filter.source) add('source = ?', filter.source);
    if (filter.dueBy !== undefined) add('start_at <= ?', filter.dueBy);
    // Lower-cased here, as in the nedb store, so both agree on every character.
    if (filter.q) add('strpos(search, ?) > 0', filter.q.toLowerCase());
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  async list(filter: TaskFilter = {}, page?: TaskPage): Promise<TaskList> {
    const { sql, params } = this.#where(filter);
    const order = page?.order === 'desc' ? 'DESC' : 'ASC';
    const paging = page ? ` OFFSET ${Math.max(0, Math.trunc(page.offset))} LIMIT ${Math.max(0, Math.trunc(page.limit))}` : '';
    const [{ rows }, count] = await Promise.all([
      this.#query<Row>(`SELECT doc FROM m3u8dm_tasks ${sql} ORDER BY id ${order}${paging}`, params),
      this.#query<{ n: string }>(`SELECT count(*) AS n FROM m3u8dm_tasks ${sql}`, params),
    ]);
    return { tasks: rows.map((r) => r.doc), total: Number(count.rows[0]!.n) };
  }

  async patch(id: number, patch: TaskPatch): Promise<TaskRecord | null> {
    if (!validId(id)) return null;
    const set = { updated_at: new Date().toISOString(), ...patchable(patch) };
    return (await this.#tx((client) => this.#merge(client, id, set))) ?? null;
  }

  async delete(id: number): Promise<boolean> {
    if (!validId(id)) return false;
    const { rowCount } = await this.#query('DELETE FROM m3u8dm_tasks WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Copies whole records in, ids kept, with the settings (`m3u8dm migrate`): all in one transaction, refused
   * with StoreNotEmptyError when the table already has a task; the id sequence then continues past the
   * highest id, so new tasks never reuse one.
   */
  async importAll({ tasks, settings, integrations }: StoreImport): Promise<void> {
    await this.#tx(async (client) => {
      // Nobody may add a task between the check and the copy.
      await client.query('LOCK TABLE m3u8dm_tasks IN EXCLUSIVE MODE');
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM m3u8dm_tasks');
      const present = Number(rows[0]!.n);
      if (present > 0) throw new StoreNotEmptyError(`the PostgreSQL store ${maskUrl(this.#options.url)} already has ${present} task${present === 1 ? '' : 's'}; migrate only into an empty one`);
      for (let at = 0; at < tasks.length; at += IMPORT_BATCH) {
        const batch = tasks.slice(at, at + IMPORT_BATCH);
        const cols = batch.map((t) => columns(t));
        const col = (i: number) => cols.map((c) => c[i]);
        await client.query(
          `INSERT INTO m3u8dm_tasks (id, status, source, search, start_at, node, lease_epoch, lease_expires_at, doc)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::jsonb[])`,
          [batch.map((t) => t.id), col(0), col(1), col(2), col(3), col(4), col(5), col(6), batch.map((t) => JSON.stringify(t))]);
      }
      const top = tasks.reduce((m, t) => Math.max(m, t.id), 0);
      if (top > 0) {
        await client.query(
          `SELECT setval('m3u8dm_task_id_seq', GREATEST($1::bigint, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM m3u8dm_task_id_seq)))`, [top]);
      }
      for (const [key, value] of [[SETTINGS_KEY, settings], [INTEGRATIONS_KEY, integrations]] as const) {
        if (value) await client.query(META_UPSERT, [key, JSON.stringify(value)]);
      }
    });
  }

  // ---- leases (TaskLeases) ---------------------------------------------------

  async claim(node: string, request: ClaimRequest): Promise<TaskRecord[]> {
    const { now, leaseMs, max, patch } = request;
    if (max <= 0) return [];
    const expires = Math.round(now + leaseMs);
    const set = { updated_at: new Date().toISOString(), ...patchable(patch) };
    const claimed = await this.#tx(async (client) => {
      // Rows another claimer has locked are skipped, not waited for: it is taking them.
      const { rows } = await client.query<{ id: string; lease_epoch: string }>(
        `SELECT id, lease_epoch FROM m3u8dm_tasks
         WHERE status = $1 AND start_at <= $2 AND (node IS NULL OR COALESCE(lease_expires_at, 0) < $2)
         ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [TaskStatus.waiting, Math.trunc(now), Math.trunc(max)]);
      const done: TaskRecord[] = [];
      for (const row of rows) {
        const doc = await this.#merge(client, Number(row.id), { ...set, node, lease_epoch: Number(row.lease_epoch) + 1, lease_expires_at: expires });
        if (doc) done.push(doc);
      }
      return done;
    });
    return claimed;
  }

  async renew(leases: readonly LeaseRef[], now: number, leaseMs: number): Promise<{ held: number[]; lost: number[] }> {
    const valid = leases.filter((l) => validId(l.id));
    const heldSet = new Set<number>();
    if (valid.length > 0) {
      const expires = Math.round(now + leaseMs);
      const { rows } = await this.#query<{ id: string }>(
        `UPDATE m3u8dm_tasks t SET lease_expires_at = $4,
           doc = t.doc || jsonb_build_object('lease_expires_at', $4::bigint, 'updated_at', $5::text)
         FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS l(id, node, epoch)
         WHERE t.id = l.id AND t.node = l.node AND t.lease_epoch = l.epoch
         RETURNING t.id`,
        [valid.map((l) => l.id), valid.map((l) => l.node), valid.map((l) => l.epoch), expires, new Date().toISOString()]);
      for (const r of rows) heldSet.add(Number(r.id));
    }
    const held: number[] = [];
    const lost: number[] = [];
    for (const l of leases) (heldSet.has(l.id) ? held : lost).push(l.id);
    return { held, lost };
  }

  patchLeased(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null> {
    return this.#fenced(lease, patchable(patch));
  }

  release(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null> {
    return this.#fenced(lease, { ...patchable(patch), node: null, lease_expires_at: null });
  }

  async #fenced(lease: LeaseRef, patch: TaskPatch): Promise<TaskRecord | 'lost' | null> {
    if (!validId(lease.id)) return null;
    const set = { updated_at: new Date().toISOString(), ...patch };
    return this.#tx(async (client) => {
      const doc = await this.#merge(client, lease.id, set, lease);
      if (doc) return doc;
      const { rowCount } = await client.query('SELECT 1 FROM m3u8dm_tasks WHERE id = $1', [lease.id]);
      return (rowCount ?? 0) > 0 ? 'lost' : null;
    });
  }

  async reclaimExpired(now: number): Promise<Reclaimed> {
    const expired = 'node IS NOT NULL AND lease_expires_at < $1';
    const unleased = { node: null, lease_expires_at: null, desired: null, updated_at: new Date().toISOString() };
    const ids = (rows: { id: string }[]) => rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    // One transaction, each step one statement: a concurrent reclaim or renew of the same row waits for
    // this one and then sees it done. The pending command decides, so the pause and delete steps go first.
    return this.#tx(async (client) => {
      const deleted = await client.query<Row>(
        `DELETE FROM m3u8dm_tasks WHERE ${expired} AND doc->>'desired' = 'delete' RETURNING doc`, [Math.trunc(now)]);
      const paused = await client.query<{ id: string }>(
        `UPDATE m3u8dm_tasks SET status = $2, node = NULL, lease_expires_at = NULL, doc = doc || $3::jsonb
         WHERE ${expired} AND doc->>'desired' = 'pause' RETURNING id`,
        [Math.trunc(now), RECLAIMED_PAUSE.status, JSON.stringify({ ...RECLAIMED_PAUSE, ...unleased })]);
      const waiting = await client.query<{ id: string }>(
        `UPDATE m3u8dm_tasks SET status = $2, node = NULL, lease_expires_at = NULL, doc = doc || $3::jsonb
         WHERE ${expired} RETURNING id`,
        [Math.trunc(now), TaskStatus.waiting, JSON.stringify({ status: TaskStatus.waiting, phase: 'queued', ...unleased })]);
      return { waiting: ids(waiting.rows), paused: ids(paused.rows), deleted: deleted.rows.map((r) => r.doc).sort((a, b) => a.id - b.id) };
    });
  }

  async touchNode(node: NodeBeat): Promise<void> {
    await this.#query(
      `INSERT INTO m3u8dm_nodes (id, seen_at, max_active, running) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at, max_active = EXCLUDED.max_active, running = EXCLUDED.running`,
      [node.id, Math.round(node.seen_at), Math.trunc(node.max_active), Math.trunc(node.running)]);
    // Every restart with the default id (hostname + pid) is a new node: the long-gone ones are dropped.
    await this.#query('DELETE FROM m3u8dm_nodes WHERE seen_at < $1', [Math.round(node.seen_at) - NODE_FORGET_MS]);
  }

  async listNodes(aliveSince: number): Promise<NodeBeat[]> {
    const { rows } = await this.#query<{ id: string; seen_at: string; max_active: number; running: number }>(
      'SELECT id, seen_at, max_active, running FROM m3u8dm_nodes WHERE seen_at >= $1 ORDER BY id', [Math.trunc(aliveSince)]);
    return rows.map((r) => ({ id: r.id, seen_at: Number(r.seen_at), max_active: r.max_active, running: r.running }));
  }

  watch(listener: (change: TaskChange) => void, onResync?: () => void): () => void {
    // A wrapper per call, so the same function watching twice is two subscriptions (as with an EventEmitter).
    const one = (change: TaskChange) => listener(change);
    const again = onResync ? () => onResync() : undefined;
    this.#watchers.add(one);
    if (again) this.#resyncs.add(again);
    return () => {
      this.#watchers.delete(one);
      if (again) this.#resyncs.delete(again);
    };
  }

  async countByStatus(): Promise<Record<TaskStatus, number>> {
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const { rows } = await this.#query<{ status: TaskStatus; n: string }>('SELECT status, count(*) AS n FROM m3u8dm_tasks GROUP BY status');
    for (const r of rows) if (r.status in counts) counts[r.status] = Number(r.n);
    return counts;
  }

  async nextStartAfter(after: number): Promise<number | null> {
    const { rows } = await this.#query<{ t: string | null }>(
      'SELECT min(start_at) AS t FROM m3u8dm_tasks WHERE status = $1 AND start_at > $2', [TaskStatus.waiting, Math.trunc(after)]);
    return rows[0]?.t == null ? null : Number(rows[0].t);
  }

  async #getMeta<T>(key: string): Promise<T | null> {
    const { rows } = await this.#query<{ value: T }>('SELECT value FROM m3u8dm_meta WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async #setMeta(key: string, value: unknown): Promise<void> {
    await this.#query(META_UPSERT, [key, JSON.stringify(value)]);
  }

  getSettings(): Promise<Partial<SystemSettings> | null> {
    return this.#getMeta(SETTINGS_KEY);
  }

  saveSettings(settings: DownloadSettings & Partial<SystemSettings>): Promise<void> {
    return this.#setMeta(SETTINGS_KEY, settings);
  }

  getIntegrationSettings(): Promise<IntegrationSettings | null> {
    return this.#getMeta(INTEGRATIONS_KEY);
  }

  saveIntegrationSettings(settings: IntegrationSettings): Promise<void> {
    return this.#setMeta(INTEGRATIONS_KEY, settings);
  }
}
