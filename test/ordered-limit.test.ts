// The request slots the tracks of one download share: at most `size` at once,
// the waiting one of the lowest media time next, failures passed on.
import { describe, expect, it } from 'vitest';

import { orderedLimit } from '../src/downloader/ordered-limit.js';

/** A task that stays in flight until `release` is called. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { done, release };
}

describe('orderedLimit', () => {
  it('runs at most `size` at once and starts the lowest order next, ties first come first', async () => {
    const limit = orderedLimit(2);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof held>>();
    const job = (name: string, order: number) => {
      const gate = held();
      gates.set(name, gate);
      return limit(async () => {
        started.push(name);
        await gate.done;
        return name;
      }, order);
    };
    // A video track queues all of its segments first, then the audio track its own.
    const results = [job('v0', 0), job('v2', 2), job('v4', 4), job('v6', 6), job('a0', 0), job('a2', 2), job('a4', 4), job('a4b', 4)];
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual(['v0', 'v2']);
    const finishInOrder = async () => {
      // Let whatever started run, then free the oldest running one, until all are done.
      for (let i = 0; i < 8; i++) {
        const running = started.filter((name) => gates.has(name));
        const first = running[0];
        if (!first) break;
        gates.get(first)?.release();
        gates.delete(first);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await finishInOrder();
    expect(started).toEqual(['v0', 'v2', 'a0', 'a2', 'v4', 'a4', 'a4b', 'v6']);
    expect(await Promise.all(results)).toEqual(['v0', 'v2', 'v4', 'v6', 'a0', 'a2', 'a4', 'a4b']);
  });

  it('passes a failure on and frees the slot', async () => {
    const limit = orderedLimit(1);
    const failing = limit(() => Promise.reject(new Error('boom')), 1);
    const after = limit(() => 'next', 2);
    await expect(failing).rejects.toThrow('boom');
    expect(await after).toBe('next');
  });

  it('without an order, a call waits behind every ordered one', async () => {
    const limit = orderedLimit(1);
    const order: string[] = [];
    const gate = held();
    const first = limit(async () => {
      order.push('first');
      await gate.done;
    }, 0);
    const unordered = limit(() => order.push('subtitles'));
    const later = limit(() => order.push('video at 100 s'), 100);
    gate.release();
    await Promise.all([first, unordered, later]);
    expect(order).toEqual(['first', 'video at 100 s', 'subtitles']);
  });
});
