// Time as the task manager sees it, injectable so scheduled starts can be tested
// without waiting for the wall clock.

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // setTimeout overflows past ~24.8 days; re-arm in steps.
    const step = Math.min(ms, 2 ** 31 - 1);
    const t = setTimeout(fn, step);
    t.unref();
    return () => clearTimeout(t);
  },
};

/**
 * Next occurrence of a local "HH:MM" after `now` (today if still ahead, else tomorrow),
 * in the service's time zone (`TZ`).
 */
export function nextOccurrence(hhmm: string, now: number): Date {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`start_time must be "HH:MM" (00:00–23:59), got \`${hhmm}\``);
  const at = new Date(now);
  at.setHours(Number(m[1]), Number(m[2]), 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at;
}
