// Keeps the service's memory flat while gigabytes stream through it. Every segment
// leaves request objects behind that live just long enough to be promoted, and V8
// lets that old-generation garbage pile up for tens of MB before it collects; a full
// collection when the used heap passes a threshold keeps RSS near its idle size.
// Segment bodies and the files the merge reads back are Buffers outside the heap that
// die with their heap objects, so they count toward the threshold, checked every 100 ms
// (at ~85 MB/s that is ~8 MB of them between checks). Measured on a 2,000-segment
// download + merge with --max-semi-space-size=2: 176–184 MB peak counting the heap
// alone every 250 ms, 141–152 MB counting Buffers too every 100 ms.
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapGuardOptions {
  /** Collect when the used heap plus the Buffers outside it pass this many MB. @defaultValue 48 */
  thresholdMb?: number;
  /** @defaultValue 100 */
  intervalMs?: number;
}

/** V8's gc(), made reachable at run time (the flag is read when gc is looked up). */
function gcFunction(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Starts the guard; returns a function that stops it. */
export function startHeapGuard(options: HeapGuardOptions = {}): () => void {
  const gc = gcFunction();
  if (!gc) return () => {};
  const base = (options.thresholdMb ?? 48) * 1048576;
  let threshold = base;
  // Buffers (segment bodies, files read back for the merge) live outside the heap but die with
  // their heap objects, so they count: V8 alone lets tens of MB of them wait for a collection.
  const used = () => {
    const stats = v8.getHeapStatistics();
    return stats.used_heap_size + stats.external_memory;
  };
  const timer = setInterval(() => {
    if (used() <= threshold) return;
    gc();
    // What survives is live: never collect again before the heap has grown well past it.
    threshold = Math.max(base, used() * 1.5);
  }, options.intervalMs ?? 100);
  timer.unref();
  return () => clearInterval(timer);
}
