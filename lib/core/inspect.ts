import { TollgateError } from '../errors/errors.js';
import { spendCounter } from '../spend/cap.js';
import type { StoreCounterSpec } from '../stores/store.js';
import type { CompiledLimit, CompiledScope, CompiledTier } from './compile.js';
import { addCounters, policyState, spendLimit } from './counters.js';
import type { PolicyState } from './decision.js';
import type { Plan } from './plan.js';

/**
 * Support and tests: forget or read one key's counters without a request, with the key as the
 * application knows it. Both go through the store's `reset` and `peek`, so they work the same
 * on every store.
 */

/** Whose counters: a scope's, by the scope's name, or the spending cap's. */
export type CounterTarget =
  | { readonly scope: string; readonly key: string | number }
  | { readonly spendCap: true; readonly key: string | number };

/** `state`'s target: a scope with tiers needs the tier; a cap whose budget is a function, the budget. */
export type StateTarget =
  | { readonly scope: string; readonly key: string | number; readonly tier?: string }
  | {
      readonly spendCap: true;
      readonly key: string | number;
      /** One budget, or one per period in the order of `spendCap.budgets`. */
      readonly budget?: number | readonly number[];
    };

/** The counters of a target and the limit behind each: every tier's, when `tier` is not given. */
interface Counting {
  readonly counters: StoreCounterSpec[];
  readonly limits: CompiledLimit[];
}

/** Forgets every counter of the target: all windows, the burst bucket, every tier. */
export async function resetCounters<Raw>(plan: Plan<Raw>, target: CounterTarget): Promise<void> {
  const { counters } = countingOf(plan, target, undefined);
  if (counters.length === 0) return;
  await plan.store.reset(counters);
  // The counters the limiter keeps while its store is down go too, so nothing of the key survives.
  if (plan.failure.kind === 'insurance') plan.failure.store.reset(counters.map(plan.failure.shrink));
}

/** Each of the target's limits as a decision's `policies` show it, without charging anything. */
export async function readState<Raw>(plan: Plan<Raw>, target: StateTarget): Promise<PolicyState[]> {
  const { counters, limits } = countingOf(plan, target, 'tier' in target ? (target.tier ?? null) : null);
  if (counters.length === 0) return [];
  const result = await plan.store.peek(counters);
  return limits.map((limit, i) => policyState(limit, result.counters[i]!, result.now));
}

/**
 * The target's counters. `tier` is a tier's name, `null` for the one a scope without tiers
 * has, or `undefined` for every tier (a reset), with each counter once.
 */
function countingOf<Raw>(
  plan: Plan<Raw>,
  target: CounterTarget | StateTarget,
  tier: string | null | undefined,
): Counting {
  const counting: Counting = { counters: [], limits: [] };
  if ('spendCap' in target) {
    const cap = plan.spendCap;
    if (cap === undefined || plan.spendCapKey === undefined) throw unknown('This limiter has no spendCap');
    const given = 'budget' in target ? target.budget : undefined;
    const budgets = given === undefined ? cap.fixedBudgets : typeof given === 'number' ? [given] : given;
    // A reset forgets every period's count whatever the budgets; reading them needs the budgets.
    if ((budgets === undefined || budgets.length !== cap.periods.length) && tier !== undefined)
      throw new TypeError('state() needs a budget for each period when spendCap budgets are functions');
    const key = plan.spendCapKey(target.key);
    cap.periods.forEach((_period, i) => {
      const budget = budgets?.[i] ?? 1;
      counting.counters.push(spendCounter(cap, i, { key, budget, cost: 1, idempotencyKey: undefined }));
      counting.limits.push(spendLimit(cap, i, budget));
    });
    return counting;
  }
  const scope = plan.scopes.find((candidate) => candidate.name === target.scope);
  if (scope === undefined)
    throw unknown(
      `This limiter has no scope named ${JSON.stringify(target.scope)} (it has ${plan.scopes.map((s) => JSON.stringify(s.name)).join(', ') || 'none'})`,
    );
  const key = scope.normalise(target.key);
  for (const counted of tiersOf(scope, tier)) {
    if (counted.unlimited) continue;
    addCounters(counting, { namespace: scope.keyPrefix, key, tier: counted, cost: 1 });
  }
  return tier === undefined ? distinct(counting) : counting;
}

function tiersOf<Raw>(scope: CompiledScope<Raw>, tier: string | null | undefined): readonly CompiledTier[] {
  if (scope.only !== undefined) return [scope.only];
  if (tier === undefined) return [...scope.tiers!.values()];
  const named = tier === null ? undefined : scope.tiers!.get(tier);
  if (named === undefined)
    throw new TypeError(
      `Scope "${scope.name}" has tiers (${[...scope.tiers!.keys()].join(', ')}): state() needs one of them as \`tier\``,
    );
  return [named];
}

/** Tiers share a scope value's counters, one per window length and one bucket: each is reset once. */
function distinct(counting: Counting): Counting {
  const seen = new Set<string>();
  const kept: Counting = { counters: [], limits: [] };
  counting.counters.forEach((counter, i) => {
    if (seen.has(counter.key)) return;
    seen.add(counter.key);
    kept.counters.push(counter);
    kept.limits.push(counting.limits[i]!);
  });
  return kept;
}

function unknown(message: string): TollgateError {
  return new TollgateError('ERR_TOLLGATE_UNKNOWN_SCOPE', message);
}
