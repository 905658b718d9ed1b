import { EPSILON_MS } from '../counter-state.js';
import { spanOf, windowStart } from '../periods.js';
import type { RefundSpec } from '../store.js';
import { type IdempotencyMarks, markerOf } from './marks.js';
import { type CounterRecord, windowNumber, windowOf } from './record.js';

/**
 * The memory store's refunds and settlement charges of a window or bucket counter, once its
 * record and slot are found: apart from the store so that it reads as its operations.
 */

/** Gives a refund back to the slot that holds its counter. */
export function giveBack(
  held: { record: CounterRecord; slot: number },
  refund: RefundSpec,
  marks: IdempotencyMarks,
  now: number,
): void {
  const { record, slot } = held;
  if (refund.kind === 'window') {
    const span = spanOf(refund);
    const window = windowOf(record, slot, span, now);
    // The window aimed at must be the one the slot holds: a slot of an ended window reads
    // as empty, and taking from it would bring its old count back.
    if (windowStart(span, window) !== refund.windowStart || record.window(slot) !== window) return;
    if (refund.idempotencyKey !== undefined) {
      // Only the refund that finds the mark gives anything back: refunds are idempotent.
      const marker = markerOf(refund.key, refund.idempotencyKey);
      if (!marks.take(span, window, marker)) return;
    }
    record.set(slot, Math.max(0, record.units(slot) - refund.cost), window);
    return;
  }
  const back = record.units(slot) - refund.cost * refund.intervalMs;
  // Refunded to within the tolerance of now, the bucket is full: what is left is the
  // rounding of a fractional interval (three refunds of 60 000 / 7 ms leave 0.00024 ms),
  // which would read as a unit short until it passed.
  record.set(slot, back > now + EPSILON_MS ? back : now, 0);
}

/**
 * What a settlement charge makes of a counter's slot (`record` undefined, or `slot` -1, when it
 * holds none yet): its units and window, or `undefined` when the window it aims at has ended.
 */
export function chargedSlot(
  record: CounterRecord | undefined,
  slot: number,
  charge: RefundSpec,
  now: number,
): { units: number; window: number } | undefined {
  if (charge.kind === 'window') {
    const span = spanOf(charge);
    const window = record === undefined ? windowNumber(now, span) : windowOf(record, slot, span, now);
    if (windowStart(span, window) !== charge.windowStart) return undefined;
    const used = record === undefined || record.window(slot) !== window ? 0 : record.units(slot);
    return { units: used + charge.cost, window };
  }
  const tat = Math.max(record === undefined ? now : record.units(slot), now);
  return { units: tat + charge.cost * charge.intervalMs, window: 0 };
}
