// Segmented WebVTT (HLS subtitle renditions): reads each segment's cues and
// its X-TIMESTAMP-MAP (RFC 8216 §3.5), and stitches the segments of one
// rendition into one cue list. Packagers repeat a cue in every segment it
// overlaps; the repeats become one cue again.

/** One cue. Times in seconds: on the MPEG-TS clock when `clock` is `mpegts`, else in playlist time. */
export interface SubtitleCue {
  start: number;
  end: number;
  text: string;
}

export interface ParsedVtt {
  /** X-TIMESTAMP-MAP: `mpegts` (90 kHz ticks) is the moment of local time `local` (seconds). */
  map?: { mpegts: number; local: number };
  cues: SubtitleCue[];
}

const TIMING = /^((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})/;

/** `01:02:03.450` or `02:03.450` → seconds; undefined when malformed. */
export function vttSeconds(text: string): number | undefined {
  const match = /^(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})$/.exec(text.trim());
  if (!match) return undefined;
  const [, h, m, s, ms] = match;
  return Number(h ?? 0) * 3600 + Number(m) * 60 + Number(s) + Number((ms ?? '0').padEnd(3, '0')) / 1000;
}

/** The cues and timestamp map of one WebVTT segment; tolerant of CRLF, BOMs, NOTE/STYLE blocks and cue ids. */
export function parseVtt(text: string): ParsedVtt {
  const lines = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  const parsed: ParsedVtt = { cues: [] };
  for (const line of lines.slice(0, 8)) {
    const map = /^X-TIMESTAMP-MAP=(.*)$/.exec(line.trim());
    if (!map) continue;
    const mpegts = /MPEGTS:(\d+)/.exec(map[1] ?? '');
    const local = /LOCAL:([\d:.,]+)/.exec(map[1] ?? '');
    const localSeconds = local ? vttSeconds(local[1] ?? '') : 0;
    if (mpegts && localSeconds !== undefined) parsed.map = { mpegts: Number(mpegts[1]), local: localSeconds };
  }
  for (let i = 0; i < lines.length; i++) {
    const timing = TIMING.exec((lines[i] ?? '').trim());
    if (!timing) continue;
    const start = vttSeconds(timing[1] ?? '');
    const end = vttSeconds(timing[2] ?? '');
    const body: string[] = [];
    for (i++; i < lines.length && (lines[i] ?? '').trim() !== ''; i++) body.push(lines[i] ?? '');
    if (start === undefined || end === undefined || end <= start || body.length === 0) continue;
    parsed.cues.push({ start, end, text: body.join('\n') });
  }
  return parsed;
}

/**
 * A segment's cues on one clock: with a timestamp map, MPEG-TS seconds (as the video's timestamps);
 * without one, as written (packagers then write playlist time).
 */
export function cuesOnClock(parsed: ParsedVtt): SubtitleCue[] {
  if (!parsed.map) return parsed.cues;
  const shift = parsed.map.mpegts / 90_000 - parsed.map.local;
  return parsed.cues.map((cue) => ({ ...cue, start: cue.start + shift, end: cue.end + shift }));
}

/** One cue list in time order, a cue repeated across segments (same text, touching or overlapping) kept once. */
export function stitchCues(cues: readonly SubtitleCue[]): SubtitleCue[] {
  const sorted = [...cues].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: SubtitleCue[] = [];
  for (const cue of sorted) {
    const twin = out.findLast((o) => o.text === cue.text && cue.start <= o.end + 0.002);
    if (twin) twin.end = Math.max(twin.end, cue.end);
    else out.push({ ...cue });
  }
  return out;
}

function clock(seconds: number, separator: '.' | ','): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

export function formatVtt(cues: readonly SubtitleCue[]): string {
  return `WEBVTT\n\n${cues.map((c) => `${clock(c.start, '.')} --> ${clock(c.end, '.')}\n${c.text}\n`).join('\n')}`;
}

export function formatSrt(cues: readonly SubtitleCue[]): string {
  return cues.map((c, i) => `${i + 1}\n${clock(c.start, ',')} --> ${clock(c.end, ',')}\n${c.text.replace(/<[^>]+>/g, '')}\n`).join('\n');
}
