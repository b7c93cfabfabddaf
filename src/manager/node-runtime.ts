// This instance as one node of a shared queue (issue 15): its heartbeat (it is alive,
// the leases of the tasks it runs are renewed, leases of dead nodes go back to the
// queue) and the feed of task changes made by any node, coalesced per task and read
// again for the task manager. The same code runs on nedb (one node) and PostgreSQL.
import type { Clock } from './clock.js';
import type { LeaseRef, NodeBeat, Reclaimed, TaskChange, TaskStore } from '../store/task-store.js';
import type { TaskRecord } from '../types.js';

export interface NodeRuntimeOptions {
  store: TaskStore;
  clock: Clock;
  /** `M3U8DM_NODE_ID`. */
  nodeId: string;
  /** Lease length; the heartbeat runs every third of it. */
  leaseMs: number;
  /** Shown to the other nodes (0: an API-only node). */
  maxActive: number;
  /** The leases of the tasks this node runs now. */
  leases: () => LeaseRef[];
  /** The store no longer gives this node the task (or could not renew it in time): stop the run, write nothing. */
  onLost: (id: number) => void;
  /** A task changed (on any node, or this one) and was read again; null when it is gone. */
  onChange: (change: TaskChange, task: TaskRecord | null) => void;
  /** Tasks of dead nodes this heartbeat settled (their pending pause or delete carried out in the store). */
  reclaimed: (done: Reclaimed) => Promise<void>;
  /** After every heartbeat: expired leases went back to the queue, so a pass may start them. */
  afterBeat: () => void;
  onError: (err: unknown) => void;
}

export class NodeRuntime {
  readonly #o: NodeRuntimeOptions;
  #timer?: NodeJS.Timeout;
  #unwatch?: () => void;
  #closed = false;
  /** The heartbeat under way, so two never overlap and shutdown can wait for it. */
  #beat?: Promise<void>;
  /** When leases were last renewed (or there were none), monotonic ms: past a lease length the node fences itself. */
  #renewedAt = performance.now();
  /** Changed task ids not read yet, with the strongest kind seen (created < updated < deleted). */
  readonly #pending = new Map<number, TaskChange['kind']>();
  #draining?: Promise<void>;
  #drainTimer?: NodeJS.Timeout;

  constructor(options: NodeRuntimeOptions) {
    this.#o = options;
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  get leaseMs(): number {
    return this.#o.leaseMs;
  }

  /**
   * Whether the leases renewed last still hold by this node's own time: false once more than a lease length
   * passed since the heartbeat that renewed them began (a stall, a store that does not answer). Past that,
   * another node may own the tasks, so a run must start no new request; a synchronous check, cheap enough
   * to ask before every request.
   */
  get fresh(): boolean {
    return performance.now() - this.#renewedAt <= this.#o.leaseMs;
  }

  /** Records this node alive now (before a claim, so others see who holds what). */
  async touch(): Promise<void> {
    const { store, clock, nodeId, maxActive } = this.#o;
    await store.touchNode({ id: nodeId, seen_at: clock.now(), max_active: maxActive, running: this.#o.leases().length });
  }

  /** Starts the heartbeat and listens to task changes. */
  start(): void {
    // Back after the feed was away: a heartbeat now reads the leased tasks and the queue again, rather
    // than at the next tick.
    this.#unwatch = this.#o.store.watch((change) => this.#heard(change), () => void this.beat());
    // Wall-clock cadence; lease times themselves are on the manager's clock.
    this.#timer = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.#o.leaseMs / 3)));
    this.#timer.unref();
  }

  /** Stops the heartbeat and the feed; resolves once the heartbeat and reads under way are done. */
  async stop(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#unwatch?.();
    this.#pending.clear();
    await Promise.all([this.#beat, this.#draining]);
  }

  /** Nodes heard from within one lease length. */
  async nodes(): Promise<NodeBeat[]> {
    return this.#o.store.listNodes(this.#o.clock.now() - this.#o.leaseMs);
  }

  /** One heartbeat now (the timer calls it; a call while one runs joins it). */
  beat(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#beat ??= this.#heartbeat().catch((err: unknown) => this.#o.onError(err)).finally(() => { this.#beat = undefined; });
    return this.#beat;
  }

  async #heartbeat(): Promise<void> {
    const { store, clock, leaseMs } = this.#o;
    const now = clock.now();
    // The renewed leases run from `now`, not from when the store answered.
    const started = performance.now();
    const leases = this.#o.leases();
    try {
      await this.touch();
      if (leases.length) {
        const { lost } = await store.renew(leases, now, leaseMs);
        for (const id of lost) this.#o.onLost(id);
      }
      this.#renewedAt = started;
    } catch (err) {
      // The store is unreachable. Past a lease length another node may own these tasks: stop them
      // rather than run a task twice (their segments stay on disk for whoever resumes them).
      if (performance.now() - this.#renewedAt > leaseMs) for (const lease of leases) this.#o.onLost(lease.id);
      throw err;
    }
    const reclaimed = await store.reclaimExpired(now);
    if (reclaimed.paused.length || reclaimed.deleted.length) await this.#o.reclaimed(reclaimed);
    // A command or a lost lease whose notification was missed (the feed reconnecting) is seen here.
    for (const lease of this.#o.leases()) {
      if (this.#closed) return;
      this.#o.onChange({ kind: 'updated', id: lease.id }, await store.get(lease.id));
    }
    if (!this.#closed) this.#o.afterBeat();
  }

  /**
   * Resolves with the task once `done` holds for it (null: gone), or as it is after `timeoutMs`.
   * Listens to the change feed and also looks every 250 ms, in case a notification is missed.
   */
  waitFor(id: number, done: (task: TaskRecord | null) => boolean, timeoutMs: number): Promise<TaskRecord | null> {
    const { store } = this.#o;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (task: TaskRecord | null): void => {
        if (settled) return;
        settled = true;
        unwatch();
        clearInterval(poll);
        clearTimeout(timer);
        resolve(task);
      };
      const check = async (): Promise<void> => {
        const task = await store.get(id).catch(() => undefined);
        if (task !== undefined && done(task)) finish(task);
      };
      const unwatch = store.watch((change) => { if (change.id === id) void check(); });
      const poll = setInterval(() => void check(), 250);
      const timer = setTimeout(() => void store.get(id).catch(() => null).then(finish), timeoutMs);
      void check();
    });
  }

  #heard(change: TaskChange): void {
    if (this.#closed) return;
    const before = this.#pending.get(change.id);
    this.#pending.set(change.id, before === 'created' && change.kind === 'updated' ? 'created' : before === 'deleted' ? 'deleted' : change.kind);
    this.#scheduleDrain();
  }

  #scheduleDrain(): void {
    if (this.#drainTimer || this.#draining || this.#closed) return;
    // Read after the writer's own continuation has run (nedb tells watchers inside the write): the
    // manager then knows it made the change itself.
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      this.#draining = this.#drain().finally(() => {
        this.#draining = undefined;
        if (this.#pending.size) this.#scheduleDrain();
      });
    }, 0);
  }

  /** Reads one batch; changes heard meanwhile wait for the next (deferred like the first). */
  async #drain(): Promise<void> {
    const batch = [...this.#pending];
    this.#pending.clear();
    for (const [id, kind] of batch) {
      if (this.#closed) return;
      try {
        const task = kind === 'deleted' ? null : await this.#o.store.get(id);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- closed while the read was under way
        if (!this.#closed) this.#o.onChange({ kind, id }, task);
      } catch (err) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- closed while the read was under way
        if (!this.#closed) this.#o.onError(err);
      }
    }
  }
}
