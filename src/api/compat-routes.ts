// The Go original's API, kept exactly (DESIGN.md, seed 004): `/api/tasks` and
// `/api/settings`, plain JSON, text/plain errors with the original's Chinese messages.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { maskIntegrations } from '../manager/integration-settings.js';
import { maskSettings } from '../manager/settings.js';
import { PathError, SettingsError } from '../manager/errors.js';
import { TaskNotFoundError, TransitionError, type TaskManager } from '../manager/task-manager.js';
import { StoreUnavailableError } from '../store/store-errors.js';
import { compatOrder, toCompatTask } from './present.js';
import { compatCreateSchema, compatUpdateSchema, definedOnly, normalizeHeaders, settingsUpdateSchema } from './schemas.js';
import { describeError } from './validation.js';
import { bodyFaultOf, jsonBody } from './json-body.js';

export const MSG = {
  badRequest: '解析请求失败',
  saveFailed: '保存任务失败',
  idRequired: '任务ID不能为空',
  notFound: '任务不存在',
  updateFailed: '更新任务失败',
  deleteFailed: '删除任务失败',
  methodNotAllowed: '方法不支持',
  badSettings: '解析设置失败',
  unauthorized: '未授权',
  tooLarge: '请求体过大',
  forbidden: '禁止访问',
} as const;

/** A failure of ours: 503 while the store is away (try again shortly), else 500. */
export const failureStatus = (err: unknown) => (err instanceof StoreUnavailableError ? 503 : 500);

/** Go's http.Error: text/plain, message and a newline. */
export function sendText(res: Response, status: number, message: string, detail?: string): void {
  res.status(status).type('text/plain; charset=utf-8').send(`${detail ? `${message}: ${detail}` : message}\n`);
}

/** The id from `?id=`; undefined when missing, NaN when it cannot name a task. */
function idFrom(req: Request): number | undefined {
  const raw = req.query.id;
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) return Number.NaN;
  return Number(raw);
}

export function compatRouter(manager: TaskManager, bodyLimit: number): Router {
  const router = express.Router();
  // The original decodes any body as JSON whatever its Content-Type (curl -d sends form type);
  // a browser's body is JSON only when typed so (json-body.ts says why).
  const json = jsonBody(bodyLimit);

  router.all('/tasks', json, async (req, res) => {
    switch (req.method) {
      case 'POST': {
        const parsed = compatCreateSchema.safeParse(req.body ?? {}, { reportInput: true });
        if (!parsed.success) return sendText(res, 400, MSG.badRequest, describeError(parsed.error));
        const { url, filename, use_http_headers, http_headers, advanced, ...settings } = parsed.data;
        try {
          const task = await manager.create({
            url,
            filename,
            headers: use_http_headers ? normalizeHeaders(http_headers) : {},
            advanced: advanced ?? false,
            options: definedOnly(settings),
            source: 'api',
          });
          return res.json({ status: 'success', id: String(task.id) });
        } catch (err) {
          if (err instanceof PathError || err instanceof SettingsError) return sendText(res, 400, MSG.badRequest, err.message);
          return sendText(res, failureStatus(err), MSG.saveFailed, (err as Error).message);
        }
      }
      case 'GET': {
        const { tasks } = await manager.list();
        return res.json(compatOrder(tasks).map((t) => toCompatTask(t)));
      }
      case 'PUT': {
        const id = idFrom(req);
        if (id === undefined) return sendText(res, 400, MSG.idRequired);
        const parsed = compatUpdateSchema.safeParse(req.body ?? {}, { reportInput: true });
        if (!parsed.success) return sendText(res, 400, MSG.badRequest, describeError(parsed.error));
        if (Number.isNaN(id)) return sendText(res, 404, MSG.notFound);
        try {
          if (parsed.data.status === '已暂停') await manager.pause(id);
          else await manager.resume(id);
          return res.json({ status: 'success' });
        } catch (err) {
          if (err instanceof TaskNotFoundError) return sendText(res, 404, MSG.notFound);
          if (err instanceof TransitionError) return sendText(res, 409, MSG.updateFailed, err.message);
          return sendText(res, failureStatus(err), MSG.updateFailed, (err as Error).message);
        }
      }
      case 'DELETE': {
        const id = idFrom(req);
        if (id === undefined) return sendText(res, 400, MSG.idRequired);
        if (Number.isNaN(id)) return sendText(res, 404, MSG.notFound);
        try {
          await manager.remove(id);
          return res.json({ status: 'success' });
        } catch (err) {
          if (err instanceof TaskNotFoundError) return sendText(res, 404, MSG.notFound);
          return sendText(res, failureStatus(err), MSG.deleteFailed, (err as Error).message);
        }
      }
      default:
        return sendText(res, 405, MSG.methodNotAllowed);
    }
  });

  router.all('/settings', json, async (req, res) => {
    if (req.method === 'GET') {
      return res.json({ ...maskSettings(await manager.getSettings()), ...maskIntegrations(await manager.getIntegrations()) });
    }
    if (req.method !== 'POST') return sendText(res, 405, MSG.methodNotAllowed);
    const parsed = settingsUpdateSchema.safeParse(req.body ?? {}, { reportInput: true });
    if (!parsed.success) return sendText(res, 400, MSG.badSettings, describeError(parsed.error));
    // Webhooks and hooks are service settings, kept apart from the download settings tasks inherit.
    const { webhooks, on_complete, on_fail, ...download } = definedOnly(parsed.data);
    try {
      const integrations = await manager.prepareIntegrations({ webhooks, on_complete, on_fail });
      // The original stores the posted form whole: what is not sent takes its default. Webhooks and
      // hooks are not in the original's form, so a field left out keeps its saved value (an original
      // client saving its settings must not wipe them); a field sent replaces the saved one.
      await manager.saveSettings(download, 'replace');
      await manager.saveIntegrations(integrations);
      return res.json({ status: 'success' });
    } catch (err) {
      if (err instanceof PathError || err instanceof SettingsError) return sendText(res, 400, MSG.badSettings, err.message);
      throw err;
    }
  });

  // Body parser errors: bad JSON, too large, wrong encoding.
  router.use((err: Error, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const bad = req.path === '/settings' ? MSG.badSettings : MSG.badRequest;
    const fault = bodyFaultOf(err);
    switch (fault?.kind) {
      case 'tooLarge': return sendText(res, 413, MSG.tooLarge, `request body is larger than ${fault.limit} bytes`);
      case 'badJson': return sendText(res, 400, bad, `body is not valid JSON (${fault.detail})`);
      case 'wrongType': return sendText(res, 415, bad, fault.detail);
      case 'otherClientError': return sendText(res, fault.status, bad, fault.detail);
      case undefined: return sendText(res, failureStatus(err), req.method === 'DELETE' ? MSG.deleteFailed : MSG.saveFailed, err.message);
    }
  });
  return router;
}
