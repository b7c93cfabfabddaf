// The request body parser both APIs use. JSON is parsed when the type says so, or
// whatever the type when no browser sent it (the Go original decoded any body, and
// `curl -d` sends a form type); a browser's non-JSON body is refused with 415, since
// a page elsewhere can send text/plain, form and multipart bodies without a preflight.
// A body nested deeper than any real request is a 400, not a stack overflow later on.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { mayParseJson } from './request-guard.js';

/** Deeper than any request body of this API (a header map is 3 levels); far below the stack's limit. */
export const MAX_BODY_DEPTH = 32;

/** An error the routes' error handlers turn into the status it carries, with `message` as the detail. */
export class BodyError extends Error {
  override name = 'BodyError';
  constructor(readonly status: number, message: string, readonly type: string) {
    super(message);
  }
}

/** Nesting depth of a parsed JSON value, counted without recursion. */
export function depthOf(value: unknown, stopAt = Infinity): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > deepest) deepest = depth;
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

export function jsonBody(limit: number): RequestHandler {
  const parse = express.json({ type: () => true, limit, strict: true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hasBody(req)) return next();
    if (!mayParseJson(req)) {
      return next(new BodyError(415, `send the body as JSON with Content-Type: application/json (got \`${String(req.headers['content-type'] ?? 'none').slice(0, 80)}\` from a browser)`, 'entity.unsupported.type'));
    }
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (depthOf(req.body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
        return next(new BodyError(400, `request body is nested deeper than ${MAX_BODY_DEPTH} levels`, 'entity.too.deep'));
      }
      next();
    });
  };
}

/** What went wrong with a request body, as both APIs word it in their own style. */
export type BodyFault =
  | { kind: 'tooLarge'; limit: number }
  | { kind: 'badJson'; detail: string }
  | { kind: 'wrongType'; detail: string }
  | { kind: 'otherClientError'; status: number; detail: string };

/** The body parser's (express.json's or jsonBody's) error as a BodyFault; undefined for any other error. */
export function bodyFaultOf(err: unknown): BodyFault | undefined {
  const e = err as { type?: string; limit?: number; message?: string; status?: number } | null;
  if (!e || typeof e !== 'object') return undefined;
  if (e.type === 'entity.too.large') return { kind: 'tooLarge', limit: e.limit ?? 0 };
  if (e.type === 'entity.parse.failed') return { kind: 'badJson', detail: e.message ?? '' };
  if (e.status === 415) return { kind: 'wrongType', detail: e.message ?? 'unsupported body type' };
  if (e.status && e.status >= 400 && e.status < 500) return { kind: 'otherClientError', status: e.status, detail: e.message ?? 'bad request' };
  return undefined;
}
