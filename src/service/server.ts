// Starts the whole service: store, task manager, engine, HTTP (and live channels),
// and stops it gracefully.
import http from 'node:http';
import path from 'node:path';
import { ensurePrivateDir, privateFilesIn } from './private-files.js';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app.js';
import type { ServiceConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { describeStore, openStore } from '../store/open-store.js';
import { TaskManager, type SettingsChange } from '../manager/task-manager.js';
import type { Clock } from '../manager/clock.js';
import type { DownloadSettings, Engine } from '../types.js';
import { HlsEngine } from '../manager/engine.js';
import { attachProgressSocket } from '../api/ws-progress.js';
import { RequestGuard } from '../api/request-guard.js';
import type { EventsOptions } from '../api/events.js';
import { serviceMounts } from '../api/mounts.js';
import { locateFfmpeg } from '../merge/index.js';
import { startHeapGuard } from './heap-guard.js';
import { hooksDisabledReason } from '../manager/integration-settings.js';
import { HookRunner } from '../hooks/hook-runner.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { NedbOutboxStore } from '../store/nedb-outbox-store.js';
import { TaskTransitions } from '../manager/lifecycle-events.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';

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
  /** How long a client may take to send a request's headers, and its whole request (ms). @defaultValue 20 s, 120 s */
  requestTimeouts?: { headersMs: number; requestMs: number };
}

/** Connections at once; each SSE page and WebSocket holds one, nothing legitimate holds thousands. */
export const MAX_CONNECTIONS = 1024;
/** A connection that moves no byte for this long (a client that never reads its answer) is dropped. */
const IDLE_SOCKET_MS = 120_000;

/** ffmpeg for /health (`chosen`: the config's M3U8DM_FFMPEG): found once, an error shown rather than thrown. */
export async function ffmpegForHealth(chosen?: string): Promise<{ path: string | null; version: string | null; error?: string }> {
  try {
    const found = await locateFfmpeg(chosen);
    return { path: found.path, version: found.version };
  } catch (err) {
    return { path: null, version: null, error: (err as Error).message };
  }
}

const proxyOf = (s: DownloadSettings) => (s.proxy_type === 'none' ? 'none' : `${s.proxy_type}://${s.proxy_username ? `${s.proxy_username}@` : ''}${s.proxy_host}:${s.proxy_port}`);

/**
 * Where downloads go through and whether certificates are checked decide who can read them
 * (with the task's cookies): such a change is logged at info, old and new, never the password.
 */
export function logSecurityRelevantChange(logger: Logger, { before, after }: SettingsChange): void {
  const proxy = { from: proxyOf(before), to: proxyOf(after) };
  const passwordChanged = before.proxy_password !== after.proxy_password;
  const insecure = before.allow_insecure_https !== after.allow_insecure_https;
  if (proxy.from === proxy.to && !passwordChanged && !insecure) return;
  logger.info({
    proxy,
    proxy_password_changed: passwordChanged,
    allow_insecure_https: { from: before.allow_insecure_https, to: after.allow_insecure_https },
  }, 'proxy or TLS settings changed');
}

export async function startService(config: ServiceConfig, deps: ServiceDeps = {}): Promise<RunningService> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  // First, before anything listens: a store that cannot open leaves no half-started service.
  const store = await openStore(config.store, config.dataDir);
  logger.info({ store: describeStore(config.store, config.dataDir) }, 'store opened');
  // Task debug logs carry URLs (tokens in queries included): private like the databases.
  await privateFilesIn(path.join(config.dataDir, 'logs'));
  await ensurePrivateDir(path.join(config.dataDir, 'logs')).catch(() => undefined);
  // Opened after the task store; it holds a lock of its own (see nedb-outbox-store.ts).
  const outbox = new NedbOutboxStore({ dataDir: config.dataDir });
  await outbox.open();
  const hooksOff = hooksDisabledReason(config);
  // eslint-disable-next-line prefer-const -- metrics.watch below reads it lazily; it is set after
  let webhooks: WebhookDispatcher | undefined;
  const metrics = new ServiceMetrics();
  const engine = deps.engine ?? new HlsEngine({ dataDir: config.dataDir, logger, minFreeBytes: config.minFreeBytes, observer: metrics.engineObserver, ffmpeg: config.ffmpeg });
  const manager = new TaskManager({
    store,
    engine,
    dataDir: config.dataDir,
    downloadDir: config.downloadDir,
    saveRoots: config.saveRoots,
    maxActive: config.maxActive,
    nodeId: config.nodeId,
    leaseMs: config.leaseMs,
    clock: deps.clock,
    hooksDisabledReason: hooksOff,
  });
  manager.on('error', (err) => logger.error({ err }, 'task manager error'));
  manager.on('settings', (change) => logSecurityRelevantChange(logger, change));
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
  const ffmpegHealth = () => ffmpegForHealth(config.ffmpeg);
  const ffmpeg = await ffmpegHealth();
  if (ffmpeg.path) logger.info({ ffmpeg: ffmpeg.path, version: ffmpeg.version }, 'ffmpeg found');
  else logger.warn({ error: ffmpeg.error }, 'no ffmpeg found: downloads will fail at the merge step');
  const app = createApp({ config, logger, mounts: serviceMounts({ manager, config, ffmpeg: ffmpegHealth, events: deps.events, webhooks, metrics }) });
  const timeouts = deps.requestTimeouts ?? { headersMs: 20_000, requestMs: 120_000 };
  const server = http.createServer({
    maxHeaderSize: 16 * 1024,
    // How often Node looks for requests past their timeouts (its default is 30 s).
    connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
  }, app);
  // Node answers oversized headers with a bare 431; say what the limit is.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    const answer = (status: string, body: string) => {
      // Closed for good once written: an http socket allows half-open, and a client that never reads would keep it.
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
      setTimeout(() => socket.destroy(), 2_000).unref();
    };
    if (err.code === 'HPE_HEADER_OVERFLOW') answer('431 Request Header Fields Too Large', 'request headers are larger than 16 KiB\n');
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answer('408 Request Timeout', `the request did not arrive whole within ${timeouts.headersMs / 1000} s\n`);
    else answer('400 Bad Request', 'malformed HTTP request\n');
  });
  // A socket that never sends a whole request gets a 408 and is closed; one that stops reading is dropped.
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.timeout = IDLE_SOCKET_MS;
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const sockets = attachProgressSocket(server, manager, { token: config.token, basicAuth: config.basicAuth, guard: new RequestGuard(config) });
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
