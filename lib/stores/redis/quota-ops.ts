import { bucketState, leaseState, windowState } from '../counter-state.js';
import { spanOf } from '../periods.js';
import type { ConsumeResult, CounterState, StoreCounterSpec, StoreRefundSpec } from '../store.js';
import { badReply, replyNumber } from './reply.js';

/**
 * The script's quota ops (lua/quotas.ts): their arguments and their replies. They serve the
 * counters the other ops do not know, calendar windows (a week, a month) and leases.
 */

/** Whether the quota ops count this counter: a calendar window or a lease. */
export function isQuotaCounter(counter: StoreCounterSpec | StoreRefundSpec): boolean {
  return counter.kind === 'lease' || (counter.kind === 'window' && counter.period !== undefined);
}

export type QuotaOp = 'q' | 'Q' | 'qr' | 'qa' | 'qx';

/** The script's arguments for a quota op: the op, the clock, then each counter's spec and extras. */
export function quotaArgs(
  op: QuotaOp,
  counters: readonly (StoreCounterSpec | StoreRefundSpec)[],
  clock: number | undefined,
): string[] {
  const args = [op, clock === undefined ? '' : String(clock)];
  const aimed = op === 'qr' || op === 'qa';
  for (const counter of counters) {
    if (counter.kind === 'lease') {
      args.push(`l${counter.leaseMs}:${counter.limit}:${counter.cost}`, counter.leaseId);
    } else if (counter.kind === 'bucket') {
      args.push(`b${counter.capacity}:${counter.intervalMs}:${counter.cost}`);
    } else {
      const idempotencyKey = counter.idempotencyKey;
      args.push(
        `${idempotencyKey === undefined ? 'w' : 'i'}${spanOf(counter)}:${counter.limit}:${counter.cost}`,
      );
      if (aimed) args.push(String((counter as { windowStart?: number }).windowStart));
      if (idempotencyKey !== undefined) args.push(idempotencyKey);
    }
  }
  return args;
}

/** The counters' states from the reply to `q` or `Q`, by the arithmetic the memory store uses. */
export function quotaResult(
  counters: readonly StoreCounterSpec[],
  reply: unknown,
  charging: boolean,
): ConsumeResult {
  if (!Array.isArray(reply) || reply.length < 2) throw badReply();
  const now = replyNumber(reply[1]);
  const admitted = replyNumber(reply[0]) === 1;
  const charge = admitted && charging;
  let at = 2;
  const next = () => {
    if (at >= reply.length) throw badReply();
    return replyNumber(reply[at++]);
  };
  const states: CounterState[] = counters.map((counter) => {
    const charged = charge && counter.cost > 0;
    if (counter.kind === 'bucket') return bucketState(counter, { tat: next(), charged, key: undefined }, now);
    if (counter.kind === 'lease') {
      const held = next();
      return leaseState(counter, { held, firstEnd: next(), lastEnd: next(), charged }, now);
    }
    const value = next();
    const windowStart = next();
    const replayed = value < 0;
    const used = replayed ? -1 - value : value;
    return windowState(
      counter,
      { used, windowStart, charged: charged && !replayed, replayed, key: undefined },
      now,
    );
  });
  if (at !== reply.length) throw badReply();
  return { admitted, now, counters: states };
}
