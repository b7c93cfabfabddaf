// The human `status_bar` line and the integer `progress` of a task, from its numbers.
import type { LiveEnd, Phase, ProgressSnapshot } from './types.js';

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

/** `01:02:03`: a recording's length, always with hours (streams run long). */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/**
 * Downloading fills 0–95; the merge the rest, so 100 means a finished file. A recording with
 * `live_max_duration` fills 0–95 as recorded/limit; one without a limit has no end to measure
 * against and stays at 0 until its merge.
 */
export function progressPercent(s: ProgressSnapshot): number {
  if (s.phase === 'done') return 100;
  if (s.phase === 'recording') {
    const limit = s.live?.limit_s;
    return limit ? Math.min(95, Math.floor((95 * (s.live?.recorded_s ?? 0)) / limit)) : 0;
  }
  if (s.phase === 'merging') return Math.min(99, 95 + Math.floor(5 * (s.merge_fraction ?? 0)));
  if (!s.segments_total) return 0;
  return Math.min(95, Math.floor((95 * (s.segments_done + s.segments_skipped)) / s.segments_total));
}

const PHASE_TEXT: Record<Phase, string> = {
  queued: 'queued',
  resolving: 'resolving playlist',
  downloading: 'downloading',
  recording: 'recording',
  merging: 'merging',
  done: 'done',
};

/** `recording · 00:12:31 · 182.4 MB · 1.2 MB/s`, with ` / 01:00:00` when there is a limit. */
function recordingBar(s: ProgressSnapshot): string {
  const recorded = formatClock(s.live?.recorded_s ?? 0);
  const parts = [PHASE_TEXT.recording, s.live?.limit_s ? `${recorded} / ${formatClock(s.live.limit_s)}` : recorded, formatBytes(s.downloaded_bytes)];
  if (s.speed_bps) parts.push(`${formatBytes(s.speed_bps)}/s`);
  return parts.join(' · ');
}

export function statusBar(s: ProgressSnapshot): string {
  if (s.phase === 'recording') return recordingBar(s);
  if (s.waiting_until) return `waiting for the stream to start (live_wait, until ${s.waiting_until})`;
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
  return parts.join(' · ');
}

/** Why a recording ended, for status_bar and logs. */
export function describeLiveEnd(ended: LiveEnd): string {
  switch (ended) {
    case 'endlist':
      return 'the stream ended';
    case 'limit':
      return 'live_max_duration reached';
    case 'stopped':
      return 'stopped by the user';
    case 'idle':
      return 'no new segment within live_idle_timeout';
  }
}
