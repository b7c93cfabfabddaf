// `/api/v1`: the task-management API of the Local API seeds applied to downloads.
// Routes parse and validate, call the task manager, and shape the envelope.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { langFromAcceptLanguage, type Lang } from '../manager/progress-text.js';
import { PathError, SettingsError } from '../manager/errors.js';
import { TaskNotFoundError, TransitionError, type TaskManager } from '../manager/task-manager.js';
import { StoreUnavailableError } from '../store/store-errors.js';
import { ApiError, ErrorCode } from './error-codes.js';
import { fail, ok, parseOr40001 } from './envelope.js';
import { STATUS_BY_CODE, toTaskStats, toV1Task } from './present.js';
import { normalizeHeaders } from './schemas.js';
import { idParamSchema, taskIdsSchema, v1CreateSchema, v1ListQuerySchema, v1PatchSchema } from './v1-schemas.js';
import { describeError } from './validation.js';
import { bodyFaultOf, jsonBody } from './json-body.js';

export interface V1Deps {
  manager: TaskManager;
  bodyLimit: number;
  /** ffmpeg as found at start, for /health. */
  ffmpeg: () => Promise<{ path: string | null; version: string | null; error?: string }>;
  version: string;
  startedAt: number;
}

function taskId(raw: string | string[] | undefined): number {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value || !idParamSchema.safeParse(value).success) throw new ApiError(ErrorCode.notFound, `task ${value ?? ''} not found: ids are positive integers`);
  return Number(value);
}

/** English, unless the client's Accept-Language puts Chinese first. */
const langOf = (req: Request): Lang => langFromAcceptLanguage(req.headers['accept-language']);

/** Neither a `url` nor any `urls` (absent, null, or an empty list): 40002 rather than an invalid value. */
function missingUrl(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const { url, urls } = body as { url?: unknown; urls?: unknown };
  const noUrl = url === undefined || url === null;
  const noUrls = urls === undefined || urls === null || (Array.isArray(urls) && urls.length === 0);
  return noUrl && noUrls;
}


export function v1Router({ manager, bodyLimit, ffmpeg, version, startedAt }: V1Deps): Router {
  const router = express.Router();
  router.use(jsonBody(bodyLimit));

  router.post('/tasks', async (req, res) => {
    const body: unknown = req.body;
    if (missingUrl(body)) {
      throw new ApiError(ErrorCode.missingUrl, 'url or urls is required: give one playlist URL as `url` or several as `urls`');
    }
    const parsed = v1CreateSchema.safeParse(body ?? {}, { reportInput: true });
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const badScheme = first?.code === 'custom' && (first.path[0] === 'url' || first.path[0] === 'urls');
      throw new ApiError(badScheme ? ErrorCode.unsupportedUrl : ErrorCode.invalidParams, describeError(parsed.error));
    }
    const input = parsed.data;
    const ids = await manager.createMany({
      urls: [...(input.url ? [input.url] : []), ...(input.urls ?? [])],
      filename: input.filename,
      headers: normalizeHeaders(input.headers),
      options: input.options ?? {},
      source: input.source ?? 'api',
      startTime: input.start_time ?? null,
    });
    ok(res, { task_ids: ids, created_count: ids.length });
  });

  router.get('/tasks', async (req, res) => {
    const query = parseOr40001(v1ListQuerySchema, req.query);
    const status = query.status?.split(',').map((c) => STATUS_BY_CODE[Number(c)]!);
    const { tasks, total } = await manager.list(
      { status, q: query.q || undefined, source: query.source },
      { offset: (query.page - 1) * query.page_size, limit: query.page_size, order: query.order },
    );
    ok(res, { tasks: tasks.map((t) => toV1Task(t, langOf(req))), total, page: query.page, page_size: query.page_size });
  });

  router.get('/tasks/stats', async (_req, res) => {
    const { counts, speed_bps, speed_limit_bps } = await manager.stats();
    ok(res, toTaskStats(counts, speed_bps, speed_limit_bps));
  });

  router.post('/tasks/retry-all', async (_req, res) => {
    ok(res, { retried_count: await manager.retryAll() });
  });

  /**
   * Batch delete: every id that exists is deleted (running ones stopped first); ids
   * that do not exist are listed in `not_found` and do not fail the call.
   */
  router.delete('/tasks/batch', async (req, res) => {
    const { task_ids } = parseOr40001(taskIdsSchema, req.body ?? {});
    const { deleted, notFound } = await manager.removeMany(task_ids.map(Number));
    ok(res, { deleted_count: deleted, not_found: notFound });
  });

  router.get('/tasks/:id', async (req, res) => {
    ok(res, toV1Task(await manager.get(taskId(req.params.id)), langOf(req)));
  });

  router.patch('/tasks/:id', async (req, res) => {
    const id = taskId(req.params.id);
    const { options } = parseOr40001(v1PatchSchema, req.body ?? {});
    ok(res, toV1Task(await manager.updateOptions(id, options)));
  });

  router.delete('/tasks/:id', async (req, res) => {
    await manager.remove(taskId(req.params.id));
    ok(res, { deleted_count: 1 });
  });

  router.post('/tasks/:id/stop', async (req, res) => {
    ok(res, toV1Task(await manager.pause(taskId(req.params.id)), langOf(req)));
  });
  router.post('/tasks/:id/resume', async (req, res) => {
    ok(res, toV1Task(await manager.resume(taskId(req.params.id)), langOf(req)));
  });
  router.post('/tasks/:id/retry', async (req, res) => {
    ok(res, toV1Task(await manager.retry(taskId(req.params.id)), langOf(req)));
  });

  router.get('/health', async (_req, res) => {
    const { path, version: ffmpegVersion } = await ffmpeg();
    const nodes = (await manager.nodes()).map((n) => ({ id: n.id, max_active: n.max_active, running: n.running, seen_at: new Date(n.seen_at).toISOString() }));
    ok(res, { version, ffmpeg: { path, version: ffmpegVersion }, uptime_s: Math.round((Date.now() - startedAt) / 1000), node: manager.nodeId, nodes });
  });

  router.use((_req: Request) => {
    throw new ApiError(ErrorCode.notFound, `no such route: ${_req.method} ${_req.baseUrl}${_req.path}`);
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    fail(res, toApiError(err));
  });
  return router;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreUnavailableError) return new ApiError(ErrorCode.unavailable, err.message);
  if (err instanceof TaskNotFoundError) return new ApiError(ErrorCode.notFound, `task ${err.id} not found`);
  if (err instanceof TransitionError) return new ApiError(ErrorCode.conflict, err.message);
  if (err instanceof PathError || err instanceof RangeError) return new ApiError(ErrorCode.invalidParams, err.message);
  if (err instanceof SettingsError) return new ApiError(ErrorCode.invalidParams, `options.${err.message}`);
  const fault = bodyFaultOf(err);
  switch (fault?.kind) {
    case 'tooLarge': return new ApiError(ErrorCode.tooLarge, `request body is larger than ${fault.limit} bytes`);
    case 'badJson': return new ApiError(ErrorCode.invalidParams, `request body is not valid JSON (${fault.detail})`);
    case 'wrongType': return new ApiError(ErrorCode.unsupportedType, fault.detail);
    case 'otherClientError': return new ApiError(ErrorCode.invalidParams, fault.detail);
    case undefined: return new ApiError(ErrorCode.internal, `internal error: ${(err as { message?: string } | null)?.message ?? String(err)}`);
  }
}

