// The client commands (`add`, `ls`, `show`, `stats`, `pause`/`resume`/`rm`, `watch`):
// the built binary run as a child process against a real service on loopback
// (in-process here, with the real engine), downloading from a real HLS server.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { V1Task } from '../src/api/present.js';
import type { ServiceConfig } from '../src/service/config.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { killCliChildren, runCli as runCliProcess, startCli as startCliProcess, type CliOptions } from './helpers/cli-run.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

/** The binary, pointed at this suite's service unless the test says otherwise. */
const startCli = (args: string[], options: CliOptions = {}) => startCliProcess(args, { ...options, env: { M3U8DM_URL: service?.url ?? '', ...options.env } });
const runCli = (args: string[], options: CliOptions = {}) => runCliProcess(args, { ...options, env: { M3U8DM_URL: service?.url ?? '', ...options.env } });

let fixture: FixtureInfo;
let origin: HlsServer;
let service: TestService | undefined;

beforeAll(async () => {
  fixture = await ensureFixture('ts');
  origin = await startHlsServer({ root: fixture.dir });
});

afterAll(async () => {
  await origin.close();
});

afterEach(async () => {
  killCliChildren();
  await service?.close();
  service = undefined;
});

async function boot(overrides: Partial<ServiceConfig> = {}): Promise<TestService> {
  service = await withService(overrides, { prefix: 'm3u8dm-cli-client-' });
  return service;
}

/** A local "HH:MM" two hours ahead: tasks scheduled for it stay pending for the whole test. */
function laterToday(): string {
  const at = new Date(Date.now() + 2 * 3600_000);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}

const parseJson = <T>(text: string): T => JSON.parse(text) as T;

