import { windowEndFrom } from './periods.js';
import type { BucketCounterSpec, CounterState, LeaseCounterSpec, WindowCounterSpec } from './store.js';

/**
 * The arithmetic that turns what a store read into a counter's state, shared by the memory
 * and Redis stores so that both answer the same to the bit.
 */

/** Tolerance for bucket arithmetic in doubles, far below any refill interval. */
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

/** What a store found and did for one window counter in one call. */
export interface WindowReading {
  /** Units the window held before the call. */
  readonly used: number;
  /** The start of the window read or charged, ms since epoch. */
  readonly windowStart: number;
  /** Whether this call added the counter's cost. */
  readonly charged: boolean;
  /** Whether the counter's idempotency key was already charged in this window. */
  readonly replayed: boolean;
  /** Where the counter was charged when not under its own key (the memory store's overflow). */
  readonly key: string | undefined;
}

/** What a store found and did for one bucket counter in one call. */
export interface BucketReading {
  /** The bucket's theoretical arrival time before the call, never before now. */
  readonly tat: number;
  readonly charged: boolean;
  readonly key: string | undefined;
}

/** A window counter's state at `now`. */
export function windowState(counter: WindowCounterSpec, reading: WindowReading, now: number): CounterState {
  const { used, windowStart, charged, replayed } = reading;
  const allowed = replayed || used + counter.cost <= counter.limit;
  const resetAt =
    counter.period === undefined ? windowStart + counter.windowMs : windowEndFrom(counter, windowStart);
  return {
    allowed,
    remaining: Math.max(0, counter.limit - (charged ? used + counter.cost : used)),
    resetAt,
    // A cost above the whole limit never fits: the next window is still the earliest try.
    retryAt: allowed ? now : resetAt,
    windowStart,
    // Every state has the same properties (no conditional spreads), so that reading them stays cheap.
    replayed: replayed ? true : undefined,
    key: reading.key,
  };
}

/** A bucket counter's state at `now`. */
export function bucketState(counter: BucketCounterSpec, reading: BucketReading, now: number): CounterState {
  const { tat, charged } = reading;
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
    key: reading.key,
  };
}

/** What a store found and did for one lease counter in one call. */
export interface LeaseReading {
  /** Leases held before the call, ended ones left out. */
  readonly held: number;
  /** When the first and the last of them end by themselves; `now` when none is held. */
  readonly firstEnd: number;
  readonly lastEnd: number;
  /** Whether this call took the counter's lease. */
  readonly charged: boolean;
}

/** A lease counter's state at `now`. */
export function leaseState(counter: LeaseCounterSpec, reading: LeaseReading, now: number): CounterState {
  const { held, charged } = reading;
  const allowed = held + counter.cost <= counter.limit;
  const taken = charged ? counter.cost : 0;
  return {
    allowed,
    remaining: Math.max(0, counter.limit - held - taken),
    resetAt: charged ? Math.max(reading.lastEnd, now + counter.leaseMs) : reading.lastEnd,
    // No store knows when a request in flight ends: the earliest a lease ends by itself bounds it.
    retryAt: allowed ? now : Math.max(now, reading.firstEnd),
    windowStart: undefined,
    replayed: undefined,
    key: undefined,
  };
}
