// A complete TaskOptions for tests that call the engine directly: the service's
// own defaults, with what the test cares about laid on top; and the same as the
// downloader's options, mapped the way the task manager maps them.
import type { DownloadOptions } from '../../src/downloader/options.js';
import { downloadOptionsFor } from '../../src/manager/download-options.js';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../../src/manager/settings.js';
import type { TaskOptions } from '../../src/types.js';

export function taskOptions(overrides: Partial<TaskOptions> = {}): TaskOptions {
  return { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS, ...overrides };
}

/** The downloader's options for a task with these options (src/manager/download-options.ts). */
export function downloadOptions(overrides: Partial<TaskOptions> = {}): DownloadOptions {
  return downloadOptionsFor(taskOptions(overrides));
}
