// The real service in-process for a test: loopback, port 0, its own temp dir, silent logs.
import path from 'node:path';
import { configFromEnv, type ServiceConfig } from '../../src/service/config.js';
import { startService, type RunningService, type ServiceDeps } from '../../src/service/server.js';
import { tempDir } from './temp-dir.js';

/** The running service (`url`, `port`, `manager`…), what it was started with, and where its files are. */
export interface TestService extends RunningService {
  config: ServiceConfig;
  /** The service's folder; `dataDir` and `downloadDir` are `data` and `downloads` inside it unless overridden. */
  dir: string;
  dataDir: string;
  downloadDir: string;
  /** Stops the service and removes its temp dir (not a `dir` the test passed in). */
  close(): Promise<void>;
}

export interface TestServiceOptions {
  /** Parts put in place of the real ones (engine, clock, logger…). */
  deps?: ServiceDeps;
  /** Names the temp dir. @defaultValue 'm3u8dm-svc-' */
  prefix?: string;
  /**
   * A folder the test made (and filled) before the service starts, and removes itself; `close()`
   * then leaves it. By default the helper makes a fresh temp dir and `close()` removes it.
   */
  dir?: string;
}

/** `overrides` win over the defaults above (a test may point `dataDir` elsewhere, or want logs). */
export async function withService(overrides: Partial<ServiceConfig> = {}, { deps, prefix = 'm3u8dm-svc-', dir: given }: TestServiceOptions = {}): Promise<TestService> {
  const dir = given === undefined ? await tempDir(prefix) : { path: given, cleanup: () => Promise.resolve() };
  try {
    const config = configFromEnv({}, {
      port: 0,
      dataDir: path.join(dir.path, 'data'),
      downloadDir: path.join(dir.path, 'downloads'),
      logLevel: 'silent',
      ...overrides,
    });
    const service = await startService(config, deps);
    return {
      ...service,
      config,
      dir: dir.path,
      dataDir: config.dataDir,
      downloadDir: config.downloadDir,
      close: async () => {
        try {
          await service.close();
        } finally {
          await dir.cleanup();
        }
      },
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
}
