// The OpenAPI 3.1 document of `/api/v1`, generated from the zod schemas that
// validate the requests, so the two cannot drift.
import { z } from 'zod';
import { ErrorCode } from './error-codes.js';
import { deliveriesQuerySchema, taskIdsSchema, v1CreateSchema, v1ListQuerySchema, v1PatchSchema, webhookTestSchema } from './v1-schemas.js';
import { taskStatsSchema, v1TaskSchema } from './wire.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const envelope = (data: JsonSchema): JsonSchema => ({
  type: 'object',
  required: ['code', 'message', 'data'],
  properties: { code: { type: 'integer', const: 0 }, message: { type: 'string', const: 'success' }, data },
});
const errorEnvelope: JsonSchema = {
  type: 'object',
  properties: {
    code: { type: 'integer', enum: Object.values(ErrorCode).filter((c) => c !== 0) },
    message: { type: 'string', description: 'What was wrong, naming the field.' },
    data: { type: 'null' },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const okResponse = (data: JsonSchema, description = 'success') => ({ description, content: json(envelope(data)) });
const errors = (...codes: [number, string][]) =>
  Object.fromEntries(codes.map(([status, description]) => [String(status), { description, content: json(ref('Error')) }]));
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const taskData = ref('Task');

export function buildOpenApi(version: string): JsonSchema {
  const listQuery = Object.entries(v1ListQuerySchema.shape).map(([name, schema]) => ({ name, in: 'query', required: false, schema: schemaOf(schema as z.ZodType) }));
  const deliveriesQuery = Object.entries(deliveriesQuerySchema.shape).map(([name, schema]) => ({ name, in: 'query', required: false, schema: schemaOf(schema as z.ZodType) }));
  const transition = (summary: string) => ({
    post: { summary, parameters: [idParam], responses: { 200: okResponse(taskData), ...errors([404, '40401 not found'], [409, '40901 not allowed in this state']) } },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'm3u8dm management API', version, description: 'HLS download tasks. Every response is {code, message, data}; code 0 is success.' },
    servers: [{ url: '/api/v1' }],
    components: {
      schemas: {
        Task: schemaOf(v1TaskSchema),
        CreateTasks: schemaOf(v1CreateSchema),
        TaskIds: schemaOf(taskIdsSchema),
        TaskPatch: schemaOf(v1PatchSchema),
        Delivery: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'Sent as X-M3U8DM-Delivery; receivers dedupe by it.' },
            event: { type: 'string' },
            url: { type: 'string' },
            task_id: { type: ['integer', 'null'] },
            status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
            attempts: { type: 'integer' },
            last_status: { type: ['integer', 'null'], description: 'HTTP status of the last attempt.' },
            last_error: { type: 'string' },
            created_at: { type: 'string' },
            next_attempt_at: { type: ['string', 'null'] },
            delivered_at: { type: ['string', 'null'] },
            signed: { type: 'boolean' },
          },
        },
        Error: errorEnvelope,
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required when the service runs with M3U8DM_TOKEN.' } },
    },
    security: [{ bearer: [] }, {}],
    paths: {
      '/tasks': {
        post: {
          summary: 'Create one task (url) or many (urls)',
          requestBody: { required: true, content: json(ref('CreateTasks')) },
          responses: {
            200: okResponse({ type: 'object', properties: { task_ids: { type: 'array', items: { type: 'integer' } }, created_count: { type: 'integer' } } }),
            ...errors([400, '40001 invalid parameters, 40002 url/urls missing, 40003 URL not supported']),
          },
        },
        get: {
          summary: 'List tasks with filters and paging',
          parameters: listQuery,
          responses: {
            200: okResponse({ type: 'object', properties: { tasks: { type: 'array', items: taskData }, total: { type: 'integer' }, page: { type: 'integer' }, page_size: { type: 'integer' } } }),
            ...errors([400, '40001 invalid parameters']),
          },
        },
      },
      '/tasks/{id}': {
        get: { summary: 'One task', parameters: [idParam], responses: { 200: okResponse(taskData), ...errors([404, '40401 not found']) } },
        patch: {
          summary: 'Change options of a task in any state (max_speed); a running download follows within a second',
          parameters: [idParam],
          requestBody: { required: true, content: json(ref('TaskPatch')) },
          responses: { 200: okResponse(taskData), ...errors([400, '40001 invalid parameters'], [404, '40401 not found']) },
        },
        delete: {
          summary: 'Delete a task (stopping it first; the finished output file stays)',
          parameters: [idParam],
          responses: { 200: okResponse({ type: 'object', properties: { deleted_count: { type: 'integer' } } }), ...errors([404, '40401 not found']) },
        },
      },
      '/tasks/batch': {
        delete: {
          summary: 'Delete many tasks; ids that do not exist are reported in not_found and do not fail the call',
          requestBody: { required: true, content: json(ref('TaskIds')) },
          responses: {
            200: okResponse({ type: 'object', properties: { deleted_count: { type: 'integer' }, not_found: { type: 'array', items: { type: 'integer' } } } }),
            ...errors([400, '40001 invalid parameters']),
          },
        },
      },
      '/tasks/{id}/file': {
        get: {
          summary: 'The finished output file (Range requests answered with 206; Content-Disposition with the real name)',
          parameters: [idParam, { name: 'disposition', in: 'query', required: false, schema: { type: 'string', enum: ['attachment', 'inline'] } }],
          responses: { 200: { description: 'the file' }, 206: { description: 'the requested range' }, ...errors([404, '40401 no such task, or no single finished file']) },
        },
      },
      '/tasks/{id}/file-link': {
        post: {
          summary: 'A signed link to /tasks/{id}/file that works without the token for a few hours (for <video> and download links)',
          parameters: [idParam],
          responses: { 200: okResponse({ type: 'object', properties: { path: { type: 'string' }, expires_at: { type: 'string' } } }), ...errors([404, '40401 no file']) },
        },
      },
      '/tasks/{id}/poster': {
        get: { summary: 'The poster frame of a finished task (image/jpeg)', parameters: [idParam], responses: { 200: { description: 'JPEG' }, ...errors([404, '40401 none']) } },
      },
      '/tasks/{id}/stop': transition('Stop (pause) a pending or running task'),
      '/tasks/{id}/resume': transition('Resume a paused or failed task, keeping downloaded segments'),
      '/tasks/{id}/retry': transition('Retry a failed task, keeping downloaded segments'),
      '/tasks/retry-all': {
        post: { summary: 'Retry every failed task', responses: { 200: okResponse({ type: 'object', properties: { retried_count: { type: 'integer' } } }) } },
      },
      '/tasks/stats': {
        get: {
          summary: 'Counts by status, the total download speed and the service-wide limit (speed_limit_bps, 0 = unlimited)',
          responses: {
            200: okResponse(schemaOf(taskStatsSchema)),
          },
        },
      },
      '/events': {
        get: {
          summary: 'Server-Sent Events: task.created, task.updated (throttled per task), task.deleted; data is {type, task}',
          responses: { 200: { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
        },
      },
      '/health': {
        get: {
          summary: 'Version, ffmpeg in use, uptime, this instance and the live instances sharing its store',
          responses: {
            200: okResponse({
              type: 'object',
              properties: {
                version: { type: 'string' },
                ffmpeg: { type: 'object', properties: { path: { type: ['string', 'null'] }, version: { type: ['string', 'null'] } } },
                uptime_s: { type: 'integer' },
                node: { type: 'string', description: 'This instance (M3U8DM_NODE_ID).' },
                nodes: {
                  type: 'array',
                  description: 'Instances heard from within one lease length (M3U8DM_LEASE_S), this one included.',
                  items: {
                    type: 'object',
                    properties: { id: { type: 'string' }, max_active: { type: 'integer' }, running: { type: 'integer' }, seen_at: { type: 'string', format: 'date-time' } },
                  },
                },
              },
            }),
          },
        },
      },
      '/webhooks/deliveries': {
        get: {
          summary: 'Recent webhook deliveries from the outbox, newest first, with their status, attempts and last error',
          parameters: deliveriesQuery,
          responses: {
            200: okResponse({ type: 'object', properties: { deliveries: { type: 'array', items: ref('Delivery') }, counts: { type: 'object', additionalProperties: { type: 'integer' } } } }),
            ...errors([400, '40001 invalid parameters']),
          },
        },
      },
      '/webhooks/test': {
        post: {
          summary: 'Send a webhook.test event to every configured webhook (or the one with this url)',
          requestBody: { required: false, content: json(schemaOf(webhookTestSchema)) },
          responses: {
            200: okResponse({ type: 'object', properties: { delivery_ids: { type: 'array', items: { type: 'string' } } } }),
            ...errors([400, '40001 no webhook configured, or url is not one of them']),
          },
        },
      },
      '/openapi.json': { get: { summary: 'This document (not wrapped in the envelope)', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
  };
}
