// The file-system findings, against the real service, engine and ffmpeg: a user's
// folder named like a task id survives; path settings with line breaks (the concat-list
// injection) are refused and the list names nothing but its own runs; a symlink planted
// at the old predictable `.part` name writes nothing; the data folder and its files are
// private (and put right on start); a tampered id in the database is refused; file
// names lose C1 and bidi controls.
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mergeSegments } from '../src/merge/index.js';
import { partPath } from '../src/merge/output-path.js';
import type { RunningService } from '../src/service/server.js';
import { startTimeTomorrow } from './helpers/browser.js';
import { ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { withService } from './helpers/with-service.js';

interface V1Task { id: number; status: number; err_msg: string; output_path: string; filename: string }

let hls: HlsServer;
let fixture: FixtureInfo;
let discontinuity: FixtureInfo;
let root: TempDir;

beforeAll(async () => {
  [fixture, discontinuity] = await Promise.all([ensureFixture('ts'), ensureFixture('discontinuity')]);
  root = await tempDir('m3u8dm-fs-');
  await mkdir(path.join(root.path, 'hls'));
  await symlink(fixture.dir, path.join(root.path, 'hls', 'ts'));
  await symlink(discontinuity.dir, path.join(root.path, 'hls', 'disc'));
  hls = await startHlsServer({ root: path.join(root.path, 'hls') });
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await hls?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await root?.cleanup();
});

/** A service of its own per test, in its own folder. */
async function service(name: string, extra: { saveRoots?: string[] } = {}): Promise<{ svc: RunningService; dir: string; downloads: string; data: string }> {
  const dir = path.join(root.path, name);
  await mkdir(path.join(dir, 'downloads'), { recursive: true });
  // In the suite's folder, which goes at the end; a test may have put files there first.
  const svc = await withService(extra, { dir });
  running.push(svc);
  return { svc, dir, downloads: svc.downloadDir, data: svc.dataDir };
}
const running: RunningService[] = [];
afterEach(async () => {
  for (const svc of running.splice(0)) await svc.close().catch(() => undefined);
});

async function call(svc: RunningService, method: string, route: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${svc.url}${route}`, {
    method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, text: await res.text() };
}
async function create(svc: RunningService, body: Record<string, unknown>): Promise<number> {
  const res = await call(svc, 'POST', '/api/v1/tasks', body);
  expect(res.status, res.text).toBe(200);
  return (JSON.parse(res.text) as { data: { task_ids: number[] } }).data.task_ids[0]!;
}
async function task(svc: RunningService, id: number): Promise<V1Task> {
  return (JSON.parse((await call(svc, 'GET', `/api/v1/tasks/${id}`)).text) as { data: V1Task }).data;
}
async function finished(svc: RunningService, id: number): Promise<V1Task> {
  await waitFor(async () => [2, 3].includes((await task(svc, id)).status), { timeoutMs: 60_000, what: `task ${id} to end` });
  return task(svc, id);
}
const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('work folders', () => {
  it('refuses the download folder or a save root as temp_directory', async () => {
    const roots = path.join(root.path, 'extra-root');
    await mkdir(roots, { recursive: true });
    const { svc, downloads } = await service('temp-refused', { saveRoots: [roots] });
    for (const value of [downloads, '', roots, path.dirname(downloads)].filter(Boolean)) {
      const res = await call(svc, 'POST', '/api/settings', { temp_directory: value });
      // The parent of the download dir is outside every root; the others are roots themselves.
      expect(res.status, value).toBe(400);
      expect(res.text, value).toMatch(/temp_directory must be/);
    }
    const v1 = await call(svc, 'POST', '/api/v1/tasks', { url: hls.url(`ts/${fixture.playlist}`), options: { temp_directory: downloads } });
    expect(v1.status).toBe(400);
    expect(v1.text).toContain('temp_directory must be a folder of its own');
  });

  it('leaves a user folder named like the next task id alone, through download, merge and DELETE', async () => {
    const { svc, downloads } = await service('user-folder');
    const work = path.join(downloads, 'scratch-area');
    expect((await call(svc, 'POST', '/api/settings', { temp_directory: work })).status).toBe(200);
    const first = await create(svc, { url: hls.url(`ts/${fixture.playlist}`), start_time: startTimeTomorrow() });
    // The user's own folders, named as the next task's work folder would be.
    const mine = path.join(work, String(first + 1));
    await mkdir(mine, { recursive: true });
    await writeFile(path.join(mine, 'holiday.mp4'), 'precious');
    await writeFile(path.join(mine, 'seg00001.ts'), 'also mine');
    const id = await create(svc, { url: hls.url(`ts/${fixture.playlist}`), filename: 'clip' });
    expect(id).toBe(first + 1);
    const done = await finished(svc, id);
    expect(done.status, done.err_msg).toBe(2);
    expect((await call(svc, 'DELETE', `/api/tasks?id=${id}`)).status).toBe(200);
    expect((await call(svc, 'DELETE', `/api/tasks?id=${first}`)).status).toBe(200);
    expect((await readdir(mine)).sort()).toEqual(['holiday.mp4', 'seg00001.ts']);
    expect(await readFile(path.join(mine, 'holiday.mp4'), 'utf8')).toBe('precious');
    // The task's own folder (`<id>_1`, made by the service) is gone.
    expect(await readdir(work)).toEqual([String(id)]);
  }, 90_000);

  it('refuses a tampered id in the database and never removes a folder the record merely names', async () => {
    const dir = path.join(root.path, 'tampered');
    const data = path.join(dir, 'data');
    const victim = path.join(dir, 'victim');
    const named = path.join(dir, 'named-by-record');
    await mkdir(data, { recursive: true });
    await mkdir(path.join(victim), { recursive: true });
    await mkdir(named, { recursive: true });
    await writeFile(path.join(victim, 'keep.txt'), 'x');
    await writeFile(path.join(named, 'keep.txt'), 'x');
    const base = {
      url: 'http://127.0.0.1:9/a.m3u8', filename: 'a.mp4', status: '失败', phase: 'queued', progress: 0, status_bar: '', err_msg: '', size: 0,
      created_at: new Date().toISOString(), updated_at: new Date().toISOString(), completed_at: null, started_at: null, start_time: null,
      header_map: {}, advanced: false, options: {}, source: 'api', segments_total: 0, segments_done: 0, segments_skipped: 0,
      downloaded_bytes: 0, speed_bps: 0, eta_s: null, output_path: '',
    };
    // The id climbs out of the work base by `..`; the other record points its work folder at a folder of the user's.
    const rel = path.relative(path.join(data, 'work'), victim);
    const lines = [
      { ...base, _id: '7', id: rel },
      { ...base, _id: '8', id: 8, work_dir: named },
      { ...base, _id: '9', id: 9, work_dir: path.join(data, 'work', '..', '..', 'victim') },
    ];
    await writeFile(path.join(data, 'tasks.db'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const { svc } = await service('tampered');
    expect((await call(svc, 'DELETE', '/api/tasks?id=7')).status).toBe(404);
    expect((await call(svc, 'DELETE', '/api/v1/tasks/7')).status).toBe(404);
    expect((await call(svc, 'DELETE', '/api/tasks?id=8')).status).toBe(200);
    expect((await call(svc, 'DELETE', '/api/tasks?id=9')).status).toBe(200);
    const ids = (JSON.parse((await call(svc, 'GET', '/api/tasks')).text) as { id: string }[]).map((t) => t.id);
    expect(ids).toEqual([]);
    expect(await readdir(victim)).toEqual(['keep.txt']);
    expect(await readdir(named)).toEqual(['keep.txt']);
  });
});

describe('names and paths', () => {
  it('refuses line breaks and other controls in path settings (the concat-list injection)', async () => {
    const { svc } = await service('controls');
    const injected = "x\nfile '/etc/passwd'\n";
    for (const field of ['temp_directory', 'save_location']) {
      for (const value of [injected, 'a\u0085b', 'a\u2028b', 'a\u202eb', 'a\rb']) {
        const res = await call(svc, 'POST', '/api/settings', { [field]: value });
        expect(res.status, `${field} ${JSON.stringify(value)}`).toBe(400);
        expect(res.text).toContain(`${field} must not contain control characters`);
        const v1 = await call(svc, 'POST', '/api/v1/tasks', { url: hls.url(`ts/${fixture.playlist}`), options: { [field]: value } });
        expect(v1.status).toBe(400);
      }
    }
    const settings = JSON.parse((await call(svc, 'GET', '/api/settings')).text) as Record<string, string>;
    expect(settings.temp_directory).toBe('');
    expect(settings.save_location).toBe('');
  });

  it('merges discontinuity runs through a concat list of plain names, whatever the work folder is called', async () => {
    const { svc, downloads, dir } = await service('concat');
    // A secret the old list could have been made to read; and a work folder name full of list syntax.
    const secret = path.join(dir, 'secret.ts');
    await writeFile(secret, await readFile(path.join(fixture.dir, 'seg000.ts')));
    const work = path.join(downloads, "w' file 'x.ts");
    const id = await create(svc, { url: hls.url(`disc/${discontinuity.playlist}`), filename: 'joined', options: { temp_directory: work } });
    const done = await finished(svc, id);
    expect(done.status, done.err_msg).toBe(2);
    const probed = await ffprobe(done.output_path);
    expect(probed.duration).toBeGreaterThan(discontinuity.duration - 0.6);
    expect(probed.duration).toBeLessThan(discontinuity.duration + 0.6);
  }, 90_000);

  it('lets no work folder name add an entry to the concat list (plain names, -safe 1)', async () => {
    const dir = path.join(root.path, 'concat-direct');
    const secret = path.join(dir, 'secret.ts');
    await mkdir(dir, { recursive: true });
    await writeFile(secret, await readFile(path.join(fixture.dir, 'seg000.ts')));
    // What a path setting with line breaks once put into the list: an entry of its own, the rest a comment.
    const workDir = path.join(dir, `w\nfile '${secret}'\n#`);
    await writeFile(path.join(dir, 'w'), await readFile(path.join(fixture.dir, 'seg001.ts')));
    await mkdir(workDir, { recursive: true });
    const segments = [];
    for (const [i, [part, n]] of ([['a', 0], ['a', 1], ['a', 2], ['a', 3], ['b', 0], ['b', 1], ['b', 2], ['b', 3]] as const).entries()) {
      const file = path.join(workDir, `seg${String(i).padStart(5, '0')}.ts`);
      await writeFile(file, await readFile(path.join(discontinuity.dir, part, `seg${String(n).padStart(3, '0')}.ts`)));
      segments.push({ index: i, file, duration: 1, discontinuity: i === 4, bytes: (await stat(file)).size });
    }
    const saveDir = path.join(dir, 'out');
    const merged = await mergeSegments({
      download: { container: 'ts', segments, skipped: [], duration: 8 },
      workDir, saveDir, filename: 'joined.mp4', format: 'mp4', noMerge: false, keepSegments: false,
      signal: new AbortController().signal, onProgress: () => undefined,
    });
    const probed = await ffprobe(merged.outputPath);
    expect(probed.duration).toBeGreaterThan(7.4);
    expect(probed.duration).toBeLessThan(8.6);
  }, 60_000);

  it('writes nothing through a symlink planted at the old predictable .part name', async () => {
    const { svc, downloads, data, dir } = await service('symlink');
    const target = path.join(dir, 'outside.txt');
    await writeFile(target, 'do not overwrite');
    const first = await create(svc, { url: hls.url(`ts/${fixture.playlist}`), start_time: startTimeTomorrow() });
    const next = first + 1;
    // Where the part used to go, for the next task's file name and work folder.
    for (const format of ['mp4', 'ts']) {
      await symlink(target, partPath(downloads, `victim.${format}`, path.join(data, 'work', String(next))));
    }
    const id = await create(svc, { url: hls.url(`ts/${fixture.playlist}`), filename: 'victim' });
    expect(id).toBe(next);
    const done = await finished(svc, id);
    expect(done.status, done.err_msg).toBe(2);
    expect(await readFile(target, 'utf8')).toBe('do not overwrite');
    expect((await lstat(done.output_path)).isFile()).toBe(true);
    expect(path.dirname(done.output_path)).toBe(downloads);
    // No private merge folder is left behind.
    expect((await readdir(downloads)).filter((n) => n.startsWith('.m3u8dm-merge-'))).toEqual([]);
  }, 90_000);

  it('strips C1 controls, line separators and bidi overrides from file names', async () => {
    const { svc } = await service('names');
    const cases: [string, string][] = [
      ['evil\u202egpj.exe', 'evilgpj.exe.mp4'],
      ['a\u0085b\u2028c\u2029d', 'abcd.mp4'],
      ['x\u2066y\u2069\u200e\u200fz\u061c', 'xyz.mp4'],
      ['tab\there\u009b', 'tabhere.mp4'],
    ];
    for (const [given, expected] of cases) {
      const id = await create(svc, { url: hls.url(`ts/${fixture.playlist}`), filename: given, start_time: startTimeTomorrow() });
      expect((await task(svc, id)).filename).toBe(expected);
    }
  });
});

