// `m3u8dm migrate`: an embedded (nedb) store's tasks, settings and integration settings copied into
// PostgreSQL, ids kept, so one machine's queue can become the shared queue of several instances.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { TaskStatus, type TaskRecord } from '../types.js';
import { NedbTaskStore } from './nedb-task-store.js';
import { PgTaskStore } from './pg-task-store.js';

export interface CopyCounts {
  tasks: number;
  /** 1 when the source had saved settings, else 0 (likewise for integrations). */
  settings: number;
  integrations: number;
  /** The highest id copied (new tasks continue after it); 0 when none. */
  topId: number;
}

/** The data dir holds no embedded store to copy. */
export class NoEmbeddedStoreError extends Error {
  override name = 'NoEmbeddedStoreError';
  readonly code = 'ERR_NO_EMBEDDED_STORE';
}

/**
 * A task as it enters the shared queue: one that was running when its service stopped waits again (its
 * service would have done the same at its next start), and no lease of the old single node comes along.
 */
function asQueued(task: TaskRecord): TaskRecord {
  const moved: TaskRecord = { ...task, node: null, lease_expires_at: null, desired: null };
  return task.status === TaskStatus.downloading
    ? { ...moved, status: TaskStatus.waiting, phase: 'queued', speed_bps: 0, eta_s: null }
    : moved;
}

export async function copyNedbToPostgres(fromDir: string, toUrl: string): Promise<CopyCounts> {
  const dataDir = path.resolve(fromDir);
  // Opening would create an empty store: a mistyped folder must not "migrate" nothing.
  await access(path.join(dataDir, 'tasks.db')).catch(() => {
    throw new NoEmbeddedStoreError(`${dataDir} holds no m3u8dm data (no tasks.db); pass the service's M3U8DM_DATA_DIR as --from`);
  });
  // Takes the data dir's lock: a service still running on it is refused (its queue would move on without us).
  const from = new NedbTaskStore({ dataDir });
  await from.open();
  try {
    const to = new PgTaskStore({ url: toUrl, poolSize: 2 });
    await to.open();
    try {
      const { tasks } = await from.list();
      const settings = await from.getSettings();
      const integrations = await from.getIntegrationSettings();
      await to.importAll({ tasks: tasks.map(asQueued), settings, integrations });
      return { tasks: tasks.length, settings: settings ? 1 : 0, integrations: integrations ? 1 : 0, topId: tasks.at(-1)?.id ?? 0 };
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
