// The shapes the page reads from the service, mirroring src/api/present.ts and
// src/types.ts. Kept as a copy because the page is compiled for the browser on its
// own; the end-to-end tests catch any drift.

/** Numeric statuses of `/api/v1`: index = code. */
export const STATUS_NAMES = ['pending', 'running', 'completed', 'failed', 'paused'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];
export const Status = { pending: 0, running: 1, completed: 2, failed: 3, paused: 4 } as const;
export type StatusCode = (typeof Status)[StatusName];

export type Phase = 'queued' | 'resolving' | 'downloading' | 'merging' | 'done' | 'recording';

export interface V1Task {
  id: number;
  url: string;
  filename: string;
  size: number;
  progress: number;
  status: StatusCode;
  status_text: StatusName;
  status_bar: string;
  err_msg: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  header_map: Record<string, string[]>;
  phase: Phase;
  segments_total: number;
  segments_done: number;
  segments_skipped: number;
  downloaded_bytes: number;
  speed_bps: number;
  eta_s: number | null;
  output_path: string;
  source: 'api' | 'ui' | 'cli';
  start_time: string | null;
  started_at: string | null;
  /** A live stream, recorded until it ends, a limit, or Stop. */
  live: boolean;
  /** Seconds of media recorded so far. */
  recorded_s: number;
  has_poster: boolean;
}

export interface TaskPage {
  tasks: V1Task[];
  total: number;
  page: number;
  page_size: number;
}

export interface TaskStats {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  paused: number;
  speed_bps: number;
  /** The service-wide limit; 0 = unlimited. */
  speed_limit_bps: number;
}

/** `/api/settings`: the Go original's settings object. */
export interface DownloadSettings {
  save_location: string;
  temp_directory: string;
  download_threads: number;
  skip_ts_info: string;
  proxy_type: 'none' | 'http' | 'https' | 'socks5' | 'socks4';
  proxy_host: string;
  proxy_port: number;
  proxy_username: string;
  /** Write-only: always blank when read; blank when written keeps the saved one. */
  proxy_password: string;
  allow_insecure_https: boolean;
  keep_ts_files: boolean;
  use_server_file_time: boolean;
  no_merge_ts: boolean;
  debug_log: boolean;
  log_skipped_ts: boolean;
  /** Bytes per second shared by every download; 0 = unlimited. Written as a number or "500K", "5M"… */
  max_download_speed: number | string;
  /** Requests in flight to one host, all downloads together; 0 = no cap. */
  max_connections_per_host: number;
}

/** Per-task options of `POST /api/v1/tasks`: the settings plus the v1 extras. */
export interface TaskOptions extends DownloadSettings {
  variant: 'best' | 'worst' | number;
  format: 'mp4' | 'mkv' | 'ts';
  /** This download's own speed limit; 0 = none. Written as a number or "500K", "5M"… */
  max_speed: number | string;
}

export type TaskEventType = 'task.created' | 'task.updated' | 'task.deleted';
export interface TaskEvent {
  type: TaskEventType;
  task: V1Task;
}
