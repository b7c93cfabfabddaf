// The task manager's errors: each with an `override name`, a stable `code` that routes map
// to API codes, and the standard `cause` (ErrorOptions) when one error wraps another.
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

/** An unexpected exception, as the user sees it (err_msg); `cause` holds the original for the service log. */
export class InternalError extends Error {
  override name = 'InternalError';
  readonly code = 'ERR_INTERNAL';

  constructor(options?: ErrorOptions) {
    super(
      'internal error in m3u8dm (ERR_INTERNAL): the download stopped on something it did not expect; ' +
        'retry the task, and if it fails again report it with the service log (the details are there)',
      options,
    );
  }
}

/** A task's work folder cannot be made or used safely (see work-folders.ts). */
export class WorkFolderError extends Error {
  override name = 'WorkFolderError';
  readonly code = 'ERR_WORK_FOLDER';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A save location or work folder outside the allowed roots, or a file name that cannot be made safe. */
export class PathError extends Error {
  override name = 'PathError';
  readonly code = 'ERR_PATH';
  constructor(
    message: string,
    /** The request field at fault. */
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Settings that are each valid but do not fit together; `field` is the one to fix. */
export class SettingsError extends Error {
  override name = 'SettingsError';
  readonly code = 'ERR_SETTINGS';
  constructor(message: string, readonly field: string, options?: ErrorOptions) {
    super(message, options);
  }
}
