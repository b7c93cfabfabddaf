// The system clock's timers keep their contract past setTimeout's ~24.8-day limit:
// a long timer re-arms in steps and fires at its deadline, never at the first step.
// Fake timers stand in for weeks of wall-clock time that a test cannot wait for.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, systemClock } from '../src/manager/clock.js';

afterEach(() => { vi.useRealTimers(); });

describe('systemClock.setTimer', () => {
  it('fires a timer longer than one setTimeout step at its deadline, not earlier', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    const start = Date.now();
    const ms = MAX_TIMEOUT_MS * 2 + 5_000;
    systemClock.setTimer(() => fired.push(Date.now() - start), ms);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(5_000);
    expect(fired).toEqual([ms]);
  });

  it('cancels a long timer between steps', () => {
    vi.useFakeTimers();
    let fired = 0;
    const cancel = systemClock.setTimer(() => fired++, MAX_TIMEOUT_MS + 1_000);
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);
    cancel();
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(0);
  });

  it('fires a short timer once, on time', () => {
    vi.useFakeTimers();
    let fired = 0;
    systemClock.setTimer(() => fired++, 100);
    vi.advanceTimersByTime(99);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(1);
  });
});
