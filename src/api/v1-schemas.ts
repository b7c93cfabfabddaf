// `/api/v1` request schemas. They validate requests and generate the OpenAPI document.
import { z } from 'zod';
import { LIVE_DURATION_EXPECTED, parseLiveDuration } from '../downloader/live-options.js';
import { HH_MM, HH_MM_EXPECTED, STATUS_NAMES, TASK_SOURCES } from '../wire-vocabulary.js';
import { byteRateSchema, headerMapSchema, httpUrl, intIn, settingsFields, taskChoiceFields } from './schemas.js';

const boundedInt = (min: number, max: number) => intIn(min, max);
/** A query-string integer (query values are text). */
const queryInt = (min: number, max: number) =>
  z.coerce.number({ error: `must be an integer from ${min} to ${max}` })
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` });

/** An RFC 5646 language tag as HLS LANGUAGE attributes carry it: `en`, `fr-CA`, `zh-Hant`. */
const languageCode = z.string().regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, { error: 'must be a language code such as "en" or "pt-BR"' });
/** Seconds, fractions allowed. */
const seconds = (min: number, max: number) =>
  z.number({ error: `must be a number of seconds from ${min} to ${max}` })
    .min(min, { error: `must be a number of seconds from ${min} to ${max}` })
    .max(max, { error: `must be a number of seconds from ${min} to ${max}` });

export const taskOptionsSchema = z.strictObject({
  ...settingsFields,
  ...taskChoiceFields,
  max_speed: byteRateSchema.describe('This task\'s own speed limit (under max_download_speed): bytes per second or "500K", "5M", "1.5MB"; 0 = none.'),
  audio: z.union([z.enum(['default', 'all']), z.array(languageCode).min(1, { error: 'must list at least one language' }).max(50, { error: 'must list at most 50 languages' })],
    { error: 'must be "default", "all" or a list of language codes such as ["en", "fr"]' })
    .describe('Alternate audio renditions: the DEFAULT one, all of them, or those in these languages (muxed with their language tags, DEFAULT first).'),
  subtitles: z.union([z.enum(['all', 'none']), z.array(languageCode).min(1, { error: 'must list at least one language' }).max(50, { error: 'must list at most 50 languages' })],
    { error: 'must be "all", "none" or a list of language codes such as ["en", "fr"]' })
    .describe('Subtitle renditions (segmented WebVTT): written beside the output as .vtt and .srt and muxed into MP4/MKV; all by default.'),
  live_start: z.enum(['window', 'edge']).describe('Live streams: `window` records from the oldest segment listed, `edge` from the last 3.'),
  live_max_duration: z.union([z.number(), z.string()], { error: LIVE_DURATION_EXPECTED })
    .transform((value, ctx) => {
      const seconds = parseLiveDuration(value);
      if (seconds === undefined) {
        ctx.addIssue({ code: 'custom', message: LIVE_DURATION_EXPECTED, input: value });
        return z.NEVER;
      }
      return seconds;
    })
    .describe('Live streams: stop after this much media, in seconds or "HH:MM:SS" (at most 7 days).'),
  live_idle_timeout: seconds(1, 86_400).describe('Live streams: end the recording when no new segment came for this many seconds (default 60).'),
  live_wait: seconds(0, 86_400).describe('Seconds to keep retrying a playlist that answers 404 or lists no segment yet (default 0).'),
  follow_merge: z.boolean({ error: 'must be true or false' })
    .describe('Remux while the segments arrive (default true); false merges only once the download is done. The file is the same.'),
  header_hosts: z.array(z.string().min(1, { error: 'must not be empty' }).max(300, { error: 'must be at most 300 characters' }).regex(/^[^\s/]+$|^https?:\/\/[^\s/]+\/?$/, { error: 'must be a host (cdn.example, cdn.example:8443) or an origin (https://cdn.example)' }))
    .max(100, { error: 'must hold at most 100 hosts' })
    .describe('Hosts or origins besides the task URL\'s that get its Cookie and Authorization headers.'),
  max_segment_mb: boundedInt(1, 1_048_576).describe('Largest segment accepted, in MiB (default 2048): a bigger one fails the task.'),
}).partial();

/** `PATCH /api/v1/tasks/:id`: what may change on an existing task (applied to a running download at once). */
export const v1PatchSchema = z.strictObject({
  options: z.strictObject({
    max_speed: byteRateSchema.describe('New speed limit of the task: bytes per second or "500K", "5M", "1.5MB"; 0 = none.'),
  }, { error: 'must be an object; only max_speed can change on an existing task' }),
});

export const sourceSchema = z.enum(TASK_SOURCES);

export const v1CreateSchema = z.strictObject({
  url: httpUrl.optional().describe('One HLS playlist URL (or a page linking one).'),
  urls: z.array(httpUrl).min(1, { error: 'must hold at least one URL' }).max(1000, { error: 'must hold at most 1000 URLs' }).optional()
    .describe('Several URLs: one task each.'),
  filename: z.string().min(1, { error: 'must not be empty' }).max(1000, { error: 'must be at most 1000 characters' }).optional()
    .describe('Output name; with several URLs, `_1`, `_2`… are added. Derived from the URL when absent.'),
  headers: headerMapSchema.optional().describe('HTTP headers sent on playlist, key and segment requests; Cookie and Authorization only to the task URL\'s origin and options.header_hosts.'),
  options: taskOptionsSchema.optional(),
  start_time: z.string().regex(HH_MM, { error: HH_MM_EXPECTED }).optional()
    .describe('Local time (service time zone) of the next start.'),
  source: sourceSchema.optional().describe('Who created it; `api` unless said.'),
});
export type V1CreateBody = z.infer<typeof v1CreateSchema>;

const STATUS_CODE_CLASS = `[0-${STATUS_NAMES.length - 1}]`;
export const v1ListQuerySchema = z.object({
  status: z.string().regex(new RegExp(`^${STATUS_CODE_CLASS}(,${STATUS_CODE_CLASS})*$`), { error: `must be 0–${STATUS_NAMES.length - 1} (${STATUS_NAMES.join(', ')}), comma-separated` }).optional(),
  q: z.string().max(500, { error: 'must be at most 500 characters' }).optional().describe('Substring of the URL or the file name.'),
  source: sourceSchema.optional(),
  page: queryInt(1, 1_000_000).default(1),
  page_size: queryInt(1, 100).default(20),
  order: z.enum(['asc', 'desc']).default('desc').describe('By id: newest first (desc, default) or oldest first.'),
});

export const taskIdsSchema = z.strictObject({
  task_ids: z.array(z.union([z.number().int().positive(), z.string().regex(/^\d{1,15}$/)]), { error: 'must be an array of task ids' })
    .min(1, { error: 'must hold at least one id' }).max(1000, { error: 'must hold at most 1000 ids' }),
});

export const idParamSchema = z.string().regex(/^\d{1,15}$/);

/** `GET /api/v1/webhooks/deliveries`. */
export const deliveriesQuerySchema = z.object({
  limit: queryInt(1, 500).default(50).describe('Newest first, at most this many.'),
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
});

/** `POST /api/v1/webhooks/test`: to every configured webhook, or to the one with this URL. */
export const webhookTestSchema = z.strictObject({ url: httpUrl.optional() });
