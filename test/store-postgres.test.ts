import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { MIGRATIONS } from '../src/store/pg-schema.js';
import { PgTaskStore, StoreConnectError } from '../src/store/pg-task-store.js';
import type { TaskChange } from '../src/store/task-store.js';
import { TaskStatus } from '../src/types.js';
import { leaseContract } from './helpers/lease-contract.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';
import { newTask, storeContract } from './helpers/store-contract.js';

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 180_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await cluster?.stop();
}, 60_000);

let dbCount = 0;
storeContract('PgTaskStore', () => {
  let url: string | undefined;
  const opened: PgTaskStore[] = [];
  const openOn = async (u: string) => {
    const s = new PgTaskStore({ url: u, poolSize: 4 });
    await s.open();
    opened.push(s);
    return s;
  };
  return {
    async fresh() {
      url = await cluster.createDatabase(`contract_${++dbCount}`);
      return openOn(url);
    },
    reopen: () => openOn(url!),
    async cleanup() { /* each case has its own database; the cluster goes at the end */ },
  };
});

leaseContract('PgTaskStore', async () => {
  const store = new PgTaskStore({ url: await cluster.createDatabase(`leases_${++dbCount}`), poolSize: 4 });
  await store.open();
  return { store, cleanup: () => store.close() };
});

/** Waits (bounded) until `done()` holds: notifications arrive after the write's commit. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
}

describe('PgTaskStore', () => {
  it('never gives one task to two store clients claiming at once', async () => {
    const url = await cluster.createDatabase('two_claimers');
    const stores = [new PgTaskStore({ url, poolSize: 4 }), new PgTaskStore({ url, poolSize: 4 })];
    await Promise.all(stores.map((s) => s.open()));
    try {
      for (let i = 0; i < 40; i++) await stores[0]!.create(newTask());
      const now = Date.now();
      const patch = { status: TaskStatus.downloading };
      // Several claims per client in flight together, each asking for more than its share.
      const rounds = await Promise.all(stores.flatMap((s, n) => Array.from({ length: 4 }, () => s.claim(`node${n}`, { now, leaseMs: 30_000, max: 7, patch }))));
      const ids = rounds.flat().map((t) => t.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(40);
      const byNode = new Map<string, number>();
      for (const t of (await stores[1]!.list()).tasks) byNode.set(t.node!, (byNode.get(t.node!) ?? 0) + 1);
      // What each client was given is what the database says it holds.
      for (let n = 0; n < stores.length; n++) {
        expect(byNode.get(`node${n}`) ?? 0).toBe(rounds.slice(n * 4, n * 4 + 4).flat().length);
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 60_000);

  it('tells a watcher of changes another store client made, and stops after unsubscribe', async () => {
    const url = await cluster.createDatabase('watch_across');
    const [writer, reader] = [new PgTaskStore({ url }), new PgTaskStore({ url })];
    await Promise.all([writer.open(), reader.open()]);
    try {
      const seen: TaskChange[] = [];
      const all: TaskChange[] = []; // a second watcher, to know when the later changes have arrived
      const stop = reader.watch((c) => seen.push(c));
      reader.watch((c) => all.push(c));
      const t = await writer.create(newTask());
      const [leased] = await writer.claim('w', { now: Date.now(), leaseMs: 30_000, max: 1, patch: {} });
      await writer.release({ id: t.id, node: 'w', epoch: leased!.lease_epoch! }, { status: TaskStatus.paused });
      await until(() => seen.length >= 3);
      expect(seen).toEqual([{ kind: 'created', id: t.id }, { kind: 'updated', id: t.id }, { kind: 'updated', id: t.id }]);
      stop();
      await writer.delete(t.id);
      await until(() => all.length >= 4);
      expect(all.at(-1)).toEqual({ kind: 'deleted', id: t.id });
      expect(seen).toHaveLength(3);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  }, 60_000);

  it('migrates once when two instances open the same database at the same time', async () => {
    const url = await cluster.createDatabase('twice');
    const stores = [new PgTaskStore({ url }), new PgTaskStore({ url })];
    await Promise.all(stores.map((s) => s.open()));
    const a = await stores[0]!.create(newTask());
    const b = await stores[1]!.create(newTask());
    expect([a.id, b.id]).toEqual([1, 2]);
    expect((await stores[1]!.get(1))?.id).toBe(1);
    await Promise.all(stores.map((s) => s.close()));
  }, 60_000);

  it('upgrades a version-1 database in place: lease columns filled from the records, leases then work', async () => {
    const url = await cluster.createDatabase('from_v1');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(MIGRATIONS[0]!);
      await client.query('CREATE TABLE m3u8dm_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      await client.query('INSERT INTO m3u8dm_schema (version) VALUES (1)');
      const doc = (id: number, over: object) => JSON.stringify({ ...newTask(), id, created_at: '2030-01-01T00:00:00.000Z', updated_at: '2030-01-01T00:00:00.000Z', ...over });
      await client.query(`INSERT INTO m3u8dm_tasks (id, status, source, search, doc) VALUES
        (1, $1, 'api', 'x', $2::jsonb), (2, $1, 'api', 'x', $3::jsonb)`,
      [TaskStatus.waiting, doc(1, {}), doc(2, { node: 'old', lease_epoch: 4, lease_expires_at: 1 })]);
      await client.query("SELECT setval('m3u8dm_task_id_seq', 2)");
    } finally {
      await client.end();
    }
    const store = new PgTaskStore({ url });
    await store.open();
    try {
      // Task 2's old lease expired long ago: reclaimed, and the next claim raises its epoch past 4.
      expect(await store.reclaimExpired(Date.now())).toEqual({ waiting: [2], paused: [], deleted: [] });
      const claimed = await store.claim('n', { now: Date.now(), leaseMs: 30_000, max: 5, patch: {} });
      expect(claimed.map((t) => [t.id, t.lease_epoch])).toEqual([[1, 1], [2, 5]]);
      expect((await store.create(newTask())).id).toBe(3);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('reports an unreachable database in one line, password masked', async () => {
    const store = new PgTaskStore({ url: `postgres://me:secret@127.0.0.1:1/nothing` });
    const err = await store.open().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConnectError);
    const message = (err as Error).message;
    expect(message).toContain('postgres://me:***@127.0.0.1:1/nothing');
    expect(message).not.toContain('secret');
    expect(message).not.toContain('\n');
  }, 30_000);
});
