// Hears every change of a task on the PostgreSQL store, whichever instance made it: one dedicated
// connection LISTENs on the task channel (a pool would hand the LISTEN to a client that later goes
// back to the pool). When the database goes away the connection is re-made, with a growing pause,
// until it is back; changes made in the gap are not replayed, so `onReconnect` tells the watchers
// to look again (and they also look at the records on their own heartbeat).
import pg from 'pg';
import type { TaskChange } from './task-store.js';

const KINDS = new Set<TaskChange['kind']>(['created', 'updated', 'deleted']);
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

function parse(payload: string | undefined): TaskChange | null {
  try {
    const v = JSON.parse(payload ?? '') as { kind?: unknown; id?: unknown };
    if (typeof v.kind === 'string' && KINDS.has(v.kind as TaskChange['kind']) && Number.isSafeInteger(v.id) && (v.id as number) > 0) {
      return { kind: v.kind as TaskChange['kind'], id: v.id as number };
    }
  } catch { /* not ours */ }
  return null;
}

export interface ChangeFeedOptions {
  /** How the listening connection is made (the pool's own settings). */
  client: pg.ClientConfig;
  channel: string;
  onChange: (change: TaskChange) => void;
  /** Listening again after a loss: changes made meanwhile were not heard. */
  onReconnect?: () => void;
}

export class PgChangeFeed {
  readonly #options: ChangeFeedOptions;
  #client?: pg.Client;
  #closed = false;
  #retryMs = RETRY_FIRST_MS;
  #timer?: NodeJS.Timeout;
  /** The connection was lost since the last successful start. */
  #gap = false;

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
  }

  /** Whether the listening connection is up right now. */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  /** Connects and LISTENs; throws when that fails (at open, the caller reports it). */
  async start(): Promise<void> {
    const client = new pg.Client({ ...this.#options.client, keepAlive: true });
    // Errors before connect() settles are reported by connect() itself.
    client.on('error', () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#options.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    client.on('notification', (msg) => {
      if (msg.channel !== this.#options.channel) return;
      const change = parse(msg.payload);
      if (change) this.#options.onChange(change);
    });
    client.on('end', () => this.#lost(client));
    this.#client = client;
    this.#retryMs = RETRY_FIRST_MS;
    if (this.#gap) {
      this.#gap = false;
      this.#options.onReconnect?.();
    }
  }

  async stop(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#gap = true;
    client.end().catch(() => undefined);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.start().catch(() => {
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
        this.#scheduleRetry();
      });
    }, this.#retryMs);
    this.#timer.unref();
  }
}
