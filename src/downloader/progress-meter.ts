// Turns a stream of byte and segment events into ProgressSnapshots at a bounded
// rate, with a smoothed speed and an ETA.
import type { BackoffNote, Phase, ProgressSnapshot } from '../types.js';

export interface ProgressMeterOptions {
  /** Least time between two snapshots, in ms. @defaultValue 250 */
  intervalMs?: number;
  /** Time constant of the speed smoothing, in ms. @defaultValue 3000 */
  smoothingMs?: number;
}

export class ProgressMeter {
  readonly #onProgress: (snapshot: ProgressSnapshot) => void;
  readonly #intervalMs: number;
  readonly #smoothingMs: number;
  #timer: NodeJS.Timeout | undefined;
  #phase: Phase = 'resolving';
  #total = 0;
  #done = 0;
  #skipped = 0;
  /** Bytes received, in-flight segments included. */
  #bytes = 0;
  /** Bytes of finished segments, for the average segment size. */
  #finishedBytes = 0;
  #speed = 0;
  #sampleAt = 0;
  #sampleBytes = 0;
  #lastSent = '';
  #backoff: { note: BackoffNote; until: number } | undefined;
  /** Set while a live stream is recorded: seconds recorded, and the limit if any. */
  #live: { recorded: number; limit?: number } | undefined;
  #waitingUntil: string | undefined;

  constructor(onProgress: (snapshot: ProgressSnapshot) => void, options: ProgressMeterOptions = {}) {
    this.#onProgress = onProgress;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#smoothingMs = options.smoothingMs ?? 3000;
  }

  /** Reports the phase at once (a phase change is worth a snapshot of its own). */
  phase(phase: Phase): void {
    this.#phase = phase;
    this.#emit(true);
  }

  /** Sets the totals known before downloading: segments already on disk count as done. */
  begin(total: number, skipped: number, done: number, bytesOnDisk: number): void {
    this.#total = total;
    this.#skipped = skipped;
    this.#done = done;
    this.#bytes = bytesOnDisk;
    this.#finishedBytes = bytesOnDisk;
    this.#sampleAt = performance.now();
    this.#sampleBytes = this.#bytes;
    this.#phase = this.#live ? 'recording' : 'downloading';
    this.#emit(true);
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /**
   * Starts a live recording's progress: `done` segments of `recorded` seconds (`bytes` on disk)
   * from before a restart. The total grows with every segment the playlist brings.
   */
  beginLive(limit: number | undefined, done: number, bytes: number, recorded: number): void {
    this.#live = limit === undefined ? { recorded } : { recorded, limit };
    this.begin(done, 0, done, bytes);
  }

  /** `live_wait` is waiting for the stream to start, until `until`; undefined when it did. */
  waiting(until: Date | undefined): void {
    this.#waitingUntil = until?.toISOString();
    this.#emit(true);
  }

  /** A live segment was queued: one more in the total. */
  segmentQueued(): void {
    this.#total++;
  }

  /** A queued live segment was lost (it failed): out of the total again. */
  segmentLost(): void {
    this.#total--;
  }

  /** Seconds of media a finished live segment adds. */
  recorded(seconds: number): void {
    if (this.#live) this.#live.recorded += seconds;
  }

  /** Bytes arrived (negative to take back a failed try's bytes). */
  bytes(n: number): void {
    this.#bytes += n;
  }

  segmentDone(bytes: number): void {
    this.#done++;
    this.#finishedBytes += bytes;
  }

  /** A server asked us to slow down: in the snapshots until `untilMs` (Date.now() time), 1 s at least. */
  backoff(note: BackoffNote, untilMs: number): void {
    this.#backoff = { note, until: Math.max(untilMs, Date.now() + 1000) };
    this.#emit(false);
  }

  segmentSkipped(): void {
    this.#skipped++;
  }

  /** Stops the timer and sends the final snapshot. */
  finish(): void {
    this.stop();
    this.#sample();
    this.#emit(true);
  }

  /**
   * After a failure: one last snapshot of what is on disk (finished segments and their bytes,
   * no speed), so a failed task shows the work it keeps. Nothing when the totals were never known.
   */
  settle(): void {
    this.stop();
    if (!this.#total) return;
    this.#bytes = this.#finishedBytes;
    this.#speed = 0;
    this.#emit(true);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#sample();
    this.#emit(false);
  }

  #sample(): void {
    const now = performance.now();
    const elapsed = now - this.#sampleAt;
    if (elapsed <= 0) return;
    const instant = ((this.#bytes - this.#sampleBytes) * 1000) / elapsed;
    // Exponential smoothing that weighs a sample by how long it covers, so the rate does not depend on tick jitter.
    const weight = this.#speed === 0 ? 1 : 1 - Math.exp(-elapsed / this.#smoothingMs);
    this.#speed = Math.max(0, this.#speed + weight * (instant - this.#speed));
    this.#sampleAt = now;
    this.#sampleBytes = this.#bytes;
  }

  #emit(force: boolean): void {
    const snapshot = this.snapshot();
    const key = JSON.stringify(snapshot);
    if (!force && key === this.#lastSent) return;
    this.#lastSent = key;
    this.#onProgress(snapshot);
  }

  snapshot(): ProgressSnapshot {
    const live = this.#live;
    const snapshot: ProgressSnapshot = {
      ...(live ? { live: live.limit === undefined ? { recorded_s: live.recorded } : { recorded_s: live.recorded, limit_s: live.limit } } : {}),
      ...(this.#waitingUntil && this.#phase === 'resolving' ? { waiting_until: this.#waitingUntil } : {}),
      phase: this.#phase,
      segments_total: this.#total,
      segments_done: this.#done,
      segments_skipped: this.#skipped,
      downloaded_bytes: Math.max(0, this.#bytes),
      speed_bps: Math.round(this.#speed),
      eta_s: this.#eta(),
    };
    if (this.#backoff && Date.now() < this.#backoff.until) snapshot.backoff = this.#backoff.note;
    else this.#backoff = undefined;
    return snapshot;
  }

  #eta(): number | null {
    // Live media arrives in real time: what is left of the limit is the time left.
    if (this.#live) return this.#live.limit === undefined ? null : Math.max(0, Math.ceil(this.#live.limit - this.#live.recorded));
    const remaining = this.#total - this.#done - this.#skipped;
    if (remaining <= 0) return this.#total > 0 ? 0 : null;
    if (this.#done === 0 || this.#speed <= 0) return null;
    const average = this.#finishedBytes / this.#done;
    const inFlight = Math.max(0, this.#bytes - this.#finishedBytes);
    return Math.max(0, Math.ceil((remaining * average - inFlight) / this.#speed));
  }
}
