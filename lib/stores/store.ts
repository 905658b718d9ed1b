import type { MaybePromise } from '../core/maybe-promise.js';

/**
 * The contract between tollgate's core and a counter store.
 *
 * A store keeps three kinds of counter:
 *
 * - **window** counters: fixed windows aligned to the Unix epoch. A `windowMs` of 60 000 is
 *   the wall-clock minute, 3 600 000 the hour, 86 400 000 the UTC day. Because every key of
 *   one window length starts and ends together, the store can derive the window from its
 *   own clock and no key outlives its window. A window counter with a `period` counts in
 *   calendar periods instead: the ISO week or the calendar month, in UTC. Every store cuts
 *   windows with the functions of `periods.ts` (`spanOf`, `windowIndex`, `windowStart`,
 *   `windowEnd`), or their exact equivalent, so that all of them count the same windows.
 * - **bucket** counters: token buckets kept as a GCRA "theoretical arrival time", so one
 *   number per key. A bucket of `capacity` regains one unit every `intervalMs`.
 * - **lease** counters: requests in flight (the IETF draft's `concurrent-requests` quota
 *   unit). A consume that admits takes the lease `leaseId` under the key; a refund of the
 *   counter gives that lease back. A lease not given back ends by itself `leaseMs` after it
 *   was taken, so that a process that dies mid-request does not hold its slots forever.
 *
 * The core hands the store every counter one request touches, in one call. Writing a store:
 *
 * 1. `consume` is all-or-nothing: either every counter admits its `cost` and all of them are
 *    charged, or none is charged. Nothing may interleave between the check and the charge
 *    (a synchronous pass in one process, a Lua script in Redis).
 * 2. Time is the store's own (`now()` injected in memory, `TIME` in Redis); it is returned in
 *    `ConsumeResult.now` so that the core computes `Retry-After` against the same clock.
 * 3. `retryAt` must never be earlier than the moment the counter would admit the cost.
 * 4. A store never throws for a refusal. It throws (rejects) an `Error` only when it cannot
 *    answer; the core then applies the configured failure policy.
 * 5. The counters of one call have distinct keys; a counter's key names it for every window
 *    (the store tells windows apart by their start, which only it knows).
 * 6. A store that charges in several steps (the Redis store on a cluster, one script per slot)
 *    gives back what it charged when a later step refuses or fails. A refund it cannot deliver
 *    must not be lost in silence: it goes to `ConsumeContext.report`, which reaches the
 *    limiter's `onError` hook, or, when the caller gave no context, makes the call reject.
 */
export type StoreCounterSpec = CounterSpec | LeaseCounterSpec;

/** A window or bucket counter: what rate limits and spending caps count. */
export type CounterSpec = WindowCounterSpec | BucketCounterSpec;

export interface WindowCounterSpec {
  readonly kind: 'window';
  /** The counter's key, the same for each of its windows: the store tells them apart. */
  readonly key: string;
  /**
   * The scope value the counter belongs to. The counters of one scope value (its minute, hour
   * and burst) share a group and come one after another, so within a group the kind and
   * `windowMs` tell counters apart as well as their keys do. A store may keep a group's counters
   * together, as the memory store does, to find them all with one lookup; it may also ignore
   * groups and go by `key` alone, as the Redis store does.
   */
  readonly group?: CounterGroup;
  /**
   * Window length in ms; windows are aligned to the Unix epoch (UTC). With a `period`, the
   * longest window of that period (7 days, 31 days): a bound for key expiries, nothing more.
   */
  readonly windowMs: number;
  /**
   * Counts in calendar periods rather than in windows of `windowMs`: `'week'` is the ISO week
   * (from Monday 00:00 UTC), `'month'` the calendar month in UTC. See `periods.ts`.
   */
  readonly period?: CalendarPeriod;
  /** Units the window admits in all. */
  readonly limit: number;
  /** Units this call takes: a non-negative safe integer. */
  readonly cost: number;
  /**
   * Charges this counter at most once per idempotency key and window: when a charge with the
   * same key already stands in the current window, the counter is neither checked nor charged
   * again, and its state says `replayed`. Retries that race are charged once. A refund with
   * the key clears the mark (once), so a retry after a refunded failure is charged again.
   */
  readonly idempotencyKey?: string;
}

export interface BucketCounterSpec {
  readonly kind: 'bucket';
  readonly key: string;
  /** As `WindowCounterSpec.group`. */
  readonly group?: CounterGroup;
  /** Units the bucket holds when full: the most that can arrive at once. */
  readonly capacity: number;
  /** Milliseconds to regain one unit (may be fractional: 60 000 / 7 for 7 a minute). */
  readonly intervalMs: number;
  readonly cost: number;
}

export type CalendarPeriod = 'week' | 'month';

