import type { BucketCounterSpec, CounterState, WindowCounterSpec } from './store.js';

/**
 * The arithmetic that turns what a store read into a counter's state, shared by the memory
 * and Redis stores so that both answer the same to the bit.
 */

/** Tolerance for bucket arithmetic in doubles: 1 µs, far below any refill interval. */
export const EPSILON_MS = 1e-3;

/**
 * The earliest moment a bucket at theoretical arrival time `tat` (never before now) admits the
 * counter's cost. Admission and the state's `allowed` both use this one expression, so that they
 * never disagree by a rounding within the epsilon.
 */
export function bucketEarliest(counter: BucketCounterSpec, tat: number): number {
  return tat + (counter.cost - counter.capacity) * counter.intervalMs;
}

export function bucketAdmits(counter: BucketCounterSpec, tat: number, now: number): boolean {
  return bucketEarliest(counter, tat) <= now + EPSILON_MS;
}

/**
 * A window counter's state. `used` is what the window held before the call; `charged` says
 * whether this call added its cost; `key` is where it was charged when not its own key.
 */
export function windowState(
  counter: WindowCounterSpec,
  used: number,
  windowStart: number,
  charged: boolean,
  replayed: boolean,
  now: number,
  key: string | undefined,
): CounterState {
  const allowed = replayed || used + counter.cost <= counter.limit;
  const resetAt = windowStart + counter.windowMs;
  return {
    allowed,
    remaining: Math.max(0, counter.limit - (charged ? used + counter.cost : used)),
    resetAt,
    // A cost above the whole limit never fits: the next window is still the earliest try.
    retryAt: allowed ? now : resetAt,
    windowStart,
    // Every state has one shape (no conditional spreads): the limiter reads them on a hot path.
    replayed: replayed ? true : undefined,
    key,
  };
}

/** A bucket's state, from its arrival time before the call (never before now). */
export function bucketState(
  counter: BucketCounterSpec,
  tat: number,
  charged: boolean,
  now: number,
  key: string | undefined,
): CounterState {
  const { capacity, intervalMs } = counter;
  const earliest = bucketEarliest(counter, tat);
  const allowed = earliest <= now + EPSILON_MS;
  const after = charged ? tat + counter.cost * intervalMs : tat;
  return {
    allowed,
    // The units that would be admitted now, one at a time, with admission's own tolerance:
    // `now + capacity × intervalMs` rounds to 0.00024 ms at today's epoch, which for 7 a
    // minute is a few 1e-8 of a unit, and a full bucket must not read as a unit short.
    remaining: Math.min(
      capacity,
      Math.max(0, Math.floor((now + capacity * intervalMs - after + EPSILON_MS) / intervalMs)),
    ),
    resetAt: Math.max(now, after),
    retryAt: allowed ? now : Math.ceil(earliest),
    windowStart: undefined,
    replayed: undefined,
    key,
  };
}
