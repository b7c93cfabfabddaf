// `/api/v1/webhooks`: the recent deliveries from the outbox, and a test send. The
// webhooks themselves are set in `/api/settings` (`webhooks`).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Delivery } from '../store/outbox-store.js';
import type { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { fail, ok, parseOr40001 } from './envelope.js';
import { ApiError, ErrorCode } from './error-codes.js';
import { jsonBody } from './json-body.js';
import { toApiError } from './v1-routes.js';
import { deliveriesQuerySchema, webhookTestSchema } from './v1-schemas.js';

/** A delivery as the API shows it: times as ISO strings, the body parsed back. */
export function toDeliveryView(d: Delivery) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: d.id,
    event: d.event,
    url: d.url,
    task_id: d.task_id,
    status: d.status,
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    created_at: iso(d.created_at),
    next_attempt_at: d.status === 'pending' ? iso(d.next_at) : null,
    delivered_at: iso(d.delivered_at),
    signed: d.signature !== null,
  };
}

export function webhookRouter(dispatcher: WebhookDispatcher, bodyLimit: number): Router {
  const router = express.Router();
  router.use(jsonBody(bodyLimit));

  router.get('/deliveries', async (req, res) => {
    const query = parseOr40001(deliveriesQuerySchema, req.query);
    const deliveries = await dispatcher.recent(query.limit, query.status);
    ok(res, { deliveries: deliveries.map(toDeliveryView), counts: await dispatcher.counts() });
  });

  router.post('/test', async (req, res) => {
    const { url } = parseOr40001(webhookTestSchema, req.body ?? {});
    const { ids, webhooks } = await dispatcher.sendTest(url);
    if (!webhooks) throw new ApiError(ErrorCode.invalidParams, 'no webhooks are configured: add one to `webhooks` with POST /api/settings');
    if (!ids.length) throw new ApiError(ErrorCode.invalidParams, `url must be one of the configured webhooks, got \`${url}\``);
    ok(res, { delivery_ids: ids });
  });

  router.use((req: Request) => {
    throw new ApiError(ErrorCode.notFound, `no such route: ${req.method} ${req.baseUrl}${req.path}`);
  });
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    fail(res, toApiError(err));
  });
  return router;
}
