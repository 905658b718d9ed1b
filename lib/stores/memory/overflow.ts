import type { CounterSpec } from '../store.js';

/**
 * Overflow counters: once the store holds `maxKeys`, a counter it has never seen shares one
 * counter with every other newcomer of the same limit, held under a key of its own.
 */

/** The start of every overflow counter's key. No limiter key starts with a NUL. */
const OVERFLOW_PREFIX = '\u0000overflow';

/** The counter every newcomer of the same limit shares once the store is full. */
export function overflowKey(counter: CounterSpec): string {
  return counter.kind === 'window'
    ? `${OVERFLOW_PREFIX}:w:${counter.windowMs}:${counter.limit}`
    : `${OVERFLOW_PREFIX}:b:${counter.capacity}:${counter.intervalMs}`;
}

export function isOverflowKey(key: string): boolean {
  return key.startsWith(OVERFLOW_PREFIX);
}

/** Whether two counters share one overflow counter: `overflowKey` would give both the same key. */
export function sameOverflow(a: CounterSpec, b: CounterSpec): boolean {
  if (a.kind === 'window') return b.kind === 'window' && a.windowMs === b.windowMs && a.limit === b.limit;
  return b.kind === 'bucket' && a.capacity === b.capacity && a.intervalMs === b.intervalMs;
}
