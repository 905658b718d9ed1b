import type { JsonSchema } from '../config-validation.js';
import { validateOptions } from '../config-validation.js';
import type {
  BucketCounterSpec,
  ConsumeResult,
  CounterSpec,
  CounterState,
  RefundSpec,
  Store,
  WindowCounterSpec,
} from '../store.js';

export interface MemoryStoreOptions {
  /**
   * The most counters the store keeps at once. Past it, a counter the store has never seen
   * shares one overflow counter with every other newcomer of the same limit, so a flood of
   * random keys gets one client's allowance in all, and no counter already held is evicted.
   * Defaults to `1_000_000` (about 100 MB of heap at worst).
   */
  maxKeys?: number;
  /** The clock, ms since epoch. Defaults to `Date.now`. */
  now?: () => number;
}

export const memoryStoreOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxKeys: {
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      expected: 'a positive integer',
    },
    now: { typeofFunction: true, expected: 'a function returning ms since epoch' },
  },
};

/** Tolerance for bucket arithmetic in doubles: 1 µs, far below any refill interval. */
const EPSILON_MS = 1e-3;
const OVERFLOW_PREFIX = '\u0000overflow';

/** The counter every newcomer of the same limit shares once the store is full. */
function overflowKey(counter: CounterSpec): string {
  return counter.kind === 'window'
    ? `${OVERFLOW_PREFIX}:w:${counter.windowMs}:${counter.limit}`
    : `${OVERFLOW_PREFIX}:b:${counter.capacity}:${counter.intervalMs}`;
}

/** Where a window remembers that an idempotency key was charged; reclaimed with the window. */
function markerKey(key: string, idempotencyKey: string): string {
  return `\u0000idem:${key}:${idempotencyKey}`;
}

interface WindowGeneration {
  start: number;
  end: number;
  counts: Map<string, number>;
}

/**
 * The in-process store. Every operation is synchronous, so a `consume` is atomic within the
 * process without locks.
 *
 * Window counters of one length live in one map that is dropped whole when the window ends,
 * so expired windows cost nothing to reclaim. A bucket is one number (its theoretical
 * arrival time); a bucket that has refilled is equivalent to no entry and is swept.
 */
export class MemoryStore implements Store {
  readonly maxKeys: number;
  private readonly now: () => number;
  private readonly windows = new Map<number, WindowGeneration>();
  private readonly buckets = new Map<string, number>();
  private windowKeyCount = 0;
  private lastBucketSweep = 0;
  // Scratch space of `decide`, which is synchronous and never re-entered: allocated once per
  // store rather than for each call.
  private readonly scratchKeys: string[] = [];
  private readonly scratchBefore: number[] = [];
  private readonly scratchGenerations: (WindowGeneration | undefined)[] = [];
  private readonly scratchReplays: boolean[] = [];

  constructor(options: MemoryStoreOptions = {}) {
    validateOptions(memoryStoreOptionsSchema, options, 'MemoryStore options');
    this.maxKeys = options.maxKeys ?? 1_000_000;
    this.now = options.now ?? Date.now;
  }

  /** Counters currently held, overflow counters included. */
  get size(): number {
    this.rollWindows(this.now());
    return this.windowKeyCount + this.buckets.size;
  }

  consume(counters: readonly CounterSpec[]): ConsumeResult {
    return this.decide(counters, true);
  }

  peek(counters: readonly CounterSpec[]): ConsumeResult {
    return this.decide(counters, false);
  }

  refund(refunds: readonly RefundSpec[]): void {
    const now = this.now();
    for (const refund of refunds) {
      if (refund.cost <= 0) continue;
      if (refund.kind === 'window') {
        const generation = this.generation(refund.windowMs, now);
        if (generation.start !== refund.windowStart) continue;
        if (refund.idempotencyKey !== undefined) {
          // Only the refund that finds the mark gives anything back: refunds are idempotent.
          const marker = markerKey(refund.key, refund.idempotencyKey);
          if (!generation.counts.has(marker)) continue;
          this.add(generation, marker, -1);
        }
        this.add(generation, refund.key, -refund.cost);
      } else {
        const tat = this.buckets.get(refund.key);
        if (tat === undefined) continue;
        const back = tat - refund.cost * refund.intervalMs;
        if (back > now) this.buckets.set(refund.key, back);
        else this.buckets.delete(refund.key);
      }
    }
  }

  charge(charges: readonly RefundSpec[]): void {
    const now = this.now();
    for (const charge of charges) {
      if (charge.cost <= 0) continue;
      if (charge.kind === 'window') {
        const generation = this.generation(charge.windowMs, now);
        if (generation.start === charge.windowStart) this.add(generation, charge.key, charge.cost);
      } else {
        const tat = Math.max(this.buckets.get(charge.key) ?? now, now);
        this.buckets.set(charge.key, tat + charge.cost * charge.intervalMs);
      }
    }
  }

  reset(counters: readonly CounterSpec[]): void {
    const now = this.now();
    for (const counter of counters) {
      if (counter.kind === 'window') {
        if (this.generation(counter.windowMs, now).counts.delete(counter.key)) this.windowKeyCount--;
      } else this.buckets.delete(counter.key);
    }
  }

  /** Drops every refilled bucket and every ended window. Runs by itself under key pressure. */
  sweep(): void {
    const now = this.now();
    this.rollWindows(now);
    for (const [key, tat] of this.buckets) if (tat <= now) this.buckets.delete(key);
    this.lastBucketSweep = now;
  }

  close(): void {
    this.windows.clear();
    this.buckets.clear();
    this.windowKeyCount = 0;
  }

