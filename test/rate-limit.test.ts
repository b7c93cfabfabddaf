// The token buckets behind the speed limits, through their module exports: no
// promise at all when unlimited, byte-fair shares between lanes whatever their
// chunk sizes, a rate change that reaches reads already waiting, and a task's own
// limit in front of the shared one.
import { describe, expect, it } from 'vitest';
import { Lane, TaskBandwidth, TokenBucket } from '../src/downloader/rate-limit.js';

const KB = 1024;

/** Takes `chunk`-byte reads from `lane` back to back until `until`; resolves with the bytes granted. */
async function greedy(bucket: TokenBucket, lane: Lane, chunk: number, until: number): Promise<number> {
  let granted = 0;
  while (performance.now() < until) {
    await bucket.take(lane, chunk);
    granted += chunk;
  }
  return granted;
}

describe('token buckets', () => {
  it('answers without a promise when unlimited, so the unlimited path costs a comparison', () => {
    const bucket = new TokenBucket(0);
    expect(bucket.take(new Lane(), 1 << 20)).toBeUndefined();
    const task = new TaskBandwidth(0, bucket);
    expect(task.take(64 * KB)).toBeUndefined();
    expect(task.effectiveRate).toBe(0);
  });

  it('shares by bytes, not by reads: a lane of 4 KB chunks gets as much as one of 64 KB chunks', async () => {
    const bucket = new TokenBucket(512 * KB);
    const until = performance.now() + 2000;
    const [big, small] = await Promise.all([greedy(bucket, new Lane(), 64 * KB, until), greedy(bucket, new Lane(), 4 * KB, until)]);
    const total = big + small;
    expect(total / (2 * 512 * KB)).toBeGreaterThan(0.85);
    expect(total / (2 * 512 * KB)).toBeLessThan(1.15);
    expect(Math.min(big, small) / Math.max(big, small)).toBeGreaterThan(0.6);
  });

  it('lets waiting reads go at once when the limit is lifted', async () => {
    const bucket = new TokenBucket(16 * KB);
    const lane = new Lane();
    await bucket.take(lane, 64 * KB); // 4 s of debt at 16 KB/s
    const waiting = bucket.take(lane, 1);
    expect(waiting).toBeInstanceOf(Promise);
    const started = performance.now();
    bucket.setRate(0);
    await waiting;
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('holds a task to its own limit under a higher shared one, and follows a change of it', async () => {
    const shared = new TokenBucket(4096 * KB);
    const task = new TaskBandwidth(128 * KB, shared);
    expect(task.effectiveRate).toBe(128 * KB);
    const read = async (ms: number) => {
      const until = performance.now() + ms;
      let bytes = 0;
      while (performance.now() < until) {
        await task.take(16 * KB);
        bytes += 16 * KB;
      }
      return bytes / (ms / 1000);
    };
    await read(200); // spend the saved-up burst
    const slow = await read(1000);
    expect(slow / (128 * KB)).toBeGreaterThan(0.8);
    expect(slow / (128 * KB)).toBeLessThan(1.2);
    task.setRate(512 * KB);
    const fast = await read(1000);
    expect(fast / (512 * KB)).toBeGreaterThan(0.8);
    expect(fast / (512 * KB)).toBeLessThan(1.2);
    task.close();
    expect(task.take(1 << 20)).toBeUndefined();
  });
});
