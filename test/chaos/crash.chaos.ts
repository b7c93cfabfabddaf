// Crash test: 5 downloads at once from a server with latency; the service is killed
// with SIGKILL at random moments and restarted on the same data dir each time. At the
// end every task is complete with a correct MP4, the database lost nothing, and no
// segment that was finished on disk at a kill was fetched again after it.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureFixture } from '../helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from '../helpers/hls-server.js';
import { expectMedia, ffprobe } from '../helpers/ffprobe.js';
import { waitFor } from '../helpers/wait-for.js';
import { startServiceProcess, type ServiceProcess } from '../helpers/service-process.js';

const KILLS = Math.max(1, Number(process.env.CHAOS_KILLS ?? 10));
const TASKS = 5;

function prng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

interface Kill { at: number; finished: Set<string> }

describe(`crash test (${KILLS} kills)`, () => {
  let dir: string;
  let origin: HlsServer;
  let svc: ServiceProcess | undefined;

  afterAll(async () => {
    await svc?.stop('SIGKILL');
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await origin?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses no task and refetches no finished segment across kill -9 and restart', async () => {
    const fixture = await ensureFixture('long');
    dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-chaos-'));
    // One origin folder per task, so the request log tells the tasks apart.
    const root = path.join(dir, 'origin');
    await mkdir(root);
    for (let i = 1; i <= TASKS; i++) await symlink(fixture.dir, path.join(root, `s${i}`));
    origin = await startHlsServer({ root, latencyMs: 200 });
    const dataDir = path.join(dir, 'data');
    const env = { M3U8DM_DATA_DIR: dataDir, M3U8DM_DOWNLOAD_DIR: path.join(dir, 'downloads'), M3U8DM_MAX_ACTIVE: String(TASKS) };
    const random = prng(Number(process.env.CHAOS_SEED ?? 7));

    svc = await startServiceProcess(env);
    for (let i = 1; i <= TASKS; i++) {
      const res = await fetch(`${svc.url}/api/tasks`, { method: 'POST', body: JSON.stringify({ url: origin.url(`s${i}/index.m3u8`), filename: `chaos-${i}`, advanced: true, download_threads: 2 }) });
      expect(res.status).toBe(200);
    }

    const kills: Kill[] = [];
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 200 + random() * 700));
      svc.child.kill('SIGKILL');
      await svc.exited;
      const at = Date.now();
      // What was finished on disk at the moment of the kill.
      const finished = new Set<string>();
      for (let id = 1; id <= TASKS; id++) {
        const work = path.join(dataDir, 'work', String(id));
        if (!existsSync(work)) continue;
        for (const name of await readdir(work)) {
          const m = /^seg(\d+)\.ts$/.exec(name);
          if (m) finished.add(`/s${id}/seg${String(Number(m[1])).padStart(3, '0')}.ts`);
        }
      }
      kills.push({ at, finished });
      svc = await startServiceProcess(env);
    }

    type Task = { id: string; status: string; filename: string };
    const tasks = async () => (await (await fetch(`${svc!.url}/api/tasks`)).json()) as Task[];
    await waitFor(async () => (await tasks()).every((t) => t.status === '已完成'), { timeoutMs: 120_000, intervalMs: 250, what: 'every task completed' });

    // The database lost nothing: the same five tasks, in order.
    const final = await tasks();
    expect(final.map((t) => t.id)).toEqual(['1', '2', '3', '4', '5']);
    // Every output is a real MP4 of the right length.
    const outputs = await readdir(path.join(dir, 'downloads'));
    expect(outputs.filter((f) => f.endsWith('.mp4')).sort()).toEqual(final.map((t) => t.filename).sort());
    for (const file of outputs.filter((f) => f.endsWith('.mp4'))) expectMedia(await ffprobe(path.join(dir, 'downloads', file)), 'mp4', fixture.duration);
    // No segment finished at a kill was asked for after it.
    const refetched: string[] = [];
    for (const kill of kills) {
      for (const r of origin.requests) if (r.at > kill.at && kill.finished.has(r.path)) refetched.push(`${r.path} after kill at ${kill.at}`);
    }
    expect(refetched).toEqual([]);
    console.log(`crash test: finished segments on disk at each kill: ${kills.map((k) => k.finished.size).join(', ')} (of ${TASKS * fixture.segments})`);
    // The kills really hit mid-download: finished work grew between them.
    expect(kills.some((k) => k.finished.size > 0 && k.finished.size < TASKS * fixture.segments)).toBe(true);
    const total = new Set(origin.requests.filter((r) => r.path.endsWith('.ts')).map((r) => r.path));
    expect(total.size).toBe(TASKS * fixture.segments);
  });
});
