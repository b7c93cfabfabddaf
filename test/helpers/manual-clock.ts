// A clock the test moves by hand, for the task manager's scheduled starts and timers.

export class ManualClock {
  #now: number;
  #timers: { at: number; fn: () => void }[] = [];
  constructor(start = Date.parse('2026-11-20T10:00:00Z')) {
    this.#now = start;
  }
  now = (): number => this.#now;
  setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return () => { this.#timers = this.#timers.filter((t) => t !== timer); };
  };
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const t of due) t.fn();
  }
}
