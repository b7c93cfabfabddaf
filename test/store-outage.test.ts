// The database going away while the service runs: calls fail fast with StoreUnavailableError (the API
// answers 503 saying so) instead of hanging or crashing the process, and everything works again once
// the server is back on the same port and data dir.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgTaskStore, StoreUnavailableError } from '../src/store/pg-task-store.js';
import type { TaskChange } from '../src/store/task-store.js';
import { STATUS_CODE } from '../src/api/present.js';
import { TaskStatus } from '../src/types.js';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer } from './helpers/hls-server.js';
import { startPgCluster, type PgCluster } from './helpers/postgres.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';
import { newTask } from './helpers/store-contract.js';

let cluster: PgCluster;
let dir: TempDir;
beforeAll(async () => {
  cluster = await startPgCluster();
  dir = await tempDir('m3u8dm-outage-');
}, 180_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await cluster?.stop();
  await dir.cleanup();
}, 60_000);

/** The promise's outcome, or 'hung' when it has not settled within `ms`. */
async function settled<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => { timer = setTimeout(() => r('hung'), ms); });
  const outcome = p.then((value) => ({ value }), (error: unknown) => ({ error }));
  try {
    return await Promise.race([outcome, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the PostgreSQL store while its database goes away and comes back', () => {
  it('fails calls fast with StoreUnavailableError, then works again, its change feed included', async () => {
    const url = await cluster.createDatabase('outage_store');
    const store = new PgTaskStore({ url, poolSize: 2 });
    const other = new PgTaskStore({ url, poolSize: 1 });
    await store.open();
    try {
      const t = await store.create(newTask());
      // Told once the feed is back, since changes in the gap went unheard.
      let resyncs = 0;
      store.watch(() => undefined, () => { resyncs++; });
      await cluster.halt();
      // Both a pooled connection that was cut and a fresh connect that is refused.
      const calls: (() => Promise<unknown>)[] = [() => store.get(t.id), () => store.list({}, { offset: 0, limit: 10 }), () => store.patch(t.id, { progress: 1 }),
        () => store.claim('n', { now: Date.now(), leaseMs: 1_000, max: 1, patch: {} })];
      for (const call of calls) {
        const outcome = await settled(call(), 8_000);
        expect(outcome).not.toBe('hung');
        const error = (outcome as { error?: unknown }).error;
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
        expect((error as Error).message).toContain(`the PostgreSQL store ${url} is unavailable`);
      }
      await cluster.restart();
      expect((await store.get(t.id))?.id).toBe(t.id);
      expect(await store.patch(t.id, { progress: 2 })).toMatchObject({ progress: 2 });
      // The listening connection was re-made: a change another client makes is heard again.
      const seen: TaskChange[] = [];
      store.watch((c) => seen.push(c));
      await other.open();
      await waitFor(async () => {
        await other.patch(t.id, { progress: 3 });
        return seen.some((c) => c.id === t.id);
      }, { what: 'a notification after the restart', timeoutMs: 20_000, intervalMs: 250 });
      expect(resyncs).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
      await other.close();
    }
  }, 90_000);

  it('keeps the service up and answering 503 while the database is away; it serves again once it is back', async () => {
    const url = await cluster.createDatabase('outage_service');
    let svc: ServiceProcess | undefined;
    try {
      svc = await startServiceProcess({ M3U8DM_DATA_DIR: path.join(dir.path, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir.path, 'downloads'), M3U8DM_STORE: url });
      const post = () => fetch(`${svc!.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://127.0.0.1:9/a.m3u8', start_time: '23:59' }) });
      expect((await post()).status).toBe(200);
      await cluster.halt();
      const v1 = await settled(fetch(`${svc.url}/api/v1/tasks`), 10_000);
      expect(v1).not.toBe('hung');
      const res = (v1 as { value: Response }).value;
      expect(res.status).toBe(503);
      const body = (await res.json()) as { code: number; message: string };
      expect(body.code).toBe(50301);
      expect(body.message).toMatch(/^the PostgreSQL store postgres:\/\/.* is unavailable \(.+\); try again shortly$/);
      const compat = await fetch(`${svc.url}/api/tasks`);
      expect(compat.status).toBe(503);
      expect(await compat.text()).toContain('is unavailable');
      expect((await post()).status).toBe(503);
      expect(svc.child.exitCode).toBeNull();
      await cluster.restart();
      const back = await waitFor(async () => {
        const r = await fetch(`${svc!.url}/api/v1/tasks`);
        return r.status === 200 ? ((await r.json()) as { data: { total: number } }).data : null;
      }, { what: 'the API serving again', timeoutMs: 20_000, intervalMs: 250 });
      expect(back.total).toBe(1);
      expect((await post()).status).toBe(200);
      expect(svc.child.exitCode).toBeNull();
    } finally {
      await cluster.restart();
      await svc?.stop('SIGKILL');
    }
  }, 90_000);

  it('lets a download in progress finish across the outage: its outcome is stored once the database is back', async () => {
    const fixture = await ensureFixture('ts');
    // Latency keeps the download running long enough to take the database away in the middle of it.
    const origin = await startHlsServer({ root: fixture.dir, latencyMs: 250 });
    const url = await cluster.createDatabase('outage_download');
    let svc: ServiceProcess | undefined;
    try {
      svc = await startServiceProcess({ M3U8DM_DATA_DIR: path.join(dir.path, 'dl-data'), M3U8DM_DOWNLOAD_DIR: path.join(dir.path, 'dl'), M3U8DM_STORE: url });
      const task = async () => {
        const r = await fetch(`${svc!.url}/api/v1/tasks/${id}`);
        return r.status === 200 ? ((await r.json()) as { data: { status: number; segments_done: number; output_path: string; err_msg: string } }).data : null;
      };
      const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: origin.url(fixture.playlist), filename: 'across', options: { download_threads: 1 } }) });
      const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;
      await waitFor(async () => ((await task())?.segments_done ?? 0) >= 2, { what: 'two segments done', timeoutMs: 30_000 });
      await cluster.halt();
      const segments = () => origin.requests.filter((r) => r.path.endsWith('.ts'));
      // The rest of the download and its merge happen while the database is away.
      await waitFor(() => segments().length >= fixture.segments, { what: 'every segment fetched', timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 1_500));
      expect(svc.child.exitCode).toBeNull();
      await cluster.restart();
      const done = await waitFor(async () => {
        const t = await task();
        return t && t.status !== STATUS_CODE[TaskStatus.downloading] && t.status !== STATUS_CODE[TaskStatus.waiting] ? t : null;
      }, { what: 'the run\'s outcome stored', timeoutMs: 30_000, intervalMs: 250 });
      expect(done).toMatchObject({ status: STATUS_CODE[TaskStatus.completed], err_msg: '' });
      expectMedia(await ffprobe(done.output_path), 'mp4', fixture.duration);
      const paths = segments().map((r) => r.path);
      expect(new Set(paths).size).toBe(paths.length); // no segment fetched twice
      expect(svc.child.exitCode).toBeNull();
    } finally {
      await cluster.restart();
      await svc?.stop('SIGKILL');
      await origin.close();
    }
  }, 120_000);
});
