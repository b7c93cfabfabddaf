// The `/api/v1` response shapes, in zod: the single source of the types present.ts
// returns, the OpenAPI document, the CLI's client and the browser page (which import
// the types only, `import type`, so no zod reaches the browser). The page's compiler
// sees every file this one imports, so they must stay free of Node (no `node:` module,
// no Node global): settings fields from schemas.ts, words from wire-vocabulary.ts.
import { z } from 'zod';
import { PHASES, STATUS_CODES, STATUS_NAMES, TASK_SOURCES, TASK_STATUSES } from '../wire-vocabulary.js';
import { settingsFields, taskChoiceFields, type transferSettingsFields } from './schemas.js';

/** A task's effective settings as every response shows them. */
export const advancedSettingsSchema = z.object({
  ...settingsFields,
  ...taskChoiceFields,
  max_speed: z.number().describe('The task\'s own speed limit in bytes per second; 0 = none.'),
}).describe('Effective settings; proxy_password is always empty.');

export const v1TaskSchema = z.object({
  id: z.number().int(),
  url: z.string(),
  filename: z.string(),
  size: z.number().describe('Bytes on disk so far; the output size when done.'),
  progress: z.number().int().min(0).max(100),
  status: z.literal(STATUS_CODES).describe(STATUS_NAMES.map((name, code) => `${code} ${name}`).join(', ')),
  status_text: z.enum(STATUS_NAMES),
  status_label: z.enum(TASK_STATUSES).describe('The compat API status string.'),
  status_bar: z.string().describe('Phase, segments, speed, time left, in English; in Chinese when Accept-Language puts zh first (the compat API always speaks Chinese).'),
  err_msg: z.string(),
  phase: z.enum(PHASES),
  segments_total: z.number().int(),
  segments_done: z.number().int(),
  segments_skipped: z.number().int(),
  downloaded_bytes: z.number(),
  speed_bps: z.number(),
  eta_s: z.number().nullable().describe('Seconds left, or null when unknown.'),
  output_path: z.string(),
  source: z.enum(TASK_SOURCES),
  start_time: z.string().nullable(),
  started_at: z.string().nullable(),
  live: z.boolean().describe('The stream is live: the task records it until it ends, a limit, the idle timeout or a stop.'),
  recorded_s: z.number().describe('Seconds of media recorded (live tasks).'),
  has_poster: z.boolean().describe('A poster frame (JPEG, ~320 px wide) is at /tasks/{id}/poster.'),
  node: z.string().nullable().describe('The service instance (M3U8DM_NODE_ID) running the task; null when none does.'),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
  header_map: z.record(z.string(), z.array(z.string())),
  advanced_settings: advancedSettingsSchema,
});
export type V1Task = z.infer<typeof v1TaskSchema>;

/** `GET /api/v1/tasks`. */
export const taskPageSchema = z.object({
  tasks: z.array(v1TaskSchema),
  total: z.number().int(),
  page: z.number().int(),
  page_size: z.number().int(),
});
export type TaskPage = z.infer<typeof taskPageSchema>;

/** `GET /api/v1/tasks/stats`. */
export const taskStatsSchema = z.object({
  total: z.number(),
  ...Object.fromEntries(STATUS_NAMES.map((name) => [name, z.number()])) as Record<(typeof STATUS_NAMES)[number], z.ZodNumber>,
  speed_bps: z.number(),
  speed_limit_bps: z.number().describe('The service-wide limit (`max_download_speed`); 0 = unlimited.'),
});
export type TaskStats = z.infer<typeof taskStatsSchema>;

/** The `data` of every event on `/api/v1/events`. */
export const taskEventSchema = z.object({
  type: z.enum(['task.created', 'task.updated', 'task.deleted']),
  task: v1TaskSchema,
});
export type TaskEvent = z.infer<typeof taskEventSchema>;

/** Input of a group of zod fields: what a client may write. */
type InputOf<F extends Record<string, z.ZodType>> = { [K in keyof F]: z.input<F[K]> };
/** `/api/settings`' download settings as a client writes them: speeds as bytes per second or "5M". */
export type SettingsInput = InputOf<typeof settingsFields & typeof transferSettingsFields>;
/** The per-task choices of `POST /api/v1/tasks` options. */
export type TaskChoicesInput = InputOf<typeof taskChoiceFields>;
