import type { StoreCounterSpec } from '../store.js';
import { sameOverflow } from './overflow.js';
import type { CounterRecord } from './record.js';

/** A counter's flags: it went to its overflow counter; its charge is a replay. */
export const OVERFLOWING = 1;
export const REPLAYED = 2;

/**
 * What the first pass of a consume or peek leaves for the second, one entry per counter. The
 * store keeps one and reuses it, since those calls are synchronous and never re-entered; grown
 * when a call brings more counters. Numbers are kept in typed arrays, unboxed.
 */
export class Scratch {
  /** The record holding the counter's slot, if any. */
  records: (CounterRecord | undefined)[] = [];
  /** The slot in that record, or -1 when it has none yet. */
  slots = new Int32Array(0);
  /** The window number counted in (window counters). */
  windows = new Float64Array(0);
  /** Units used before the call (windows), or the arrival time to charge from (buckets). */
  before = new Float64Array(0);
  flags = new Uint8Array(0);

  /** Makes room for `count` counters. */
  fit(count: number): void {
    if (count <= this.slots.length) return;
    const size = Math.max(count, 2 * this.slots.length, 16);
    this.records = new Array(size).fill(undefined);
    this.slots = new Int32Array(size);
    this.windows = new Float64Array(size);
    this.before = new Float64Array(size);
    this.flags = new Uint8Array(size);
  }

  /**
   * What the counters before `i` in this call, charged to the same overflow counter, will add
   * to it: units for windows, costs for a bucket (the caller scales them by its interval).
   */
  chargedBefore(counters: readonly StoreCounterSpec[], i: number): number {
    const counter = counters[i]!;
    let units = 0;
    for (let j = 0; j < i; j++) {
      const other = counters[j]!;
      if (other.kind === 'lease' || counter.kind === 'lease') continue;
      // A replay is not charged, so only the counters flagged OVERFLOWING alone count.
      if (this.flags[j] === OVERFLOWING && sameOverflow(counter, other)) units += other.cost;
    }
    return units;
  }
}
