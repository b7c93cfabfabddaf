// The live-recording options of a task (`live_start`, `live_max_duration`,
// `live_idle_timeout`, `live_wait`): how they are written by users and their
// defaults. Shared by the API schemas, the CLI, the manager's option mapping
// (src/manager/download-options.ts) and the recorder.

/** The longest recording a limit may ask for: 7 days. */
export const LIVE_MAX_SECONDS = 7 * 24 * 3600;
export const DEFAULT_IDLE_TIMEOUT_S = 60;
/** streamlink's `--hls-live-edge` default: start this many segments before the end of the window. */
export const EDGE_SEGMENTS = 3;

export const LIVE_DURATION_EXPECTED = `must be seconds of media (more than 0, at most ${LIVE_MAX_SECONDS} = 7 days) or "HH:MM:SS"`;

/** Seconds from `3600`, `"3600"`, `"1:00:00"` or `"01:00:00"`; undefined when it is none of those or out of range. */
export function parseLiveDuration(value: unknown): number | undefined {
  let seconds: number | undefined;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string') {
    const text = value.trim();
    const clock = /^(\d{1,3}):([0-5]\d):([0-5]\d(?:\.\d+)?)$/.exec(text);
    if (clock) seconds = Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
    else if (/^\d+(?:\.\d+)?$/.test(text)) seconds = Number(text);
  }
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0 || seconds > LIVE_MAX_SECONDS) return undefined;
  return seconds;
}
