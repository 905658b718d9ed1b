import { recordSettlement, type WindowRefund } from '../spend/settlement.js';
import type { ConsumeResult, Store, StoreCounterSpec } from '../stores/store.js';
import { attachCharges, chargeOf } from './charges.js';
import { insuredPolicyState, policyState } from './counters.js';
import type { Decision, PolicyState } from './decision.js';
import type { Counted } from './pipeline.js';
import type { Plan } from './plan.js';

/** The decisions a pipeline ends in, and the hooks told of each. */

/** What a store call charged, and where: the limiter's store, or the insurance store. */
export interface StoreAnswer {
  readonly store: Store;
  readonly counters: readonly StoreCounterSpec[];
  readonly result: ConsumeResult;
  /** The limiter's store's error, when the insurance store answered instead. */
  readonly error?: unknown;
}

/** A refusal made before any store call: a missing key, an invalid cost. */
export interface EarlyRefusal {
  readonly status: number;
  readonly reason: string;
  /** The scope (or spending cap) whose code and name the refusal carries. */
  readonly owner: { readonly name: string; readonly code: string | number | undefined };
}

const EARLY_MESSAGES: Readonly<Record<string, string>> = {
  invalid_cost: 'The request cost must be a non-negative safe integer',
  cost_exceeds_cap: 'The request costs more than the whole spending cap of one of its periods',
  cost_exceeds_limit: 'The request costs more than a limit admits in a whole window',
  invalid_idempotency_key: 'The Idempotency-Key header must be 1 to 255 printable characters',
  invalid_key:
    'A value this request gives for a rate-limit key is nested too deeply or too large to be counted',
};

/** Tells the hooks of a decision, then returns it. */
export function finish<Raw>(counted: Counted<Raw>, decision: Decision): Decision {
  const { hooks, observer } = counted.plan;
  const { onDecision, onRefusal } = hooks;
  if (observer !== undefined) observe(counted.plan, decision);
  // A hook that throws must not turn a decision into a 500: hooks are for logs and metrics.
  try {
    onDecision?.(decision, counted.req);
  } catch {}
  if (!decision.allowed) {
    try {
      onRefusal?.(decision, counted.req);
    } catch {}
  }
  return decision;
}

/** What a request passed over by `skip` or the allow list decides: nothing, but an observer counts it. */
export function passedOver<Raw>(plan: Plan<Raw>): undefined {
  if (plan.observer !== undefined) observe(plan, undefined);
  return undefined;
}

function observe<Raw>(plan: Plan<Raw>, decision: Decision | undefined): void {
  // Like the hooks, an observer that throws must not turn a decision into a 500.
  try {
    plan.observer!.decided({ decision, failurePolicy: plan.failure.kind });
  } catch {}
}

export function refusedBefore<Raw>(counted: Counted<Raw>, refusal: EarlyRefusal): Decision {
  const { status, reason, owner } = refusal;
  return finish(counted, {
    ...unlimited(counted.plan),
    allowed: false,
    status,
    reason,
    scope: owner.name,
    code: owner.code,
    message: EARLY_MESSAGES[reason] ?? `This request has no ${owner.name} to be counted against`,
  });
}

/** The decision for a request no limit counted (every scope unlimited or skipped). */
export function unlimited<Raw>(plan: Plan<Raw>): Decision {
  return plan.summarise({ policies: [], at: plan.now(), cost: 0, storeError: undefined });
}

/**
 * The decision when the store could not answer: the configured failure policy. With the
 * insurance policy, the in-memory insurance store is charged shrunk counters.
 */
export function afterStoreFailure<Raw>(counted: Counted<Raw>, error: unknown): Decision {
  const { plan } = counted;
  const { failure } = plan;
  if (failure.kind === 'insurance') {
    const counters = counted.counters.map(failure.shrink);
    const result = failure.store.consume(counters);
    return concluded(counted, { store: failure.store, counters, result, error });
  }
  const open = failure.kind === 'open';
  return {
    ...plan.summarise({ policies: [], at: plan.now(), cost: counted.firstCost ?? 0, storeError: error }),
    allowed: open,
    status: open ? 200 : 503,
    reason: 'store_unavailable',
    message: open ? undefined : 'The rate-limit store is unavailable; please retry shortly',
  };
}

/** The decision from a store's answer; an admitted one carries its charges, to be refunded. */
export function concluded<Raw>(counted: Counted<Raw>, answer: StoreAnswer): Decision {
  const { plan, limits, spendAt } = counted;
  const { result, store, counters } = answer;
  const insured = store !== plan.store;
  plan.checkClock?.(result.now);
  const policies: PolicyState[] = limits.map((limit, i) =>
    insured && plan.failure.kind === 'insurance'
      ? insuredPolicyState(limit, result.counters[i]!, plan.failure, result.now)
      : policyState(limit, result.counters[i]!, result.now),
  );
  const decision = plan.summarise({
    policies,
    at: result.now,
    cost: counted.firstCost ?? 0,
    storeError: answer.error,
    policyField: insured ? undefined : fixedPolicyField(counted),
  });
  if (!result.admitted) return decision;
  attachCharges(decision, [chargeOf(store, counters, result.counters, { limits, observer: plan.observer })]);
  if (spendAt >= 0) reserveSpend(counted, answer, decision);
  return decision;
}

/** Records the spending cap's charge in each of its periods, to be settled after the response. */
function reserveSpend<Raw>(counted: Counted<Raw>, answer: StoreAnswer, decision: Decision): void {
  const { plan, spendAt } = counted;
  const cap = plan.spendCap!;
  const reserved: WindowRefund[] = [];
  for (let i = spendAt; i < spendAt + cap.periods.length; i++) {
    const spend = answer.counters[i];
    const spent = answer.result.counters[i];
    // A replayed period was charged by the original request: it is that request's to settle.
    if (spend?.kind !== 'window' || spent === undefined || spent.replayed === true) continue;
    // Settled where it was charged: the store's overflow counter, when it used one.
    reserved.push({ ...spend, key: spent.key ?? spend.key, windowStart: spent.windowStart ?? 0 });
  }
  if (reserved.length === 0) return;
  recordSettlement(decision, {
    store: answer.store,
    reserved,
    credits: reserved[0]!.cost,
    refundWhen: cap.refundWhen,
    cap: cap.name,
    observer: plan.observer,
  });
}

/** The precomputed `RateLimit-Policy`, when this request was counted by every scope. */
function fixedPolicyField<Raw>(counted: Counted<Raw>): string | undefined {
  const fixed = counted.plan.fixedPolicy;
  if (fixed === undefined) return undefined;
  const used = counted.counters.length;
  if (counted.spendAt < 0) return used === fixed.count ? fixed.field : undefined;
  return used === fixed.count + counted.plan.spendCap!.periods.length ? fixed.withCap : undefined;
}
