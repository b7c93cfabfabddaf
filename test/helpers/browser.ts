// The browser end-to-end kit: Debian's chromium driven by playwright-core, the web
// page compiled fresh when its sources changed, the real service in-process, and
// an HLS fixture server whose folders (symlinks to one real fixture) each behave
// their own way: `slow/` staggers segments, gated ones hold segments until opened.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunningService } from '../../src/service/server.js';
import { ensureFixture, type FixtureInfo } from './hls-fixtures.js';
import { startHlsServer, type HlsServer } from './hls-server.js';
import { withService } from './with-service.js';

const run = promisify(execFile);
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUTPUT_DIR = path.join(REPO, 'test-output');
export const CHROMIUM = '/usr/bin/chromium';

/** `extraArgs`: more chromium switches, e.g. `--host-resolver-rules=MAP evil.example 127.0.0.1` to play DNS rebinding. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...extraArgs],
    timeout: 20_000,
  });
}

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) if (name.endsWith(ext)) newest = Math.max(newest, statSync(path.join(dir, name)).mtimeMs);
  return newest;
}

function oldestMtime(dir: string, ext: string): number {
  let oldest = Infinity;
  for (const name of readdirSync(dir)) if (name.endsWith(ext)) oldest = Math.min(oldest, statSync(path.join(dir, name)).mtimeMs);
  return oldest;
}

/** What the page loads from src/ at run time (its types from src/ leave no code behind). */
const SHARED_RUNTIME = ['src/wire-vocabulary.ts', 'src/api/error-codes.ts'];

function webBuildIsCurrent(): boolean {
  const src = path.join(REPO, 'web', 'src');
  // tsconfig.web.json's root is the repository: web/src/x.ts compiles to web/dist/web/src/x.js.
  const dist = path.join(REPO, 'web', 'dist');
  const pageDist = path.join(dist, 'web', 'src');
  try {
    const sources = readdirSync(src).filter((n) => n.endsWith('.ts'));
    if (!sources.every((n) => statSync(path.join(pageDist, n.replace(/\.ts$/, '.js'))).isFile())) return false;
    const shared = SHARED_RUNTIME.map((file) => [path.join(REPO, file), path.join(dist, file.replace(/\.ts$/, '.js'))] as const);
    if (shared.some(([from, to]) => statSync(to).mtimeMs < statSync(from).mtimeMs)) return false;
    return oldestMtime(pageDist, '.js') >= newestMtime(src, '.ts');
  } catch {
    return false;
  }
}

/**
 * Compiles web/src into web/dist unless it is already current (`npm test` builds it
 * first; `npx vitest run test/web` alone may not have). Two test files may ask at
 * once: a lock folder lets one build while the other waits.
 */
export async function ensureWebBuilt(): Promise<void> {
  const lock = path.join(os.tmpdir(), 'm3u8dm-web-build.lock');
  const deadline = Date.now() + 90_000;
  while (!webBuildIsCurrent()) {
    try {
      mkdirSync(lock);
    } catch {
      // Someone else builds; a lock older than two minutes is a crashed run's.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* gone meanwhile */ }
      if (Date.now() > deadline) throw new Error('timed out waiting for another web build');
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      if (!webBuildIsCurrent()) {
        await run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.web.json'], { cwd: REPO, timeout: 90_000 });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    return;
  }
}

/** A gate that holds requests until opened. */
export class Gate {
  #open!: () => void;
  readonly opened = new Promise<void>((resolve) => { this.#open = resolve; });
  open(): void {
    this.#open();
  }
}

export interface WebHarness {
  service: RunningService;
  hls: HlsServer;
  fixture: FixtureInfo;
  downloadDir: string;
  /** Gates by folder name: segments numbered 4 and up of `<name>/` wait for `gate(name).open()`. */
  gate(name: string): Gate;
  /** Playlist URL in one of the fixture server's folders. */
  playlist(folder: string): string;
  close(): Promise<void>;
}

const FOLDERS = ['fast', 'slow', 'gated', 'stuck', 'curl', 'paging'];

export async function startWebHarness(opts: { token?: string; basicAuth?: { user: string; pass: string } } = {}): Promise<WebHarness> {
  await ensureWebBuilt();
  const fixture = await ensureFixture('ts');
  const service = await withService({ token: opts.token, basicAuth: opts.basicAuth, maxActive: 4 }, { prefix: 'm3u8dm-web-' });
  const root = path.join(service.dir, 'hls');
  await mkdir(root);
  for (const name of FOLDERS) await symlink(fixture.dir, path.join(root, name));
  const gates = new Map<string, Gate>();
  const gate = (name: string) => {
    let g = gates.get(name);
    if (!g) gates.set(name, (g = new Gate()));
    return g;
  };
  const hls = await startHlsServer({ root, latencyMs: 20 });
  hls.override(async (_req, _res, urlPath) => {
    const m = /^\/(\w+)\/seg(\d+)\.ts$/.exec(urlPath);
    if (!m) return false;
    const n = Number(m[2]);
    // Staggered so progress moves visibly over ~1.5 s whatever the thread count.
    if (m[1] === 'slow') await new Promise((r) => setTimeout(r, n * 110));
    if ((m[1] === 'gated' || m[1] === 'stuck') && n >= 4) await gate(m[1]).opened;
    return false; // then served as usual
  });
  const { downloadDir } = service;
  await mkdir(downloadDir);
  return {
    service,
    hls,
    fixture,
    downloadDir,
    gate,
    playlist: (folder) => hls.url(`${folder}/${fixture.playlist}`),
    async close() {
      for (const g of gates.values()) g.open();
      await service.close().catch(() => undefined);
      await hls.close().catch(() => undefined);
    },
  };
}

/** Saves a screenshot under test-output/ and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** `HH:MM` two minutes ago, local time: as a v1 `start_time` it means "about a day from now". */
export function startTimeTomorrow(): string {
  const at = new Date(Date.now() - 2 * 60_000);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}
