import type { ThrottleOptions } from './options.js';
import type { PolicyReading } from './reading.js';

/** What the client believes of one policy now. */
export interface TrackedPolicy {
  readonly id: string;
  limit: number | undefined;
  remaining: number | undefined;
  resetAt: number | undefined;
  windowMs: number | undefined;
  /** Highest `limit − remaining` seen; kept across `resetMetrics()`. */
  peakUsed: number;
  peakUtilisation: number;
}

/** Readings within this much of each other's reset describe the same window (resets are rounded to seconds). */
const SAME_WINDOW_MS = 1000;

/** `1 − remaining / limit` while the window lasts; 0 once it has reset or when unknown. */
export function utilisationOf(policy: TrackedPolicy, now: number): number {
  const { limit, remaining, resetAt } = policy;
  if (limit === undefined || remaining === undefined) return 0;
  if (resetAt !== undefined && now >= resetAt) return 0;
  if (limit <= 0) return 1;
  // (limit − remaining) / limit rather than 1 − remaining / limit: 0.3, not 0.30000000000000004.
  return Math.min(1, Math.max(0, (limit - remaining) / limit));
}

/**
 * The policies each bucket of requests has been told about, and the throttle they imply.
 * A bucket is a group of requests sharing limits: by default the whole client.
 */
export class PolicyTracker {
  private readonly buckets = new Map<string, Map<string, TrackedPolicy>>();
  private readonly lastSent = new Map<string, number>();

  /** Every tracked policy, named `id` in the default bucket and `bucket/id` in others. */
  entries(): Array<[string, TrackedPolicy]> {
    const out: Array<[string, TrackedPolicy]> = [];
    for (const [bucket, policies] of this.buckets)
      for (const policy of policies.values())
        out.push([bucket === 'default' ? policy.id : `${bucket}/${policy.id}`, policy]);
    return out;
  }

  /** Merges a response's readings; returns the policies it touched, by name as `entries()` names them. */
  record(bucket: string, readings: readonly PolicyReading[], now: number): Array<[string, TrackedPolicy]> {
    let policies = this.buckets.get(bucket);
    if (policies === undefined) {
      policies = new Map();
      this.buckets.set(bucket, policies);
    }
    const touched: Array<[string, TrackedPolicy]> = [];
    for (const reading of readings) {
      let policy = policies.get(reading.id);
      if (policy === undefined) {
        policy = {
          id: reading.id,
          limit: undefined,
          remaining: undefined,
          resetAt: undefined,
          windowMs: undefined,
          peakUsed: 0,
          peakUtilisation: 0,
        };
        policies.set(reading.id, policy);
      }
      merge(policy, reading, now);
      touched.push([bucket === 'default' ? policy.id : `${bucket}/${policy.id}`, policy]);
    }
    return touched;
  }

  /** A request of the bucket leaves now: count it against what remains until the server says otherwise. */
  dispatched(bucket: string, now: number): void {
    this.lastSent.set(bucket, now);
    for (const policy of this.buckets.get(bucket)?.values() ?? []) {
      if (policy.remaining === undefined) continue;
      if (policy.resetAt !== undefined && now >= policy.resetAt) continue;
      policy.remaining = Math.max(0, policy.remaining - 1);
      notePeak(policy, now);
    }
  }

  /**
   * The earliest time the bucket's next request may leave so that the remaining quota of every
   * policy above the target is spread evenly until its reset (`timeUntilReset / remaining`).
   */
  gate(bucket: string, now: number, throttle: ThrottleOptions, maxWaitMs: number): number {
    const last = this.lastSent.get(bucket);
    const policies = this.buckets.get(bucket);
    if (policies === undefined) return now;
    let gate = now;
    for (const policy of policies.values()) {
      const { remaining, resetAt } = policy;
      if (remaining === undefined || resetAt === undefined || resetAt <= now) continue;
      if (utilisationOf(policy, now) <= throttle.target) continue;
      const untilReset = resetAt - now;
      // An exhausted policy holds requests until its reset, unless that is beyond any wait
      // the client accepts: then the server's refusal and its Retry-After decide.
      if (remaining <= 0) {
        if (untilReset <= maxWaitMs) gate = Math.max(gate, resetAt);
        continue;
      }
      // Capped here, from the last dispatch, so that the gate is a fixed time that sleeping reaches.
      const spacing = Math.min(maxWaitMs, Math.max(throttle.minSpacingMs, untilReset / remaining));
      if (last !== undefined) gate = Math.max(gate, last + spacing);
    }
    return gate;
  }
}

function merge(policy: TrackedPolicy, reading: PolicyReading, now: number): void {
  if (reading.limit !== undefined && reading.limit !== policy.limit) {
    // A new limit (another tier, another policy under the same name): start afresh.
    policy.limit = reading.limit;
    policy.remaining = undefined;
  }
  if (reading.windowMs !== undefined) policy.windowMs = reading.windowMs;
  if (reading.remaining !== undefined) {
    const sameWindow =
      policy.remaining !== undefined &&
      reading.resetAt !== undefined &&
      policy.resetAt !== undefined &&
      policy.resetAt > now &&
      Math.abs(reading.resetAt - policy.resetAt) < SAME_WINDOW_MS;
    // Answers to concurrent requests arrive out of order: within one window the lowest count is the latest.
    policy.remaining =
      sameWindow && policy.remaining !== undefined
        ? Math.min(policy.remaining, reading.remaining)
        : reading.remaining;
    if (reading.resetAt !== undefined && !sameWindow) policy.resetAt = reading.resetAt;
  } else if (reading.resetAt !== undefined) policy.resetAt = reading.resetAt;
  notePeak(policy, now);
}

function notePeak(policy: TrackedPolicy, now: number): void {
  if (policy.limit !== undefined && policy.remaining !== undefined)
    policy.peakUsed = Math.max(policy.peakUsed, policy.limit - policy.remaining);
  policy.peakUtilisation = Math.max(policy.peakUtilisation, utilisationOf(policy, now));
}
