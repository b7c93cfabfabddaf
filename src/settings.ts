// System settings (`/api/settings`): defaults, and how a task's effective options
// come from them.
import type { DownloadSettings, TaskOptions } from './types.js';

export const DEFAULT_SETTINGS: DownloadSettings = {
  save_location: '',
  temp_directory: '',
  download_threads: 8,
  skip_ts_info: '',
  proxy_type: 'none',
  proxy_host: '',
  proxy_port: 0,
  proxy_username: '',
  proxy_password: '',
  allow_insecure_https: false,
  keep_ts_files: false,
  use_server_file_time: false,
  no_merge_ts: false,
  debug_log: false,
  log_skipped_ts: false,
};

export const DEFAULT_TASK_EXTRAS: Pick<TaskOptions, 'variant' | 'format' | 'retries'> = {
  variant: 'best',
  format: 'mp4',
  retries: 5,
};

/** What any API returns for settings: the password is write-only. */
export function maskSettings<T extends DownloadSettings>(settings: T): T {
  return { ...settings, proxy_password: '' };
}

/**
 * Applies a settings update. A blank `proxy_password` keeps the saved one, because
 * readers only ever see it blank and send it back that way.
 */
export function mergeSettings(saved: DownloadSettings, update: Partial<DownloadSettings>): DownloadSettings {
  const next = { ...saved, ...update };
  if (!update.proxy_password) next.proxy_password = saved.proxy_password;
  return next;
}
