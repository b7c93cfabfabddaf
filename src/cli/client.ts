// HTTP client of a running service's /api/v1: unwraps the `{code, message, data}`
// envelope and turns every failure into one error a person can act on.
import type { TaskEvent as TaskEventMessage, TaskStats, V1Task } from '../api/wire.js';
import type { V1CreateBody } from '../api/v1-schemas.js';
import { ErrorCode } from '../api/error-codes.js';
import { ApiRequestError, ServiceUnreachableError } from './errors.js';
import { readServerSentEvents, type ServerSentEvent } from './sse.js';

export type { TaskEventMessage, TaskStats, V1Task };

export interface ClientOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** Bearer token (`M3U8DM_TOKEN`). */
  token?: string;
  /** Longest wait for one answer. @defaultValue 30000 */
  timeoutMs?: number;
}

/** The v1 create body, as the CLI always sends it (`source: 'cli'`). */
export type CreateTasksBody = V1CreateBody & { source: 'cli' };

export interface TaskListQuery {
  /** Numeric statuses, comma-separated (`0,4`). */
  status?: string;
  q?: string;
}

interface Envelope<T> {
  code: number;
  message: string;
  data: T;
}

/** Largest page the API serves. */
const PAGE_SIZE = 100;

export class ServiceClient {
  readonly server: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}), ...extra };
  }

  #unreachable(err: unknown): ServiceUnreachableError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const name = (err as Error).name;
    if (name === 'TimeoutError') {
      return new ServiceUnreachableError(`the service at ${this.server} did not answer within ${Math.round(this.#timeoutMs / 1000)} s — check that it is running, or pass --server`, this.server, { cause: err });
    }
    // fetch's own refusals (a "bad port" such as 6000) carry a message but no code.
    const why = cause?.code ? ` (${cause.code})` : cause?.message ? ` (${cause.message})` : '';
    return new ServiceUnreachableError(
      `cannot reach the service at ${this.server}${why} — start it with \`m3u8dm serve\` or pass --server`,
      this.server,
      { cause: err },
    );
  }

  async #fetch(path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.server}/api/v1${path}`, { ...init, signal: signal ?? AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw this.#unreachable(err);
    }
  }

  /** One call; resolves with the envelope's `data` or rejects with an ApiRequestError / ServiceUnreachableError. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: this.#headers(body === undefined ? {} : { 'content-type': 'application/json' }) };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await this.#fetch(path, init);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.#unreachable(err);
    }
    let envelope: Envelope<T> | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && 'code' in parsed) envelope = parsed as Envelope<T>;
    } catch {
      // not JSON: reported below
    }
    if (!envelope) {
      throw new ApiRequestError(
        `${this.server} answered ${method} /api/v1${path} with HTTP ${res.status} and no m3u8dm envelope — is --server pointing at an m3u8dm service?`,
        0,
        res.status,
      );
    }
    if (envelope.code !== 0) throw this.#apiError(envelope, res.status);
    return envelope.data;
  }

  #apiError(envelope: Envelope<unknown>, status: number): ApiRequestError {
    if (envelope.code === ErrorCode.unauthorized) {
      const what = this.#token ? 'rejected the token' : 'needs a token';
      return new ApiRequestError(`the service at ${this.server} ${what} — pass --token or set M3U8DM_TOKEN`, envelope.code, status);
    }
    return new ApiRequestError(envelope.message || `request failed with code ${envelope.code}`, envelope.code, status);
  }

  createTasks(body: CreateTasksBody): Promise<{ task_ids: number[]; created_count: number }> {
    return this.request('POST', '/tasks', body);
  }

  getTask(id: number): Promise<V1Task> {
    return this.request('GET', `/tasks/${id}`);
  }

  stopTask(id: number): Promise<V1Task> {
    return this.request('POST', `/tasks/${id}/stop`);
  }

  resumeTask(id: number): Promise<V1Task> {
    return this.request('POST', `/tasks/${id}/resume`);
  }

  retryTask(id: number): Promise<V1Task> {
    return this.request('POST', `/tasks/${id}/retry`);
  }

  deleteTask(id: number): Promise<{ deleted_count: number }> {
    return this.request('DELETE', `/tasks/${id}`);
  }

  stats(): Promise<TaskStats> {
    return this.request('GET', '/tasks/stats');
  }

  listPage(query: TaskListQuery, page: number, pageSize = PAGE_SIZE): Promise<{ tasks: V1Task[]; total: number; page: number; page_size: number }> {
    const params = new URLSearchParams({ page: String(page), page_size: String(pageSize) });
    if (query.status) params.set('status', query.status);
    if (query.q) params.set('q', query.q);
    return this.request('GET', `/tasks?${params.toString()}`);
  }

  /** Every task matching the query, newest first, fetched page by page. */
  async listAll(query: TaskListQuery = {}, limit = Infinity): Promise<V1Task[]> {
    const tasks: V1Task[] = [];
    for (let page = 1; tasks.length < limit; page++) {
      const result = await this.listPage(query, page);
      tasks.push(...result.tasks);
      if (result.tasks.length < result.page_size || tasks.length >= result.total) break;
    }
    return tasks.slice(0, limit);
  }

  /**
   * The task events stream (`GET /api/v1/events`). Resolves once the service has
   * answered, so no event after that moment is missed; the iterator ends when the
   * service closes the stream or `signal` aborts.
   */
  async events(signal: AbortSignal): Promise<AsyncIterable<TaskEventMessage>> {
    const res = await this.#fetch('/events', { headers: this.#headers({ accept: 'text/event-stream' }) }, signal);
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      let envelope: Envelope<unknown> | undefined;
      try {
        envelope = JSON.parse(text) as Envelope<unknown>;
      } catch {
        // reported below
      }
      if (envelope && typeof envelope.code === 'number') throw this.#apiError(envelope, res.status);
      throw new ApiRequestError(`${this.server} answered the events stream with HTTP ${res.status} — is --server pointing at an m3u8dm service?`, 0, res.status);
    }
    const body = res.body;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const event of readServerSentEvents(body, signal)) {
          const message = parseEvent(event);
          if (message) yield message;
        }
      },
    };
  }
}

function parseEvent(event: ServerSentEvent): TaskEventMessage | undefined {
  if (!event.event.startsWith('task.')) return undefined;
  try {
    const data = JSON.parse(event.data) as Partial<TaskEventMessage>;
    if (!data.task || typeof data.task.id !== 'number') return undefined;
    return { type: event.event as TaskEventMessage['type'], task: data.task };
  } catch {
    return undefined;
  }
}