  private decide(counters: readonly CounterSpec[], charge: boolean): ConsumeResult {
    const now = this.now();
    const count = counters.length;
    const keys = this.scratchKeys;
    const before = this.scratchBefore;
    const generations = this.scratchGenerations;
    const replays = this.scratchReplays;
    let admitted = true;

    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      let key = counter.key;
      if (counter.kind === 'window') {
        const generation = this.generation(counter.windowMs, now);
        const counts = generation.counts;
        let found = counts.get(key);
        if (found === undefined && charge && this.full(now)) {
          key = overflowKey(counter);
          found = counts.get(key);
        }
        const used = found ?? 0;
        const replay =
          counter.idempotencyKey !== undefined && counts.has(markerKey(key, counter.idempotencyKey));
        generations[i] = generation;
        before[i] = used;
        replays[i] = replay;
        if (!replay && used + counter.cost > counter.limit) admitted = false;
      } else {
        let tat = this.buckets.get(key);
        if (tat === undefined && charge && this.full(now)) {
          key = overflowKey(counter);
          tat = this.buckets.get(key);
        }
        const from = tat === undefined || tat < now ? now : tat;
        generations[i] = undefined;
        before[i] = from;
        replays[i] = false;
        if (from + (counter.cost - counter.capacity) * counter.intervalMs > now + EPSILON_MS)
          admitted = false;
      }
      keys[i] = key;
    }

    const states: CounterState[] = new Array(count);
    const charging = admitted && charge;
    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      states[i] =
        counter.kind === 'window'
          ? this.settleWindow(counter, generations[i]!, keys[i]!, before[i]!, replays[i]!, charging, now)
          : this.settleBucket(counter, keys[i]!, before[i]!, charging, now);
      generations[i] = undefined;
    }
    return { admitted, now, counters: states };
  }

  private settleWindow(
    counter: WindowCounterSpec,
    generation: WindowGeneration,
    key: string,
    used: number,
    replayed: boolean,
    charge: boolean,
    now: number,
  ): CounterState {
    const allowed = replayed || used + counter.cost <= counter.limit;
    let after = used;
    if (charge && !replayed && counter.cost > 0) {
      after = used + counter.cost;
      // A count is never kept at zero (`add` drops it), so zero used means a new entry.
      if (used === 0) this.windowKeyCount++;
      generation.counts.set(key, after);
      if (counter.idempotencyKey !== undefined)
        this.add(generation, markerKey(key, counter.idempotencyKey), 1);
    }
    const resetAt = generation.start + counter.windowMs;
    return {
      allowed,
      remaining: Math.max(0, counter.limit - after),
      resetAt,
      // A cost above the whole limit never fits: the next window is still the earliest try.
      retryAt: allowed ? now : resetAt,
      windowStart: generation.start,
      // Every state has one shape (no conditional spreads): the limiter reads them on a hot path.
      replayed: replayed ? true : undefined,
      key: key === counter.key ? undefined : key,
    };
  }

  private settleBucket(
    counter: BucketCounterSpec,
    key: string,
    tat: number,
    charge: boolean,
    now: number,
  ): CounterState {
    const { capacity, intervalMs, cost } = counter;
    // The same expression as the admission check in `decide`, so that the two never disagree
    // by a rounding within the epsilon.
    const earliest = tat + (cost - capacity) * intervalMs;
    const allowed = earliest <= now + EPSILON_MS;
    let after = tat;
    if (charge && cost > 0) {
      after = tat + cost * intervalMs;
      this.buckets.set(key, after);
    }
    const remaining = Math.min(
      capacity,
      Math.max(0, Math.floor((now + capacity * intervalMs - after) / intervalMs + 1e-9)),
    );
    return {
      allowed,
      remaining,
      resetAt: Math.max(now, after),
      retryAt: allowed ? now : Math.ceil(earliest),
      windowStart: undefined,
      replayed: undefined,
      key: key === counter.key ? undefined : key,
    };
  }

  /**
   * Whether a counter the store has never seen must go to the overflow counter. Sweeping is
   * O(n): under sustained pressure it runs at most once per second of store time.
   */
  private full(now: number): boolean {
    if (this.windowKeyCount + this.buckets.size < this.maxKeys) return false;
    if (now - this.lastBucketSweep < 1000) return true;
    this.sweep();
    return this.windowKeyCount + this.buckets.size >= this.maxKeys;
  }

  /** Adds to a window counter, dropping it at zero: a counter never goes below zero. */
  private add(generation: WindowGeneration, key: string, amount: number): void {
    const before = generation.counts.get(key);
    const after = (before ?? 0) + amount;
    if (after > 0) {
      if (before === undefined) this.windowKeyCount++;
      generation.counts.set(key, after);
    } else if (before !== undefined) {
      generation.counts.delete(key);
      this.windowKeyCount--;
    }
  }

  private generation(windowMs: number, now: number): WindowGeneration {
    let generation = this.windows.get(windowMs);
    // Within the current window there is nothing to compute: the remainder of a clock reading
    // (a double) is a call to fmod, a few percent of a decision.
    if (generation !== undefined && now < generation.end && now >= generation.start) return generation;
    const start = now - (now % windowMs);
    if (generation === undefined) {
      generation = { start, end: start + windowMs, counts: new Map() };
      this.windows.set(windowMs, generation);
    } else if (start > generation.start) {
      // Only forward: a clock that steps back must not open a fresh window and re-admit.
      this.windowKeyCount -= generation.counts.size;
      generation.start = start;
      generation.end = start + windowMs;
      generation.counts = new Map();
    }
    return generation;
  }

  private rollWindows(now: number): void {
    for (const windowMs of this.windows.keys()) this.generation(windowMs, now);
  }
}
