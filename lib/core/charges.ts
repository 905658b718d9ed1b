import type { CounterSpec, CounterState, RefundSpec, Store } from '../stores/store.js';
import type { Decision } from './decision.js';

/**
 * What one store call charged, kept so that it can be refunded once: by the limiter whose
 * stacked middleware refused the same request later, or by `limiter.refund`.
 */
interface Charge {
  readonly store: Store;
  readonly counters: readonly CounterSpec[];
  /** Per counter, what a refund needs of its state: copied, since a store may reuse its answer. */
  readonly charged: readonly ChargedCounter[];
  refunded: boolean;
}

type ChargedCounter = Pick<CounterState, 'windowStart' | 'replayed' | 'key'>;

/**
 * A decision's charges ride on the decision under a symbol: any limiter can refund them, and
 * they go when the decision goes. A symbol keeps them out of JSON and of the documented shape.
 */
const CHARGES = Symbol('tollgate.charges');
type Charged = Decision & { [CHARGES]?: readonly Charge[] };

function chargesOf(decision: Decision): readonly Charge[] | undefined {
  return (decision as Charged)[CHARGES];
}

export function chargeOf(
  store: Store,
  counters: readonly CounterSpec[],
  states: readonly CounterState[],
): Charge {
  const charged = states.map(({ windowStart, replayed, key }) => ({ windowStart, replayed, key }));
  return { store, counters, charged, refunded: false };
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
    const state = charge.charged[i]!;
    if (state.replayed === true) return;
    // A counter the store charged elsewhere (its overflow counter) is no longer in its group.
    const key = state.key ?? counter.key;
    const group = state.key === undefined ? counter.group : undefined;
    refunds.push(
      counter.kind === 'window'
        ? { ...counter, key, group, windowStart: state.windowStart ?? 0 }
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
