// The `{code, message, data}` envelope of `/api/v1`.
import type { Response } from 'express';
import type { z } from 'zod';
import { ApiError, ErrorCode, HTTP_STATUS } from './error-codes.js';
import { describeError } from './validation.js';

export function ok(res: Response, data: unknown): void {
  res.json({ code: ErrorCode.ok, message: 'success', data });
}

export function fail(res: Response, error: ApiError): void {
  res.status(HTTP_STATUS[error.code]).json({ code: error.code, message: error.message, data: null });
}

/** Parses with the schema or throws a 40001 naming the field. */
export function parseOr40001<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new ApiError(ErrorCode.invalidParams, describeError(parsed.error));
  return parsed.data;
}
