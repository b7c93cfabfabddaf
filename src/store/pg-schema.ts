// The PostgreSQL store's schema: versioned migrations, run at open under an advisory lock so
// instances starting together migrate once. Append-only: a released version is never edited,
// a change is a new entry.
import type pg from 'pg';
import { maskUrl, StoreConnectError } from './store-errors.js';

/** Any fixed number: the lock only serialises m3u8dm's own migrations. */
const MIGRATION_LOCK = 0x6d33_7538;

/** The channel every change of a task is announced on (payload `{"kind","id"}`, delivered at commit). */
export const TASK_CHANNEL = 'm3u8dm_tasks';

export const MIGRATIONS: readonly string[] = [
  // 1: tasks as documents, with the columns a list filters on beside them.
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
  // 2: leases (which node runs a task), node heartbeats, and a notification on every change of a
  // task, so every instance hears of writes made by the others. A trigger rather than a pg_notify
  // in each statement: no write path can forget it.
  `ALTER TABLE m3u8dm_tasks
     ADD COLUMN node text,
     ADD COLUMN lease_epoch bigint NOT NULL DEFAULT 0,
     ADD COLUMN lease_expires_at bigint;
   UPDATE m3u8dm_tasks SET
     node = doc->>'node',
     lease_epoch = COALESCE((doc->>'lease_epoch')::bigint, 0),
     lease_expires_at = (doc->>'lease_expires_at')::bigint;
   CREATE INDEX m3u8dm_tasks_leased ON m3u8dm_tasks (lease_expires_at) WHERE node IS NOT NULL;
   CREATE TABLE m3u8dm_nodes (
     id text PRIMARY KEY,
     seen_at bigint NOT NULL,
     max_active integer NOT NULL,
     running integer NOT NULL
   );
   CREATE FUNCTION m3u8dm_notify_task() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('${TASK_CHANNEL}', json_build_object(
       'kind', CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END,
       'id', CASE TG_OP WHEN 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
     RETURN NULL;
   END $$;
   CREATE TRIGGER m3u8dm_tasks_notify AFTER INSERT OR UPDATE OR DELETE ON m3u8dm_tasks
     FOR EACH ROW EXECUTE FUNCTION m3u8dm_notify_task();`,
];

/** Brings the database to the newest schema this m3u8dm knows; refuses a newer one. */
export async function migrate(client: pg.ClientBase, url: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS m3u8dm_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM m3u8dm_schema');
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new StoreConnectError(`the PostgreSQL store ${maskUrl(url)} has schema version ${current}, newer than this m3u8dm knows (${MIGRATIONS.length}); upgrade m3u8dm`);
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
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}