describe('m3u8dm add / ls', () => {
  it('add -f queues exactly the URLs of a file with comments and blank lines, with the options given; ls --json shows them', async () => {
    await boot();
    const urls = [origin.url('a/index.m3u8'), origin.url('b/index.m3u8#part'), origin.url('c/stream.m3u8')];
    const file = path.join(service!.dir, 'urls.txt');
    await writeFile(file, [
      '# weekly batch',
      '',
      urls[0],
      '   ',
      `  ${urls[1]}   # the fragment stays, this comment goes`,
      '#' + origin.url('commented/out.m3u8'),
      `${urls[2]}\r`,
      '',
    ].join('\n'));
    const start = laterToday();
    const added = await runCli(['add', '-f', file, '--start', start, '--threads', '3', '-H', 'Referer: https://example.com/', '--format', 'mkv']);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('queued 3 tasks: 1 2 3\n');

    // stdin works the same way.
    const piped = await runCli(['add', '-', '--start', start], { input: `# one more\n${origin.url('d/index.m3u8')}\n` });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe('queued 1 task: 4\n');

    const listed = await runCli(['ls', '--json']);
    expect(listed.code).toBe(0);
    const tasks = parseJson<V1Task[]>(listed.stdout);
    expect(tasks.map((t) => t.url)).toEqual([origin.url('d/index.m3u8'), ...[...urls].reverse()]);
    for (const task of tasks) {
      expect(task).toMatchObject({ status: 0, status_text: 'pending', source: 'cli' });
      expect(task.start_time).not.toBeNull();
    }
    const first = tasks.find((t) => t.id === 1)!;
    expect(first.header_map).toEqual({ Referer: ['https://example.com/'] });
    expect(first.advanced_settings).toMatchObject({ download_threads: 3, format: 'mkv' });
    expect(first.filename).toMatch(/\.mkv$/);
    // Nothing was fetched: the tasks wait for their start time.
    expect(['/a/index.m3u8', '/b/index.m3u8', '/c/stream.m3u8', '/d/index.m3u8'].map((p) => origin.hits(p))).toEqual([0, 0, 0, 0]);

    const filtered = parseJson<V1Task[]>((await runCli(['ls', '--status', 'completed,failed', '--json'])).stdout);
    expect(filtered).toEqual([]);
    const table = await runCli(['ls']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+DONE\s+SIZE\s+NAME\s+DETAIL$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('add rejects a bad line of a URL file with exit 2 naming file and line, and queues nothing', async () => {
    await boot();
    const file = path.join(service!.dir, 'urls.txt');
    await writeFile(file, `${origin.url('index.m3u8')}\nnot a url\n`);
    const { code, stderr } = await runCli(['add', '-f', file]);
    expect(code).toBe(2);
    expect(stderr).toBe(`m3u8dm: ${file}:2: expected an http:// or https:// URL, got \`not a url\`\n`);
    const empty = await runCli(['add']);
    expect(empty.code).toBe(2);
    expect(parseJson<V1Task[]>((await runCli(['ls', '--json'])).stdout)).toEqual([]);
  });

  it('add --wait exits 1 when one URL fails and 0 when all complete', async () => {
    await boot();
    const good = origin.url(fixture.playlist);
    const mixed = await runCli(['add', good, origin.url('gone/index.m3u8'), '--wait']);
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toMatch(/^#1 completed .*\.mp4$/m);
    expect(mixed.stdout).toMatch(/^#2 failed: .*404/m);
    expect(mixed.stdout).toMatch(/^1 of 2 completed$/m);
    expect(mixed.stderr).toMatch(/^m3u8dm: 1 of 2 tasks did not complete — see `m3u8dm show ID`, then `m3u8dm retry ID`$/m);
    expect(await runCli(['retry', '2'])).toMatchObject({ code: 0, stdout: 'retrying 2\n' });
    const notFailed = await runCli(['retry', '1']);
    expect(notFailed.code).toBe(1);
    expect(notFailed.stderr).toMatch(/^m3u8dm: cannot retry task 1: .*\n$/);

    const allGood = await runCli(['add', good, good, '--wait', '--json']);
    expect(allGood.code).toBe(0);
    const tasks = parseJson<V1Task[]>(allGood.stdout);
    expect(tasks.map((t) => [t.id, t.status_text])).toEqual([[3, 'completed'], [4, 'completed']]);
    for (const task of tasks) expect(existsSync(task.output_path)).toBe(true);
    // Not a terminal: the progress went to stderr as plain lines.
    expect(allGood.stderr).toMatch(/^#3 completed 100% /m);
    expect(allGood.stderr).not.toContain('\x1b[');
  });
});

describe('m3u8dm task commands', () => {
  it('pause, resume, show, stats and rm round-trip one task, and a missing id exits 1', async () => {
    await boot();
    const added = await runCli(['add', origin.url(fixture.playlist), '--start', laterToday(), '--json']);
    expect(parseJson<{ task_ids: number[] }>(added.stdout).task_ids).toEqual([1]);

    expect(await runCli(['pause', '1'])).toMatchObject({ code: 0, stdout: 'paused 1\n' });
    const [pausedJson, pausedStats] = await Promise.all([runCli(['show', '1', '--json']), runCli(['stats', '--json'])]);
    expect(parseJson<V1Task>(pausedJson.stdout)).toMatchObject({ id: 1, status: 4, status_text: 'paused' });
    expect(parseJson<Record<string, number>>(pausedStats.stdout)).toMatchObject({ total: 1, paused: 1, pending: 0 });

    expect(await runCli(['resume', '1'])).toMatchObject({ code: 0, stdout: 'resumed 1\n' });
    const [shown, stats] = await Promise.all([runCli(['show', '1']), runCli(['stats'])]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^status\s+pending \(queued\)$/m);
    expect(shown.stdout).toMatch(new RegExp(`^url\\s+${origin.url(fixture.playlist).replace(/[.?]/g, '\\$&')}$`, 'm'));
    expect(stats.stdout).toMatch(/^pending\s+1$/m);

    // One id fails, the other still goes: exit 1, a line for each.
    const removed = await runCli(['rm', '999', '1']);
    expect(removed.code).toBe(1);
    expect(removed.stdout).toBe('removed 1\n');
    expect(removed.stderr).toBe('m3u8dm: task 999 not found\n');
    const gone = await runCli(['show', '1']);
    expect(gone).toMatchObject({ code: 1, stdout: '', stderr: 'm3u8dm: task 1 not found\n' });
  });

  it('finds the service by PORT alone, as `m3u8dm serve` reads it (no --server, no M3U8DM_URL)', async () => {
    const svc = await boot();
    const env = { M3U8DM_URL: '', PORT: String(svc.port) };
    const added = await runCli(['add', origin.url(fixture.playlist), '--wait'], { env, timeoutMs: 40_000 });
    expect(added.stderr).toContain('completed 100%');
    expect(added.code).toBe(0);
    const [task] = parseJson<V1Task[]>((await runCli(['ls', '--json'], { env })).stdout);
    expect(task).toMatchObject({ status_text: 'completed', source: 'cli' });
    // HOST joins in when set; M3U8DM_URL still wins over both.
    expect((await runCli(['stats', '--json'], { env: { ...env, HOST: '127.0.0.1' } })).code).toBe(0);
    expect((await runCli(['stats', '--json'], { env: { PORT: '1', M3U8DM_URL: svc.url } })).code).toBe(0);
    const bad = await runCli(['ls'], { env: { M3U8DM_URL: '', PORT: 'eighty' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('PORT must be an integer from 1 to 65535');
  });

  it('says in one line how to reach the service when nothing listens, and exits 1', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const server = `http://127.0.0.1:${port}`;
    const message = new RegExp(`^m3u8dm: cannot reach the service at ${server.replace(/\./g, '\\.')}.* — start it with \`m3u8dm serve\` or pass --server\\n$`);
    const results = await Promise.all([
      runCli(['ls', '--server', server]),
      runCli(['add', origin.url(fixture.playlist)], { env: { M3U8DM_URL: server } }),
      runCli(['stats', '--json', '--server', `${server}/`]),
    ]);
    for (const { code, stdout, stderr } of results) {
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(message);
    }
  });

  it('sends the token from --token or M3U8DM_TOKEN, and says what to do without it', async () => {
    await boot({ token: 's3cret' });
    const without = await runCli(['ls']);
    expect(without.code).toBe(1);
    expect(without.stderr).toBe(`m3u8dm: the service at ${service!.url} needs a token — pass --token or set M3U8DM_TOKEN\n`);
    expect((await runCli(['ls', '--token', 's3cret'])).code).toBe(0);
    expect((await runCli(['stats'], { env: { M3U8DM_TOKEN: 's3cret' } })).code).toBe(0);
  });

  it('watch prints each change as a line (NDJSON with --json) and ends with 0 on Ctrl-C', async () => {
    await boot();
    const listeners = service!.manager.listenerCount('task');
    const watch = startCli(['watch', '--json']);
    const plain = startCli(['watch']);
    // Each watcher's events stream is one listener; a task added before both are up could go unseen.
    await waitFor(() => service!.manager.listenerCount('task') >= listeners + 2, { timeoutMs: 10_000, what: 'both watchers subscribed' });
    expect((await runCli(['add', origin.url(fixture.playlist)])).code).toBe(0);
    await waitFor(() => /"status_text":"completed"/.test(watch.stdout()) && / completed 100% /.test(plain.stdout()),
      { timeoutMs: 15_000, what: 'the completed task in both watchers' });
    watch.child.kill('SIGINT');
    plain.child.kill('SIGINT');
    expect(await watch.exited).toBe(0);
    expect(await plain.exited).toBe(0);
    const events = watch.stdout().trim().split('\n').map((line) => parseJson<{ type: string; task: V1Task }>(line));
    expect(events[0]).toMatchObject({ type: 'task.created', task: { id: 1, status_text: 'pending' } });
    expect(events.at(-1)).toMatchObject({ type: 'task.updated', task: { id: 1, status_text: 'completed' } });
    expect(plain.stdout()).toMatch(/^#1 pending 0% /m);
  });
});
