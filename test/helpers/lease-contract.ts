// The TaskLeases contract (src/store/task-store.ts) as one suite any TaskStore runs:
// `leaseContract(name, open)` from test/store.test.ts (nedb) and test/store-postgres.test.ts.
// `open` gives a fresh, empty, opened store and a cleanup that closes and removes it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskChange, TaskStore } from '../../src/store/task-store.js';
import { TaskStatus } from '../../src/types.js';
import { newTask } from './store-contract.js';

export interface OpenedStore {
  store: TaskStore;
  cleanup: () => Promise<void>;
}

const NOW = 1_800_000_000_000;
const LEASE = 10_000;
const running = { status: TaskStatus.downloading, phase: 'resolving' as const };

export function leaseContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`${name}: TaskLeases contract`, () => {
    let opened: OpenedStore;
    let store: TaskStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('claims due, unleased waiting tasks oldest first, up to max, raising the epoch', async () => {
      const a = await store.create(newTask());
      const later = await store.create(newTask({ start_time: new Date(NOW + 60_000).toISOString() }));
      const paused = await store.create(newTask({ status: TaskStatus.paused }));
      const b = await store.create(newTask());
      const c = await store.create(newTask());
      expect(await store.claim('n1', { now: NOW, leaseMs: LEASE, max: 0, patch: running })).toEqual([]);
      const got = await store.claim('n1', { now: NOW, leaseMs: LEASE, max: 2, patch: running });
      expect(got.map((t) => t.id)).toEqual([a.id, b.id]);
      for (const t of got) expect(t).toMatchObject({ node: 'n1', lease_epoch: 1, lease_expires_at: NOW + LEASE, status: TaskStatus.downloading });
      const rest = await store.claim('n2', { now: NOW, leaseMs: LEASE, max: 10, patch: running });
      expect(rest.map((t) => t.id)).toEqual([c.id]);
      expect((await store.get(later.id))?.node ?? null).toBeNull();
      expect((await store.get(paused.id))?.node ?? null).toBeNull();
    });

    it('never gives one task to two concurrent claimers', async () => {
      for (let i = 0; i < 6; i++) await store.create(newTask());
      const all = await Promise.all(['n1', 'n2', 'n3'].map((n) => store.claim(n, { now: NOW, leaseMs: LEASE, max: 6, patch: running })));
      const ids = all.flat().map((t) => t.id);
      expect(ids).toHaveLength(6);
      expect(new Set(ids).size).toBe(6);
    });

    it('fences writes by owner and epoch; renews held leases and reports lost ones', async () => {
      const t = await store.create(newTask());
      const [mine] = await store.claim('n1', { now: NOW, leaseMs: LEASE, max: 1, patch: running });
      const lease = { id: t.id, node: 'n1', epoch: mine!.lease_epoch! };
      expect(await store.patchLeased(lease, { progress: 10 })).toMatchObject({ progress: 10 });
      expect(await store.patchLeased({ ...lease, epoch: lease.epoch + 1 }, { progress: 20 })).toBe('lost');
      expect(await store.patchLeased({ ...lease, node: 'n2' }, { progress: 20 })).toBe('lost');
      expect(await store.renew([lease, { id: 999_999, node: 'n1', epoch: 1 }], NOW + 5_000, LEASE)).toEqual({ held: [t.id], lost: [999_999] });
      expect((await store.get(t.id))?.lease_expires_at).toBe(NOW + 5_000 + LEASE);
      const released = await store.release(lease, { status: TaskStatus.paused });
      expect(released).toMatchObject({ status: TaskStatus.paused, node: null, lease_expires_at: null });
      expect(await store.patchLeased(lease, { progress: 30 })).toBe('lost');
      await store.delete(t.id);
      expect(await store.patchLeased(lease, { progress: 30 })).toBeNull();
    });

    it('reclaims expired leases to waiting, keeping the epoch for the next claim to raise', async () => {
      const t = await store.create(newTask());
      const fresh = await store.create(newTask());
      await store.claim('dead', { now: NOW, leaseMs: LEASE, max: 1, patch: running });
      await store.claim('alive', { now: NOW + LEASE, leaseMs: LEASE, max: 1, patch: running });
      expect(await store.reclaimExpired(NOW + LEASE + 1)).toEqual({ waiting: [t.id], paused: [], deleted: [] });
      expect(await store.get(t.id)).toMatchObject({ status: TaskStatus.waiting, phase: 'queued', node: null, lease_epoch: 1 });
      expect((await store.get(fresh.id))?.node).toBe('alive');
      const [again] = await store.claim('n2', { now: NOW + LEASE + 2, leaseMs: LEASE, max: 1, patch: running });
      expect(again).toMatchObject({ id: t.id, node: 'n2', lease_epoch: 2 });
      expect(await store.patchLeased({ id: t.id, node: 'dead', epoch: 1 }, { progress: 1 })).toBe('lost');
    });

    it('reclaims as the command pending on the task asks: pause → paused, delete → gone, shutdown → waiting', async () => {
      const pause = await store.create(newTask());
      const remove = await store.create(newTask());
      const shutdown = await store.create(newTask());
      const plain = await store.create(newTask());
      const alive = await store.create(newTask());
      await store.claim('dead', { now: NOW, leaseMs: LEASE, max: 4, patch: { ...running, phase: 'downloading', speed_bps: 5_000, eta_s: 12 } });
      await store.claim('alive', { now: NOW + LEASE, leaseMs: LEASE, max: 1, patch: running });
      // Asked of the dead node (through the record) before it died; and of a live one, which is left alone.
      await store.patch(pause.id, { desired: 'pause' });
      await store.patch(remove.id, { desired: 'delete' });
      await store.patch(shutdown.id, { desired: 'shutdown' });
      await store.patch(alive.id, { desired: 'pause' });
      const removing = await store.get(remove.id);
      const done = await store.reclaimExpired(NOW + LEASE + 1);
      expect(done).toEqual({ waiting: [shutdown.id, plain.id], paused: [pause.id], deleted: [removing] });
      // Paused as a local pause of a run leaves it: phase kept, no speed, no eta; nothing pending, no lease.
      expect(await store.get(pause.id)).toMatchObject({
        status: TaskStatus.paused, phase: 'downloading', speed_bps: 0, eta_s: null, desired: null, node: null, lease_expires_at: null, lease_epoch: 1,
      });
      expect(await store.get(remove.id)).toBeNull();
      for (const id of [shutdown.id, plain.id]) {
        expect(await store.get(id)).toMatchObject({ status: TaskStatus.waiting, phase: 'queued', node: null, lease_expires_at: null, lease_epoch: 1 });
        expect((await store.get(id))?.desired ?? null).toBeNull();
      }
      expect(await store.get(alive.id)).toMatchObject({ status: TaskStatus.downloading, node: 'alive', desired: 'pause' });
      // Not runnable: the next claim takes the requeued ones only, and a second reclaim finds nothing more.
      const claimed = await store.claim('n2', { now: NOW + LEASE + 2, leaseMs: LEASE, max: 10, patch: running });
      expect(claimed.map((t) => t.id)).toEqual([shutdown.id, plain.id]);
      expect(await store.reclaimExpired(NOW + LEASE + 3)).toEqual({ waiting: [], paused: [], deleted: [] });
    });

    it('lists nodes alive since a time and tells watchers of every change', async () => {
      await store.touchNode({ id: 'n1', seen_at: NOW, max_active: 2, running: 1 });
      await store.touchNode({ id: 'n2', seen_at: NOW - 60_000, max_active: 0, running: 0 });
      await store.touchNode({ id: 'n1', seen_at: NOW + 1, max_active: 2, running: 2 });
      expect(await store.listNodes(NOW - 1)).toEqual([{ id: 'n1', seen_at: NOW + 1, max_active: 2, running: 2 }]);
      const seen: TaskChange[] = [];
      const all: TaskChange[] = []; // a second watcher: tells when a later change has arrived
      const stop = store.watch((c) => seen.push(c));
      store.watch((c) => all.push(c));
      // Notifications may arrive after the write returns (PostgreSQL: at commit, over LISTEN): wait a bounded while.
      const arrived = async (n: number) => {
        for (let i = 0; i < 100 && all.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      };
      const t = await store.create(newTask());
      await store.patch(t.id, { progress: 5 });
      await store.delete(t.id);
      await arrived(3);
      expect(seen).toEqual([{ kind: 'created', id: t.id }, { kind: 'updated', id: t.id }, { kind: 'deleted', id: t.id }]);
      stop();
      const after = await store.create(newTask());
      await arrived(4);
      expect(all.at(-1)).toEqual({ kind: 'created', id: after.id });
      expect(seen).toHaveLength(3);
    });
  });
}
