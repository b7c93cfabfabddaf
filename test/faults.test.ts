// Faults a real download meets, against the real service and engine: the origin
// vanishing, segments and keys refused, things that are not playlists, a huge
// "playlist", and a full disk.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

interface V1Task { id: number; status: number; err_msg: string; output_path: string; segments_skipped: number }

describe('faults', () => {
  let svc: TestService;
  const servers: HlsServer[] = [];
  let ts: FixtureInfo;

  beforeAll(async () => {
    ts = await ensureFixture('ts');
    svc = await withService({ maxActive: 6 }, { prefix: 'm3u8dm-faults-' });
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
  });

  const serve = async (root: string, latencyMs = 0) => {
    const s = await startHlsServer({ root, latencyMs });
    servers.push(s);
    return s;
  };
  const create = async (url: string, options: Record<string, unknown> = {}) => {
    const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', body: JSON.stringify({ url, options }), headers: { 'content-type': 'application/json' } });
    const body = (await res.json()) as { code: number; message: string; data: { task_ids: number[] } };
    expect(body.code, body.message).toBe(0);
    return body.data.task_ids[0]!;
  };
  const task = async (id: number) => ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: V1Task }).data;
  const settle = (id: number, timeoutMs = 30_000) => waitFor(async () => {
    const t = await task(id);
    return t.status === 2 || t.status === 3 ? t : undefined;
  }, { timeoutMs, what: `task ${id} to end` });

  it('completes when the origin disappears for 5 s in the middle of a download', async () => {
    const long = await ensureFixture('long');
    const origin = await serve(long.dir, 40);
    const id = await create(origin.url('index.m3u8'), { download_threads: 4 });
    await waitFor(() => origin.requests.filter((r) => r.path.endsWith('.ts') && r.status === 200).length >= 10, { what: '10 segments' });
    await origin.stop();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await task(id)).status).toBe(1); // still trying, not failed
    await origin.start();
    const done = await settle(id, 60_000);
    expect(done.status, done.err_msg).toBe(2);
    expect(Date.now() - downAt).toBeGreaterThan(5_000);
    expectMedia(await ffprobe(done.output_path), 'mp4', long.duration);
  }, 90_000);

  it('fails on a segment that always answers 404, naming it; http.code=404 skips it and completes', async () => {
    const origin = await serve(ts.dir);
    origin.override((_req, res, urlPath) => {
      if (urlPath !== '/seg005.ts') return false;
      res.writeHead(404).end('gone');
      return true;
    });
    const failed = await settle(await create(origin.url('index.m3u8')));
    expect(failed.status).toBe(3);
    expect(failed.err_msg).toContain('seg005.ts');
    expect(failed.err_msg).toContain('404');
    const skipped = await settle(await create(origin.url('index.m3u8'), { skip_ts_info: 'http.code=404', log_skipped_ts: true }));
    expect(skipped.status, skipped.err_msg).toBe(2);
    expect(skipped.segments_skipped).toBe(1);
    expectMedia(await ffprobe(skipped.output_path), 'mp4', ts.duration - 1);
    // DESIGN.md's example: 3 one-second segments skipped out of 12 give a 9-second file (here 4 with the 404).
    const ranged = await settle(await create(origin.url('index.m3u8'), { skip_ts_info: '2-4,http.code=404' }));
    expect(ranged.status, ranged.err_msg).toBe(2);
    expectMedia(await ffprobe(ranged.output_path), 'mp4', ts.duration - 4);
  });

  it('gives a clear error when the key URL answers 403', async () => {
    const aes = await ensureFixture('aes');
    const origin = await serve(aes.dir);
    origin.override((_req, res, urlPath) => {
      if (urlPath !== '/key.bin') return false;
      res.writeHead(403).end('no');
      return true;
    });
    const failed = await settle(await create(origin.url('index.m3u8')));
    expect(failed.status).toBe(3);
    expect(failed.err_msg).toMatch(/key/i);
    expect(failed.err_msg).toContain('403');
    expect(failed.err_msg).toContain('key.bin');
  });

  it('fails clearly on things that are not playlists, and refuses a 50 MB one without holding it', async () => {
    const origin = await serve(ts.dir);
    const bodies: Record<string, { type: string; body: () => Buffer | string }> = {
      '/page.html': { type: 'text/html', body: () => '<html><body>no video here</body></html>' },
      '/data.json': { type: 'application/json', body: () => '{"playlist": false}' },
      '/blob.bin': { type: 'application/octet-stream', body: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)) },
      '/empty.m3u8': { type: 'application/vnd.apple.mpegurl', body: () => '' },
    };
    origin.override((_req, res, urlPath) => {
      if (urlPath === '/huge.m3u8') {
        // 50 MB of a valid-looking playlist, streamed: the service must stop reading it.
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
        const line = Buffer.from('#EXTINF:1.0,\nseg000.ts\n'.repeat(4096));
        let sent = 0;
        const pump = () => {
          while (sent < 50 << 20) {
            sent += line.length;
            if (!res.write(line)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.write('#EXTM3U\n#EXT-X-TARGETDURATION:1\n');
        pump();
        res.on('close', () => { sent = Infinity; });
        return true;
      }
      const fake = bodies[urlPath];
      if (!fake) return false;
      res.writeHead(200, { 'content-type': fake.type }).end(fake.body());
      return true;
    });
    const ids = await Promise.all(Object.keys(bodies).map((p) => create(origin.url(p))));
    for (const [i, id] of ids.entries()) {
      const t = await settle(id);
      expect(t.status).toBe(3);
      expect(t.err_msg, Object.keys(bodies)[i]).toMatch(/playlist/i);
    }
    const rssBefore = process.memoryUsage().rss;
    const huge = await settle(await create(origin.url('huge.m3u8')));
    expect(huge.status).toBe(3);
    expect(huge.err_msg).toMatch(/playlist/i);
    expect(huge.err_msg).toMatch(/MB|bytes|large/i);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 << 20);
  });
});

