// Starts the whole service: store, task manager, engine, HTTP (and live channels),
// and stops it gracefully.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app.js';
import type { ServiceConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { NedbTaskStore } from './store/nedb-task-store.js';
import { TaskManager } from './task-manager.js';
import type { Clock } from './clock.js';
import type { Engine } from './types.js';
import { HlsEngine } from './engine.js';
import { attachProgressSocket } from './api/ws-progress.js';
import type { EventsOptions } from './api/events.js';
import { serviceMounts } from './api/mounts.js';
import { locateFfmpeg } from './merge/index.js';
import { startHeapGuard } from './heap-guard.js';
import { hooksDisabledReason } from './integration-settings.js';
import { HookRunner } from './hooks/hook-runner.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { NedbOutboxStore } from './store/nedb-outbox-store.js';
import { TaskTransitions } from './task-transitions.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';

export interface RunningService {
  url: string;
  port: number;
  manager: TaskManager;
  webhooks: WebhookDispatcher;
  metrics: ServiceMetrics;
  server: http.Server;
  logger: Logger;
  /** Graceful stop: no new requests, running tasks back to waiting, store flushed. */
  close(): Promise<void>;
}

export interface ServiceDeps {
  engine?: Engine;
  clock?: Clock;
  logger?: Logger;
  events?: EventsOptions;
}

/** ffmpeg for /health: found once, an error shown rather than thrown. */
export async function ffmpegForHealth(): Promise<{ path: string | null; version: string | null; error?: string }> {
  try {
    const found = await locateFfmpeg();
    return { path: found.path, version: found.version };
  } catch (err) {
    return { path: null, version: null, error: (err as Error).message };
  }
}

export async function startService(config: ServiceConfig, deps: ServiceDeps = {}): Promise<RunningService> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const store = new NedbTaskStore({ dataDir: config.dataDir });
  await store.open();
  // Opened after the task store, which holds the data dir's lock.
  const outbox = new NedbOutboxStore({ dataDir: config.dataDir });
  await outbox.open();
  const hooksOff = hooksDisabledReason(config);
  let webhooks: WebhookDispatcher | undefined;
  const metrics = new ServiceMetrics();
  const engine = deps.engine ?? new HlsEngine({ dataDir: config.dataDir, logger, observer: metrics.engineObserver });
  const manager = new TaskManager({
    store,
    engine,
    dataDir: config.dataDir,
    downloadDir: config.downloadDir,
    saveRoots: config.saveRoots,
    maxActive: config.maxActive,
    clock: deps.clock,
    hooksDisabledReason: hooksOff,
  });
  manager.on('error', (err) => logger.error({ err }, 'task manager error'));
  // The outside world hears of transitions, not progress ticks: webhooks, hooks and metrics share them.
  const transitions = new TaskTransitions(manager);
  metrics.watch({ manager, transitions, webhooks: () => webhooks });
  webhooks = new WebhookDispatcher({
    outbox,
    transitions,
    settings: () => manager.getIntegrations(),
    timing: { retryBaseMs: config.webhookRetryBaseMs, retryCapMs: config.webhookRetryCapMs, timeoutMs: config.webhookTimeoutMs },
    logger,
    onAttempt: (result) => metrics.webhookAttempt(result),
  });
  const hooks = new HookRunner({ transitions, settings: () => manager.getIntegrations(), dataDir: config.dataDir, timeoutMs: config.hookTimeoutMs, disabledReason: hooksOff, logger });
  hooks.start();
  await webhooks.start();
  if (hooksOff) logger.warn(hooksOff);
  const ffmpeg = await ffmpegForHealth();
  if (ffmpeg.path) logger.info({ ffmpeg: ffmpeg.path, version: ffmpeg.version }, 'ffmpeg found');
  else logger.warn({ error: ffmpeg.error }, 'no ffmpeg found: downloads will fail at the merge step');
  const app = createApp({ manager, config, logger, mounts: serviceMounts({ manager, config, ffmpeg: ffmpegForHealth, events: deps.events, webhooks, metrics }) });
  const server = http.createServer({ maxHeaderSize: 16 * 1024 }, app);
  // Node answers oversized headers with a bare 431; say what the limit is.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      const body = 'request headers are larger than 16 KiB\n';
      socket.end(`HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    }
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const sockets = attachProgressSocket(server, manager, { token: config.token, basicAuth: config.basicAuth });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  await manager.start();
  const stopHeapGuard = startHeapGuard();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      sockets.close();
      stopHeapGuard();
      await manager.shutdown();
      await transitions.idle();
      await hooks.close();
      await webhooks.close();
      transitions.close();
      await outbox.close();
      server.closeAllConnections();
      await serverClosed;
    })();
    return closing;
  };
  return { url, port, manager, webhooks, metrics, server, logger, close };
}
