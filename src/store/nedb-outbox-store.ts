// The webhook outbox in the embedded nedb database: its own file (`webhooks.db`)
// beside `tasks.db`, so the task store's compaction and indexes are untouched. It
// holds a lock of its own (`webhooks.lock`), because it closes after the task store
// (the last events of a shutdown still reach it) and must not share the file meanwhile.
import { chmod, unlink } from 'node:fs/promises';
import path from 'node:path';
import Datastore from 'nedb-promises';
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../service/private-files.js';
import { takeLock } from './nedb-task-store.js';
import type { Delivery, DeliveryPatch, DeliveryStatus, OutboxStore } from './outbox-store.js';

interface DeliveryDoc extends Delivery {
  _id: string;
  /** Write order, for "newest first" when several share a millisecond. */
  seq: number;
}

/** The datastore beneath nedb-promises' proxy (see nedb-task-store.ts). */
interface Compactable {
  compactDatafileAsync(): Promise<void>;
  setAutocompactionInterval(ms: number): void;
  stopAutocompaction(): void;
}
const raw = (db: Datastore<unknown>): Compactable => (db as unknown as { __original: Compactable }).__original;

function toDelivery(doc: DeliveryDoc): Delivery {
  const { _id, seq, ...delivery } = doc;
  return delivery;
}

export class NedbOutboxStore implements OutboxStore {
  readonly #dir: string;
  #db?: Datastore<DeliveryDoc>;
  #seq = 0;

  constructor(options: { dataDir: string }) {
    this.#dir = options.dataDir;
  }

  get #store(): Datastore<DeliveryDoc> {
    if (!this.#db) throw new Error('outbox store is not open');
    return this.#db;
  }

  async open(): Promise<void> {
    await ensurePrivateDir(this.#dir);
    await takeLock(path.join(this.#dir, 'webhooks.lock'));
    // Private like the task store's files: the bodies carry task URLs and headers.
    const modes = { fileMode: PRIVATE_FILE_MODE, dirMode: PRIVATE_DIR_MODE };
    const file = path.join(this.#dir, 'webhooks.db');
    this.#db = Datastore.create({ filename: file, timestampData: false, modes } as Parameters<typeof Datastore.create>[0]);
    await this.#db.load();
    await chmod(file, PRIVATE_FILE_MODE).catch(() => undefined);
    await this.#db.ensureIndex({ fieldName: 'status' });
    const newest = await this.#db.find({}).sort({ seq: -1 }).limit(1);
    this.#seq = newest[0]?.seq ?? 0;
    raw(this.#db).setAutocompactionInterval(10 * 60_000);
  }

  async close(): Promise<void> {
    if (!this.#db) return;
    raw(this.#db).stopAutocompaction();
    await raw(this.#db).compactDatafileAsync();
    await unlink(path.join(this.#dir, 'webhooks.lock')).catch(() => undefined);
  }

  async add(deliveries: Delivery[]): Promise<void> {
    if (!deliveries.length) return;
    await this.#store.insert(deliveries.map((d) => ({ ...d, _id: d.id, seq: ++this.#seq })));
  }

  async update(id: string, patch: DeliveryPatch): Promise<void> {
    await this.#store.update({ _id: id }, { $set: patch });
  }

  async due(now: number, limit: number): Promise<Delivery[]> {
    const docs = await this.#store.find({ status: 'pending', next_at: { $lte: now } }).sort({ next_at: 1, seq: 1 }).limit(limit);
    return docs.map(toDelivery);
  }

  async nextDueAt(): Promise<number | null> {
    const [doc] = await this.#store.find({ status: 'pending' }).sort({ next_at: 1 }).limit(1);
    return doc ? doc.next_at : null;
  }

  async recent(limit: number, status?: DeliveryStatus): Promise<Delivery[]> {
    const docs = await this.#store.find(status ? { status } : {}).sort({ seq: -1 }).limit(limit);
    return docs.map(toDelivery);
  }

  async countByStatus(): Promise<Record<DeliveryStatus, number>> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const status of Object.keys(counts) as DeliveryStatus[]) counts[status] = await this.#store.count({ status });
    return counts;
  }

  async prune(before: number, keep: number): Promise<number> {
    const kept = await this.#store.find({ status: { $ne: 'pending' } }, { seq: 1 }).sort({ seq: -1 }).limit(keep);
    const oldestKept = kept.length < keep ? 0 : (kept.at(-1)?.seq ?? 0);
    return this.#store.remove({ status: { $ne: 'pending' }, created_at: { $lt: before }, seq: { $lt: oldestKept } }, { multi: true });
  }
}
