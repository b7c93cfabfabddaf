// A recording survives the service going away: kill -9, then SIGTERM, each
// followed by a restart of the real built service on the same data dir. The
// recording goes on, the final file holds the segments from before and after,
// and the origin's log shows no segment fetched twice.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { startLiveSim, type LiveSim } from './helpers/live-hls.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';

interface Task { id: number; status: number; segments_done: number; recorded_s: number; output_path: string; err_msg: string; live: boolean; phase: string }

describe('live recording across service restarts', () => {
  let dir: TempDir | undefined;
  let svc: ServiceProcess | undefined;
  let origin: LiveSim | undefined;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    await origin?.close();
    await dir?.cleanup();
  });

  const segmentRequests = () => origin!.requests.filter((r) => /\/seg-\d+\.ts$/.test(r.path));
  const task = async (id: number) => ((await (await fetch(`${svc!.url}/api/v1/tasks/${id}`)).json()) as { data: Task }).data;

  /**
   * Waits for a moment between two reloads when every segment fetched so far is recorded: stopping the
   * service then interrupts no transfer, so any second fetch of a segment would be the recorder's fault.
   */
  async function quietMoment(id: number, atLeast: number): Promise<number> {
    return waitFor(async () => {
      const requests = segmentRequests();
      const last = requests.at(-1);
      // Mid-way between reloads (1 s apart, segments asked for right after each): late enough for the
      // last commit, early enough that the next reload is not about to start.
      const since = last ? Date.now() - last.at : 0;
      if (!last || since < 300 || since > 700) return undefined;
      const t = await task(id);
      const fetched = new Set(requests.map((r) => r.path)).size;
      return t.segments_done >= atLeast && t.segments_done === fetched ? t.segments_done : undefined;
    }, { timeoutMs: 60_000, intervalMs: 25, what: `${atLeast} segments recorded at a quiet moment` });
  }

  it('goes on recording after kill -9 and after SIGTERM, fetching no segment twice', async () => {
    dir = await tempDir('m3u8dm-livecrash-');
    const env = { M3U8DM_DATA_DIR: path.join(dir.path, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir.path, 'downloads') };
    origin = await startLiveSim({ window: 12, lifetimeMs: 110_000 });
    svc = await startServiceProcess(env);
    const res = await fetch(`${svc.url}/api/v1/tasks`, {
      method: 'POST',
      body: JSON.stringify({ url: origin.url, filename: 'crash', options: { keep_ts_files: true, debug_log: true, live_idle_timeout: 15, download_threads: 2 } }),
    });
    const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;

    const beforeKill = await quietMoment(id, 14);
    svc.child.kill('SIGKILL');
    await svc.exited;
    svc = await startServiceProcess(env);
    const afterKill = await waitFor(async () => {
      const t = await task(id);
      return t.phase === 'recording' && t.segments_done > beforeKill + 2 ? t : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'recording again after kill -9' });
    expect(afterKill.live).toBe(true);

    const beforeTerm = await quietMoment(id, afterKill.segments_done + 2);
    expect(await svc.stop('SIGTERM')).toBe(0);
    svc = await startServiceProcess(env);
    await waitFor(async () => ((await task(id)).segments_done > beforeTerm + 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, what: 'recording again after SIGTERM' });
    origin.end();
    const done = await waitFor(async () => {
      const t = await task(id);
      return t.status === 2 || t.status === 3 ? t : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'the recording to finish' });
    expect(done.err_msg).toBe('');
    expect(done.status).toBe(2);

    // Nothing fetched twice, and the kept segments are every fetched one, in order, byte for byte.
    expect(origin.fetchedTwice()).toEqual([]);
    const fetched = [...new Set(segmentRequests().map((r) => Number(/seg-(\d+)/.exec(r.path)![1])))].sort((a, b) => a - b);
    const kept = path.join(path.dirname(done.output_path), 'crash');
    const names = (await readdir(kept)).filter((n) => n.endsWith('.ts')).sort();
    expect(names).toHaveLength(fetched.length);
    expect(fetched.length).toBeGreaterThan(beforeTerm);
    for (const [i, name] of names.entries()) expect((await readFile(path.join(kept, name))).equals(origin.body(fetched[i]!)), name).toBe(true);
    const media = await ffprobe(done.output_path);
    expect(Math.abs(media.duration - fetched.length * 0.5)).toBeLessThanOrEqual(0.5);
    expect(await decodeErrors(done.output_path)).toBe('');
    const log = await readFile(path.join(dir.path, 'data', 'logs', `task-${id}.log`), 'utf8');
    expect(log).toMatch(/resuming the recording after a restart: \d+ segments .* the output has a gap there/);
  });
});
