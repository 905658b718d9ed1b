import { type CompiledSpendCap, idempotencyKeyOf, resolveBudgets, spendCounter } from '../spend/cap.js';
import type { ConsumeContext, ConsumeResult, StoreCounterSpec } from '../stores/store.js';
import type { CompiledLimit, CompiledScope, CompiledTier } from './compile.js';
import { addCounters, spendLimit, tierNamed } from './counters.js';
import type { Decision } from './decision.js';
import { KEYLESS, type KeyValue } from './keys.js';
import { isPromiseLike, type MaybePromise, resume } from './maybe-promise.js';
import { afterStoreFailure, concluded, finish, passedOver, refusedBefore, unlimited } from './outcomes.js';
import type { Plan } from './plan.js';
import type { RequestInfo } from './request.js';

/**
 * One request's way through a plan: skip and allow list → each scope's key, tier and cost →
 * the spending cap → one store call → the decision. Each stage is a function of the request's
 * draft and the answer the stage before waited for; `resume` calls the next stage at once for
 * a plain answer and once it settles for a promise, so the pipeline stays synchronous until
 * something answers with a promise, and each of the application's functions is called once.
 */

/** What the stages have gathered so far: the counters and the limit behind each. */
export interface Counted<Raw> {
  readonly plan: Plan<Raw>;
  readonly req: RequestInfo<Raw>;
  readonly counters: StoreCounterSpec[];
  readonly limits: CompiledLimit[];
  /** The cost of the first limit counted: the decision's `cost`. */
  firstCost: number | undefined;
  /** Where the spending cap's counters (one per period) start, or -1. */
  spendAt: number;
}

interface Draft<Raw> extends Counted<Raw>, ConsumeContext {
  /** The scope being resolved, by index. */
  scope: number;
  key: string;
  tier: CompiledTier | undefined;
  /** The spending cap's budget in each of its periods. */
  budgets: readonly number[];
}

type Outcome = MaybePromise<Decision | undefined>;

const NO_BUDGETS: readonly number[] = [];

/** Decides a request: synchronously when nothing it runs answers with a promise. */
export function decide<Raw>(plan: Plan<Raw>, req: RequestInfo<Raw>): Outcome {
  const draft: Draft<Raw> = {
    plan,
    req,
    counters: [],
    limits: [],
    firstCost: undefined,
    spendAt: -1,
    scope: 0,
    key: '',
    tier: undefined,
    budgets: NO_BUDGETS,
    report: reportToOnError,
  };
  if (plan.skip === undefined) return afterSkip(draft, false);
  return resume(plan.skip(req), draft, afterSkip);
}

function afterSkip<Raw>(draft: Draft<Raw>, skipped: boolean): Outcome {
  if (skipped) return passedOver(draft.plan);
  const { allowListed } = draft.plan;
  if (allowListed?.(draft.req.ip)) return passedOver(draft.plan);
  return nextScope(draft);
}

function nextScope<Raw>(draft: Draft<Raw>): Outcome {
  const scope = draft.plan.scopes[draft.scope];
  if (scope === undefined) return spendCapStage(draft);
  return resume(scope.keyOf(draft.req), draft, withKey);
}

function skipScope<Raw>(draft: Draft<Raw>): Outcome {
  draft.scope++;
  return nextScope(draft);
}

function currentScope<Raw>(draft: Draft<Raw>): CompiledScope<Raw> {
  return draft.plan.scopes[draft.scope]!;
}

function withKey<Raw>(draft: Draft<Raw>, key: KeyValue): Outcome {
  const scope = currentScope(draft);
  if (key === false) return refusedBefore(draft, { status: 400, reason: 'invalid_key', owner: scope });
  if (key === undefined) {
    scope.explainMissing?.(draft.req);
    if (scope.onMissing === 'skip') return skipScope(draft);
    if (scope.onMissing === 'refuse')
      return refusedBefore(draft, {
        status: scope.missingStatus,
        reason: `${scope.name}_missing`,
        owner: scope,
      });
  }
  draft.key = key ?? KEYLESS;
  if (scope.only !== undefined) return withTier(draft, scope.only);
  return resume(scope.tierOf!(draft.req), draft, withTierName);
}

function withTierName<Raw>(draft: Draft<Raw>, name: string): Outcome {
  return withTier(draft, tierNamed(currentScope(draft), name));
}

