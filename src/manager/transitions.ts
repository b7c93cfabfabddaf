// The task state machine as data: which command is allowed from which status, and what
// the task becomes. The manager's commands look their step up here instead of branching
// on statuses; a status or command missing from a row is not allowed (TransitionError).
import { TaskStatus, type Phase } from '../types.js';

export type Command = 'pause' | 'resume' | 'retry' | 'remove' | 'start' | 'finish';

/**
 * What a command does from one status:
 * - `stay`: nothing to do (the command is idempotent there);
 * - `set`: the record moves to `status`/`phase` at once;
 * - `stop`: the running download is stopped; its run writes the final status
 *   (the `stopped` status of the row, see `STOPPED_AS`).
 */
export type Step =
  | { kind: 'stay' }
  | { kind: 'set'; status: TaskStatus; phase: Phase; clearError?: boolean }
  | { kind: 'stop' };

type Row = Partial<Record<TaskStatus, Step>>;

const queued = (status: TaskStatus, clearError = false): Step => ({ kind: 'set', status, phase: 'queued', clearError });
const stay: Step = { kind: 'stay' };
const stop: Step = { kind: 'stop' };

export const TRANSITIONS: Readonly<Record<Command, Row>> = {
  // 已暂停: from 等待中 or 下载中 (stopping it); idempotent on 已暂停.
  pause: {
    [TaskStatus.waiting]: queued(TaskStatus.paused),
    [TaskStatus.downloading]: stop,
    [TaskStatus.paused]: stay,
  },
  // 等待中 from 已暂停 or 失败, keeping downloaded segments; no-op when waiting or running.
  resume: {
    [TaskStatus.paused]: queued(TaskStatus.waiting, true),
    [TaskStatus.failed]: queued(TaskStatus.waiting, true),
    [TaskStatus.waiting]: stay,
    [TaskStatus.downloading]: stay,
  },
  // Only a failed task is retried.
  retry: {
    [TaskStatus.failed]: queued(TaskStatus.waiting, true),
  },
  // Any task may go; a running one is stopped first.
  remove: {
    [TaskStatus.waiting]: stay,
    [TaskStatus.paused]: stay,
    [TaskStatus.completed]: stay,
    [TaskStatus.failed]: stay,
    [TaskStatus.downloading]: stop,
  },
  // The scheduler starts a waiting task.
  start: {
    [TaskStatus.waiting]: { kind: 'set', status: TaskStatus.downloading, phase: 'resolving', clearError: true },
  },
  // A run that produced its output.
  finish: {
    [TaskStatus.downloading]: { kind: 'set', status: TaskStatus.completed, phase: 'done' },
  },
};

/** The step `command` takes from `from`, or undefined when the table does not allow it. */
export function stepOf(command: Command, from: TaskStatus): Step | undefined {
  return TRANSITIONS[command][from];
}

/** The `set` step of a command that must move the task (start, finish); throws when the table has none. */
export function targetOf(command: Command, from: TaskStatus): { status: TaskStatus; phase: Phase } {
  const step = stepOf(command, from);
  if (step?.kind !== 'set') throw new RangeError(`transition table: ${command} from ${from} sets no status`);
  return { status: step.status, phase: step.phase };
}
