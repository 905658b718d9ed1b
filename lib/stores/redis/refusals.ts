import type { ConsumeResult, CounterSpec, RefundSpec } from '../store.js';
import { type Readings, statesOf } from './reply.js';

/** What Redis last said of one counter in a refused call, and until when that still holds. */
interface Remembered {
  readonly kind: 'window' | 'bucket';
  /** A window's length, so that a counter of another length under the same key is not mistaken for it. */
  readonly windowMs: number;
  /** A window's units used (as the script replied: never a replay here) or a bucket's arrival time. */
  readonly value: number;
  /** The window counted in (windows). */
  readonly windowStart: number;
  /** Store time after which this says nothing: the window's end. */
  readonly until: number;
}

/**
 * Refusals remembered in process memory, so that a key already over a window's limit does not
 * cost a Redis call per request (issue 23). Counts only grow within a window, except by
 * refunds and resets, which this process clears as it makes them: what Redis read for a refused
 * call's counters is a floor of what it would read now, so a call that those readings refuse
 * would be refused by Redis too, with the same binding limit. A refund made by another process
 * is not seen until the window ends: a remembered refusal may refuse a request that Redis
 * would now admit, never the reverse.
 *
 * Bounded: the oldest entries go first once `size` counters are remembered.
 */
export class RefusalCache {
  private readonly entries = new Map<string, Remembered>();
  /** Redis's clock when it last answered, and this process's monotonic clock then. */
  private redisAt = 0;
  private localAt = 0;

  constructor(
    private readonly size: number,
    private readonly clock: (() => number) | undefined,
  ) {}

  /**
   * The answer Redis would give, when every counter of the call is remembered and together
   * they refuse it; `undefined` otherwise (the call goes to Redis).
   */
  answer(counters: readonly CounterSpec[]): ConsumeResult | undefined {
    if (this.entries.size === 0) return undefined;
    const count = counters.length;
    const now = this.now();
    const readings: Readings = {
      values: new Array(count),
      clocks: new Array(count),
      later: new Array(count),
    };
    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      // A replay is admitted however full its window is: only Redis knows the marks.
      if (counter.kind === 'window' && counter.idempotencyKey !== undefined) return undefined;
      const entry = this.entries.get(counter.key);
      if (entry === undefined || entry.kind !== counter.kind) return undefined;
      if (now >= entry.until) {
        this.entries.delete(counter.key);
        return undefined;
      }
      if (counter.kind === 'window') {
        if (entry.windowMs !== counter.windowMs) return undefined;
        const current = now - (now % counter.windowMs);
        // A window that the store's clock has passed has reset; one ahead of it (the clock
        // stepped back) is counted in, as Redis does.
        if (entry.windowStart < current) return undefined;
        if (entry.windowStart > current) readings.later[i] = entry.windowStart;
        readings.values[i] = entry.value;
      } else readings.values[i] = Math.max(entry.value, now);
      readings.clocks[i] = now;
    }
    const states = statesOf(counters, readings, false);
    if (states.every((state) => state.allowed)) return undefined;
    return { admitted: false, now, counters: states };
  }

  /**
   * Remembers what Redis read for the counters of a call it refused, unless refunds or resets
   * other than the call's own (`epoch`, as the call counted them) came in between.
   */
  remember(counters: readonly CounterSpec[], readings: Readings, result: ConsumeResult, epoch: number): void {
    if (epoch !== this.epoch) return;
    this.redisAt = result.now;
    this.localAt = performance.now();
    // Buckets refill by themselves: what is known of one holds as long as the call's windows.
    let windowsEnd = 0;
    counters.forEach((counter, i) => {
      if (counter.kind === 'window') windowsEnd = Math.max(windowsEnd, result.counters[i]!.resetAt);
    });
    counters.forEach((counter, i) => {
      const state = result.counters[i]!;
      const value = readings.values[i]!;
      const entry: Remembered =
        counter.kind === 'window'
          ? {
              kind: 'window',
              windowMs: counter.windowMs,
              value: value < 0 ? -1 - value : value,
              windowStart: state.windowStart!,
              until: state.resetAt,
            }
          : {
              kind: 'bucket',
              windowMs: 0,
              value,
              windowStart: 0,
              until: Math.max(state.retryAt, windowsEnd),
            };
      this.entries.delete(counter.key);
      this.entries.set(counter.key, entry);
    });
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.size) break;
      this.entries.delete(key);
    }
  }

  /**
   * Bumped by every refund and reset: a call that was in flight meanwhile may have read counts
   * they took back, which are no floor, and is not remembered (see `remember`).
   */
  epoch = 0;

  /** Forgets the counters an admission or a charge of this process raised. */
  /** Forgets every remembered refusal: the counters were cleared (`clearStore`). */
  clear(): void {
    this.entries.clear();
  }

  forget(counters: readonly (CounterSpec | RefundSpec)[]): void {
    if (this.entries.size === 0) return;
    for (const counter of counters) this.entries.delete(counter.key);
  }

  /** Forgets the counters a refund or a reset of this process lowered. */
  lowered(counters: readonly (CounterSpec | RefundSpec)[]): void {
    this.epoch++;
    this.forget(counters);
  }

  /** Entries held: for tests. */
  get held(): number {
    return this.entries.size;
  }

  /** The store's clock: the one injected, or Redis's as last read, moved on by the monotonic clock. */
  private now(): number {
    if (this.clock !== undefined) return this.clock();
    return Math.floor(this.redisAt + (performance.now() - this.localAt));
  }
}
