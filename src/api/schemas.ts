// Request schemas shared by both APIs (and the source of the OpenAPI document).
import { z } from 'zod';
import { BYTE_RATE_FORMS, parseByteRate } from './byte-rate.js';
import { parseSkipExpression } from '../downloader/skip-rules.js';
import { WEBHOOK_EVENTS } from '../manager/integration-settings.js';
import { TaskStatus } from '../wire-vocabulary.js';

export const intIn = (min: number, max: number) =>
  z.number().int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` });

export const httpUrl = z.string().min(1, { error: 'must not be empty' }).max(8192, { error: 'must be at most 8192 characters' })
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, { error: 'must be an http:// or https:// URL' });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const headerMapSchema = z
  .record(z.string(), z.union([z.string(), z.array(z.string())]))
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `header name \`${name}\` is not a valid HTTP header name`, input: name, path: [name] });
      for (const v of Array.isArray(value) ? value : [value]) {
        if (/[\r\n\0]/.test(v)) ctx.addIssue({ code: 'custom', message: `header \`${name}\` has a line break or NUL in its value`, input: v, path: [name] });
      }
    }
  });

export const skipExpressionSchema = z.string().max(4096, { error: 'must be at most 4096 characters' }).superRefine((expr, ctx) => {
  try {
    parseSkipExpression(expr);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message, input: expr });
  }
});

/** A speed: bytes per second, or `"500K"`, `"5M"`, `"1.5MB"`…; parsed to bytes per second. */
export const byteRateSchema = z.union([z.number(), z.string()], { error: `must be ${BYTE_RATE_FORMS}` })
  .transform((value, ctx) => {
    try {
      return parseByteRate(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, input: value });
      return z.NEVER;
    }
  })
  .describe(`Download speed limit: ${BYTE_RATE_FORMS}.`);

/** The service-wide limits, in `/api/settings` only (a task has `max_speed` instead). */
export const transferSettingsFields = {
  max_download_speed: byteRateSchema,
  max_connections_per_host: intIn(0, 1024).describe('Requests in flight to one host, all tasks together; 0 = only download_threads applies.'),
};

const shortText = z.string().max(1024, { error: 'must be at most 1024 characters' });

/** The seed's settings fields, each as a user may send it. */
export const settingsFields = {
  save_location: shortText,
  temp_directory: shortText,
  download_threads: intIn(1, 128),
  skip_ts_info: skipExpressionSchema,
  proxy_type: z.enum(['none', 'http', 'https', 'socks5', 'socks4']),
  proxy_host: z.string().max(255, { error: 'must be at most 255 characters' }),
  proxy_port: intIn(0, 65535),
  proxy_username: shortText,
  proxy_password: shortText,
  allow_insecure_https: z.boolean(),
  keep_ts_files: z.boolean(),
  use_server_file_time: z.boolean(),
  no_merge_ts: z.boolean(),
  debug_log: z.boolean(),
  log_skipped_ts: z.boolean(),
};

/**
 * What `/api/v1` adds to the settings for one task: its `options` on create, and its
 * `advanced_settings` on every answer (src/api/wire.ts).
 */
export const taskChoiceFields = {
  variant: z.union([z.enum(['best', 'worst']), intIn(1, 10_000)], { error: 'must be "best", "worst" or a maximum height in pixels (1–10000)' })
    .describe('Variant of a master playlist: best, worst, or the tallest at most this height.'),
  format: z.enum(['mp4', 'mkv', 'ts']).describe('Output container.'),
  retries: intIn(1, 20).describe('Tries per request before giving up.'),
};

type Nullish<T extends Record<string, z.ZodType>> = { [K in keyof T]: z.ZodOptional<z.ZodNullable<T[K]>> };
/** JSON clients (Go's among them) send `null` for "not set": accepted and treated as absent. */
export function nullishFields<T extends Record<string, z.ZodType>>(fields: T): Nullish<T> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.nullish()])) as Nullish<T>;
}

const webhookSchema = z.object({
  url: httpUrl,
  events: z.array(z.enum(WEBHOOK_EVENTS)).max(WEBHOOK_EVENTS.length * 2, { error: 'must list each event at most once or twice' }).optional(),
  secret: z.string().max(1024, { error: 'must be at most 1024 characters' }).optional(),
  /** Shown by GET; accepted (and ignored) so what was read can be sent back as is. */
  has_secret: z.boolean().optional(),
}).strict();

/** A program and its arguments, never a shell string: the program is named by its absolute path. */
const argvSchema = z.array(
  z.string().max(4096, { error: 'must be at most 4096 characters' }).refine((a) => !a.includes('\0'), { error: 'must not contain NUL' }),
).max(64, { error: 'must have at most 64 arguments' }).superRefine((argv, ctx) => {
  const program = argv[0];
  if (program !== undefined && !program.startsWith('/')) {
    ctx.addIssue({ code: 'custom', message: 'must start with the absolute path of a program, e.g. ["/usr/bin/mv", "…"] (an argv array, not a shell command)', input: program, path: [0] });
  }
});

/** Service-wide integrations (src/integration-settings.ts): settable through `/api/settings` only. */
export const integrationFields = {
  webhooks: z.array(webhookSchema).max(20, { error: 'must have at most 20 webhooks' }),
  on_complete: argvSchema,
  on_fail: argvSchema,
};

/** `POST /api/settings`: any subset of the settings. */
export const settingsUpdateSchema = z.object({ ...nullishFields({ ...settingsFields, ...transferSettingsFields }), ...nullishFields(integrationFields) });

/** `POST /api/tasks`, exactly the seed's body. */
export const compatCreateSchema = z.object({
  url: httpUrl,
  filename: z.string().min(1, { error: 'must not be empty' }).max(1000, { error: 'must be at most 1000 characters' }),
  use_http_headers: z.boolean().nullish(),
  http_headers: headerMapSchema.nullish(),
  advanced: z.boolean().nullish(),
  ...nullishFields(settingsFields),
});

/** `PUT /api/tasks?id=`. */
export const compatUpdateSchema = z.object({
  status: z.enum([TaskStatus.waiting, TaskStatus.paused]),
});

/** Drops null/undefined values so "not set" never overrides a default. */
export function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

/** Header map with every value as a list, as the seed's `header_map` shows it. */
export function normalizeHeaders(headers: Record<string, string | string[]> | null | undefined): Record<string, string[]> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}
