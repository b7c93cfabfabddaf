// `m3u8dm get`: the built binary run as a child process against a real HLS server
// on loopback — a valid file out, Ctrl-C and resume, proxies, usage errors.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { killCliChildren, runCli, startCli } from './helpers/cli-run.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { startSocks5Proxy, type TestProxy } from './helpers/proxies.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';

let fixture: FixtureInfo;
let server: HlsServer;
let dir: TempDir | undefined;

beforeAll(async () => {
  fixture = await ensureFixture('ts');
  server = await startHlsServer({ root: fixture.dir });
});

afterAll(async () => {
  await server.close();
});

afterEach(async () => {
  killCliChildren();
  server.options.latencyMs = 0;
  await dir?.cleanup();
});

async function freshDir(): Promise<string> {
  dir = await tempDir('m3u8dm-cli-get-');
  return dir.path;
}

/**
 * Playlist indexes of the whole segment files in a work folder. Finished segments carry their
 * final name (`seg00003.ts`); one still arriving has a temporary one.
 */
async function finishedSegments(workDir: string): Promise<number[]> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  return names.flatMap((name) => {
    const m = /^seg(\d+)\.ts$/.exec(name);
    return m ? [Number(m[1])] : [];
  });
}

/** The fixture's segment path (`/seg003.ts`) for a 0-based playlist index. */
const segmentPath = (index: number) => `/seg${String(index).padStart(3, '0')}.ts`;

describe('m3u8dm get', () => {
  it('downloads a stream to a valid MP4 named by -o, prints its path, and leaves no work folder', async () => {
    const out = await freshDir();
    const { code, stdout, stderr } = await runCli(['get', server.url(fixture.playlist), '-o', path.join(out, 'clips', 'my clip')]);
    expect(stderr).not.toMatch(/m3u8dm:/);
    expect(code).toBe(0);
    const file = path.join(out, 'clips', 'my clip.mp4');
    expect(stdout).toBe(`${file}\n`);
    expectMedia(await ffprobe(file), 'mp4', fixture.duration);
    // Not a terminal: plain progress lines, no cursor control, and a summary at the end.
    expect(stderr).not.toContain('\x1b[');
    expect(stderr).toMatch(/downloading/);
    expect(stderr).toMatch(/^done · 12 segments · /m);
    expect(await readdir(path.join(out, 'clips'))).toEqual(['my clip.mp4']);
  });

  it('stops cleanly on SIGINT and, run again, fetches only the segments it did not finish', async () => {
    const out = await freshDir();
    const target = path.join(out, 'clip.mp4');
    const workDir = path.join(out, '.clip.mp4.m3u8dm');
    // Slow enough to interrupt part-way: 12 segments, 2 at a time, 250 ms each.
    server.options.latencyMs = 250;
    const args = ['get', server.url(fixture.playlist), '-o', target, '--threads', '2'];
    const first = startCli(args);
    await waitFor(async () => (await finishedSegments(workDir)).length >= 3, { timeoutMs: 15_000, what: 'three finished segments' });
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.stderr()).toMatch(/^m3u8dm: interrupted — \d+ of 12 segments are kept in .*\.clip\.mp4\.m3u8dm; run the same command again to resume$/m);
    expect(existsSync(target)).toBe(false);

    const kept = await finishedSegments(workDir);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(12);

    server.options.latencyMs = 0;
    const before = server.requests.length;
    const second = await runCli(args);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`${target}\n`);
    const fetched = server.requests.slice(before).map((r) => r.path);
    // The saved playlist is reused, and no finished segment is fetched again.
    expect(fetched).not.toContain(`/${fixture.playlist}`);
    for (const index of kept) expect(fetched).not.toContain(segmentPath(index));
    const missing = Array.from({ length: 12 }, (_, i) => i).filter((i) => !kept.includes(i));
    expect([...fetched].sort()).toEqual(missing.map(segmentPath).sort());
    expectMedia(await ffprobe(target), 'mp4', fixture.duration);
    expect(existsSync(workDir)).toBe(false);
  });

  it('goes through a SOCKS5 proxy given as a URL with encoded credentials, and takes the container from -o', async () => {
    const out = await freshDir();
    const proxy: TestProxy = await startSocks5Proxy({ username: 'video user', password: 'p@ss:w/rd%' });
    try {
      const proxyUrl = `socks5://${encodeURIComponent('video user')}:${encodeURIComponent('p@ss:w/rd%')}@127.0.0.1:${proxy.port}`;
      const { code, stdout, stderr } = await runCli(['get', server.url(fixture.playlist), '-o', path.join(out, 'clip.mkv'), '--proxy', proxyUrl]);
      expect(stderr).not.toMatch(/m3u8dm:/);
      expect(code).toBe(0);
      expect(stdout.trim()).toBe(path.join(out, 'clip.mkv'));
      expect(proxy.authFailures).toBe(0);
      expect(proxy.connections).toBeGreaterThan(0);
      expectMedia(await ffprobe(path.join(out, 'clip.mkv')), 'mkv', fixture.duration);
    } finally {
      await proxy.close();
    }
  });

  it('exits 1 with one line naming the HTTP error when the playlist answers 404, leaving nothing behind', async () => {
    const out = await freshDir();
    const { code, stdout, stderr } = await runCli(['get', server.url('missing.m3u8'), '-o', path.join(out, 'x.mp4')]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const errors = stderr.split('\n').filter((l) => l.startsWith('m3u8dm:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/404/);
    expect(await readdir(out)).toEqual([]);
  });

  it('exits 2 with one line on stderr for every usage error, before touching the network', async () => {
    const url = server.url(fixture.playlist);
    const before = server.requests.length;
    const cases: [string[], RegExp][] = [
      [['get'], /missing required argument 'url'/],
      [['get', 'ftp://example.com/a.m3u8'], /http:\/\/ or https:\/\//],
      [['get', url, '--threads', '0'], /--threads must be an integer from 1 to 128, got `0`/],
      [['get', url, '--threads', 'many'], /--threads must be an integer/],
      [['get', url, '--proxy', 'ftp://127.0.0.1:21'], /--proxy scheme `ftp` is not supported/],
      [['get', url, '--proxy', 'socks5://'], /--proxy/],
      [['get', url, '--skip', '5-x'], /--skip: invalid skip_ts_info part "5-x"/],
      [['get', url, '--variant', 'huge'], /--variant must be best, worst or a maximum height/],
      [['get', url, '--format', 'avi'], /--format/],
      [['get', url, '-H', 'no colon'], /-H must look like "Name: value"/],
      [['get', url, '--bogus'], /unknown option '--bogus'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach(({ code, stdout, stderr }, i) => {
      const [args, message] = cases[i]!;
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^m3u8dm: .* — see `m3u8dm( get)? --help`\n$/);
      expect(stderr).toMatch(message);
    });
    expect(server.requests.length).toBe(before);
  });
});
