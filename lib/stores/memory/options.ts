import type { JsonSchema } from '../../options/validation.js';

export interface MemoryStoreOptions {
  /**
   * The most counters the store keeps at once. Past it, a counter the store has never seen
   * shares one overflow counter with every other newcomer of the same limit, so a flood of
   * random keys gets one client's allowance in all, and no counter already held is evicted.
   * Defaults to `1_000_000` (about 200 MB of heap at worst, with one counter per scope value).
   */
  maxKeys?: number;
  /** The clock, ms since epoch. Defaults to `Date.now`. */
  now?: () => number;
}

export const memoryStoreOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxKeys: {
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      expected: 'a positive integer',
    },
    now: { typeofFunction: true, expected: 'a function returning ms since epoch' },
  },
};
