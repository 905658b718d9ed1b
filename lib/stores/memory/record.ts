import { spanOf, windowEnd, windowIndex } from '../periods.js';
import type { BucketCounterSpec, WindowCounterSpec } from '../store.js';

/**
 * The memory store's record: the counters of one scope value in one object, found with one Map
 * lookup and changed in place. Apart from the store so that the store reads as its operations,
 * and the record as its layout.
 */

/** What `find` is asked for a bucket, which has no window length. */
export const BUCKET = -1;
/** The length of a slot not in use. */
const EMPTY = 0;

/**
 * The length a counter's slot is found by: its window's span (see periods.ts: the window's
 * length, or a calendar period's negative code), or `BUCKET`.
 */
export function lengthOf(counter: WindowCounterSpec | BucketCounterSpec): number {
  return counter.kind === 'window' ? spanOf(counter) : BUCKET;
}

/** Window numbers count windows of one span since the epoch (see periods.ts). */
export function windowNumber(now: number, span: number): number {
  return windowIndex(span, now);
}

/** Whether window number `window` of `span` has ended at `now`. */
export function windowEnded(span: number, window: number, now: number): boolean {
  return span > 0 ? (window + 1) * span <= now : windowEnd(span, window) <= now;
}

/**
 * `value` as an integer when it is whole, even when it was read from a typed array: so that
 * the window fields hold plain numbers rather than a boxed one each, and a record stays small.
 */
function small(value: number): number {
  const int = value | 0;
  return int === value ? int : value;
}

interface Slot {
  length: number;
  units: number;
  window: number;
}

/** The slot index of a record's bucket, which has a field of its own. */
const BUCKET_SLOT = 2;
/** The slot index of the first window in `more`. */
const FIRST_MORE = 3;

/**
 * The counters of one group (a scope value: see `CounterSpec.group`), or of one key when the
 * caller gives no group, found with one Map lookup and changed in place. A window's slot is
 * told apart by its length: `units` were used in window number `window`, and a slot of an
 * earlier window reads as empty. Two windows are fields of the record and any others are in
 * `more`, so that a lookup visits one object per scope value; two rather than three, since a
 * field makes every record larger whether its scope uses it or not.
 *
 * A group has at most one bucket (see `CounterSpec.group`), and it has a field of its own,
 * `tat`: its theoretical arrival time is no integer, and kept in the windows' fields it would
 * make them hold boxed numbers (see `small`).
 */
export class CounterRecord {
  length0 = EMPTY;
  units0 = 0;
  window0 = 0;
  length1 = EMPTY;
  units1 = 0;
  window1 = 0;
  /** The bucket's theoretical arrival time; NaN when the record holds no bucket. */
  tat = Number.NaN;
  more: Slot[] | undefined = undefined;
  /**
   * Whether every slot is empty again: its window over, the bucket full. Worked out from the
   * slots when a sweep asks, rather than kept in a field that each charge would update.
   */
  expired(now: number): boolean {
    if (this.length0 !== EMPTY && !windowEnded(this.length0, this.window0, now)) return false;
    if (this.length1 !== EMPTY && !windowEnded(this.length1, this.window1, now)) return false;
    // NaN, no bucket, compares false.
    if (this.tat > now) return false;
    const more = this.more;
    if (more !== undefined)
      for (const slot of more) if (!windowEnded(slot.length, slot.window, now)) return false;
    return true;
  }

  find(length: number): number {
    if (length === BUCKET) return Number.isNaN(this.tat) ? -1 : BUCKET_SLOT;
    if (this.length0 === length) return 0;
    if (this.length1 === length) return 1;
    const more = this.more;
    if (more !== undefined)
      for (let i = 0; i < more.length; i++) if (more[i]!.length === length) return i + FIRST_MORE;
    return -1;
  }

  units(slot: number): number {
    return slot === 0
      ? this.units0
      : slot === 1
        ? this.units1
        : slot === BUCKET_SLOT
          ? this.tat
          : this.more![slot - FIRST_MORE]!.units;
  }

  window(slot: number): number {
    return slot === 0
      ? this.window0
      : slot === 1
        ? this.window1
        : slot === BUCKET_SLOT
          ? 0
          : this.more![slot - FIRST_MORE]!.window;
  }

  set(slot: number, units: number, window: number): void {
    if (slot === 0) {
      this.units0 = small(units);
      this.window0 = small(window);
    } else if (slot === 1) {
      this.units1 = small(units);
      this.window1 = small(window);
    } else if (slot === BUCKET_SLOT) this.tat = units;
    else {
      const extra = this.more![slot - FIRST_MORE]!;
      extra.units = small(units);
      extra.window = small(window);
    }
  }

  /** Opens a slot for a counter of this length; returns its index. */
  open(length: number): number {
    if (length === BUCKET) {
      this.tat = 0;
      return BUCKET_SLOT;
    }
    if (this.length0 === EMPTY) {
      this.length0 = length;
      return 0;
    }
    if (this.length1 === EMPTY) {
      this.length1 = length;
      return 1;
    }
    this.more ??= [];
    this.more.push({ length, units: 0, window: 0 });
    return this.more.length + FIRST_MORE - 1;
  }

  get slots(): number {
    return (
      (this.length0 === EMPTY ? 0 : 1) +
      (this.length1 === EMPTY ? 0 : 1) +
      (Number.isNaN(this.tat) ? 0 : 1) +
      (this.more?.length ?? 0)
    );
  }
}

/** The window a held slot counts in now: the current one, or a later one it already reached. */
export function windowOf(record: CounterRecord, slot: number, span: number, now: number): number {
  return Math.max(windowNumber(now, span), record.window(slot));
}
