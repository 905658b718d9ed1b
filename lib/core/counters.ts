import { TollgateError } from '../errors/errors.js';
import type { CompiledSpendCap } from '../spend/cap.js';
import type { CounterGroup, CounterState, StoreCounterSpec } from '../stores/store.js';
import type { CompiledLimit, CompiledScope, CompiledTier } from './compile.js';
import type { PolicyState } from './decision.js';
import type { CompiledFailure } from './failure.js';
import { nextLeaseId } from './lease-ids.js';
import { policyItem } from './tiers.js';

/**
 * Between the compiled limits and the `Store` contract: a scope value's limits become the
 * counters the store is handed, and the states it answers become the decision's `PolicyState`s.
 */

/** One scope value's counting: its limits in `tier`, each charged `cost`. */
export interface ScopeCount {
  /** The scope's key prefix, e.g. `tg:ip:`. */
  readonly namespace: string;
  /** The scope value, store-safe. */
  readonly key: string;
  readonly tier: CompiledTier;
  readonly cost: number;
}

/**
 * Adds the counters of one scope value, with the limit behind each. They share a group, so
 * that a store can find all of them with one lookup.
 */
export function addCounters(
  counted: { readonly counters: StoreCounterSpec[]; readonly limits: CompiledLimit[] },
  count: ScopeCount,
): void {
  const { namespace, key, tier, cost } = count;
  const group: CounterGroup = { namespace, value: key };
  const groupKey = namespace + key;
  for (const limit of tier.limits) {
    counted.counters.push(
      limit.kind === 'window'
        ? {
            kind: 'window',
            key: groupKey + limit.keySuffix,
            group,
            windowMs: limit.windowMs,
            limit: limit.max,
            cost,
          }
        : limit.kind === 'bucket'
          ? {
              kind: 'bucket',
              key: groupKey + limit.keySuffix,
              group,
              capacity: limit.max,
              intervalMs: limit.intervalMs,
              cost,
            }
          : leaseCounter(groupKey + limit.keySuffix, limit),
    );
    counted.limits.push(limit);
  }
}

/** A concurrency limit's counter: one slot per request, whatever the request weighs. */
function leaseCounter(key: string, limit: CompiledLimit): StoreCounterSpec {
  return { kind: 'lease', key, limit: limit.max, cost: 1, leaseId: nextLeaseId(), leaseMs: limit.windowMs };
}

/** A limit's state after the store call. */
export function policyState(limit: CompiledLimit, state: CounterState, now: number): PolicyState {
  if (limit.kind === 'lease') return leasePolicyState(limit, state, now);
  if (limit.period === 'month') return monthPolicyState(limit, state);
  return basePolicyState(limit, state);
}

/**
 * A concurrency limit's state. A refusal's retry is a short fixed hint, unless a lease held
 * ends by itself sooner: a slot frees when a request ends, which no one can foresee.
 */
function leasePolicyState(limit: CompiledLimit, state: CounterState, now: number): PolicyState {
  const retryAt = state.allowed ? state.retryAt : Math.min(state.retryAt, now + limit.retryHintMs!);
  return { ...basePolicyState(limit, state), windowMs: 0, retryAt, resetAt: Math.max(retryAt, now) };
}

/** A monthly limit's state: its window, and so its `RateLimit-Policy` item, is this month's. */
function monthPolicyState(limit: CompiledLimit, state: CounterState): PolicyState {
  const windowMs = state.resetAt - (state.windowStart ?? state.resetAt - limit.windowMs);
  return { ...basePolicyState(limit, state), windowMs, policy: policyItem(limit.id, limit.max, windowMs) };
}

function basePolicyState(limit: CompiledLimit, state: CounterState): PolicyState {
  return {
    id: limit.id,
    scope: limit.scope,
    name: limit.name,
    kind: limit.kind,
    unit: limit.unit,
    tier: limit.tier,
    limit: limit.max,
    remaining: state.remaining,
    resetAt: state.resetAt,
    windowMs: limit.spanMs,
    allowed: state.allowed,
    retryAt: state.retryAt,
    policy: limit.policy,
    pinned: limit.pinned,
  };
}

/**
 * A limit's state as the insurance store counted it: each of `divisor` instances holds its
 * share of the limit, and its buckets refill `divisor` times slower.
 */
export function insuredPolicyState(
  limit: CompiledLimit,
  state: CounterState,
  insurance: Extract<CompiledFailure, { kind: 'insurance' }>,
  now: number,
): PolicyState {
  const max = insurance.shrinkMax(limit.max);
  if (limit.kind === 'lease') return { ...policyState(limit, state, now), limit: max };
  const spanMs = limit.kind === 'window' ? limit.windowMs : max * limit.intervalMs * insurance.divisor;
  return {
    ...policyState(limit, state, now),
    limit: max,
    windowMs: Math.ceil(spanMs),
    policy: policyItem(limit.id, max, spanMs),
  };
}

/** One period of the spending cap as the limit behind its counter: its max is the request's budget. */
export function spendLimit<Raw>(cap: CompiledSpendCap<Raw>, index: number, budget: number): CompiledLimit {
  const period = cap.periods[index]!;
  return {
    id: period.id,
    scope: cap.name,
    tier: undefined,
    unit: 'credits',
    name: period.name,
    kind: 'window',
    max: budget,
    windowMs: period.windowMs,
    period: period.calendar,
    intervalMs: 0,
    spanMs: period.windowMs,
    keySuffix: '',
    policy: period.calendar === 'month' ? '' : policyItem(period.id, budget, period.windowMs),
    pinned: false,
  };
}

export function tierNamed<Raw>(scope: CompiledScope<Raw>, name: string): CompiledTier {
  const tier = scope.tiers!.get(name);
  if (tier === undefined) {
    throw new TollgateError(
      'ERR_TOLLGATE_UNKNOWN_TIER',
      `The tier resolver of scope "${scope.name}" returned ${JSON.stringify(name)}, which is not one of its tiers (${[...scope.tiers!.keys()].join(', ')})`,
    );
  }
  return tier;
}
