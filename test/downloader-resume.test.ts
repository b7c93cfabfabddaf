// Pause and resume: aborting stops all traffic within a second, and a second
// run on the same work folder fetches only what the first did not finish.
// Also the progress reports: phases, totals, bounded rate.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { downloadStream, type DownloadRequest } from '../src/downloader/index.js';
import { WorkDir } from '../src/downloader/work-dir.js';
import type { ProgressSnapshot } from '../src/types.js';
import { downloadOptions } from './helpers/task-options.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';

const BASE_OPTIONS = downloadOptions({ download_threads: 2 });

const dirs: TempDir[] = [];
let server: HlsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => d.cleanup()));
});

async function workFolder(): Promise<string> {
  const dir = await tempDir('m3u8dm-dl-');
  dirs.push(dir);
  return dir.path;
}

const segmentRequests = (s: HlsServer) => s.requests.filter((r) => r.path.endsWith('.ts'));
const indexOf = (p: string) => Number(/seg(\d+)\.ts$/.exec(p)?.[1]);

/** Waits (bounded) until `ready` holds. */
async function until(ready: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !ready(); waited += 10) {
    if (waited >= timeoutMs) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('downloader: pause and resume', () => {
  it('stops all traffic within a second of an abort, then resumes fetching only the missing segments', async () => {
    const fixture = await ensureFixture('ts');
    server = await startHlsServer({ root: fixture.dir, latencyMs: 100 });
    const workDir = await workFolder();
    const base = { url: server.url(fixture.playlist), headers: {}, options: BASE_OPTIONS, workDir };

    // First run: abort once a few segments are done and two more are in flight.
    const pause = new AbortController();
    const first = downloadStream({ ...base, signal: pause.signal, onProgress: () => {} }).catch((e: unknown) => e);
    await until(() => segmentRequests(server!).length >= 5);
    const abortedAt = performance.now();
    pause.abort();
    const error = await first;
    expect((error as Error).name).toBe('AbortError');
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    const seenAtAbort = server.requests.length;
    await sleep(400);
    expect(server.requests.length).toBe(seenAtAbort);

    const finished = (await readdir(workDir)).filter((n) => /^seg\d+\.ts$/.test(n)).map((n) => Number(n.slice(3, 8)));
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThan(12);
    // A half-written file from a crash must not be trusted.
    const unfinished = [...Array(12).keys()].filter((i) => !finished.includes(i));
    await writeFile(path.join(workDir, `seg${String(unfinished.at(-1)).padStart(5, '0')}.ts.part`), 'half a segment');

    // Second run on the same folder.
    server.requests.length = 0;
    const progress: ProgressSnapshot[] = [];
    const result = await downloadStream({ ...base, signal: new AbortController().signal, onProgress: (s) => progress.push(s) });

    expect(server.hits('/index.m3u8')).toBe(0); // the saved playlist was used
    expect(segmentRequests(server).map((r) => indexOf(r.path)).sort((a, b) => a - b)).toEqual(unfinished);
    expect(result.segments).toHaveLength(12);
    for (const segment of result.segments) {
      const original = await readFile(path.join(fixture.dir, `seg${String(segment.index).padStart(3, '0')}.ts`));
      expect((await readFile(segment.file)).equals(original)).toBe(true);
    }
    const firstDownloading = progress.find((s) => s.phase === 'downloading');
    expect(firstDownloading).toMatchObject({ segments_total: 12, segments_done: finished.length });
    expect(progress.at(-1)).toMatchObject({ segments_done: 12, eta_s: 0 });
  });

  it('rejects at once with an AbortError when the signal is already aborted', async () => {
    const fixture = await ensureFixture('ts');
    server = await startHlsServer({ root: fixture.dir });
    const error = await downloadStream({
      url: server.url(fixture.playlist), headers: {}, options: BASE_OPTIONS, workDir: await workFolder(),
      signal: AbortSignal.abort(), onProgress: () => {},
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(server.requests).toHaveLength(0);
  });

  it('stops the other segments when one fails for good', async () => {
    const fixture = await ensureFixture('ts');
    server = await startHlsServer({ root: fixture.dir, latencyMs: 50 });
    server.override((_req, res, urlPath) => (urlPath === '/seg001.ts' ? (res.writeHead(410).end(), true) : false));
    const req: DownloadRequest = {
      url: server.url(fixture.playlist), headers: {}, options: BASE_OPTIONS, workDir: await workFolder(),
      signal: new AbortController().signal, onProgress: () => {},
    };
    await expect(downloadStream(req)).rejects.toThrow(/^segment 2 \(.*seg001\.ts\) answered HTTP 410$/);
    const seen = segmentRequests(server).length;
    expect(seen).toBeLessThanOrEqual(4);
    await sleep(150);
    expect(segmentRequests(server).length).toBe(seen);
  });
});

describe('downloader: one work folder, two runs', () => {
  it('gives each run its own unfinished files: a fenced run finishing late breaks nothing the new owner writes', async () => {
    const dir = await workFolder();
    const [stale, owner] = [new WorkDir(dir), new WorkDir(dir)];
    await stale.create();
    await owner.create();
    const name = 'seg00016.ts';
    expect(stale.partPath(name)).not.toBe(owner.partPath(name));
    const segment = Buffer.alloc(4096, 7);
    // Both fetch the same segment at once (the stale node woke up with it in flight).
    await Promise.all([writeFile(stale.partPath(name), segment), writeFile(owner.partPath(name), segment)]);
    await owner.commit(name, { bytes: segment.length });
    await stale.commit(name, { bytes: segment.length });
    expect((await readFile(path.join(dir, name))).equals(segment)).toBe(true);
    expect((await readdir(dir)).filter((n) => /^seg\d/.test(n))).toEqual([name]);
  });

  it('clears what an earlier run left unfinished when a run starts, and nothing else', async () => {
    const dir = await workFolder();
    const left = ['seg00003.ts.part', 'seg00004.ts.0badf00d.part', 'playlist.json.0badf00d.tmp'];
    const kept = ['seg00001.ts', 'notes.part', 'seg00005.ts.xyz.part'];
    for (const n of [...left, ...kept]) await writeFile(path.join(dir, n), 'x');
    await new WorkDir(dir).create();
    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
  });
});

describe('downloader: progress', () => {
  it('reports resolving, then downloading totals at a bounded rate, then a final snapshot', async () => {
    const fixture = await ensureFixture('ts');
    server = await startHlsServer({ root: fixture.dir, latencyMs: 60 });
    const progress: { at: number; snapshot: ProgressSnapshot }[] = [];
    const started = performance.now();
    const result = await downloadStream({
      url: server.url(fixture.playlist), headers: {}, options: downloadOptions({ download_threads: 1 }), workDir: await workFolder(),
      signal: new AbortController().signal, onProgress: (snapshot) => progress.push({ at: performance.now(), snapshot }),
    });
    const elapsed = performance.now() - started;

    expect(progress[0]?.snapshot).toMatchObject({ phase: 'resolving', segments_total: 0 });
    expect(progress[1]?.snapshot).toMatchObject({ phase: 'downloading', segments_total: 12, segments_done: 0 });
    // Not per chunk or per segment: at most one per 250 ms, plus the two phase changes and the final one.
    expect(progress.length).toBeLessThanOrEqual(Math.floor(elapsed / 250) + 3);
    const middle = progress.slice(2, -1).map((p) => p.snapshot);
    expect(middle.length).toBeGreaterThan(0);
    for (let i = 1; i < middle.length; i++) expect(middle[i]!.segments_done).toBeGreaterThanOrEqual(middle[i - 1]!.segments_done);
    expect(middle.some((s) => s.speed_bps > 0 && s.eta_s !== null && s.eta_s > 0)).toBe(true);
    const last = progress.at(-1)!.snapshot;
    expect(last).toMatchObject({ phase: 'downloading', segments_done: 12, segments_skipped: 0, eta_s: 0 });
    expect(last.downloaded_bytes).toBe(result.segments.reduce((n, s) => n + s.bytes, 0));
    expect(last.speed_bps).toBeGreaterThan(0);
  });
});

describe('downloader: asking before each request', () => {
  it('sends no request once mayRequest says no, and ends with an AbortError', async () => {
    const fixture = await ensureFixture('ts');
    server = await startHlsServer({ root: fixture.dir, latencyMs: 50 });
    let allowed = true;
    let yes = 0;
    const run = downloadStream({
      url: server.url(fixture.playlist), headers: {}, options: BASE_OPTIONS, workDir: await workFolder(),
      signal: new AbortController().signal, onProgress: () => {},
      mayRequest: () => {
        if (allowed) yes++;
        return allowed;
      },
    }).catch((e: unknown) => e);
    await until(() => segmentRequests(server!).length >= 3);
    allowed = false;
    const error = await run;
    expect((error as Error).name).toBe('AbortError');
    const seen = server.requests.length;
    await sleep(300);
    expect(server.requests.length).toBe(seen);
    // Every request that reached the server was allowed first (playlist included): none went out after the no.
    expect(seen).toBeLessThanOrEqual(yes);
    expect(segmentRequests(server).length).toBeLessThan(12);
  });
});
