// What a finished task wrote, served by task id only (no client path ever names a file):
// `GET /api/v1/tasks/:id/file` (Range → 206, Content-Disposition with the real name),
// `GET /api/v1/tasks/:id/poster` (the JPEG thumbnail), and `POST /api/v1/tasks/:id/file-link`
// (a short-lived signed link for <video> and download links, which cannot send headers).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { FileUnavailableError, type TaskManager } from '../manager/task-manager.js';
import { fail, ok } from './envelope.js';
import { ApiError, ErrorCode } from './error-codes.js';
import { signFileLink, type Disposition } from './signed-links.js';
import { idParamSchema } from './v1-schemas.js';
import { toApiError } from './v1-routes.js';

/** RFC 6266 with RFC 5987 `filename*` for names that are not plain ASCII, and an ASCII stand-in. */
export function contentDisposition(kind: Disposition, name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === name) return `${kind}; filename="${ascii}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function taskId(req: Request): number {
  const raw = req.params.id;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value || !idParamSchema.safeParse(value).success) throw new ApiError(ErrorCode.notFound, `task ${value ?? ''} not found: ids are positive integers`);
  return Number(value);
}

const dispositionOf = (req: Request): Disposition => (req.query.disposition === 'inline' ? 'inline' : 'attachment');

export function fileRoutes(manager: TaskManager): Router {
  const router = express.Router();

  const send = (which: 'output' | 'poster') => async (req: Request, res: Response) => {
    const file = await manager.fileOf(taskId(req), which);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'private, no-cache');
    if (which === 'output') res.setHeader('Content-Disposition', contentDisposition(dispositionOf(req), file.name));
    // `send` answers Range with 206 (and 416 for ranges past the end), HEAD without a body.
    await new Promise<void>((resolve, reject) => {
      res.sendFile(file.path, { dotfiles: 'allow', acceptRanges: true, lastModified: true, etag: true, cacheControl: false }, (err) => {
        if (err && !res.headersSent) reject(err);
        else resolve();
      });
    });
  };
  router.get('/:id/file', send('output'));
  router.get('/:id/poster', send('poster'));

  router.post('/:id/file-link', async (req, res) => {
    const id = taskId(req);
    await manager.fileOf(id, 'output');
    ok(res, signFileLink(id, dispositionOf(req)));
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof FileUnavailableError) return fail(res, new ApiError(ErrorCode.notFound, err.message));
    fail(res, toApiError(err));
  });
  return router;
}
