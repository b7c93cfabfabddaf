// Politeness toward each host, across every download of the service: at most
// `max_connections_per_host` requests in flight to it; no request at all while a
// Retry-After it sent runs; and when it keeps answering 429/503, fewer requests at
// once: the allowance halves, then grows back by one every few seconds of good
// answers (additive increase, multiplicative decrease, as TCP does).
import { AbortError } from './errors.js';

/** Longest Retry-After honoured; a server asking for more is waited on this long, then tried again. */
export const RETRY_AFTER_CAP_MS = 120_000;
/** Parallel requests usually fail together: one halving per this span, however many answers. */
const CUT_SPACING_MS = 1_000;
/** A 429/503 counts as repeated when another came within this span. */
const REPEAT_SPAN_MS = 30_000;
/** Good answers for this long give one more connection back. */
const GROW_EVERY_MS = 2_000;
/** Once the allowance grows past this, the host is no longer held back. */
const GROW_CEILING = 64;

/** What a 429/503 changed, for the debug log and the task's status line. */
export interface BackoffNotice {
  host: string;
  status: number;
  /** How long no request goes to the host (Retry-After, capped); 0 when it sent none. */
  pauseMs: number;
  /** Requests allowed in flight to the host from now on; undefined when only the cap (if any) applies. */
  allowance: number | undefined;
  /** True when this answer halved the allowance. */
  lowered: boolean;
}

interface Queued {
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

class HostState {
  active = 0;
  readonly queue: Queued[] = [];
  /** The AIMD allowance; undefined when the host has not asked us to slow down. */
  allowance: number | undefined;
  /** No request starts before this time (Date.now() ms), from Retry-After. */
  notBefore = 0;
  strikes: number[] = [];
  lastCut = 0;
  lastChange = 0;
  timer: NodeJS.Timeout | undefined;
}

export class HostLimits {
  #cap = 0;
  readonly #hosts = new Map<string, HostState>();

  /** `max_connections_per_host`; 0 = no cap beyond each task's threads. Applies to waiting requests at once. */
  setCap(connections: number): void {
    this.#cap = Number.isInteger(connections) && connections > 0 ? connections : 0;
    for (const [host, state] of this.#hosts) this.#pump(host, state);
  }

  get cap(): number {
    return this.#cap;
  }

  /** Requests in flight to the URL's host right now (all tasks). */
  active(url: string): number {
    return this.#hosts.get(hostOf(url))?.active ?? 0;
  }

  /** The AIMD allowance of the URL's host, when it has been lowered. */
  allowance(url: string): number | undefined {
    return this.#hosts.get(hostOf(url))?.allowance;
  }

  /**
   * Waits for a turn to send a request to the URL's host and resolves with the function
   * that gives it back (call it once the body is read or the try failed). Rejects with an
   * AbortError when `signal` aborts first.
   */
  acquire(url: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AbortError());
    const host = hostOf(url);
    const state = this.#state(host);
    if (state.queue.length === 0 && this.#admits(state)) return Promise.resolve(this.#enter(host, state));
    return new Promise((resolve, reject) => {
      const queued: Queued = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = state.queue.indexOf(queued);
          if (at >= 0) state.queue.splice(at, 1);
          // Nobody left to wake: the Retry-After timer must not keep a stopping process alive.
          if (state.queue.length === 0 && state.timer) {
            clearTimeout(state.timer);
            state.timer = undefined;
          }
          reject(new AbortError());
          this.#forget(host, state);
        },
      };
      signal?.addEventListener('abort', queued.onAbort, { once: true });
      state.queue.push(queued);
      this.#pump(host, state);
    });
  }

  /**
   * Tells the limits how the host answered. A 429 or 503 pauses the host for its Retry-After
   * (capped) and, when repeated, halves the requests it gets at once; a good answer lets the
   * allowance grow back. Returns what a 429/503 changed.
   */
  answered(url: string, status: number, retryAfterMs?: number): BackoffNotice | undefined {
    const host = hostOf(url);
    const state = this.#hosts.get(host);
    if (!state) return undefined;
    const now = Date.now();
    if (status !== 429 && status !== 503) {
      if (status < 400 && state.allowance !== undefined && now - state.lastChange >= GROW_EVERY_MS) {
        state.allowance++;
        state.lastChange = now;
        if (state.allowance > GROW_CEILING) state.allowance = undefined;
        this.#pump(host, state);
      }
      return undefined;
    }
    const pauseMs = retryAfterMs === undefined ? 0 : Math.min(Math.max(0, retryAfterMs), RETRY_AFTER_CAP_MS);
    if (pauseMs > 0) state.notBefore = Math.max(state.notBefore, now + pauseMs);
    state.strikes = state.strikes.filter((at) => now - at < REPEAT_SPAN_MS);
    state.strikes.push(now);
    let lowered = false;
    if (state.strikes.length >= 2 && now - state.lastCut >= CUT_SPACING_MS) {
      // Halve what was really in flight, not a ceiling the host never saw.
      const current = Math.min(state.allowance ?? Infinity, this.#cap || Infinity, Math.max(1, state.active));
      state.allowance = Math.max(1, Math.floor(current / 2));
      state.lastCut = now;
      state.lastChange = now;
      lowered = true;
    }
    return { host, status, pauseMs, allowance: state.allowance, lowered };
  }

  #state(host: string): HostState {
    let state = this.#hosts.get(host);
    if (!state) {
      state = new HostState();
      this.#hosts.set(host, state);
    }
    return state;
  }

  #limit(state: HostState): number {
    return Math.min(this.#cap || Infinity, state.allowance ?? Infinity);
  }

  #admits(state: HostState): boolean {
    return state.active < this.#limit(state) && Date.now() >= state.notBefore;
  }

  #enter(host: string, state: HostState): () => void {
    state.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.active--;
      this.#pump(host, state);
      this.#forget(host, state);
    };
  }

  #pump(host: string, state: HostState): void {
    const wait = state.notBefore - Date.now();
    if (wait > 0) {
      if (state.queue.length > 0 && !state.timer) {
        state.timer = setTimeout(() => {
          state.timer = undefined;
          this.#pump(host, state);
        }, wait);
      }
      return;
    }
    while (state.queue.length > 0 && state.active < this.#limit(state)) {
      const next = state.queue.shift()!;
      next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve(this.#enter(host, state));
    }
  }

  /** Drops a host nobody uses and that holds nothing back, so the map does not grow with every host seen. */
  #forget(host: string, state: HostState): void {
    if (state.active > 0 || state.queue.length > 0 || state.allowance !== undefined || state.timer) return;
    if (state.notBefore > Date.now() || (state.strikes.length > 0 && Date.now() - state.strikes.at(-1)! < REPEAT_SPAN_MS)) return;
    this.#hosts.delete(host);
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}
