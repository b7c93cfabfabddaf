// What the downloader suites share: a fixture server per test, temp work folders,
// and a DownloadRequest with the test's options. Cleans up after itself.
import { afterAll, afterEach } from 'vitest';
import type { DownloadRequest } from '../../src/downloader/index.js';
import type { HeaderMap, ProgressSnapshot, TaskOptions } from '../../src/types.js';
import { ensureFixture, type FixtureKind } from './hls-fixtures.js';
import { startHlsServer, type HlsServer, type HlsServerOptions } from './hls-server.js';
import { downloadOptions } from './task-options.js';
import { tempDir, type TempDir } from './temp-dir.js';

/** Registers the hooks; call at the top of a test file. */
export function useDownloaderHarness(base: Partial<TaskOptions> = { download_threads: 4 }) {
  const dirs: TempDir[] = [];
  let server: HlsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => d.cleanup()));
  });
  const workDir = async () => {
    const dir = await tempDir('m3u8dm-dl-');
    dirs.push(dir);
    return dir.path;
  };
  return {
    /** Serves a fixture (closed after the test). */
    serve: async (kind: FixtureKind, options: Omit<HlsServerOptions, 'root'> = {}) => {
      const fixture = await ensureFixture(kind);
      server = await startHlsServer({ root: fixture.dir, ...options });
      return { fixture, server };
    },
    tempDir: workDir,
    /** A request into a fresh work folder; `progress` collects every snapshot. */
    request: async (url: string, options: Partial<TaskOptions> = {}, headers: HeaderMap = {}): Promise<DownloadRequest & { progress: ProgressSnapshot[] }> => {
      const progress: ProgressSnapshot[] = [];
      return {
        url, headers, options: downloadOptions({ ...base, ...options }), workDir: await workDir(),
        signal: new AbortController().signal, onProgress: (s) => progress.push(s), progress,
      };
    },
  };
}

/** Whole 188-byte packets, each starting with the 0x47 sync byte. */
export function isMpegTs(bytes: Buffer): boolean {
  if (bytes.length === 0 || bytes.length % 188 !== 0) return false;
  for (let i = 0; i < bytes.length; i += 188) if (bytes[i] !== 0x47) return false;
  return true;
}
