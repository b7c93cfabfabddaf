// A complete TaskOptions for tests that call the engine directly: the service's
// own defaults, with what the test cares about laid on top.
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../../src/manager/settings.js';
import type { TaskOptions } from '../../src/types.js';

export function taskOptions(overrides: Partial<TaskOptions> = {}): TaskOptions {
  return { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS, ...overrides };
}
