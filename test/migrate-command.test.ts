// `m3u8dm migrate` through the built CLI: an embedded store's tasks (ids kept), settings and
// integration settings land in an empty PostgreSQL store; a second run, a missing data dir, a data dir
// in use and a target that is not PostgreSQL are each refused in one line.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntegrationSettings } from '../src/manager/integration-settings.js';
import { DEFAULT_SETTINGS } from '../src/manager/settings.js';
import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import { PgTaskStore } from '../src/store/pg-task-store.js';
import { TaskStatus, type TaskRecord } from '../src/types.js';
import { killCliChildren, runCli } from './helpers/cli-run.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';
import { newTask } from './helpers/store-contract.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';

let cluster: PgCluster;
let dir: TempDir;
beforeAll(async () => {
  cluster = await startPgCluster();
  dir = await tempDir('m3u8dm-migrate-');
}, 180_000);
afterAll(async () => {
  killCliChildren();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await cluster?.stop();
  await dir.cleanup();
}, 60_000);

const integrations: IntegrationSettings = {
  webhooks: [{ url: 'http://127.0.0.1:9/hook', events: ['task.completed'], secret: 's' }], on_complete: ['/bin/true'], on_fail: [],
};

/** An embedded store as a stopped service leaves it: a gap in the ids, one task caught mid-download. */
async function seedEmbedded(dataDir: string): Promise<TaskRecord[]> {
  const store = new NedbTaskStore({ dataDir });
  await store.open();
  try {
    const made: TaskRecord[] = [];
    for (const over of [{ filename: 'a.mp4' }, { filename: 'gone.mp4' }, { filename: 'b.mp4', status: TaskStatus.completed, progress: 100 },
      { filename: 'c.mp4', status: TaskStatus.downloading, phase: 'downloading' as const, progress: 40, speed_bps: 1000 }, { filename: 'd.mp4', status: TaskStatus.paused }]) {
      made.push(await store.create(newTask(over)));
    }
    await store.delete(made[1]!.id);
    await store.saveSettings({ ...DEFAULT_SETTINGS, download_threads: 9 });
    await store.saveIntegrationSettings(integrations);
    return (await store.list()).tasks;
  } finally {
    await store.close();
  }
}

describe('m3u8dm migrate', () => {
  it('copies tasks with their ids, settings and integration settings; new ids continue after the highest', async () => {
    const dataDir = path.join(dir.path, 'one');
    const before = await seedEmbedded(dataDir);
    const url = await cluster.createDatabase('migrate_one');
    const r = await runCli(['migrate', '--from', dataDir, '--to', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`copied 4 tasks, 1 settings record and 1 integration settings record from ${dataDir} to ${url}; new task ids continue after 5\n`);
    const pg = new PgTaskStore({ url });
    await pg.open();
    try {
      const after = (await pg.list()).tasks;
      expect(after.map((t) => t.id)).toEqual([1, 3, 4, 5]);
      for (const t of before) {
        const copied = after.find((a) => a.id === t.id)!;
        // The task caught mid-download is queued again (as its service would at its next start); the rest as they were.
        if (t.status === TaskStatus.downloading) {
          expect(copied).toMatchObject({ ...t, status: TaskStatus.waiting, phase: 'queued', speed_bps: 0, eta_s: null, node: null });
        } else {
          expect(copied).toMatchObject(t);
        }
      }
      expect((await pg.list({ status: TaskStatus.waiting })).tasks.map((t) => t.id)).toEqual([1, 4]);
      expect((await pg.getSettings())?.download_threads).toBe(9);
      expect(await pg.getIntegrationSettings()).toEqual(integrations);
      expect((await pg.create(newTask())).id).toBe(6);
      // The copied waiting tasks are claimable like any other.
      const claimed = await pg.claim('n1', { now: Date.now(), leaseMs: 30_000, max: 10, patch: { status: TaskStatus.downloading } });
      expect(claimed.map((t) => t.id)).toEqual([1, 4, 6]);
    } finally {
      await pg.close();
    }

    // A second run would mix two queues: refused, nothing written.
    const again = await runCli(['migrate', '--from', dataDir, '--to', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`m3u8dm: the PostgreSQL store ${url} already has 5 tasks; migrate only into an empty one\n`);
    expect(again.stdout).toBe('');
  }, 60_000);

  it('refuses a folder without data, a data dir a service uses, and a target that is not PostgreSQL', async () => {
    const url = await cluster.createDatabase('migrate_refused');
    const empty = path.join(dir.path, 'nothing-here');
    const none = await runCli(['migrate', '--from', empty, '--to', url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`m3u8dm: ${empty} holds no m3u8dm data (no tasks.db); pass the service's M3U8DM_DATA_DIR as --from\n`);

    const busyDir = path.join(dir.path, 'busy');
    await seedEmbedded(busyDir);
    const running = new NedbTaskStore({ dataDir: busyDir }); // holds the lock, as a running service does
    await running.open();
    try {
      const busy = await runCli(['migrate', '--from', busyDir, '--to', url]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/^m3u8dm: another m3u8dm \(pid \d+\) is using the data dir .*\n$/);
    } finally {
      await running.close();
    }

    const nedb = await runCli(['migrate', '--from', busyDir, '--to', 'nedb']);
    expect(nedb.code).toBe(2);
    expect(nedb.stderr).toContain('--to must be a postgres://');
    const bad = await runCli(['migrate', '--from', busyDir, '--to', 'mysql://me:secret@h/db']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^m3u8dm: --to must be `nedb` or a postgres:\/\/user:pass@host:port\/db URL, got `mysql:\/\/me:\*\*\*@h\/db`\n$/);
    const dead = await runCli(['migrate', '--from', busyDir, '--to', 'postgres://me:secret@127.0.0.1:1/db']);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/^m3u8dm: cannot connect to the PostgreSQL store postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/db: .+\n$/);
    // Nothing reached the database a refusal was about.
    const pg = new PgTaskStore({ url });
    await pg.open();
    expect((await pg.list()).total).toBe(0);
    await pg.close();
  }, 60_000);
});
