// The webhook dispatcher: subscribes to task transitions, writes one delivery per
// (webhook, event) to the outbox before anything is sent, and sends what is due,
// retrying with exponential backoff and jitter for up to 24 hours. Deliveries
// left pending by a crash are sent after the next start, so each event reaches
// each receiver at least once (receivers dedupe by the delivery id). It knows
// nothing of routes: the API asks it for the recent deliveries and test sends.
import { randomUUID } from 'node:crypto';
import { toV1Task } from '../api/present.js';
import { CREDENTIAL_HEADERS } from '../downloader/credential-scope.js';
import type { IntegrationSettings, WebhookConfig } from '../manager/integration-settings.js';
import type { Logger } from '../service/log.js';
import type { Delivery, DeliveryStatus, OutboxStore } from '../store/outbox-store.js';
import type { TaskTransition, TaskTransitions } from '../manager/lifecycle-events.js';
import type { TaskRecord } from '../types.js';
import { sendDelivery, type AttemptResult } from './send-delivery.js';
import { signBody } from './signature.js';

export const TEST_EVENT = 'webhook.test';

export interface WebhookTiming {
  /** First retry waits about this long; each next one twice as long. @defaultValue 10000 */
  retryBaseMs: number;
  /** Longest wait between two attempts. @defaultValue 1 hour */
  retryCapMs: number;
  /** Give up on a delivery this long after its event. @defaultValue 24 hours */
  retryForMs: number;
  /** One attempt's time limit. @defaultValue 10000 */
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_TIMING: WebhookTiming = {
  retryBaseMs: 10_000,
  retryCapMs: 60 * 60_000,
  retryForMs: 24 * 60 * 60_000,
  timeoutMs: 10_000,
};

export interface DispatcherOptions {
  outbox: OutboxStore;
  transitions: TaskTransitions;
  /** The saved webhooks, read at each event so a settings change applies at once. */
  settings: () => Promise<IntegrationSettings>;
  timing?: Partial<WebhookTiming>;
  logger?: Logger;
  /** Told of every attempt's result (metrics). */
  onAttempt?: (result: AttemptResult['outcome'] | 'failed') => void;
}

/** What one delivery body holds. */
export interface WebhookPayload {
  event: string;
  task: ReturnType<typeof forReceivers> | null;
  at: string;
}

/** Attempts in flight at once, over all receivers. */
const CONCURRENCY = 4;
/** Finished deliveries are kept a week, and the newest 1,000 of them whatever their age. */
const KEEP_MS = 7 * 24 * 60 * 60_000;
const KEEP_COUNT = 1000;

/**
 * The task as /api/v1 shows it, with the values of its Cookie and Authorization headers blank
 * as the proxy password is: a receiver (a chat, a home server) has no use for the user's session,
 * and the body also waits in the outbox file until it is sent.
 */
function forReceivers(task: TaskRecord): ReturnType<typeof toV1Task> {
  const shown = toV1Task(task);
  const header_map = Object.fromEntries(Object.entries(shown.header_map).map(([name, values]) =>
    [name, (CREDENTIAL_HEADERS as readonly string[]).includes(name.toLowerCase()) ? values.map(() => '') : values]));
  return { ...shown, header_map };
}

export class WebhookDispatcher {
  readonly #outbox: OutboxStore;
  readonly #transitions: TaskTransitions;
  readonly #settings: DispatcherOptions['settings'];
  readonly #timing: WebhookTiming;
  readonly #logger: Logger | undefined;
  readonly #onAttempt: DispatcherOptions['onAttempt'];
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();
  /** Event writes in order, so deliveries are written in the order their events happened. */
  #writes: Promise<unknown> = Promise.resolve();
  #timer?: NodeJS.Timeout;
  #timerAt = Infinity;
  #pumping = false;
  #pumpAgain = false;
  #closed = false;
  readonly #onTransition = (t: TaskTransition) => void this.enqueue(t.event, t.task).catch((err: unknown) => {
    this.#logger?.error({ err, event: t.event }, 'webhook delivery could not be written to the outbox');
  });

  constructor(options: DispatcherOptions) {
    this.#outbox = options.outbox;
    this.#transitions = options.transitions;
    this.#settings = options.settings;
    this.#timing = { ...DEFAULT_WEBHOOK_TIMING, ...options.timing };
    this.#logger = options.logger;
    this.#onAttempt = options.onAttempt;
  }

  /** Listens for events and sends what a previous run left pending. */
  async start(): Promise<void> {
    this.#transitions.on('transition', this.#onTransition);
    await this.#outbox.prune(Date.now() - KEEP_MS, KEEP_COUNT);
    // After a restart every pending delivery is tried at once: the receiver may long be back.
    for (const d of await this.#outbox.recent(Number.MAX_SAFE_INTEGER, 'pending')) {
      if (d.next_at > Date.now()) await this.#outbox.update(d.id, { next_at: Date.now() });
    }
    this.#pump();
  }

  /** Stops listening and sending; attempts in flight are abandoned and stay pending for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#transitions.off('transition', this.#onTransition);
    if (this.#timer) clearTimeout(this.#timer);
    await this.#writes;
    this.#stop.abort();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Writes one delivery per subscribed webhook (or to `only`), then sends. Resolves with their ids once on disk. */
  async enqueue(event: string, task: TaskRecord | null, only?: WebhookConfig[]): Promise<string[]> {
    const write = this.#writes.then(async () => {
      const hooks = only ?? (await this.#settings()).webhooks.filter((w) => (w.events as string[]).includes(event));
      if (!hooks.length || this.#closed) return [];
      const now = Date.now();
      const payload: WebhookPayload = { event, task: task ? forReceivers(task) : null, at: new Date(now).toISOString() };
      const body = JSON.stringify(payload);
      const deliveries: Delivery[] = hooks.map((hook) => ({
        id: randomUUID(),
        url: hook.url,
        event,
        task_id: task?.id ?? null,
        body,
        signature: hook.secret ? signBody(body, hook.secret) : null,
        status: 'pending',
        attempts: 0,
        next_at: now,
        created_at: now,
        last_status: null,
        last_error: '',
        delivered_at: null,
      }));
      await this.#outbox.add(deliveries);
      return deliveries.map((d) => d.id);
    });
    this.#writes = write.catch(() => undefined);
    const ids = await write;
    if (ids.length) this.#pump();
    return ids;
  }

  /** A `webhook.test` delivery to every configured webhook, or to the one with this URL. */
  async sendTest(url?: string): Promise<{ ids: string[]; webhooks: number }> {
    const { webhooks } = await this.#settings();
    const targets = url === undefined ? webhooks : webhooks.filter((w) => w.url === url);
    if (!targets.length) return { ids: [], webhooks: webhooks.length };
    return { ids: await this.enqueue(TEST_EVENT, null, targets), webhooks: webhooks.length };
  }

  recent(limit: number, status?: DeliveryStatus): Promise<Delivery[]> {
    return this.#outbox.recent(limit, status);
  }

  counts(): Promise<Record<DeliveryStatus, number>> {
    return this.#outbox.countByStatus();
  }

  /** Starts the attempts that are due, then sleeps until the next one is. Calls coalesce. */
  #pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    void (async () => {
      do {
        this.#pumpAgain = false;
        const room = CONCURRENCY - this.#inFlight.size;
        if (room <= 0) break;
        const due = (await this.#outbox.due(Date.now(), room + this.#inFlight.size)).filter((d) => !this.#inFlight.has(d.id));
        for (const delivery of due.slice(0, room)) {
          const run = this.#attempt(delivery).finally(() => {
            this.#inFlight.delete(delivery.id);
            this.#pump();
          });
          this.#inFlight.set(delivery.id, run);
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- #pump() sets it during the await
      } while (this.#pumpAgain && !this.#closed);
      const next = await this.#outbox.nextDueAt();
      if (next !== null && !this.#closed) this.#wakeAt(next);
    })().catch((err: unknown) => {
      this.#logger?.error({ err }, 'webhook outbox could not be read');
      this.#wakeAt(Date.now() + this.#timing.retryBaseMs);
    }).finally(() => {
      this.#pumping = false;
      if (this.#pumpAgain) this.#pump();
    });
  }

  #wakeAt(at: number): void {
    if (this.#timer && at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  async #attempt(delivery: Delivery): Promise<void> {
    const attempt = delivery.attempts + 1;
    // A receiver taken out of the settings gets nothing more, not 24 hours of retries.
    const configured = (await this.#settings()).webhooks.some((w) => w.url === delivery.url);
    if (!configured) {
      await this.#outbox.update(delivery.id, { status: 'failed', last_error: `not sent: ${delivery.url} is no longer among the webhooks in the settings` });
      this.#onAttempt?.('failed');
      return;
    }
    const result = await sendDelivery(delivery, attempt, this.#timing.timeoutMs, this.#stop.signal);
    // Cut off by shutdown: not an answer from the receiver; the next start sends it again.
    if (this.#stop.signal.aborted) return;
    const now = Date.now();
    const base = { attempts: attempt, last_status: result.status, last_error: result.error };
    if (result.outcome === 'delivered') {
      await this.#outbox.update(delivery.id, { ...base, status: 'delivered', delivered_at: now });
      this.#onAttempt?.('delivered');
      return;
    }
    if (result.outcome === 'rejected') {
      await this.#outbox.update(delivery.id, { ...base, status: 'failed' });
      this.#onAttempt?.('rejected');
      this.#logger?.warn({ delivery: delivery.id, url: delivery.url, event: delivery.event, error: result.error }, 'webhook delivery refused; not retried');
      return;
    }
    const wait = this.#backoff(attempt, result.retryAfterMs);
    if (now + wait - delivery.created_at > this.#timing.retryForMs) {
      await this.#outbox.update(delivery.id, { ...base, status: 'failed', last_error: `${result.error}; gave up after ${attempt} attempts` });
      this.#onAttempt?.('failed');
      this.#logger?.warn({ delivery: delivery.id, url: delivery.url, event: delivery.event, error: result.error }, 'webhook delivery given up');
      return;
    }
    await this.#outbox.update(delivery.id, { ...base, next_at: now + wait });
    this.#onAttempt?.('retry');
  }

  /** Exponential, half of each step fixed and half random, so many retries to one receiver spread out. */
  #backoff(attempt: number, retryAfterMs?: number): number {
    const { retryBaseMs, retryCapMs } = this.#timing;
    const step = Math.min(retryCapMs, retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    const wait = step / 2 + Math.random() * (step / 2);
    return retryAfterMs === undefined ? wait : Math.min(retryCapMs, Math.max(wait, retryAfterMs));
  }
}
