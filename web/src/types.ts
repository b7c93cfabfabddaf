// The shapes the page reads from the service: the server's own wire types
// (src/api/wire.ts, imported as types only, so nothing of the server's code runs
// here) and the status words both sides share at run time (src/wire-vocabulary.ts,
// a module with no imports that the page loads as is).
import type { SettingsInput, TaskChoicesInput } from '../../src/api/wire.js';

export type { TaskEvent, TaskPage, TaskStats, V1Task } from '../../src/api/wire.js';
export { Status } from '../../src/wire-vocabulary.js';

/** `/api/settings`: the Go original's settings object plus the service-wide limits. */
export type DownloadSettings = SettingsInput;

/** The page's new-download form: the settings plus the per-task choices of `POST /api/v1/tasks`. */
export interface TaskOptions extends DownloadSettings, TaskChoicesInput {
  /** This download's own speed limit; 0 = none. Written as a number or "500K", "5M"… */
  max_speed: number | string;
}

/** The options the page's forms offer: every one but `retries`, which keeps the service's default. */
export type FormOptionKey = Exclude<keyof TaskOptions, 'retries'>;
