// Turns the task manager's change events (created / updated / deleted, many updates
// per download) into the few moments the outside world cares about: a task was
// created, started, completed, failed, paused or deleted, and the queue drained.
// Webhooks, hooks and metrics listen here; none of them sees a progress tick.
import { EventEmitter } from 'node:events';
import type { WebhookEvent } from './integration-settings.js';
import type { TaskEvent, TaskManager } from './task-manager.js';
import { TaskStatus, type TaskRecord } from '../types.js';

export interface TaskTransition {
  event: WebhookEvent;
  /** The task it is about; for `queue.drained`, the last one that finished. */
  task: TaskRecord;
}

const ON_STATUS: Partial<Record<TaskStatus, WebhookEvent>> = {
  [TaskStatus.downloading]: 'task.started',
  [TaskStatus.completed]: 'task.completed',
  [TaskStatus.failed]: 'task.failed',
  [TaskStatus.paused]: 'task.paused',
};

export class TaskTransitions extends EventEmitter<{ transition: [TaskTransition] }> {
  readonly #manager: TaskManager;
  /** Last status seen per task since start; a task not seen yet counts as changed. */
  readonly #status = new Map<number, TaskStatus>();
  /** Whether the queue was last seen empty, so `queue.drained` fires once per emptying. */
  #drained = false;
  #checks: Promise<unknown> = Promise.resolve();
  readonly #onTask = (event: TaskEvent) => this.#handle(event);

  constructor(manager: TaskManager) {
    super();
    this.setMaxListeners(0);
    this.#manager = manager;
    manager.on('task', this.#onTask);
  }

  close(): void {
    this.#manager.off('task', this.#onTask);
  }

  /** Resolves once every `queue.drained` check started so far has run (for an orderly shutdown). */
  async idle(): Promise<void> {
    await this.#checks;
  }

  #handle(event: TaskEvent): void {
    // The node that made a change tells the world of it; the others only show it.
    if (event.remote) return;
    const { task } = event;
    if (event.type === 'deleted') {
      this.#status.delete(task.id);
      this.emit('transition', { event: 'task.deleted', task });
      return;
    }
    const before = this.#status.get(task.id);
    this.#status.set(task.id, task.status);
    if (event.type === 'created') {
      this.#drained = false;
      this.emit('transition', { event: 'task.created', task });
      return;
    }
    if (before === task.status) return;
    const name = ON_STATUS[task.status];
    if (name) this.emit('transition', { event: name, task });
    if (task.status === TaskStatus.downloading) this.#drained = false;
    if (task.status === TaskStatus.completed || task.status === TaskStatus.failed || task.status === TaskStatus.paused) this.#checkDrained(task);
  }

  /** The queue is drained when nothing runs and nothing waits (scheduled tasks wait too). */
  #checkDrained(last: TaskRecord): void {
    this.#checks = this.#checks.then(async () => {
      const { counts } = await this.#manager.stats();
      const empty = counts[TaskStatus.waiting] === 0 && counts[TaskStatus.downloading] === 0;
      if (empty && !this.#drained) {
        this.#drained = true;
        this.emit('transition', { event: 'queue.drained', task: last });
      }
    }).catch(() => undefined);
  }
}