describe('modes of the data folder', () => {
  it('keeps the data folder 0700 and the databases, lock and logs 0600, and puts them right on start', async () => {
    const { svc, data } = await service('modes');
    const id = await create(svc, { url: hls.url(`ts/${fixture.playlist}`), filename: 'logged', options: { debug_log: true } });
    expect((await finished(svc, id)).status).toBe(2);
    expect(await mode(data)).toBe(0o700);
    for (const name of ['tasks.db', 'meta.db', 'm3u8dm.lock']) expect(await mode(path.join(data, name)), name).toBe(0o600);
    expect(await mode(path.join(data, 'logs'))).toBe(0o700);
    expect(await mode(path.join(data, 'logs', `task-${id}.log`))).toBe(0o600);
    await svc.close();
    // Left open by an older version, or a copy: fixed on the next start.
    await chmod(data, 0o755);
    await chmod(path.join(data, 'tasks.db'), 0o644);
    await chmod(path.join(data, 'meta.db'), 0o666);
    await chmod(path.join(data, 'logs'), 0o755);
    await chmod(path.join(data, 'logs', `task-${id}.log`), 0o644);
    const again = await withService({}, { dir: path.dirname(data) });
    running.push(again);
    expect(await mode(data)).toBe(0o700);
    expect(await mode(path.join(data, 'tasks.db'))).toBe(0o600);
    expect(await mode(path.join(data, 'meta.db'))).toBe(0o600);
    expect(await mode(path.join(data, 'logs'))).toBe(0o700);
    expect(await mode(path.join(data, 'logs', `task-${id}.log`))).toBe(0o600);
    // A new work folder is private too.
    const scheduled = await create(again, { url: hls.url(`ts/${fixture.playlist}`), filename: 'later' });
    await finished(again, scheduled);
    expect(await mode(path.join(data, 'work'))).toBe(0o700);
  }, 90_000);
});
