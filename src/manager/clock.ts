// Time as the task manager sees it, injectable so scheduled starts can be tested
// without waiting for the wall clock.
import { HH_MM, HH_MM_EXPECTED } from '../wire-vocabulary.js';

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`, never earlier; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The longest delay one `setTimeout` takes (a longer one overflows and fires at once). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // setTimeout overflows past ~24.8 days: re-arm in steps until the deadline is reached,
    // so a start_time weeks ahead fires then, not after the first step.
    const deadline = Date.now() + Math.max(0, ms);
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const left = deadline - Date.now();
      if (left <= 0) {
        fn();
        return;
      }
      timer = setTimeout(arm, Math.min(left, MAX_TIMEOUT_MS));
      timer.unref();
    };
    timer = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMEOUT_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * Next occurrence of a local "HH:MM" after `now` (today if still ahead, else tomorrow),
 * in the service's time zone (`TZ`).
 */
export function nextOccurrence(hhmm: string, now: number): Date {
  const m = HH_MM.exec(hhmm);
  if (!m) throw new RangeError(`start_time ${HH_MM_EXPECTED}, got \`${hhmm}\``);
  const at = new Date(now);
  at.setHours(Number(m[1]), Number(m[2]), 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at;
}
