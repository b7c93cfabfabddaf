// An app (not listening) over a real nedb store and a scripted engine, for route tests.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Express } from 'express';
import { createApp, type AppDeps } from '../../src/api/app.js';
import { configFromEnv, type ServiceConfig } from '../../src/service/config.js';
import { createLogger } from '../../src/service/log.js';
import { NedbTaskStore } from '../../src/store/nedb-task-store.js';
import { TaskManager } from '../../src/manager/task-manager.js';
import type { Clock } from '../../src/manager/clock.js';
import { compatMounts, serviceMounts } from '../../src/api/mounts.js';
import { ffmpegForHealth } from '../../src/service/server.js';
import { hooksDisabledReason } from '../../src/manager/integration-settings.js';
import { ScriptedEngine, type ScriptedEngineOptions } from './scripted-engine.js';
import { tempDir } from './temp-dir.js';

export interface AppHarness {
  app: Express;
  manager: TaskManager;
  engine: ScriptedEngine;
  config: ServiceConfig;
  dir: string;
  close(): Promise<void>;
}

export async function startAppHarness(opts: {
  engine?: ScriptedEngineOptions;
  config?: Partial<ServiceConfig>;
  clock?: Clock;
  /** Mount the whole route table as the server does (false: the compat API alone). @defaultValue true */
  allRoutes?: boolean;
} = {}): Promise<AppHarness> {
  const { path: dir, cleanup } = await tempDir('m3u8dm-app-');
  const config = configFromEnv({}, { dataDir: path.join(dir, 'data'), downloadDir: path.join(dir, 'downloads'), maxActive: 2, ...opts.config });
  await mkdir(config.downloadDir, { recursive: true });
  const store = new NedbTaskStore({ dataDir: config.dataDir });
  await store.open();
  const engine = new ScriptedEngine(opts.engine ?? { segments: 3, segmentMs: 10 });
  const manager = new TaskManager({ store, engine, dataDir: config.dataDir, downloadDir: config.downloadDir, saveRoots: config.saveRoots, maxActive: config.maxActive, nodeId: config.nodeId, leaseMs: config.leaseMs, clock: opts.clock, progressWriteMs: 50, hooksDisabledReason: hooksDisabledReason(config) });
  await manager.start();
  const mounts: AppDeps['mounts'] = opts.allRoutes === false ? compatMounts(manager, config.bodyLimit) : serviceMounts({ manager, config, ffmpeg: ffmpegForHealth, events: { throttleMs: 100, heartbeatMs: 300 } });
  const app = createApp({ config, logger: createLogger('silent'), mounts });
  return {
    app, manager, engine, config, dir,
    async close() {
      await manager.shutdown().catch(() => undefined);
      await cleanup();
    },
  };
}
