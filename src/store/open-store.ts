// Which store the service runs on, and the one place that builds it: the embedded nedb store in
// the data dir (the default), or PostgreSQL, which several instances can share.
import { NedbTaskStore } from './nedb-task-store.js';
import { PgTaskStore } from './pg-task-store.js';
import { maskUrl } from './store-errors.js';
import type { TaskStore } from './task-store.js';

/** Where tasks and settings live (`M3U8DM_STORE`, `serve --store`). */
export type StoreSpec =
  | { kind: 'nedb' }
  /** `url`: postgres://user:pass@host:port/db (or postgresql://…). */
  | { kind: 'postgres'; url: string };

/** The store for `spec`, not yet opened. */
export function createStore(spec: StoreSpec, dataDir: string): TaskStore {
  return spec.kind === 'postgres' ? new PgTaskStore({ url: spec.url }) : new NedbTaskStore({ dataDir });
}

/**
 * The store for `spec`, opened. Fails with the store's own error (StoreConnectError: an unreachable or
 * unusable database; StoreLockedError: a data dir another process uses), each one line a user can act on.
 */
export async function openStore(spec: StoreSpec, dataDir: string): Promise<TaskStore> {
  const store = createStore(spec, dataDir);
  await store.open();
  return store;
}

/** The store as a log line may name it: never with a password. */
export function describeStore(spec: StoreSpec, dataDir: string): string {
  return spec.kind === 'postgres' ? `PostgreSQL ${maskUrl(spec.url)}` : `nedb in ${dataDir}`;
}
