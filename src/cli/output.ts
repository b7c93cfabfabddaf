// How client commands print: aligned tables and key/value blocks for people,
// JSON for scripts (`--json`), and one-line task summaries for plain logs.
import { formatBytes, formatDuration } from '../manager/progress-text.js';
import type { TaskStats, V1Task } from './client.js';
import { STATUS_NAMES } from '../wire-vocabulary.js';

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Cuts to `width` characters, marking the cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * Columns padded to their widest cell; `rightAligned` holds column numbers to pad
 * on the left. The last column is cut to fit `maxWidth` when one is given (a terminal).
 */
export function formatTable(rows: string[][], options: { rightAligned?: number[]; maxWidth?: number } = {}): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, Array.from(cell).length); });
  return rows.map((row) => {
    const cells = row.map((cell, i) => {
      if (i === row.length - 1) return cell;
      const pad = ' '.repeat((widths[i] ?? 0) - Array.from(cell).length);
      return options.rightAligned?.includes(i) ? pad + cell : cell + pad;
    });
    let line = cells.join('  ').trimEnd();
    if (options.maxWidth) line = truncate(line, options.maxWidth);
    return `${line}\n`;
  }).join('');
}

/** The width to fit lines to: the terminal's when stdout is one, else none. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  return stream.isTTY ? stream.columns || 80 : undefined;
}

/** What matters most about a task right now, in a few words. */
export function taskDetail(task: V1Task): string {
  switch (task.status_text) {
    case 'failed':
      return task.err_msg || task.status_bar;
    case 'completed':
      return task.output_path || task.status_bar;
    case 'pending':
      return task.start_time ? `starts ${formatLocalTime(task.start_time)}` : task.status_bar;
    default:
      return task.status_bar;
  }
}

export const TASK_TABLE_HEADER = ['ID', 'STATUS', 'DONE', 'SIZE', 'NAME', 'DETAIL'];

export function taskRow(task: V1Task): string[] {
  return [String(task.id), task.status_text, `${task.progress}%`, formatBytes(task.size), task.filename, taskDetail(task)];
}

export function formatTaskTable(tasks: V1Task[], maxWidth?: number): string {
  return formatTable([TASK_TABLE_HEADER, ...tasks.map(taskRow)], { rightAligned: [0, 2, 3], maxWidth });
}

/** `#12 running 42% clip.mp4 — downloading · 5/12 segments · …`, for logs and pipes. */
export function taskLine(task: V1Task): string {
  return `#${task.id} ${task.status_text} ${task.progress}% ${task.filename} — ${taskDetail(task)}`;
}

function formatLocalTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const when = (iso: string | null) => (iso ? formatLocalTime(iso) : '—');

/** `show ID`: every field a person asks about, one per line. */
export function formatTaskDetails(task: V1Task): string {
  const segments = task.segments_total
    ? `${task.segments_done}/${task.segments_total}${task.segments_skipped ? ` (${task.segments_skipped} skipped)` : ''}`
    : '—';
  const options = task.advanced_settings;
  const proxy = options.proxy_type === 'none' ? 'none' : `${options.proxy_type}://${options.proxy_host}:${options.proxy_port}`;
  const headers = Object.entries(task.header_map).flatMap(([name, values]) => values.map((v) => `${name}: ${v}`));
  const rows: [string, string][] = [
    ['id', String(task.id)],
    ['url', task.url],
    ['file', task.filename],
    ['status', `${task.status_text} (${task.phase})`],
    ['progress', `${task.progress}% · ${task.status_bar}`],
    ['segments', segments],
    ['size', formatBytes(task.size)],
  ];
  if (task.status_text === 'running') {
    rows.push(['speed', `${formatBytes(task.speed_bps)}/s`], ['eta', task.eta_s === null ? '—' : formatDuration(task.eta_s)]);
  }
  if (task.output_path) rows.push(['output', task.output_path]);
  if (task.err_msg) rows.push(['error', task.err_msg]);
  rows.push(
    ['created', when(task.created_at)],
    ['starts', when(task.start_time)],
    ['started', when(task.started_at)],
    ['completed', when(task.completed_at)],
    ['source', task.source],
    ['options', `threads ${options.download_threads} · variant ${options.variant} · format ${options.format} · proxy ${proxy}${options.skip_ts_info ? ` · skip ${options.skip_ts_info}` : ''}`],
  );
  headers.forEach((h, i) => rows.push([i === 0 ? 'headers' : '', h]));
  return formatTable(rows);
}

export function formatStats(stats: TaskStats): string {
  return formatTable([
    ['total', String(stats.total)],
    ...STATUS_NAMES.map((name) => [name, String(stats[name])]),
    ['speed', `${formatBytes(stats.speed_bps)}/s`],
  ]);
}
