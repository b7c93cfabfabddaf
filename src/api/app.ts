// The Express app: host and origin checks, auth, request log, then the route table
// it is given (`serviceMounts` in mounts.ts builds it), the 404 and the last-resort 500.
// Creating it does not listen; `src/service/server.ts` does.
import express, { type Express, type Router } from 'express';
import type { ServiceConfig } from '../service/config.js';
import type { Logger } from '../service/log.js';
import { challengeFor, isAuthorized, redactUrl } from './auth.js';
import { hasValidFileLink } from './signed-links.js';
import { failureStatus, MSG, sendText } from './compat-routes.js';
import { ErrorCode } from './error-codes.js';
import { RequestGuard, type Refusal } from './request-guard.js';

/** One entry of the route table. */
export interface Mount {
  path: string;
  router: Router;
}

export interface AppDeps {
  config: Pick<ServiceConfig, 'token' | 'bodyLimit' | 'corsOrigins' | 'basicAuth' | 'host' | 'allowedHosts'>;
  logger: Logger;
  /** The route table, mounted in order (`serviceMounts`, or `compatMounts` alone). */
  mounts: Mount[];
}

export function createApp({ config, logger, mounts }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, url: redactUrl(req.originalUrl), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  });

  // No answer of ours may be sniffed into something else (a task's text rendered as HTML).
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  const guard = new RequestGuard(config);
  const refuse = (req: express.Request, res: express.Response, refusal: Refusal) => {
    if (req.originalUrl.startsWith('/api/v1')) {
      return void res.status(refusal.status).json({ code: ErrorCode.forbidden, message: refusal.message, data: null });
    }
    return sendText(res, refusal.status, MSG.forbidden, refusal.message);
  };
  // Every answer, the page included: a rebound name must not even read.
  app.use((req, res, next) => {
    const refusal = guard.checkHost(req);
    return refusal ? refuse(req, res, refusal) : next();
  });

  if (config.corsOrigins.length) {
    app.use((req, res, next) => {
      const origin = req.headers.origin;
      if (origin && config.corsOrigins.includes(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Vary', 'Origin');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
        if (req.method === 'OPTIONS') return void res.status(204).end();
      }
      next();
    });
  }

  // Only our own page or a listed origin may call the API from a browser: state changes, the
  // event stream (it carries every task) and, for simplicity, reads too (CORS hides those anyway).
  app.use(['/api', '/ws', '/metrics'], (req, res, next) => {
    const refusal = guard.checkCrossSite(req);
    return refusal ? refuse(req, res, refusal) : next();
  });

  app.use(['/api', '/ws', '/metrics'], (req, res, next) => {
    // A signed link opens one task's file only (src/api/signed-links.ts): <video> cannot send headers.
    if (isAuthorized(req, config.token, config.basicAuth) || hasValidFileLink(req)) return next();
    res.setHeader('WWW-Authenticate', challengeFor(req, config.token));
    if (req.originalUrl.startsWith('/api/v1')) {
      return void res.status(401).json({ code: ErrorCode.unauthorized, message: 'missing or wrong token: send Authorization: Bearer <token> (or ?token= on the event stream)', data: null });
    }
    return sendText(res, 401, MSG.unauthorized, 'missing or wrong token: send Authorization: Bearer <token>');
  });

  for (const mount of mounts) app.use(mount.path, mount.router);

  app.use((req, res) => {
    sendText(res, 404, 'not found', `${req.method} ${req.path}`);
  });
  app.use((err: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.error({ err, url: redactUrl(req.originalUrl) }, 'unhandled error');
    if (res.headersSent) return;
    // The store's 503 message is ours (which database, try again); any other error's text stays in the log.
    if (failureStatus(err) === 503) sendText(res, 503, 'store unavailable', err.message);
    else sendText(res, 500, 'internal error (see the service log)');
  });
  return app;
}
