// The task manager's errors: each with a stable `code` that routes map to API codes, and
// the standard `cause` (ErrorOptions) when one error wraps another.
import type { TaskStatus } from '../types.js';

/** A task id that names no task (never did, or was removed). */
export class TaskNotFoundError extends Error {
  override name = 'TaskNotFoundError';
  readonly code = 'ERR_TASK_NOT_FOUND';
  constructor(readonly id: number, options?: ErrorOptions) {
    super(`task ${id} does not exist`, options);
  }
}

/** A command the transition table does not allow from the task's status (see transitions.ts). */
export class TransitionError extends Error {
  override name = 'TransitionError';
  readonly code = 'ERR_TRANSITION';
  constructor(readonly id: number, readonly from: TaskStatus, readonly action: string, options?: ErrorOptions) {
    super(`cannot ${action} task ${id}: it is ${from}`, options);
  }
}

/** A task's file that cannot be served: not finished, no single file, gone, or outside the allowed folders. */
export class FileUnavailableError extends Error {
  override name = 'FileUnavailableError';
  readonly code = 'ERR_FILE_UNAVAILABLE';
  constructor(readonly id: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** An unexpected exception ended a run; `cause` holds the original for the log, never for the user. */
export class RunBugError extends Error {
  override name = 'RunBugError';
  readonly code = 'ERR_RUN_BUG';
  constructor(readonly id: number, options?: ErrorOptions) {
    super(`task ${id}: unexpected error in the run`, options);
  }
}
