// Download speed limits: token buckets that the readers of response bodies ask
// before taking the next chunk. The service-wide bucket (`max_download_speed`) is
// shared fairly between tasks: each task is a lane, and the next grant goes to the
// waiting lane that has been given the fewest bytes, so a task with many
// connections cannot starve one with few. A task's own limit (`max_speed`) is a
// bucket in front of that one. Waiting is a timer, never a loop, and an unlimited
// bucket answers with `undefined` at once: the unlimited path costs a comparison.

/**
 * Called with the size of a chunk just read; resolves when the next may be read.
 * Returns undefined (no promise at all) when no limit applies.
 */
export type ByteGate = (bytes: number) => Promise<void> | undefined;

/**
 * How much a bucket may save up while nobody reads: a quarter of a second at its rate. Enough that
 * a timer firing late on a busy machine does not lose the bytes of the delay, small enough that
 * a download starting after a pause does not overshoot noticeably.
 */
const BURST_SECONDS = 0.25;

interface Waiter {
  bytes: number;
  grant: () => void;
}

/** One consumer of a bucket: its waiting reads, in order, and the bytes it has been granted. */
export class Lane {
  readonly waiting: Waiter[] = [];
  /** Bytes granted, in the bucket's virtual time; compared between lanes only. */
  served = 0;
}

export class TokenBucket {
  #rate: number;
  #tokens = 0;
  #at = performance.now();
  /** Lanes with at least one waiter. */
  readonly #active = new Set<Lane>();
  /** `served` of the lane granted last: a lane that was idle starts from here, with no credit saved up. */
  #clock = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;

  /** `bytesPerSecond` 0 means unlimited. */
  constructor(bytesPerSecond = 0) {
    this.#rate = sanitize(bytesPerSecond);
  }

  /** Bytes per second; 0 = unlimited. */
  get rate(): number {
    return this.#rate;
  }

  /** Takes effect for the waiting reads too; 0 lets every one of them go at once. */
  setRate(bytesPerSecond: number): void {
    const rate = sanitize(bytesPerSecond);
    if (rate === this.#rate) return;
    this.#refill();
    this.#rate = rate;
    this.#tokens = Math.min(this.#tokens, this.#burst());
    this.#cancelTimer();
    this.#pump();
  }

  /**
   * Charges `bytes` (already read) to `lane`. Undefined when the bucket had tokens and nobody
   * was waiting; else a promise that resolves in turn. The charge may run the bucket into debt
   * (a chunk bigger than what was saved up), which the following reads wait out.
   */
  take(lane: Lane, bytes: number): Promise<void> | undefined {
    if (this.#rate === 0) return undefined;
    if (this.#active.size === 0) {
      this.#refill();
      if (this.#tokens > 0) {
        this.#charge(lane, bytes);
        return undefined;
      }
    }
    return new Promise<void>((grant) => {
      if (lane.waiting.length === 0) {
        lane.served = Math.max(lane.served, this.#clock);
        this.#active.add(lane);
      }
      lane.waiting.push({ bytes, grant });
      if (!this.#timer && !this.#immediate) this.#pump();
    });
  }

  /** Lets the lane's waiting reads go without charging them: its download is over. */
  drop(lane: Lane): void {
    this.#active.delete(lane);
    for (const waiter of lane.waiting.splice(0)) waiter.grant();
    if (this.#active.size === 0) this.#cancelTimer();
  }

  #burst(): number {
    return Math.max(1, this.#rate * BURST_SECONDS);
  }

  #refill(): void {
    const now = performance.now();
    if (this.#rate > 0) this.#tokens = Math.min(this.#burst(), this.#tokens + (this.#rate * (now - this.#at)) / 1000);
    this.#at = now;
  }

  #charge(lane: Lane, bytes: number): void {
    this.#tokens -= bytes;
    this.#clock = lane.served;
    lane.served += bytes;
  }

  /** Grants while there are tokens, fewest-bytes-served lane first; then sleeps until the debt is paid. */
  #pump(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    if (this.#rate === 0) {
      for (const lane of [...this.#active]) this.drop(lane);
      return;
    }
    this.#refill();
    if (this.#tokens > 0 && this.#active.size > 0) {
      let next: Lane | undefined;
      for (const lane of this.#active) if (!next || lane.served < next.served) next = lane;
      const waiter = next!.waiting.shift()!;
      if (next!.waiting.length === 0) this.#active.delete(next!);
      this.#charge(next!, waiter.bytes);
      waiter.grant();
    }
    if (this.#active.size === 0) return;
    if (this.#tokens > 0) {
      // One grant per turn of the event loop: the reader just granted asks again (a microtask or
      // an I/O callback away) before the next pick, instead of losing its turn for a moment of not waiting.
      this.#immediate = setImmediate(() => this.#pump());
      return;
    }
    // Until the tokens are back above zero; at least a millisecond, so a timer never spins.
    const wait = Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.#rate));
    this.#timer = setTimeout(() => this.#pump(), wait);
  }

  #cancelTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }
}

/**
 * One download's speed: its own bucket (`max_speed`) in front of its lane of the shared
 * one (`max_download_speed`). `take` is the ByteGate its body readers call.
 */
export class TaskBandwidth {
  readonly #own: TokenBucket;
  readonly #ownLane = new Lane();
  readonly #shared: TokenBucket | undefined;
  readonly #sharedLane = new Lane();
  #closed = false;

  constructor(bytesPerSecond = 0, shared?: TokenBucket) {
    this.#own = new TokenBucket(bytesPerSecond);
    this.#shared = shared;
  }

  /** The task's own limit; 0 = none (the shared one may still apply). */
  get rate(): number {
    return this.#own.rate;
  }

  /** The limit that applies: the lower of its own and the shared one; 0 = unlimited. */
  get effectiveRate(): number {
    const own = this.#own.rate;
    const shared = this.#shared?.rate ?? 0;
    if (own === 0) return shared;
    return shared === 0 ? own : Math.min(own, shared);
  }

  setRate(bytesPerSecond: number): void {
    this.#own.setRate(bytesPerSecond);
  }

  readonly take: ByteGate = (bytes) => {
    if (this.#closed) return undefined;
    const own = this.#own.rate > 0 ? this.#own.take(this.#ownLane, bytes) : undefined;
    const shared = this.#shared;
    if (!shared || shared.rate === 0) return own;
    if (!own) return shared.take(this.#sharedLane, bytes);
    return own.then(() => (this.#closed ? undefined : shared.take(this.#sharedLane, bytes)));
  };

  /** Frees whatever still waits (the download ended) and leaves the shared bucket's rotation. */
  close(): void {
    this.#closed = true;
    this.#own.drop(this.#ownLane);
    this.#shared?.drop(this.#sharedLane);
  }
}

function sanitize(bytesPerSecond: number): number {
  return Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? bytesPerSecond : 0;
}
