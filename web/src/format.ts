// How numbers and URLs read in the list: sizes, speeds, times left, long URLs.
import { T } from './i18n.js';

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

export function formatSpeed(bps: number): string {
  return bps > 0 ? `${formatBytes(bps)}/s` : '—';
}

/** `0:42`, `12:05`, `1:02:03`; a dash when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** `00:12:31`: a recording's length, hours always shown. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** `11:55 PM` today, `tomorrow 11:55 PM`, else `Nov 21, 11:55 PM` (local time, in the page's language). */
export function formatWhen(iso: string): string {
  const at = new Date(iso);
  const locale = T.htmlLang;
  const time = at.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
  const day = (offset: number) => {
    const d = new Date();
    d.setDate(d.getDate() + offset);
    return d.toDateString();
  };
  if (at.toDateString() === day(0)) return time;
  if (at.toDateString() === day(1)) return T.tomorrow(time);
  return `${at.toLocaleDateString(locale, { month: 'short', day: 'numeric' })} ${time}`;
}

/**
 * `host/…/last-part.m3u8?…`: what tells two playlists apart (the host and the file),
 * short enough for a row. The full URL stays in the title.
 */
export function shortenUrl(raw: string, max = 56): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.length > max ? `${raw.slice(0, max - 1)}…` : raw;
  }
  const parts = url.pathname.split('/').filter(Boolean);
  const tail = `${parts.at(-1) ?? ''}${url.search ? '?…' : ''}`;
  const text = parts.length > 1 ? `${url.host}/…/${tail}` : `${url.host}/${tail}`;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
