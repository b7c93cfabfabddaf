// Everything the service serves besides the compat API, in one list so the server
// and the tests mount exactly the same routes.
import express from 'express';
import type { ServiceConfig } from '../config.js';
import type { TaskManager } from '../task-manager.js';
import { VERSION } from '../version.js';
import type { AppDeps } from './app.js';
import { eventsRouter, type EventsOptions } from './events.js';
import { fileRoutes } from './file-routes.js';
import { buildOpenApi } from './openapi.js';
import { v1Router, type V1Deps } from './v1-routes.js';
import { webPage } from './web-page.js';

export interface MountDeps {
  manager: TaskManager;
  config: Pick<ServiceConfig, 'bodyLimit'>;
  ffmpeg: V1Deps['ffmpeg'];
  events?: EventsOptions;
}

export function serviceMounts({ manager, config, ffmpeg, events }: MountDeps): NonNullable<AppDeps['mounts']> {
  const openapi = buildOpenApi(VERSION);
  return [
    { path: '/api/v1/openapi.json', router: express.Router().get('/', (_req, res) => void res.json(openapi)) },
    { path: '/api/v1/events', router: eventsRouter(manager, events) },
    { path: '/api/v1/tasks', router: fileRoutes(manager) },
    { path: '/api/v1', router: v1Router({ manager, bodyLimit: config.bodyLimit, ffmpeg, version: VERSION, startedAt: Date.now() }) },
    { path: '/', router: webPage() },
  ];
}