/** Whether this process may mount a tmpfs (root in CI; not every developer machine). */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = path.join(os.tmpdir(), `m3u8dm-mount-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
}

describe.skipIf(!canMount())('a full disk', () => {
  it('fails the task with a clear message, keeps the database intact, and a retry completes once space is freed', async () => {
    const long = await ensureFixture('long');
    const dir = await tempDir('m3u8dm-disk-');
    const work = path.join(dir.path, 'data', 'work');
    await mkdir(work, { recursive: true });
    // The work folder (where segments land) sits on a 512 KB tmpfs: far less than the stream.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', work]);
    const origin = await startHlsServer({ root: long.dir });
    // The tmpfs is unmounted before the folder goes: the test owns the folder, not the helper.
    const svc = await withService({}, { dir: dir.path });
    try {
      const post = await fetch(`${svc.url}/api/tasks`, { method: 'POST', body: JSON.stringify({ url: origin.url('index.m3u8'), filename: 'full' }) });
      const { id } = (await post.json()) as { id: string };
      const read = async () => ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: V1Task & { status_label: string } }).data;
      const failed = await waitFor(async () => { const t = await read(); return t.status === 3 ? t : undefined; }, { timeoutMs: 30_000, what: 'failure on a full disk' });
      expect(failed.err_msg).toMatch(/the disk is full.*; free some space and retry/);
      // The database is intact: the task, its settings and the others are all readable.
      const all = (await (await fetch(`${svc.url}/api/tasks`)).json()) as { id: string; status: string }[];
      expect(all).toEqual([expect.objectContaining({ id, status: '失败' })]);
      // Free space, retry: it completes, reusing what was already on disk.
      const before = origin.requests.length;
      execFileSync('mount', ['-o', 'remount,size=64m', work]);
      const retry = await fetch(`${svc.url}/api/v1/tasks/${id}/retry`, { method: 'POST' });
      expect(retry.status).toBe(200);
      const done = await waitFor(async () => { const t = await read(); return t.status === 2 ? t : undefined; }, { timeoutMs: 30_000, what: 'completion after freeing space' });
      expectMedia(await ffprobe(done.output_path), 'mp4', long.duration);
      expect(origin.requests.length - before).toBeLessThan(long.segments + 1);
    } finally {
      await svc.close();
      await origin.close();
      execFileSync('umount', ['-l', work]);
      await dir.cleanup();
    }
  });
});
