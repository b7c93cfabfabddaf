// The Go engine's `skip_ts_info` expression: which segments to leave out.
// Parsing is pure so the API layer can validate input with the same code.
import { SkipExpressionError } from './errors.js';

/** Segment numbers `from`–`to`, 1-based and inclusive, as the user wrote them. */
export interface SkipRange {
  from: number;
  to: number;
  /** `rule 7` or `rule 3-5`, for the skipped list. */
  label: string;
}

/** A time window in seconds from the start of the stream. */
export interface TimeWindow {
  start: number;
  end: number;
  /** `time:00:00:10-00:00:20` or `!time:…` exactly as normalised. */
  label: string;
}

export interface SkipRules {
  ranges: SkipRange[];
  /** Segments answering one of these HTTP statuses are skipped instead of failing the task. */
  httpCodes: number[];
  /** `time:` windows: a segment lying fully inside one is skipped. */
  skipTimes: TimeWindow[];
  /** `!time:` windows: when any are given, only segments overlapping one of them are kept. */
  keepTimes: TimeWindow[];
}

/** Where a segment sits, which is all the rules look at. */
export interface SegmentPlace {
  /** 0-based position in the media playlist. */
  index: number;
  /** Seconds from the start of the playlist. */
  start: number;
  duration: number;
}

const EXPECTED = 'expected N, A-B, http.code=N, time:HH:MM:SS-HH:MM:SS or !time:HH:MM:SS-HH:MM:SS';
// Segment boundaries come from summed EXTINF floats; a millisecond of slack keeps `time:` exact in practice.
const EPSILON = 1e-3;

/** No rule: every segment is kept (the audio track of a task, which skip rules never apply to). */
export const NO_SKIP_RULES: SkipRules = Object.freeze({ ranges: [], httpCodes: [], skipTimes: [], keepTimes: [] });

/**
 * Parses `1,92-100,http.code=403,time:00:00:10-00:00:20,!time:00:01:00-00:02:00`.
 * Empty parts (a trailing comma) are ignored; anything else that does not match throws
 * a SkipExpressionError naming the part.
 */
export function parseSkipExpression(expr: string): SkipRules {
  const rules: SkipRules = { ranges: [], httpCodes: [], skipTimes: [], keepTimes: [] };
  for (const raw of expr.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const bad = (why = EXPECTED) => new SkipExpressionError(`invalid skip_ts_info part "${part}": ${why}`, part);

    let match: RegExpExecArray | null;
    if ((match = /^(\d+)$/.exec(part))) {
      const n = Number(match[1]);
      if (n < 1) throw bad('segment numbers start at 1');
      rules.ranges.push({ from: n, to: n, label: `rule ${n}` });
    } else if ((match = /^(\d+)\s*-\s*(\d+)$/.exec(part))) {
      const from = Number(match[1]);
      const to = Number(match[2]);
      if (from < 1) throw bad('segment numbers start at 1');
      if (from > to) throw bad(`range start ${from} is after its end ${to}`);
      rules.ranges.push({ from, to, label: `rule ${from}-${to}` });
    } else if ((match = /^http\.code\s*=\s*(\d+)$/i.exec(part))) {
      const code = Number(match[1]);
      if (code < 100 || code > 599) throw bad(`HTTP status must be 100–599, got ${code}`);
      if (!rules.httpCodes.includes(code)) rules.httpCodes.push(code);
    } else if ((match = /^(!?)time:(.+)$/i.exec(part))) {
      const keep = match[1] === '!';
      const window = parseWindow(match[2] ?? '', bad);
      const label = `${keep ? '!' : ''}time:${formatClock(window.start)}-${formatClock(window.end)}`;
      (keep ? rules.keepTimes : rules.skipTimes).push({ ...window, label });
    } else {
      throw bad();
    }
  }
  return rules;
}

function parseWindow(text: string, bad: (why?: string) => SkipExpressionError): { start: number; end: number } {
  const match = /^\s*([\d:.]+)\s*-\s*([\d:.]+)\s*$/.exec(text);
  if (!match) throw bad();
  const start = parseClock(match[1] ?? '');
  const end = parseClock(match[2] ?? '');
  if (start === undefined || end === undefined) throw bad();
  if (start >= end) throw bad('the time window must end after it starts');
  return { start, end };
}

/** `HH:MM:SS` (fractional seconds allowed) to seconds, or undefined when malformed. */
function parseClock(text: string): number | undefined {
  const match = /^(\d{1,3}):([0-5]\d):([0-5]\d(?:\.\d+)?)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

function formatClock(seconds: number): string {
  const whole = Math.floor(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  const fraction = seconds - whole > 0 ? String(Number((seconds - whole).toFixed(3))).slice(1) : '';
  return `${pad(Math.floor(whole / 3600))}:${pad(Math.floor((whole % 3600) / 60))}:${pad(whole % 60)}${fraction}`;
}

/** Why the rules leave this segment out before any request, or undefined to download it. */
export function skipReason(rules: SkipRules, place: SegmentPlace): string | undefined {
  const number = place.index + 1;
  for (const range of rules.ranges) if (number >= range.from && number <= range.to) return range.label;

  const end = place.start + place.duration;
  for (const window of rules.skipTimes) {
    if (place.start >= window.start - EPSILON && end <= window.end + EPSILON) return window.label;
  }
  if (rules.keepTimes.length > 0) {
    const overlaps = rules.keepTimes.some((w) => place.start < w.end - EPSILON && end > w.start + EPSILON);
    if (!overlaps) return `outside ${rules.keepTimes.map((w) => w.label).join(', ')}`;
  }
  return undefined;
}

/** The `http.code=N` label when a status is covered by the rules. */
export function httpSkipReason(rules: SkipRules, status: number): string | undefined {
  return rules.httpCodes.includes(status) ? `http.code=${status}` : undefined;
}
