import type { CounterState, Store, StoreCounterSpec, StoreRefundSpec } from '../stores/store.js';
import type { CompiledLimit } from './compile.js';
import type { Decision } from './decision.js';
import type { TollgateObserver } from './observer.js';

/**
 * What one store call charged, kept so that it can be refunded once: by the limiter whose
 * stacked middleware refused the same request later, or by `limiter.refund`. Its leases
 * (concurrency slots) are given back once as well, whichever comes first: that refund, or the
 * end of the response (core/release.ts).
 */
interface Charge {
  readonly store: Store;
  readonly counters: readonly StoreCounterSpec[];
  /** Per counter, the start of the window it was charged in (0 for a bucket or a lease). */
  readonly windowStarts: readonly number[];
  /**
   * What a refund needs of the states, copied (a store may reuse its answer) only when one of
   * them was replayed or charged at another key: a decision keeps this for its request's life.
   */
  readonly unusual: readonly ChargedCounter[] | undefined;
  /** The scope of each lease taken, for the observer; empty when the charge took none. */
  readonly leaseScopes: readonly string[];
  readonly observer: TollgateObserver | undefined;
  refunded: boolean;
  leasesReleased: boolean;
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

const NO_LEASES: readonly string[] = [];

/** What the observer is told about a charge: the limits behind its counters. */
export interface ChargeContext {
  readonly limits: readonly CompiledLimit[];
  readonly observer: TollgateObserver | undefined;
}

export function chargeOf(
  store: Store,
  counters: readonly StoreCounterSpec[],
  states: readonly CounterState[],
  context: ChargeContext,
): Charge {
  // One pass over the counters: a charge is made for every admitted request.
  let leaseScopes: string[] | undefined;
  let usual = true;
  const windowStarts = new Array<number>(states.length);
  for (let i = 0; i < states.length; i++) {
    const state = states[i]!;
    windowStarts[i] = state.windowStart ?? 0;
    if (state.replayed === true || state.key !== undefined) usual = false;
    if (counters[i]!.kind !== 'lease') continue;
    leaseScopes ??= [];
    leaseScopes.push(context.limits[i]?.scope ?? '');
  }
  const { observer } = context;
  const charge: Charge = {
    store,
    counters,
    windowStarts,
    unusual: usual
      ? undefined
      : states.map(({ windowStart, replayed, key }) => ({ windowStart, replayed, key })),
    leaseScopes: leaseScopes ?? NO_LEASES,
    observer,
    refunded: false,
    leasesReleased: false,
  };
  if (leaseScopes !== undefined) tellLeases(charge, 1);
  return charge;
}

export function attachCharges(decision: Decision, list: readonly Charge[]): void {
  (decision as Charged)[CHARGES] = list;
}

/**
 * What to give back for a charge: every counter it charged, at the key the store charged
 * (an overflow counter when the memory store was full), except a replayed idempotent counter,
 * which charged nothing (its refund would take back the original request's charge), and
 * leases already given back.
 */
function refundsOf(charge: Charge): StoreRefundSpec[] {
  const refunds: StoreRefundSpec[] = [];
  const releasing = !charge.leasesReleased;
  charge.counters.forEach((counter, i) => {
    const state = charge.unusual?.[i];
    if (state?.replayed === true) return;
    if (counter.kind === 'lease') {
      if (releasing) refunds.push({ ...counter, windowStart: undefined });
      return;
    }
    // A counter the store charged elsewhere (its overflow counter) is no longer in its group.
    const key = state?.key ?? counter.key;
    const group = state?.key === undefined ? counter.group : undefined;
    refunds.push(
      counter.kind === 'window'
        ? { ...counter, key, group, windowStart: charge.windowStarts[i]! }
        : { ...counter, key, group, windowStart: undefined },
    );
  });
  if (releasing) markReleased(charge);
  return refunds;
}

/**
 * Gives back every charge a decision carries that was not given back yet, each once: marked
 * before the store call, so that a second refund of the same charge gives nothing back.
 * Returns whether anything was given back.
 */
export async function refundCharges(decision: Decision): Promise<boolean> {
  let any = false;
  for (const charge of chargesOf(decision) ?? []) {
    if (charge.refunded) continue;
    charge.refunded = true;
    any = true;
    await charge.store.refund(refundsOf(charge));
  }
  return any;
}

/** Whether a decision holds leases (concurrency slots) not given back yet. */
export function holdsLeases(decision: Decision): boolean {
  return (
    chargesOf(decision)?.some((charge) => charge.leaseScopes.length > 0 && !charge.leasesReleased) === true
  );
}

/** Gives back a decision's leases, once, whatever else its charges took. */
export async function releaseLeases(decision: Decision): Promise<void> {
  for (const charge of chargesOf(decision) ?? []) {
    if (charge.leaseScopes.length === 0 || charge.leasesReleased) continue;
    markReleased(charge);
    const leases: StoreRefundSpec[] = [];
    for (const counter of charge.counters)
      if (counter.kind === 'lease') leases.push({ ...counter, windowStart: undefined });
    await charge.store.refund(leases);
  }
}

function markReleased(charge: Charge): void {
  if (charge.leasesReleased) return;
  charge.leasesReleased = true;
  tellLeases(charge, -1);
}

function tellLeases(charge: Charge, change: 1 | -1): void {
  const { observer } = charge;
  if (observer === undefined) return;
  try {
    for (const scope of charge.leaseScopes) observer.leases({ scope, change });
  } catch {}
}

/** Puts the charges of two stacked decisions on the decision that combines them. */
export function carryCharges(earlier: Decision, later: Decision, combined: Decision): void {
  const both = [...(chargesOf(earlier) ?? []), ...(chargesOf(later) ?? [])];
  if (both.length > 0) attachCharges(combined, both);
}