function withTier<Raw>(draft: Draft<Raw>, tier: CompiledTier): Outcome {
  if (tier.unlimited) return skipScope(draft);
  draft.tier = tier;
  const cost = currentScope(draft).cost;
  return typeof cost === 'number' ? withCost(draft, cost) : resume(cost(draft.req), draft, withCost);
}

function withCost<Raw>(draft: Draft<Raw>, cost: number | undefined): Outcome {
  const scope = currentScope(draft);
  if (cost === undefined) return refusedBefore(draft, { status: 400, reason: 'invalid_cost', owner: scope });
  // A cost above a limit's whole capacity could never be admitted: no Retry-After would hold.
  if (cost > draft.tier!.maxCost)
    return refusedBefore(draft, { status: 400, reason: 'cost_exceeds_limit', owner: scope });
  draft.firstCost ??= cost;
  addCounters(draft, { namespace: scope.keyPrefix, key: draft.key, tier: draft.tier!, cost });
  return skipScope(draft);
}

function spendCapStage<Raw>(draft: Draft<Raw>): Outcome {
  const cap = draft.plan.spendCap;
  if (cap === undefined) return consume(draft);
  return resume(cap.keyOf(draft.req), draft, withSpendKey);
}

function withSpendKey<Raw>(draft: Draft<Raw>, key: KeyValue): Outcome {
  const cap = draft.plan.spendCap!;
  if (key === false) return refusedBefore(draft, { status: 400, reason: 'invalid_key', owner: cap });
  if (key === undefined) {
    if (cap.onMissing === 'skip') return consume(draft);
    return refusedBefore(draft, { status: 401, reason: `${cap.name}_missing`, owner: cap });
  }
  draft.key = key;
  return resume(resolveBudgets(cap, draft.req), draft, withBudgets);
}

function withBudgets<Raw>(draft: Draft<Raw>, budgets: readonly number[]): Outcome {
  draft.budgets = budgets;
  return resume(draft.plan.spendCap!.costOf(draft.req), draft, withSpendCost);
}

function withSpendCost<Raw>(draft: Draft<Raw>, cost: number | undefined): Outcome {
  const cap: CompiledSpendCap<Raw> = draft.plan.spendCap!;
  if (cost === undefined) return refusedBefore(draft, { status: 400, reason: 'invalid_cost', owner: cap });
  const { budgets } = draft;
  // A cost above a period's whole budget could never be admitted: no Retry-After would hold.
  if (budgets.some((budget) => cost > budget))
    return refusedBefore(draft, { status: 400, reason: 'cost_exceeds_cap', owner: cap });
  const idempotencyKey = idempotencyKeyOf(cap, draft.req);
  if (idempotencyKey === false)
    return refusedBefore(draft, { status: 400, reason: 'invalid_idempotency_key', owner: cap });
  draft.firstCost ??= cost;
  draft.spendAt = draft.counters.length;
  for (let i = 0; i < budgets.length; i++) {
    const budget = budgets[i]!;
    draft.counters.push(spendCounter(cap, i, { key: draft.key, budget, cost, idempotencyKey }));
    draft.limits.push(spendLimit(cap, i, budget));
  }
  return consume(draft);
}

/** The one store call: its promise, when it answers with one, is the last thing waited for. */
function consume<Raw>(draft: Draft<Raw>): Outcome {
  const { plan } = draft;
  if (draft.counters.length === 0) return finish(draft, unlimited(plan));
  let pending: MaybePromise<ConsumeResult>;
  try {
    pending = plan.store.consume(draft.counters, draft);
  } catch (error) {
    return finish(draft, afterStoreFailure(draft, error));
  }
  if (isPromiseLike(pending))
    return Promise.resolve(pending).then(
      (result) => finish(draft, concluded(draft, { store: plan.store, counters: draft.counters, result })),
      (error: unknown) => finish(draft, afterStoreFailure(draft, error)),
    );
  return finish(draft, concluded(draft, { store: plan.store, counters: draft.counters, result: pending }));
}

/**
 * The draft is the store's `ConsumeContext`: what a store reports (a refund it could not
 * deliver, issue 23) goes to the `onError` hook with the request, or, without a hook, to a
 * process warning, so that it is never lost in silence.
 */
function reportToOnError<Raw>(this: Draft<Raw>, error: Error): void {
  const { onError } = this.plan.hooks;
  if (onError === undefined) {
    process.emitWarning(error);
    return;
  }
  try {
    onError(error, this.req);
  } catch {}
}
