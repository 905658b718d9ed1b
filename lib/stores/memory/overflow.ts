import { spanOf } from '../periods.js';
import type { BucketCounterSpec, WindowCounterSpec } from '../store.js';

type Counted = WindowCounterSpec | BucketCounterSpec;

/**
 * Overflow counters: once the store holds `maxKeys`, a counter it has never seen shares one
 * counter with every other newcomer of the same limit, held under a key of its own.
 */

/** The start of every overflow counter's key. No limiter key starts with a NUL. */
const OVERFLOW_PREFIX = '\u0000overflow';

/** The counter every newcomer of the same limit shares once the store is full. */
export function overflowKey(counter: Counted): string {
  return counter.kind === 'window'
    ? `${OVERFLOW_PREFIX}:w:${spanOf(counter)}:${counter.limit}`
    : `${OVERFLOW_PREFIX}:b:${counter.capacity}:${counter.intervalMs}`;
}

export function isOverflowKey(key: string): boolean {
  return key.startsWith(OVERFLOW_PREFIX);
}

/** Whether two counters share one overflow counter: `overflowKey` would give both the same key. */
export function sameOverflow(a: Counted, b: Counted): boolean {
  if (a.kind === 'window') return b.kind === 'window' && spanOf(a) === spanOf(b) && a.limit === b.limit;
  return b.kind === 'bucket' && a.capacity === b.capacity && a.intervalMs === b.intervalMs;
}
