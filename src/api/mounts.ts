// The service's route table, in one ordered list so the server and the tests mount
// exactly the same routes: the /api/v1 routers first, then the compat API on /api
// (it answers 404 for anything under /api it does not know), then /metrics and the page.
import express from 'express';
import { compatRouter } from './compat-routes.js';
import type { ServiceConfig } from '../service/config.js';
import type { TaskManager } from '../manager/task-manager.js';
import { VERSION } from '../service/version.js';
import type { Mount } from './app.js';
import { eventsRouter, type EventsOptions } from './events.js';
import { fileRoutes } from './file-routes.js';
import { buildOpenApi } from './openapi.js';
import { v1Router, type V1Deps } from './v1-routes.js';
import { webPage } from './web-page.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { metricsRouter } from './metrics-route.js';
import { webhookRouter } from './webhook-routes.js';

export interface MountDeps {
  manager: TaskManager;
  config: Pick<ServiceConfig, 'bodyLimit'>;
  ffmpeg: V1Deps['ffmpeg'];
  events?: EventsOptions;
  /** `/api/v1/webhooks/*`, when the service runs a dispatcher. */
  webhooks?: WebhookDispatcher;
  /** `/metrics`, when the service keeps metrics. */
  metrics?: ServiceMetrics;
}

/** The compat API (the Go original's `/api/tasks`, `/api/settings`, …) alone. */
export function compatMounts(manager: TaskManager, bodyLimit: number): Mount[] {
  return [{ path: '/api', router: compatRouter(manager, bodyLimit) }];
}

export function serviceMounts({ manager, config, ffmpeg, events, webhooks, metrics }: MountDeps): Mount[] {
  const openapi = buildOpenApi(VERSION);
  return [
    { path: '/api/v1/openapi.json', router: express.Router().get('/', (_req, res) => void res.json(openapi)) },
    { path: '/api/v1/events', router: eventsRouter(manager, events) },
    ...(webhooks ? [{ path: '/api/v1/webhooks', router: webhookRouter(webhooks, config.bodyLimit) }] : []),
    { path: '/api/v1/tasks', router: fileRoutes(manager) },
    { path: '/api/v1', router: v1Router({ manager, bodyLimit: config.bodyLimit, ffmpeg, version: VERSION, startedAt: Date.now() }) },
    ...compatMounts(manager, config.bodyLimit),
    ...(metrics ? [{ path: '/metrics', router: metricsRouter(metrics) }] : []),
    { path: '/', router: webPage() },
  ];
}
