// Choosing the store at start (M3U8DM_STORE, serve --store), through the built CLI: a malformed spec
// and an unreachable database each stop the start with one line; a PostgreSQL spec runs the service
// on the database, so a second instance with its own data dir sees the same tasks.
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_CODE } from '../src/api/present.js';
import { PgTaskStore } from '../src/store/pg-task-store.js';
import { TaskStatus } from '../src/types.js';
import { killCliChildren, runCli } from './helpers/cli-run.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { freePort, startPgCluster, type PgCluster } from './helpers/postgres.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { startServiceProcess, type ServiceProcess } from './helpers/service-process.js';

let dir: TempDir;
let cluster: PgCluster;
let origin: HlsServer;
beforeAll(async () => {
  dir = await tempDir('m3u8dm-store-select-');
  cluster = await startPgCluster();
  origin = await startHlsServer({ root: (await ensureFixture('ts')).dir });
}, 180_000);
afterAll(async () => {
  killCliChildren();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await origin?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await cluster?.stop();
  await dir.cleanup();
}, 60_000);

const env = (name: string, extra: Record<string, string> = {}) => ({
  M3U8DM_DATA_DIR: path.join(dir.path, name, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir.path, 'downloads'), M3U8DM_LOG_LEVEL: 'warn', ...extra,
});

/** Whether something accepts connections on the port. */
const listening = (port: number) => new Promise<boolean>((resolve) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

describe('choosing the store at start', () => {
  it('refuses a malformed M3U8DM_STORE or --store in one line naming it, never echoing a password', async () => {
    for (const [spec, how] of [['mysql://me:secret@127.0.0.1/db', 'env'], ['postgres://me:secret@127.0.0.1:notaport/db', 'env'], ['me:secret@db', 'flag']] as const) {
      const r = how === 'env'
        ? await runCli(['serve', '--port', '0'], { env: env('bad', { M3U8DM_STORE: spec }) })
        : await runCli(['serve', '--port', '0', '--store', spec], { env: env('bad') });
      expect(r.code).toBe(2);
      const name = how === 'env' ? 'M3U8DM_STORE' : '--store';
      expect(r.stderr).toMatch(new RegExp(`^m3u8dm: ${name} must be \`nedb\` or a postgres://user:pass@host:port/db URL.*\\n$`));
      expect(r.stderr).toContain('me:***@');
      expect(r.stderr).not.toContain('secret');
      expect(r.stdout).not.toContain('listening');
    }
  });

  it('exits non-zero on an unreachable database, naming the URL with the password masked, listening on nothing', async () => {
    const port = await freePort();
    const deadDb = await freePort(); // nothing listens there
    const r = await runCli(['serve', '--port', String(port)], { env: env('dead', { M3U8DM_STORE: `postgres://me:secret@127.0.0.1:${deadDb}/m3u8dm` }) });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^m3u8dm: cannot start: cannot connect to the PostgreSQL store postgres://me:\\*\\*\\*@127\\.0\\.0\\.1:${deadDb}/m3u8dm: .*ECONNREFUSED`));
    expect(r.stderr).not.toContain('secret');
    expect(r.stdout).not.toContain('listening');
    expect(await listening(port)).toBe(false);
  });

  it('runs on PostgreSQL: tasks live in the database, and another instance on it sees them', async () => {
    const url = await cluster.createDatabase('select_service');
    let a: ServiceProcess | undefined;
    let b: ServiceProcess | undefined;
    const db = new PgTaskStore({ url });
    try {
      a = await startServiceProcess(env('a'), ['--store', url]);
      const res = await fetch(`${a.url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: origin.url('index.m3u8'), filename: 'on-pg' }) });
      expect(res.status).toBe(200);
      const [id] = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids;
      await db.open();
      await waitFor(async () => (await db.get(id!))?.status === TaskStatus.completed, { what: 'the task completed, as the database has it', timeoutMs: 60_000 });
      expect((await fetch(`${a.url}/api/settings`, { method: 'POST', body: JSON.stringify({ download_threads: 7 }) })).status).toBe(200);
      expect(await a.stop('SIGTERM')).toBe(0);
      a = undefined;
      b = await startServiceProcess(env('b', { M3U8DM_STORE: url }));
      const task = (await (await fetch(`${b.url}/api/v1/tasks/${id}`)).json()) as { data: { filename: string; status: number } };
      expect(task.data).toMatchObject({ filename: expect.stringContaining('on-pg'), status: STATUS_CODE[TaskStatus.completed] });
      const settings = (await (await fetch(`${b.url}/api/settings`)).json()) as { download_threads: number };
      expect(settings.download_threads).toBe(7);
    } finally {
      await db.close();
      await a?.stop('SIGKILL');
      await b?.stop('SIGKILL');
    }
  }, 120_000);
});
