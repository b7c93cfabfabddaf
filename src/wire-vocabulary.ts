// The words both ends of the wire share: task statuses (the compat strings and the
// v1 names), phases, sources and the "HH:MM" start time. The service, the CLI and the
// browser page all import this one file, so it imports nothing: the page loads it as is.

/** Status strings of the Go original's `/api/tasks` contract, kept byte for byte. */
export const TaskStatus = {
  waiting: '等待中',
  downloading: '下载中',
  paused: '已暂停',
  completed: '已完成',
  failed: '失败',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];
export const TASK_STATUSES = Object.values(TaskStatus) as [TaskStatus, ...TaskStatus[]];

/** The v1 API's `status_text`, by its numeric `status`: index = code. */
export const STATUS_NAMES = ['pending', 'running', 'completed', 'failed', 'paused'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];
type CodeOf = { [I in keyof typeof STATUS_NAMES & `${number}` as (typeof STATUS_NAMES)[I]]: I extends `${infer N extends number}` ? N : never };
/** A v1 numeric status by its name: `Status.paused` is 4. */
export const Status = Object.fromEntries(STATUS_NAMES.map((name, code) => [name, code])) as CodeOf;
export type StatusCode = CodeOf[StatusName];
export const STATUS_CODES = STATUS_NAMES.map((_, code) => code) as StatusCode[];

/** Each compat status string's v1 name. */
export const STATUS_NAME_OF: Record<TaskStatus, StatusName> = {
  [TaskStatus.waiting]: 'pending',
  [TaskStatus.downloading]: 'running',
  [TaskStatus.completed]: 'completed',
  [TaskStatus.failed]: 'failed',
  [TaskStatus.paused]: 'paused',
};

export const PHASES = ['queued', 'resolving', 'downloading', 'recording', 'merging', 'done'] as const;
export type Phase = (typeof PHASES)[number];

export const TASK_SOURCES = ['api', 'ui', 'cli'] as const;
export type TaskSource = (typeof TASK_SOURCES)[number];

/** A local time of day, `start_time` of `POST /api/v1/tasks` and the CLI's `--start`. */
export const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
export const HH_MM_EXPECTED = 'must be "HH:MM" (00:00–23:59)';
