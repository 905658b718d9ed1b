import { windowEnded } from './record.js';

/** Marks of one window span (see periods.ts): per window number, the count charged under each marker. */
type MarksByWindow = Map<number, Map<string, number>>;

/** The marker of a charge under an idempotency key: the counter's key and that key. */
export function markerOf(key: string, idempotencyKey: string): string {
  return `\u0000idem:${key}:${idempotencyKey}`;
}

/**
 * The memory store's idempotency marks: the idempotency keys a window counter was charged
 * under, so that a retry is not charged again and only a refund that finds its mark gives
 * anything back. A mark belongs to the window its slot counts in, which a clock stepping back
 * can leave behind the clock's own, so marks are kept by window length, then window number, and
 * dropped whole when their window ends.
 */
export class IdempotencyMarks {
  private readonly byLength = new Map<number, MarksByWindow>();
  /** Marks held: the store counts them against its `maxKeys`. */
  size = 0;

  /** Whether a charge with `marker` (see `markerOf`) stands in window number `window`. */
  has(span: number, window: number, marker: string): boolean {
    const marks = this.byLength.get(span)?.get(window);
    return marks?.has(marker) === true;
  }

  /**
   * Records a charge with `marker` in window number `window`. Opening a window drops that
   * length's ended ones, so that marks need no sweep of their own between sweeps.
   */
  add(span: number, window: number, marker: string, now: number): void {
    let windows = this.byLength.get(span);
    if (windows === undefined) {
      windows = new Map();
      this.byLength.set(span, windows);
    }
    let marks = windows.get(window);
    if (marks === undefined) {
      this.dropEndedOf(windows, span, now);
      marks = new Map();
      windows.set(window, marks);
    }
    const before = marks.get(marker);
    if (before === undefined) this.size++;
    marks.set(marker, (before ?? 0) + 1);
  }

  /** Takes back one charge with `marker`; whether there was one to take. */
  take(span: number, window: number, marker: string): boolean {
    const marks = this.byLength.get(span)?.get(window);
    if (marks === undefined) return false;
    const before = marks.get(marker);
    if (before === undefined) return false;
    if (before > 1) marks.set(marker, before - 1);
    else {
      marks.delete(marker);
      this.size--;
    }
    return true;
  }

  /** Drops the marks of every window that has ended. */
  dropEnded(now: number): void {
    for (const [span, windows] of this.byLength) this.dropEndedOf(windows, span, now);
  }

  clear(): void {
    this.byLength.clear();
    this.size = 0;
  }

  private dropEndedOf(windows: MarksByWindow, span: number, now: number): void {
    for (const [window, marks] of windows) {
      if (!windowEnded(span, window, now)) continue;
      this.size -= marks.size;
      windows.delete(window);
    }
  }
}
