// The storage contract of the webhook outbox: every delivery is written here before
// it is sent and updated after each attempt, so a crash or a receiver that is down
// loses none. Like the task store, nothing above it sees the database.

/** `pending` waits for its (next) attempt; `delivered` got a 2xx; `failed` was given up. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  /** The delivery id, sent as `X-M3U8DM-Delivery`; receivers dedupe by it. */
  id: string;
  /** Receiver URL. */
  url: string;
  /** `task.completed`, `queue.drained`, `webhook.test`… */
  event: string;
  /** The task the event is about, or null (`queue.drained` without one, `webhook.test`). */
  task_id: number | null;
  /** The exact JSON body sent on every attempt (the signature covers these bytes). */
  body: string;
  /** `sha256=<hex>` when the webhook has a secret; computed once, when written. */
  signature: string | null;
  status: DeliveryStatus;
  attempts: number;
  /** Epoch ms of the next attempt (pending only). */
  next_at: number;
  /** Epoch ms when the event happened; the retry window counts from here. */
  created_at: number;
  /** HTTP status of the last attempt, when it got one. */
  last_status: number | null;
  last_error: string;
  delivered_at: number | null;
}

export type DeliveryPatch = Partial<Omit<Delivery, 'id' | 'url' | 'event' | 'task_id' | 'body' | 'signature' | 'created_at'>>;

export interface OutboxStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Stores new deliveries (durably: on disk when this resolves). */
  add(deliveries: Delivery[]): Promise<void>;
  update(id: string, patch: DeliveryPatch): Promise<void>;
  /** Pending deliveries due at `now`, soonest first, at most `limit`. */
  due(now: number, limit: number): Promise<Delivery[]>;
  /** When the soonest pending delivery is due, or null when none waits. */
  nextDueAt(): Promise<number | null>;
  /** Newest first. */
  recent(limit: number, status?: DeliveryStatus): Promise<Delivery[]>;
  countByStatus(): Promise<Record<DeliveryStatus, number>>;
  /** Drops finished (delivered/failed) deliveries older than `before`, keeping at least the newest `keep` of them. */
  prune(before: number, keep: number): Promise<number>;
}
