// The seed's per-task options, end to end through the compat API with the real engine:
// where files land and what they hold.
import { readdir, readFile, stat, utimes, cp } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

interface Task { id: string; status: string; size: number; err_msg: string; filename: string }

describe('seed options end to end', () => {
  let downloads: string;
  let origin: HlsServer;
  let svc: TestService;
  let fixture: FixtureInfo;
  const serverTime = new Date('2021-03-04T05:06:07Z');

  beforeAll(async () => {
    const ts = await ensureFixture('ts');
    svc = await withService({ maxActive: 5 }, { prefix: 'm3u8dm-opts-' });
    downloads = svc.downloadDir;
    // A copy whose files carry a known modification time, so Last-Modified is known.
    const root = path.join(svc.dir, 'origin');
    await cp(ts.dir, root, { recursive: true });
    for (const f of await readdir(root)) await utimes(path.join(root, f), serverTime, serverTime);
    fixture = { ...ts, dir: root };
    origin = await startHlsServer({ root });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await origin?.close();
  });

  async function run(filename: string, options: Record<string, unknown>): Promise<Task> {
    const res = await fetch(`${svc.url}/api/tasks`, { method: 'POST', body: JSON.stringify({ url: origin.url('index.m3u8'), filename, advanced: true, ...options }) });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    return waitFor(async () => {
      const t = ((await (await fetch(`${svc.url}/api/tasks`)).json()) as Task[]).find((x) => x.id === id);
      return t && (t.status === '已完成' || t.status === '失败') ? t : undefined;
    }, { timeoutMs: 30_000, what: `${filename} to end` });
  }

  it('no_merge_ts leaves the segments in a folder named after the output, task completed', async () => {
    const t = await run('nomerge', { no_merge_ts: true });
    expect(t.status, t.err_msg).toBe('已完成');
    const folder = path.join(downloads, 'nomerge');
    const files = (await readdir(folder)).filter((f) => f.endsWith('.ts'));
    expect(files).toHaveLength(fixture.segments);
    expect(t.size).toBe((await Promise.all(files.map((f) => stat(path.join(folder, f))))).reduce((a, s) => a + s.size, 0));
    expect(await readdir(downloads)).not.toContain('nomerge.mp4');
  });

  it('keep_ts_files keeps the segments beside a real MP4; without it only the MP4 remains', async () => {
    const kept = await run('kept', { keep_ts_files: true });
    expect(kept.status, kept.err_msg).toBe('已完成');
    expectMedia(await ffprobe(path.join(downloads, 'kept.mp4')), 'mp4', fixture.duration);
    expect((await readdir(path.join(downloads, 'kept'))).filter((f) => f.endsWith('.ts'))).toHaveLength(fixture.segments);
    const plain = await run('plain', {});
    expect(plain.status).toBe('已完成');
    expect((await readdir(downloads)).filter((f) => f.startsWith('plain'))).toEqual(['plain.mp4']);
    expect(await readdir(path.join(svc.dataDir, 'work')).catch(() => [])).not.toContain(plain.id);
  });

  it('use_server_file_time sets the output mtime from Last-Modified', async () => {
    const t = await run('dated', { use_server_file_time: true });
    expect(t.status, t.err_msg).toBe('已完成');
    expect((await stat(path.join(downloads, 'dated.mp4'))).mtime.toISOString()).toBe(serverTime.toISOString());
    const undated = await run('undated', {});
    expect(undated.status).toBe('已完成');
    expect(Math.abs((await stat(path.join(downloads, 'undated.mp4'))).mtimeMs - Date.now())).toBeLessThan(60_000);
  });

  it('log_skipped_ts writes what was skipped and why next to the output', async () => {
    const t = await run('skipping', { skip_ts_info: '1-2,time:00:00:10-00:00:12', log_skipped_ts: true });
    expect(t.status, t.err_msg).toBe('已完成');
    const log = await readFile(path.join(downloads, 'skipping.mp4.skipped.txt'), 'utf8');
    const lines = log.trim().split('\n').filter((l) => /seg\d+\.ts/.test(l));
    expect(lines).toHaveLength(4);
    expect(log).toContain('seg000.ts');
    expect(log).toContain('seg011.ts');
    expect(log).toMatch(/time:00:00:10-00:00:12/);
    expectMedia(await ffprobe(path.join(downloads, 'skipping.mp4')), 'mp4', fixture.duration - 4);
  });

  it('debug_log writes a per-task log with every request and the ffmpeg command', async () => {
    const t = await run('debugged', { debug_log: true });
    expect(t.status, t.err_msg).toBe('已完成');
    const log = await readFile(path.join(svc.dataDir, 'logs', `task-${t.id}.log`), 'utf8');
    expect(log.match(/GET http:\/\/127\.0\.0\.1:\d+\/seg\d+\.ts/g)).toHaveLength(fixture.segments);
    expect(log).toMatch(/ffmpeg.* -i pipe:0/);
  });

  it('never overwrites: the same name twice gives name_1', async () => {
    const a = await run('twice', {});
    const b = await run('twice', {});
    expect([a.status, b.status]).toEqual(['已完成', '已完成']);
    expect((await readdir(downloads)).filter((f) => f.startsWith('twice')).sort()).toEqual(['twice.mp4', 'twice_1.mp4']);
  });
});
