// The human `status_bar` line and the integer `progress` of a task, from its numbers.
import type { Phase, ProgressSnapshot } from './types.js';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Downloading fills 0–95; the merge the rest, so 100 means a finished file. */
export function progressPercent(s: ProgressSnapshot): number {
  if (s.phase === 'done') return 100;
  if (s.phase === 'merging') return Math.min(99, 95 + Math.floor(5 * (s.merge_fraction ?? 0)));
  if (!s.segments_total) return 0;
  return Math.min(95, Math.floor((95 * (s.segments_done + s.segments_skipped)) / s.segments_total));
}

const PHASE_TEXT: Record<Phase, string> = {
  queued: 'queued',
  resolving: 'resolving playlist',
  downloading: 'downloading',
  merging: 'merging',
  done: 'done',
};

export function statusBar(s: ProgressSnapshot): string {
  const parts = [PHASE_TEXT[s.phase]];
  if (s.segments_total) {
    let seg = `${s.segments_done}/${s.segments_total} segments`;
    if (s.segments_skipped) seg += ` (${s.segments_skipped} skipped)`;
    parts.push(seg);
  }
  if (s.downloaded_bytes) parts.push(formatBytes(s.downloaded_bytes));
  if (s.phase === 'downloading') {
    if (s.speed_bps) parts.push(`${formatBytes(s.speed_bps)}/s`);
    if (s.eta_s !== null) parts.push(`ETA ${formatDuration(s.eta_s)}`);
  }
  if (s.phase === 'merging' && s.merge_fraction !== undefined) parts.push(`${Math.floor(s.merge_fraction * 100)}%`);
  if (s.notice) parts.push(s.notice);
  return parts.join(' · ');
}