export interface LeaseCounterSpec {
  readonly kind: 'lease';
  readonly key: string;
  /** Unused by the stores: leases are kept by key. */
  readonly group?: CounterGroup;
  /** Leases the key may hold at once. */
  readonly limit: number;
  /** Leases this call takes: 1 for a request, 0 to read. */
  readonly cost: number;
  /** Names this request's lease, unique across the fleet, so that it alone is given back. */
  readonly leaseId: string;
  /** How long a lease lasts when it is never given back, from the moment it is taken. */
  readonly leaseMs: number;
}

/**
 * A scope value, e.g. the client address `203.0.113.7` of the limiter's `ip` scope. The
 * counters' keys are `namespace + value` and a suffix naming the window length or the bucket.
 * Given apart rather than joined so that a store can find a value's record without building
 * (and hashing) a string per request: the namespace is one string per scope, made when the
 * limiter is built.
 */
export interface CounterGroup {
  /** The scope's key prefix, e.g. `tg:ip:`. */
  readonly namespace: string;
  /** The scope value, store-safe (see `storeValue`). */
  readonly value: string;
}

export interface CounterState {
  /** Whether this counter, taken alone, admits the cost. */
  readonly allowed: boolean;
  /** Units left after the call (after the charge when the request was admitted). */
  readonly remaining: number;
  /**
   * When the counter is back to its full limit: the window's end, or the bucket full. For a
   * lease counter, when the last lease held would end if none were given back. ms since epoch.
   */
  readonly resetAt: number;
  /**
   * Earliest moment this counter would admit the cost; equals `now` when it does. For a lease
   * counter that refuses, the earliest moment a lease held would end by itself: leases are
   * usually given back long before, which no store can foresee.
   */
  readonly retryAt: number;
  /** The start of the window that was read or charged (window counters), to aim a refund. */
  readonly windowStart?: number;
  /** True when the counter skipped the charge because its idempotency key was already charged. */
  readonly replayed?: boolean;
  /** The key the store charged when it was not the counter's own (the memory store's overflow counter), to aim a refund. */
  readonly key?: string;
}

/**
 * What the limiter hands a store with each `consume`: where to report an error the store met
 * while answering that did not stop it from answering.
 */
export interface ConsumeContext {
  /**
   * Reports an error that needs the operator's attention though the call was answered: a
   * charge the store could not give back after another part of the call refused. The limiter
   * passes it to its `onError` hook with the request.
   */
  report(error: Error): void;
}

export interface ConsumeResult {
  /** True when every counter admitted its cost and all were charged. */
  readonly admitted: boolean;
  /** The store's clock at the moment of the decision, ms since epoch. */
  readonly now: number;
  /** One state per counter, in the order given. */
  readonly counters: readonly CounterState[];
}

/** Gives units back to a counter that was charged, e.g. when a handler fails. */
export type RefundSpec =
  | (WindowCounterSpec & { readonly windowStart: number })
  | (BucketCounterSpec & { readonly windowStart?: undefined });

/** A refund of any counter: a lease's gives the lease back. */
export type StoreRefundSpec = RefundSpec | (LeaseCounterSpec & { readonly windowStart?: undefined });

export type { MaybePromise };

export interface Store {
  /**
   * Checks every counter and charges each its cost only if all of them admit it.
   * A refused call charges nothing. `context`, from the limiter, is where to report what must not
   * be lost (see rule 6 above); stores that charge in one step may ignore it.
   */
  consume(counters: readonly StoreCounterSpec[], context?: ConsumeContext): MaybePromise<ConsumeResult>;
  /** Reads the counters as `consume` would, without charging anything. */
  peek(counters: readonly StoreCounterSpec[]): MaybePromise<ConsumeResult>;
  /**
   * Gives each counter back `cost` units of the window it was charged in. A refund never takes
   * a counter below zero, and a refund aimed at a window that has already ended does nothing:
   * that counter has reset in the meantime. A lease counter's refund gives back its lease
   * `leaseId`, once: a lease already given back, or ended, is not given back again.
   */
  refund(refunds: readonly StoreRefundSpec[]): MaybePromise<void>;
  /**
   * Adds each counter's cost to the window it names without checking its limit: the
   * settlement of work already done (a response that cost more than its estimate). A charge
   * aimed at a window that has ended does nothing, as does a charge of a lease counter.
   */
  charge(charges: readonly StoreRefundSpec[]): MaybePromise<void>;
  /**
   * Forgets the counters' current state (the current window, the bucket, every lease held).
   * Idempotency marks stay: a retry of a request charged before the reset is still not charged
   * again.
   */
  reset(counters: readonly StoreCounterSpec[]): MaybePromise<void>;
  /** Releases timers and connections the store owns. */
  close?(): MaybePromise<void>;
}
