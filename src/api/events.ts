// `GET /api/v1/events`: Server-Sent Events for every task change. Updates of one
// task are throttled (a few a second at most, the newest always delivered);
// created/deleted go out at once; a heartbeat comment keeps proxies from closing.
import express, { type Router } from 'express';
import { langFromAcceptLanguage } from '../manager/progress-text.js';
import type { TaskEvent, TaskManager } from '../manager/task-manager.js';
import type { TaskRecord } from '../types.js';
import { toV1Task } from './present.js';
import type { TaskEvent as TaskEventMessage } from './wire.js';

export interface EventsOptions {
  /** Least time between two `task.updated` events of one task. @defaultValue 250 */
  throttleMs?: number;
  /** @defaultValue 15000 */
  heartbeatMs?: number;
}

export function eventsRouter(manager: TaskManager, options: EventsOptions = {}): Router {
  const throttleMs = options.throttleMs ?? 250;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const router = express.Router();

  router.get('/', (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    const lang = langFromAcceptLanguage(req.headers['accept-language']);
    let seq = 0;
    const send = (type: TaskEvent['type'], task: TaskRecord) => {
      const message: TaskEventMessage = { type: `task.${type}`, task: toV1Task(task, lang) };
      res.write(`id: ${++seq}\nevent: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`);
    };
    const updates = new Map<number, { last: number; status?: TaskRecord['status']; pending?: TaskRecord; timer?: NodeJS.Timeout }>();
    const onTask = (event: TaskEvent) => {
      const id = event.task.id;
      if (event.type !== 'updated') {
        const slot = updates.get(id);
        if (slot?.timer) clearTimeout(slot.timer);
        updates.delete(id);
        send(event.type, event.task);
        return;
      }
      const slot = updates.get(id) ?? { last: 0 };
      updates.set(id, slot);
      const wait = slot.last + throttleMs - Date.now();
      // A new status (completed, failed, paused…) is news the moment it is written: never held back.
      if (wait <= 0 || (slot.status !== undefined && slot.status !== event.task.status)) {
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = undefined;
        slot.pending = undefined;
        slot.last = Date.now();
        slot.status = event.task.status;
        send('updated', event.task);
        return;
      }
      slot.pending = event.task;
      slot.timer ??= setTimeout(() => {
        slot.timer = undefined;
        if (!slot.pending) return;
        slot.last = Date.now();
        slot.status = slot.pending.status;
        send('updated', slot.pending);
        slot.pending = undefined;
      }, wait);
    };
    manager.on('task', onTask);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    req.on('close', () => {
      manager.off('task', onTask);
      clearInterval(heartbeat);
      for (const slot of updates.values()) if (slot.timer) clearTimeout(slot.timer);
    });
  });
  return router;
}
