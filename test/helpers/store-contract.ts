// The behaviours every TaskStore must share, run against each store (nedb, PostgreSQL),
// so the two cannot drift apart.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../../src/manager/settings.js';
import type { NewTask, TaskRecords as TaskStore } from '../../src/store/task-store.js';
import { TaskStatus } from '../../src/types.js';

export function newTask(over: Partial<NewTask> = {}): NewTask {
  return {
    url: 'http://127.0.0.1/x.m3u8', filename: 'x.mp4', status: TaskStatus.waiting, phase: 'queued', progress: 0, status_bar: '', err_msg: '',
    size: 0, completed_at: null, started_at: null, start_time: null, header_map: {}, advanced: false,
    options: { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS }, source: 'api', segments_total: 0, segments_done: 0, segments_skipped: 0,
    downloaded_bytes: 0, speed_bps: 0, eta_s: null, output_path: '', ...over,
  };
}

export interface StoreUnderTest {
  /** A fresh, empty store, opened. */
  fresh(): Promise<TaskStore>;
  /** A new instance on the same data, opened (the old one is closed by the caller first). */
  reopen(): Promise<TaskStore>;
  cleanup(): Promise<void>;
}

export function storeContract(name: string, make: () => StoreUnderTest): void {
  describe(`${name}: the TaskStore contract`, () => {
    let subject: StoreUnderTest;
    let store: TaskStore;
    beforeEach(async () => {
      subject = make();
      store = await subject.fresh();
    });
    afterEach(async () => {
      await store.close();
      await subject.cleanup();
    });

    it('gives positive ids in creation order and never reuses one, even after a reopen', async () => {
      const a = await store.create(newTask());
      const b = await store.create(newTask());
      expect([a.id, b.id]).toEqual([1, 2]);
      await store.delete(b.id);
      await store.close();
      store = await subject.reopen();
      const c = await store.create(newTask());
      expect(c.id).toBeGreaterThan(2);
      expect((await store.list()).tasks.map((t) => t.id)).toEqual([1, c.id]);
    });

    it('keeps ids unique under concurrent creates', async () => {
      const made = await Promise.all(Array.from({ length: 50 }, () => store.create(newTask())));
      expect(new Set(made.map((t) => t.id)).size).toBe(50);
      expect(Math.max(...made.map((t) => t.id))).toBe(50);
    });

    it('filters by status, source, ids and text, pages in either order, counts by status', async () => {
      await store.create(newTask({ url: 'http://a/cats.m3u8', filename: 'one.mp4' }));
      await store.create(newTask({ status: TaskStatus.failed, source: 'cli', filename: 'Cats-two.mp4' }));
      await store.create(newTask({ status: TaskStatus.failed, filename: 'three.mp4' }));
      await store.create(newTask({ status: TaskStatus.completed, filename: 'four_%.mp4' }));

      expect((await store.list({ status: TaskStatus.failed })).tasks.map((t) => t.id)).toEqual([2, 3]);
      expect((await store.list({ status: [TaskStatus.failed, TaskStatus.completed] })).tasks.map((t) => t.id)).toEqual([2, 3, 4]);
      expect((await store.list({ q: 'CATS' })).tasks.map((t) => t.id)).toEqual([1, 2]);
      expect((await store.list({ q: 'cats', status: TaskStatus.failed, source: 'cli' })).tasks.map((t) => t.id)).toEqual([2]);
      expect((await store.list({ q: '.*' })).total).toBe(0); // the query is text, not a pattern
      expect((await store.list({ q: '_%' })).tasks.map((t) => t.id)).toEqual([4]); // nor a LIKE pattern
      const page = await store.list({}, { offset: 1, limit: 2 });
      expect(page.total).toBe(4);
      expect(page.tasks.map((t) => t.id)).toEqual([2, 3]);
      const desc = await store.list({}, { offset: 0, limit: 3, order: 'desc' });
      expect(desc.tasks.map((t) => t.id)).toEqual([4, 3, 2]);
      expect((await store.list({}, { offset: 10, limit: 5 })).tasks).toEqual([]);
      const counts = await store.countByStatus();
      expect(counts[TaskStatus.failed]).toBe(2);
      expect(counts[TaskStatus.completed]).toBe(1);
      expect(counts[TaskStatus.waiting]).toBe(1);
      expect(counts[TaskStatus.downloading]).toBe(0);
    });

    it('selects due tasks and tells when the queue next needs a look', async () => {
      const t0 = Date.parse('2030-01-01T00:00:00.000Z');
      await store.create(newTask());
      await store.create(newTask({ start_time: new Date(t0 + 60_000).toISOString() }));
      await store.create(newTask({ start_time: new Date(t0 + 30_000).toISOString() }));
      await store.create(newTask({ status: TaskStatus.paused, start_time: new Date(t0 + 10_000).toISOString() }));
      expect((await store.list({ dueBy: t0 })).tasks.map((t) => t.id)).toEqual([1]);
      // dueBy is about time only; status is its own filter.
      expect((await store.list({ dueBy: t0 + 30_000 })).tasks.map((t) => t.id)).toEqual([1, 3, 4]);
      expect((await store.list({ dueBy: t0 + 30_000, status: TaskStatus.waiting })).tasks.map((t) => t.id)).toEqual([1, 3]);
      expect(await store.nextStartAfter(t0)).toBe(t0 + 30_000);
      expect(await store.nextStartAfter(t0 + 30_000)).toBe(t0 + 60_000);
      expect(await store.nextStartAfter(t0 + 60_000)).toBeNull();
      await store.patch(3, { start_time: null });
      expect(await store.nextStartAfter(t0)).toBe(t0 + 60_000);
    });

    it('patches fields, bumps updated_at, and returns null for a missing task', async () => {
      const t = await store.create(newTask());
      expect(await store.get(t.id)).toEqual(t);
      await new Promise((r) => setTimeout(r, 5));
      const p = await store.patch(t.id, { progress: 40, status: TaskStatus.downloading, filename: 'renamed.mp4' });
      expect(p).toMatchObject({ id: t.id, progress: 40, status: TaskStatus.downloading, created_at: t.created_at });
      expect(p!.updated_at > t.updated_at).toBe(true);
      expect(await store.get(t.id)).toEqual(p);
      expect((await store.list({ status: TaskStatus.downloading, q: 'renamed' })).total).toBe(1);
      expect(await store.patch(999, { progress: 1 })).toBeNull();
      expect(await store.get(999)).toBeNull();
      expect(await store.delete(999)).toBe(false);
      expect(await store.delete(t.id)).toBe(true);
      expect(await store.get(t.id)).toBeNull();
    });

    it('keeps settings and integration settings across a reopen', async () => {
      expect(await store.getSettings()).toBeNull();
      expect(await store.getIntegrationSettings()).toBeNull();
      await store.saveSettings({ ...DEFAULT_SETTINGS, download_threads: 17 });
      await store.saveSettings({ ...DEFAULT_SETTINGS, download_threads: 18 });
      const integrations = { webhooks: [], hooks: {} } as unknown as Parameters<TaskStore['saveIntegrationSettings']>[0];
      await store.saveIntegrationSettings(integrations);
      await store.close();
      store = await subject.reopen();
      expect((await store.getSettings())?.download_threads).toBe(18);
      expect(await store.getIntegrationSettings()).toEqual(integrations);
    });
  });
}
