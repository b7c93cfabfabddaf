// Live task changes from `/api/v1/events` (Server-Sent Events). While the stream is
// down the page polls every few seconds instead, and catches up when it is back.
import { eventsUrl } from './api.js';
import type { TaskEvent } from './types.js';

export type LiveMode = 'connecting' | 'live' | 'polling';

export interface LiveHandlers {
  onEvent(event: TaskEvent): void;
  /** Fetch the current state again (after a gap, and on every poll). */
  onResync(): void;
  onMode(mode: LiveMode): void;
}

const EVENT_TYPES = ['task.created', 'task.updated', 'task.deleted'] as const;

export class LiveUpdates {
  readonly #handlers: LiveHandlers;
  readonly #pollMs: number;
  #source: EventSource | null = null;
  #poll: number | undefined;
  #reopen: number | undefined;

  constructor(handlers: LiveHandlers, pollMs = 3000) {
    this.#handlers = handlers;
    this.#pollMs = pollMs;
  }

  start(): void {
    this.#handlers.onMode('connecting');
    this.#open();
  }

  /** A new token: the stream's URL carries it, so open a new one. */
  reconnect(): void {
    this.#open();
  }

  #open(): void {
    this.#source?.close();
    window.clearTimeout(this.#reopen);
    const source = new EventSource(eventsUrl());
    this.#source = source;
    source.addEventListener('open', () => {
      if (this.#source !== source) return;
      this.#stopPolling();
      this.#handlers.onMode('live');
      // Whatever changed before the stream (re)opened was not sent on it.
      this.#handlers.onResync();
    });
    source.addEventListener('error', () => {
      if (this.#source !== source) return;
      this.#startPolling();
      // The browser retries a dropped stream by itself, but not one answered with an
      // error (a 401, a proxy's error page): retry that one here, at the polling pace.
      if (source.readyState === EventSource.CLOSED) this.#reopen = window.setTimeout(() => this.#open(), this.#pollMs);
    });
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (e) => {
        try {
          this.#handlers.onEvent(JSON.parse((e as MessageEvent<string>).data) as TaskEvent);
        } catch {
          // A malformed event is skipped; the next poll or event brings the state.
        }
      });
    }
  }

  #startPolling(): void {
    if (this.#poll !== undefined) return;
    this.#handlers.onMode('polling');
    this.#handlers.onResync();
    this.#poll = window.setInterval(() => this.#handlers.onResync(), this.#pollMs);
  }

  #stopPolling(): void {
    window.clearInterval(this.#poll);
    this.#poll = undefined;
  }
}
