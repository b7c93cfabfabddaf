import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgTaskStore, StoreConnectError } from '../src/store/pg-task-store.js';
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

describe('PgTaskStore', () => {
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
