// `add --wait`: follows the created tasks until each has ended (completed, failed,
// paused or deleted). The events stream brings the changes; a periodic look at each
// unfinished task covers anything the stream missed, or the stream going away.
import { ErrorCode } from '../api/error-codes.js';
import type { StatusName } from '../wire-vocabulary.js';
import type { ServiceClient, TaskEventMessage, V1Task } from './client.js';
import { ApiRequestError } from './errors.js';
import type { TaskBoard } from './task-board.js';

export type WaitOutcome = { id: number; task: V1Task; deleted?: false } | { id: number; task?: V1Task; deleted: true };

export interface WaitRequest {
  client: ServiceClient;
  ids: number[];
  /** Opened before the tasks were created, so none of their events is missed. */
  events?: AsyncIterable<TaskEventMessage>;
  board: TaskBoard;
  /** Aborting ends the wait; waitForTasks then rejects with the signal's reason. */
  signal: AbortSignal;
  /** Time between two looks at every unfinished task while the stream is up. @defaultValue 3000 */
  refreshMs?: number;
}

const ENDED = new Set<StatusName>(['completed', 'failed', 'paused']);

export async function waitForTasks(req: WaitRequest): Promise<WaitOutcome[]> {
  const { client, ids, board, signal } = req;
  const wanted = new Set(ids);
  const latest = new Map<number, V1Task>();
  const deleted = new Set<number>();
  let streamUp = req.events !== undefined;
  let wake = () => {};

  const ended = (id: number) => {
    const status = latest.get(id)?.status_text;
    return status !== undefined && ENDED.has(status);
  };
  const unfinished = () => ids.filter((id) => !deleted.has(id) && !ended(id));
  const apply = (task: V1Task) => {
    const current = latest.get(task.id);
    // Two channels (stream and look-ups) can deliver out of order: the newer record wins.
    if (current && Date.parse(current.updated_at) > Date.parse(task.updated_at)) return;
    latest.set(task.id, task);
    board.update(task);
    wake();
  };
  const markDeleted = (id: number) => {
    if (deleted.has(id)) return;
    deleted.add(id);
    board.deleted(id);
    wake();
  };
  const lookUp = async () => {
    for (const id of unfinished()) {
      try {
        apply(await client.getTask(id));
      } catch (err) {
        if (err instanceof ApiRequestError && err.apiCode === ErrorCode.notFound) markDeleted(id);
        else throw err;
      }
    }
  };

  void (async () => {
    if (!req.events) return;
    try {
      for await (const event of req.events) {
        if (!wanted.has(event.task.id)) continue;
        if (event.type === 'task.deleted') markDeleted(event.task.id);
        else apply(event.task);
      }
    } catch {
      // The stream broke; the look-ups carry on alone.
    } finally {
      streamUp = false;
      wake();
    }
  })();

  await lookUp();
  let lastLook = Date.now();
  while (unfinished().length > 0) {
    signal.throwIfAborted();
    const interval = streamUp ? (req.refreshMs ?? 3_000) : 1_000;
    const wait = Math.max(0, lastLook + interval - Date.now());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wake = () => {};
        resolve();
      }
      wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
    signal.throwIfAborted();
    if (Date.now() - lastLook >= interval) {
      await lookUp();
      lastLook = Date.now();
    }
  }
  return ids.map((id): WaitOutcome => {
    const task = latest.get(id);
    if (deleted.has(id) || !task) return { id, ...(task ? { task } : {}), deleted: true };
    return { id, task };
  });
}
