// System settings (`/api/settings`): defaults, and how a task's effective options
// come from them.
import type { DownloadSettings, SystemSettings, TaskOptions, TransferSettings } from '../types.js';
import { SettingsError } from './errors.js';

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

export const DEFAULT_TASK_EXTRAS: Pick<TaskOptions, 'variant' | 'format' | 'retries' | 'max_speed' | 'max_segment_mb'> = {
  variant: 'best',
  format: 'mp4',
  retries: 5,
  max_speed: 0,
  max_segment_mb: 2048,
};

export const DEFAULT_TRANSFER_SETTINGS: TransferSettings = {
  max_download_speed: 0,
  max_connections_per_host: 0,
};

/** Keys of the service-wide limits, which a task's options never carry. */
export const TRANSFER_KEYS = Object.keys(DEFAULT_TRANSFER_SETTINGS) as (keyof TransferSettings)[];

export const DEFAULT_SYSTEM_SETTINGS: SystemSettings = { ...DEFAULT_SETTINGS, ...DEFAULT_TRANSFER_SETTINGS };

/** What any API returns for settings: the password is write-only. */
export function maskSettings<T extends DownloadSettings>(settings: T): T {
  return { ...settings, proxy_password: '' };
}

/**
 * Applies a settings update. A blank `proxy_password` keeps the saved one, because
 * readers only ever see it blank and send it back that way.
 */
export function mergeSettings<T extends DownloadSettings>(saved: T, update: Partial<T>): T {
  const next = { ...saved, ...update };
  if (!update.proxy_password) next.proxy_password = saved.proxy_password;
  return next;
}

/**
 * `POST /api/settings` as the Go original does it: the posted object replaces the saved
 * one whole, every absent field taking its default. The original's settings page sends
 * the proxy username and password only while "代理需要身份验证" is ticked, so leaving
 * them out removes them. The password is write-only (readers see it blank), hence the one
 * exception: a blank or absent password next to an unchanged username keeps the saved
 * password, so sending back what GET showed changes nothing.
 */
export function replaceSettings(saved: SystemSettings, posted: Partial<SystemSettings>): SystemSettings {
  const next: SystemSettings = { ...DEFAULT_SYSTEM_SETTINGS, ...posted };
  if (!posted.proxy_password && posted.proxy_username !== undefined && posted.proxy_username === saved.proxy_username) {
    next.proxy_password = saved.proxy_password;
  }
  return next;
}

/**
 * A proxy needs a host and a port; checked on the effective settings, not per field. The one
 * proxy rule: the API (task create, settings save) and the CLI's --proxy both apply it, and the
 * downloader trusts what passed it.
 */
export function checkProxySettings(settings: Pick<DownloadSettings, 'proxy_type' | 'proxy_host' | 'proxy_port'>): void {
  if (settings.proxy_type === 'none') return;
  if (!settings.proxy_host.trim()) {
    throw new SettingsError(`proxy_host is required when proxy_type is ${settings.proxy_type}`, 'proxy_host');
  }
  if (settings.proxy_port < 1) {
    throw new SettingsError(`proxy_port must be an integer from 1 to 65535 when proxy_type is ${settings.proxy_type}, got \`${settings.proxy_port}\``, 'proxy_port');
  }
}
