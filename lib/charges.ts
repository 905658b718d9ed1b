import type { Decision } from './decision.js';
import type { CounterSpec, CounterState, RefundSpec, Store } from './store.js';

/**
 * What one store call charged, kept so that it can be refunded, once. It rides on the decision
 * for the request's whole life, so it keeps only what a refund needs: the counters, and from
 * their states the window each was charged in. The states themselves (a third of what a
 * decision allocated) are kept only when one of them says something rarer: a replay, or a
 * charge at another key. Each scavenge copies what in-flight requests hold, so what a decision
 * keeps costs far more than what it drops.
 */
interface Charge {
  readonly store: Store;
  readonly counters: readonly CounterSpec[];
  /** Per counter, the start of the window it was charged in (0 for a bucket). */
  readonly windowStarts: readonly number[];
  /** The states, when one of them was replayed or charged at another key. */
  readonly unusual: readonly CounterState[] | undefined;
  refunded: boolean;
}

export function chargeOf(
  store: Store,
  counters: readonly CounterSpec[],
  states: readonly CounterState[],
): Charge {
  const windowStarts: number[] = new Array(states.length);
  let usual = true;
  for (let i = 0; i < states.length; i++) {
    const state = states[i]!;
    windowStarts[i] = state.windowStart ?? 0;
    if (state.replayed === true || state.key !== undefined) usual = false;
  }
  return { store, counters, windowStarts, unusual: usual ? undefined : states, refunded: false };
}

/**
 * A decision's charges ride on the decision under a symbol, so that any limiter can refund
 * them: a limiter that refuses a request refunds what the limiters mounted before it charged.
 * (A WeakMap side table did the same job, but its ephemerons cost a third of the run time in
 * garbage collection at hundreds of thousands of decisions a second.) Registered, so that a
 * second copy of tollgate in the process (its other build) refunds them too; the version in
 * its name changes with the shape of `Charge`, so that copies that would misread each other's
 * charges do not see them.
 */
const CHARGES = Symbol.for('tollgate.charges/2');
type Charged = Decision & { [CHARGES]?: readonly Charge[] };

function chargesOf(decision: Decision): readonly Charge[] | undefined {
  return (decision as Charged)[CHARGES];
}

export function attachCharges(decision: Decision, list: readonly Charge[]): void {
  (decision as Charged)[CHARGES] = list;
}

/**
 * What to give back for a charge: every counter it charged, at the key the store charged
 * (an overflow counter when the memory store was full), except a replayed idempotent counter,
 * which charged nothing (its refund would take back the original request's charge).
 */
function refundsOf(charge: Charge): RefundSpec[] {
  const refunds: RefundSpec[] = [];
  charge.counters.forEach((counter, i) => {
    const state = charge.unusual?.[i];
    if (state?.replayed === true) return;
    // A counter the store charged elsewhere (its overflow counter) is no longer in its group.
    const elsewhere = state?.key;
    const key = elsewhere ?? counter.key;
    const group = elsewhere === undefined ? counter.group : undefined;
    refunds.push(
      counter.kind === 'window'
        ? { ...counter, key, group, windowStart: charge.windowStarts[i]! }
        : { ...counter, key, group, windowStart: undefined },
    );
  });
  return refunds;
}

/**
 * Gives back every charge a decision carries that was not given back yet, each once: marked
 * before the store call, so that a second refund of the same charge gives nothing back.
 */
export async function refundCharges(decision: Decision): Promise<void> {
  for (const charge of chargesOf(decision) ?? []) {
    if (charge.refunded) continue;
    charge.refunded = true;
    await charge.store.refund(refundsOf(charge));
  }
}

/** Puts the charges of two stacked decisions on the decision that combines them. */
export function carryCharges(earlier: Decision, later: Decision, combined: Decision): void {
  const both = [...(chargesOf(earlier) ?? []), ...(chargesOf(later) ?? [])];
  if (both.length > 0) attachCharges(combined, both);
}
