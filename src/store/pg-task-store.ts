// The shared store: tasks, settings and integration settings in PostgreSQL, so several
// service instances can use one database. Same semantics as the nedb store (ids from a
// sequence: positive, creation order, never reused). Schema migrations are versioned and
// run at open under an advisory lock, so instances starting together migrate once.
import pg from 'pg';
import type { IntegrationSettings } from '../manager/integration-settings.js';
import { TASK_STATUSES, TaskStatus, type DownloadSettings, type SystemSettings, type TaskRecord } from '../types.js';
import type { NewTask, TaskFilter, TaskList, TaskPage, TaskPatch, TaskRecords } from './task-store.js';

export interface PgStoreOptions {
  /** postgres://user:pass@host:port/db */
  url: string;
  /** Connections in the pool. @defaultValue 10 */
  poolSize?: number;
}

/** The store could not reach or set up its database; the message names the URL (password masked). */
export class StoreConnectError extends Error {
  override name = 'StoreConnectError';
  readonly code = 'ERR_STORE_CONNECT';
}

/** The URL as it may be shown: the password replaced. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Any fixed number: the lock only serialises m3u8dm's own migrations. */
const MIGRATION_LOCK = 0x6d33_7538;

/** Append-only: a released version is never edited, a change is a new entry. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE m3u8dm_tasks (
     id bigint PRIMARY KEY,
     status text NOT NULL,
     source text NOT NULL,
     search text NOT NULL,
     start_at bigint NOT NULL DEFAULT 0,
     doc jsonb NOT NULL
   );
   CREATE SEQUENCE m3u8dm_task_id_seq AS bigint MINVALUE 1 START 1;
   CREATE INDEX m3u8dm_tasks_status ON m3u8dm_tasks (status, id);
   CREATE TABLE m3u8dm_meta (key text PRIMARY KEY, value jsonb NOT NULL);`,
];

const SETTINGS_KEY = 'settings';
const INTEGRATIONS_KEY = 'integrations';

/** The columns a list filters on, derived exactly as the nedb store's index does. */
function columns(t: Pick<TaskRecord, 'status' | 'source' | 'url' | 'filename' | 'start_time'>) {
  return {
    status: t.status,
    source: t.source,
    search: `${t.url}\n${t.filename}`.toLowerCase(),
    startAt: t.start_time ? Date.parse(t.start_time) || 0 : 0,
  };
}

interface Row { doc: TaskRecord }

// The lease operations (TaskLeases) are not implemented yet, so it cannot yet back the service.
export class PgTaskStore implements TaskRecords {
  readonly #options: PgStoreOptions;
  #pool?: pg.Pool;

  constructor(options: PgStoreOptions) {
    this.#options = options;
  }

  get #db(): pg.Pool {
    if (!this.#pool) throw new Error('task store is not open');
    return this.#pool;
  }

  async open(): Promise<void> {
    const pool = new pg.Pool({ connectionString: this.#options.url, max: this.#options.poolSize ?? 10, connectionTimeoutMillis: 10_000 });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new StoreConnectError(`cannot connect to the PostgreSQL store ${maskUrl(this.#options.url)}: ${(err as Error).message || (err as { code?: string }).code}`, { cause: err });
    }
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS m3u8dm_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM m3u8dm_schema');
      const current = rows[0]?.v ?? 0;
      if (current > MIGRATIONS.length) {
        throw new StoreConnectError(`the PostgreSQL store ${maskUrl(this.#options.url)} has schema version ${current}, newer than this m3u8dm knows (${MIGRATIONS.length}); upgrade m3u8dm`);
      }
      for (let v = current + 1; v <= MIGRATIONS.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[v - 1]!);
          await client.query('INSERT INTO m3u8dm_schema (version) VALUES ($1)', [v]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } catch (err) {
      client.release();
      await pool.end().catch(() => undefined);
      if (err instanceof StoreConnectError) throw err;
      throw new StoreConnectError(`cannot set up the PostgreSQL store ${maskUrl(this.#options.url)}: ${(err as Error).message}`, { cause: err });
    }
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
    this.#pool = pool;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  async create(task: NewTask): Promise<TaskRecord> {
    const now = new Date().toISOString();
    // One statement: the id comes from the sequence (a rolled-back insert burns it, never reuses it).
    const c = columns(task);
    const { rows } = await this.#db.query<Row>(
      `WITH next AS (SELECT nextval('m3u8dm_task_id_seq') AS id)
       INSERT INTO m3u8dm_tasks (id, status, source, search, start_at, doc)
       SELECT id, $1, $2, $3, $4, $5::jsonb || jsonb_build_object('id', id) FROM next
       RETURNING doc`,
      [c.status, c.source, c.search, c.startAt, JSON.stringify({ ...task, created_at: now, updated_at: now })],
    );
    return rows[0]!.doc;
  }

  async get(id: number): Promise<TaskRecord | null> {
    if (!Number.isSafeInteger(id) || id <= 0) return null;
    const { rows } = await this.#db.query<Row>('SELECT doc FROM m3u8dm_tasks WHERE id = $1', [id]);
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
      this.#db.query<Row>(`SELECT doc FROM m3u8dm_tasks ${sql} ORDER BY id ${order}${paging}`, params),
      this.#db.query<{ n: string }>(`SELECT count(*) AS n FROM m3u8dm_tasks ${sql}`, params),
    ]);
    return { tasks: rows.map((r) => r.doc), total: Number(count.rows[0]!.n) };
  }

  async patch(id: number, patch: TaskPatch): Promise<TaskRecord | null> {
    if (!Number.isSafeInteger(id) || id <= 0) return null;
    const { id: _id, created_at: _created, ...rest } = patch as TaskPatch & { id?: unknown; created_at?: unknown };
    const set = { updated_at: new Date().toISOString(), ...rest };
    const client = await this.#db.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<Row>(
        'UPDATE m3u8dm_tasks SET doc = doc || $2::jsonb WHERE id = $1 RETURNING doc', [id, JSON.stringify(set)]);
      const doc = rows[0]?.doc;
      if (!doc) {
        await client.query('ROLLBACK');
        return null;
      }
      const c = columns(doc);
      await client.query('UPDATE m3u8dm_tasks SET status = $2, source = $3, search = $4, start_at = $5 WHERE id = $1', [id, c.status, c.source, c.search, c.startAt]);
      await client.query('COMMIT');
      return doc;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async delete(id: number): Promise<boolean> {
    if (!Number.isSafeInteger(id) || id <= 0) return false;
    const { rowCount } = await this.#db.query('DELETE FROM m3u8dm_tasks WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async countByStatus(): Promise<Record<TaskStatus, number>> {
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const { rows } = await this.#db.query<{ status: TaskStatus; n: string }>('SELECT status, count(*) AS n FROM m3u8dm_tasks GROUP BY status');
    for (const r of rows) if (r.status in counts) counts[r.status] = Number(r.n);
    return counts;
  }

  async nextStartAfter(after: number): Promise<number | null> {
    const { rows } = await this.#db.query<{ t: string | null }>(
      'SELECT min(start_at) AS t FROM m3u8dm_tasks WHERE status = $1 AND start_at > $2', [TaskStatus.waiting, Math.trunc(after)]);
    return rows[0]?.t == null ? null : Number(rows[0].t);
  }

  async #getMeta<T>(key: string): Promise<T | null> {
    const { rows } = await this.#db.query<{ value: T }>('SELECT value FROM m3u8dm_meta WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async #setMeta(key: string, value: unknown): Promise<void> {
    await this.#db.query('INSERT INTO m3u8dm_meta (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, JSON.stringify(value)]);
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
