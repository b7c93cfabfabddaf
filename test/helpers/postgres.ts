// A throwaway PostgreSQL cluster for tests: initdb in a temp dir, pg_ctl start on a free
// loopback port (unix socket inside the temp dir), run as an unprivileged user when the
// tests run as root (PostgreSQL refuses to run as root), stopped and removed afterwards.
import { execFile } from 'node:child_process';
import { chmod, chown, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './temp-dir.js';

const run = promisify(execFile);

export interface PgCluster {
  /** postgres://… of the `postgres` database (trust auth on loopback). */
  url: string;
  port: number;
  /** Creates a fresh database and returns its URL, so each test starts empty. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`: connections are cut), keeping its data: the database "goes away". */
  halt(): Promise<void>;
  /** Starts the server again on the same port and data dir (halting it first if it runs). */
  restart(): Promise<void>;
  /** Stops the server and removes the cluster. */
  stop(): Promise<void>;
}

async function findBin(name: string): Promise<string> {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin']) {
    const candidate = path.join(dir, name);
    try {
      await run(candidate, ['--version'], { timeout: 10_000 });
      return candidate;
    } catch { /* not here */ }
  }
  throw new Error(`PostgreSQL's ${name} was not found (PATH or /usr/lib/postgresql/*/bin): install Debian's postgresql package (.ci/run does)`);
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Root may not run PostgreSQL: its commands then run as `postgres` (or `nobody`) via runuser. */
async function asUser(): Promise<{ name: string; uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    try {
      const { stdout } = await run('id', ['-u', name]);
      const { stdout: g } = await run('id', ['-g', name]);
      return { name, uid: Number(stdout.trim()), gid: Number(g.trim()) };
    } catch { /* no such user */ }
  }
  throw new Error('tests run as root but there is neither a postgres nor a nobody user to run PostgreSQL as');
}

export async function startPgCluster(): Promise<PgCluster> {
  const initdb = await findBin('initdb');
  const pgCtl = await findBin('pg_ctl');
  const user = await asUser();
  const { path: dir, cleanup } = await tempDir('m3u8dm-pg-');
  const data = path.join(dir, 'data');
  const exec = async (bin: string, args: string[], timeout: number) => {
    const [file, argv] = user ? ['runuser', ['-u', user.name, '--', bin, ...args]] : [bin, args];
    try {
      return await run(file, argv, { timeout, cwd: dir });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${path.basename(bin)} failed: ${(e.stderr || e.message).trim()}`);
    }
  };
  if (user) {
    await chown(dir, user.uid, user.gid);
    await chmod(dir, 0o700);
  }
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=50`;
  const start = () => exec(pgCtl, ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start'], 90_000);
  let running = false;
  try {
    await exec(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], 120_000);
    await writeFile(path.join(dir, 'conf.note'), 'throwaway cluster of the m3u8dm tests\n');
    await start();
    running = true;
  } catch (err) {
    await cleanup();
    throw err;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const halt = async () => {
    if (!running) return;
    await exec(pgCtl, ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'], 45_000);
    running = false;
  };
  return {
    url,
    port,
    async createDatabase(name) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    halt,
    async restart() {
      await halt();
      await start();
      running = true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await exec(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 45_000).catch(() => undefined);
      await cleanup();
    },
  };
}
