import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../src/manager/settings.js';
import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import { leaseContract } from './helpers/lease-contract.js';
import { newTask, storeContract } from './helpers/store-contract.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { TaskStatus } from '../src/types.js';

describe('NedbTaskStore', () => {
  let dir: TempDir;
  let store: NedbTaskStore;
  beforeEach(async () => {
    dir = await tempDir('m3u8dm-store-');
    store = new NedbTaskStore({ dataDir: dir.path });
    await store.open();
  });
  afterEach(async () => {
    await store.close();
    await dir.cleanup();
  });

  it('gives positive ids in creation order and never reuses one, even after a reopen', async () => {
    const a = await store.create(newTask());
    const b = await store.create(newTask());
    expect([a.id, b.id]).toEqual([1, 2]);
    await store.delete(b.id);
    await store.close();
    store = new NedbTaskStore({ dataDir: dir.path });
    await store.open();
    const c = await store.create(newTask());
    expect(c.id).toBe(3);
    expect((await store.list()).tasks.map((t) => t.id)).toEqual([1, 3]);
  });

  it('filters by status, source and text, pages in id order, counts by status', async () => {
    await store.create(newTask({ url: 'http://a/cats.m3u8', filename: 'one.mp4' }));
    await store.create(newTask({ status: TaskStatus.failed, source: 'cli', filename: 'Cats-two.mp4' }));
    await store.create(newTask({ status: TaskStatus.failed, filename: 'three.mp4' }));
    await store.create(newTask({ status: TaskStatus.completed, filename: 'four.mp4' }));

    expect((await store.list({ status: TaskStatus.failed })).tasks.map((t) => t.id)).toEqual([2, 3]);
    expect((await store.list({ q: 'CATS' })).tasks.map((t) => t.id)).toEqual([1, 2]);
    expect((await store.list({ q: 'cats', status: TaskStatus.failed, source: 'cli' })).tasks.map((t) => t.id)).toEqual([2]);
    expect((await store.list({ q: '.*' })).total).toBe(0); // the query is text, not a pattern
    const page = await store.list({}, { offset: 1, limit: 2 });
    expect(page.total).toBe(4);
    expect(page.tasks.map((t) => t.id)).toEqual([2, 3]);
    const counts = await store.countByStatus();
    expect(counts[TaskStatus.failed]).toBe(2);
    expect(counts[TaskStatus.completed]).toBe(1);
    expect(counts[TaskStatus.downloading]).toBe(0);
  });

  it('patches fields, bumps updated_at, and returns null for a missing task', async () => {
    const t = await store.create(newTask());
    await new Promise((r) => setTimeout(r, 5));
    const p = await store.patch(t.id, { progress: 40, status: TaskStatus.downloading });
    expect(p).toMatchObject({ id: t.id, progress: 40, status: TaskStatus.downloading, created_at: t.created_at });
    expect(p!.updated_at > t.updated_at).toBe(true);
    expect(await store.patch(999, { progress: 1 })).toBeNull();
    expect(await store.delete(999)).toBe(false);
  });

  it('stores settings and tasks in files under the data dir that survive a reopen', async () => {
    await store.saveSettings({ ...DEFAULT_SETTINGS, download_threads: 17 });
    const t = await store.create(newTask({ filename: 'kept.mp4' }));
    await store.close();
    expect(await readFile(path.join(dir.path, 'tasks.db'), 'utf8')).toContain('kept.mp4');
    store = new NedbTaskStore({ dataDir: dir.path });
    await store.open();
    expect((await store.getSettings())?.download_threads).toBe(17);
    expect((await store.get(t.id))?.filename).toBe('kept.mp4');
  });
});

leaseContract('nedb', async () => {
  const dir = await tempDir('m3u8dm-contract-');
  const store = new NedbTaskStore({ dataDir: dir.path });
  await store.open();
  return { store, cleanup: async () => { await store.close(); await dir.cleanup(); } };
});

storeContract('NedbTaskStore', () => {
  let dir: TempDir | undefined;
  const openIn = async (d: string) => {
    const s = new NedbTaskStore({ dataDir: d });
    await s.open();
    return s;
  };
  return {
    async fresh() {
      dir = await tempDir('m3u8dm-store-contract-');
      return openIn(dir.path);
    },
    reopen: () => openIn(dir!.path),
    async cleanup() {
      await dir?.cleanup();
    },
  };
});
