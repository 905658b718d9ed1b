import type { ServerResponse } from 'node:http';
import type { Decision } from '../core/decision.js';
import type { TollgateObserver } from '../core/observer.js';
import type { RequestInfo } from '../core/request.js';
import type { RefundSpec, Store } from '../stores/store.js';

/** Settlement: what happens to a spending cap's reserved charge once the response is known. */

/** A window counter's charge, aimed at the window it was charged in. */
export type WindowRefund = RefundSpec & { kind: 'window' };

interface Settlement {
  readonly store: Store;
  /** One charge per period of the cap that charged the request (a replayed one charged nothing). */
  readonly reserved: readonly WindowRefund[];
  /** The credits each period was charged: the request's estimated cost. */
  readonly credits: number;
  readonly refundWhen: (status: number, req: never) => boolean;
  readonly cap: string;
  readonly observer: TollgateObserver | undefined;
  actualCost: number | undefined;
  settled: boolean;
}

/** A decision's settlement rides on it under a symbol, as its charges do (core/charges.ts). */
const SETTLEMENT = Symbol('tollgate.settlement');
type Settled = Decision & { [SETTLEMENT]?: Settlement };

const settlements = {
  get: (decision: Decision): Settlement | undefined => (decision as Settled)[SETTLEMENT],
  set: (decision: Decision, settlement: Settlement): void => {
    (decision as Settled)[SETTLEMENT] = settlement;
  },
  has: (decision: Decision): boolean => (decision as Settled)[SETTLEMENT] !== undefined,
};

/** A spending cap's charge as a decision reserved it. */
export interface Reservation<Raw> {
  readonly store: Store;
  readonly reserved: readonly WindowRefund[];
  readonly credits: number;
  readonly refundWhen: (status: number, req: RequestInfo<Raw>) => boolean;
  /** The cap's name, for the observer. */
  readonly cap: string;
  readonly observer: TollgateObserver | undefined;
}

export function recordSettlement<Raw>(decision: Decision, reservation: Reservation<Raw>): void {
  const { store, reserved, credits, cap, observer } = reservation;
  settlements.set(decision, {
    store,
    reserved,
    credits,
    refundWhen: reservation.refundWhen as Settlement['refundWhen'],
    cap,
    observer,
    actualCost: undefined,
    settled: false,
  });
  tell(observer, { cap, kind: 'reserved', credits });
}

/** Tells the observer of credits moving; an observer that throws changes nothing here. */
function tell(observer: TollgateObserver | undefined, event: Parameters<TollgateObserver['spend']>[0]): void {
  if (observer === undefined || event.credits === 0) return;
  try {
    observer.spend(event);
  } catch {}
}

export function carrySettlement(from: Decision, to: Decision): void {
  const settlement = settlements.get(from);
  if (settlement !== undefined) settlements.set(to, settlement);
}

/** Marks a decision's spend charge as settled: it was refunded whole by `limiter.refund`. */
export function cancelSettlement(decision: Decision): void {
  const settlement = settlements.get(decision);
  if (settlement === undefined || settlement.settled) return;
  settlement.settled = true;
  tell(settlement.observer, { cap: settlement.cap, kind: 'refunded', credits: settlement.credits });
}

export function hasSettlement(decision: Decision): boolean {
  return settlements.has(decision);
}

/**
 * Settles a decision's spend charge when its Node response is done, for every adapter: on
 * `finish` with the final status; on a `close` without finish (the client hung up) with the
 * work reported so far, but never a refund, since there is no final status to judge by.
 */
export function settleWhenDone<Raw>(
  res: ServerResponse,
  decision: Decision,
  req: RequestInfo<Raw>,
  onError: (error: unknown, req: RequestInfo<Raw>) => void,
): void {
  if (!hasSettlement(decision)) return;
  const report = (error: unknown) => onError(error, req);
  res.once('finish', () => {
    settle(decision, res.statusCode, req).catch(report);
  });
  res.once('close', () => {
    if (!res.writableFinished) settle(decision, res.statusCode, req, false).catch(report);
  });
}

/**
 * Records what the request really cost (e.g. LLM tokens), to be settled when the response
 * finishes: the difference from the reserved estimate is refunded or charged then.
 */
export function reportActualCost(decision: Decision, credits: number): void {
  if (!Number.isSafeInteger(credits) || credits < 0)
    throw new TypeError(`The actual cost must be a non-negative safe integer, got ${String(credits)}`);
  // No reservation (the cap skipped the request, replayed it, or the store was down and failed
  // open): there is nothing to adjust, and the handler's work must not fail for it.
  const settlement = settlements.get(decision);
  if (settlement !== undefined) settlement.actualCost = credits;
}

/**
 * Settles a reserved charge once the response status is known, exactly once per decision:
 * a failed response (by `refundWhen`) gets the whole reservation back; otherwise a reported
 * actual cost refunds or charges the difference from the estimate.
 */
export async function settle<Raw>(
  decision: Decision,
  status: number,
  req: RequestInfo<Raw>,
  finished = true,
): Promise<void> {
  const settlement = settlements.get(decision);
  if (settlement === undefined || settlement.settled) return;
  settlement.settled = true;
  const { store, reserved, credits, cap, observer } = settlement;
  // A response cut short by the client has no final status to judge a refund by; the work
  // reported so far is still settled.
  if (
    finished &&
    (settlement.refundWhen as (status: number, req: RequestInfo<Raw>) => boolean)(status, req)
  ) {
    await store.refund(reserved);
    tell(observer, { cap, kind: 'refunded', credits });
    try {
      observer?.refunded({ cause: 'failed_response' });
    } catch {}
    return;
  }
  const actual = settlement.actualCost ?? credits;
  if (actual !== credits) {
    // The idempotency marks stay with the charges; only the amounts move, in every period.
    const moved = reserved.map(({ idempotencyKey: _mark, ...counter }) => ({
      ...counter,
      cost: Math.abs(credits - actual),
    }));
    if (actual < credits) await store.refund(moved);
    else await store.charge(moved);
  }
  if (actual < credits) tell(observer, { cap, kind: 'refunded', credits: credits - actual });
  tell(observer, { cap, kind: 'settled', credits: actual });
}
