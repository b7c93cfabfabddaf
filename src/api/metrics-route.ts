// `GET /metrics`: the Prometheus text exposition of src/metrics. Behind the token
// like every route (app.ts guards it), so a scraper sends `Authorization: Bearer`.
import express, { type Router } from 'express';
import type { ServiceMetrics } from '../metrics/service-metrics.js';

export function metricsRouter(metrics: ServiceMetrics): Router {
  const router = express.Router();
  router.get('/', async (_req, res) => {
    const { contentType, body } = await metrics.render();
    res.setHeader('Cache-Control', 'no-store');
    res.type(contentType).send(body);
  });
  return router;
}
