// The service's Prometheus metrics (`GET /metrics`): what the queue holds, what the
// engine fetched and retried, how long merges take, how webhook deliveries went.
// One registry per service (never prom-client's global one), so two services in one
// process (the tests) count apart. Gauges are read from the manager at scrape time.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATUS_NAME_OF } from '../wire-vocabulary.js';
import type { TaskManager } from '../manager/task-manager.js';
import type { TaskTransitions } from '../manager/lifecycle-events.js';
import { TaskStatus, type EngineObserver } from '../types.js';
import type { WebhookDispatcher } from '../webhooks/dispatcher.js';

export interface MetricsSources {
  manager: TaskManager;
  transitions?: TaskTransitions;
  /** For the outbox gauge; set once the dispatcher exists. */
  webhooks?: () => WebhookDispatcher | undefined;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #segments: Counter;
  readonly #bytes: Counter;
  readonly #retries: Counter<'host' | 'status'>;
  readonly #merge: Histogram;
  readonly #events: Counter<'event'>;
  readonly #deliveries: Counter<'result'>;

  constructor() {
    const registers = [this.registry];
    this.#segments = new Counter({ name: 'm3u8dm_segments_fetched_total', help: 'Media segments fetched whole from the network.', registers });
    this.#bytes = new Counter({ name: 'm3u8dm_downloaded_bytes_total', help: 'Bytes of media segments fetched from the network.', registers });
    this.#retries = new Counter({
      name: 'm3u8dm_request_retries_total',
      help: 'Requests (playlists, keys, segments) retried, by host and HTTP status or error code.',
      labelNames: ['host', 'status'],
      registers,
    });
    this.#merge = new Histogram({
      name: 'm3u8dm_merge_duration_seconds',
      help: 'Time the merge stage (ffmpeg) took per task.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.#events = new Counter({ name: 'm3u8dm_task_events_total', help: 'Task transitions (the webhook events), by event.', labelNames: ['event'], registers });
    this.#deliveries = new Counter({
      name: 'm3u8dm_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result: delivered, retry (will be tried again), rejected (4xx, not retried), failed (given up).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['delivered', 'retry', 'rejected', 'failed']) this.#deliveries.inc({ result }, 0);
  }

  /** Adds the gauges read at scrape time and counts transitions. Call once. */
  watch(sources: MetricsSources): void {
    const registers = [this.registry];
    const { manager } = sources;
    new Gauge({
      name: 'm3u8dm_tasks',
      help: 'Tasks by status.',
      labelNames: ['status'],
      registers,
      async collect() {
        const { counts } = await manager.stats();
        for (const status of Object.values(TaskStatus)) this.set({ status: STATUS_NAME_OF[status] }, counts[status]);
      },
    });
    new Gauge({
      name: 'm3u8dm_queue_depth',
      help: 'Tasks waiting for a download slot (scheduled ones included).',
      registers,
      async collect() {
        this.set((await manager.stats()).counts[TaskStatus.waiting]);
      },
    });
    new Gauge({
      name: 'm3u8dm_download_speed_bytes_per_second',
      help: 'Current download speed over all running tasks (on a shared store every node\'s, as the task counts are).',
      registers,
      async collect() {
        this.set((await manager.stats()).speed_bps);
      },
    });
    new Gauge({
      name: 'm3u8dm_active_downloads_max',
      help: 'Tasks allowed to download at once (M3U8DM_MAX_ACTIVE).',
      registers,
      collect() {
        this.set(manager.maxActive);
      },
    });
    new Gauge({
      name: 'm3u8dm_webhook_outbox',
      help: 'Webhook deliveries in the outbox, by status.',
      labelNames: ['status'],
      registers,
      async collect() {
        const dispatcher = sources.webhooks?.();
        if (!dispatcher) return;
        const counts = await dispatcher.counts();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    sources.transitions?.on('transition', (t) => this.#events.inc({ event: t.event }));
  }

  /** What the engine reports into these counters. */
  readonly engineObserver: EngineObserver = {
    segmentFetched: (bytes) => {
      this.#segments.inc();
      this.#bytes.inc(bytes);
    },
    retry: (host, status) => this.#retries.inc({ host, status }),
    merged: (seconds: number) => this.#merge.observe(seconds),
  };

  webhookAttempt(result: string): void {
    this.#deliveries.inc({ result });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
