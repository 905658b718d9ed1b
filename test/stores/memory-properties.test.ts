import fc from 'fast-check';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { CounterSpec } from '../../lib/stores/store.js';
import { manualClock } from '../helpers/clock.js';

// A random workload over two keys, each with a minute, an hour and a day window and a bucket.
const step = fc.oneof(
  fc.record({
    op: fc.constant('consume' as const),
    key: fc.integer({ min: 0, max: 1 }),
    cost: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    op: fc.constant('advance' as const),
    // Mostly within a minute or two, sometimes most of an hour: each window gets to end.
    ms: fc.oneof(fc.integer({ min: 1, max: 90_000 }), fc.integer({ min: 1, max: 2_700_000 })),
  }),
);

const WINDOWS = [
  { windowMs: 60_000, limit: 10, suffix: 'm' },
  { windowMs: 3_600_000, limit: 25, suffix: 'h' },
  { windowMs: 86_400_000, limit: 40, suffix: 'd' },
] as const;

/**
 * One key's counters: three windows and a bucket, each a record of its own, or all four in
 * one group's record (two windows in the record's fields, the third in its overflow slots, the
 * bucket in a field of its own).
 */
const countersFor = (key: number, cost: number, grouped: boolean): CounterSpec[] => {
  const group = grouped ? { namespace: 'tg:', value: `k${key}` } : undefined;
  return [
    ...WINDOWS.map(
      ({ windowMs, limit, suffix }): CounterSpec => ({
        kind: 'window',
        key: `k${key}:${suffix}`,
        group,
        windowMs,
        limit,
        cost,
      }),
    ),
    { kind: 'bucket', key: `k${key}:b`, group, capacity: 6, intervalMs: 6_000, cost },
  ];
};

describe.each([
  ['a record per counter', false],
  ["one record per key's group", true],
])('MemoryStore properties, %s', (_layout, grouped) => {
  test('admitted units never exceed any window limit, and a refused call charges nothing', () => {
    fc.assert(
      // `size: 'max'`: left to its default, fast-check keeps arrays to about ten steps.
      fc.property(fc.array(step, { maxLength: 200, size: 'max' }), (steps) => {
        const clock = manualClock();
        const store = new MemoryStore({ now: clock.now });
        const admitted = new Map<string, number>();
        for (const s of steps) {
          if (s.op === 'advance') {
            clock.advance(s.ms);
            continue;
          }
          const counters = countersFor(s.key, s.cost, grouped);
          const before = store.peek(counters).counters.map((c) => c.remaining);
          const result = store.consume(counters);
          const after = result.counters.map((c) => c.remaining);
          if (!result.admitted) {
            expect(after).toEqual(before);
            continue;
          }
          // What the store now holds reads back as what the charge reported, slot by slot.
          expect(store.peek(counters).counters.map((c) => c.remaining)).toEqual(after);
          WINDOWS.forEach(({ windowMs, limit }, index) => {
            const id = `${s.key}:${windowMs}:${Math.floor(clock.now() / windowMs)}`;
            const total = (admitted.get(id) ?? 0) + s.cost;
            admitted.set(id, total);
            expect(total).toBeLessThanOrEqual(limit);
            expect(after[index]).toBe(limit - total);
          });
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('MemoryStore refunds', () => {
  test('a refund gives back exactly what was charged, once, and never below zero', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 40 }),
        (costs, extra) => {
          const store = new MemoryStore({ now: manualClock().now });
          const charged: Array<{ cost: number; windowStart: number }> = [];
          for (const cost of costs) {
            const result = store.consume([{ kind: 'window', key: 'k', windowMs: 60_000, limit: 50, cost }]);
            if (result.admitted) charged.push({ cost, windowStart: result.counters[0]!.windowStart! });
          }
          for (const { cost, windowStart } of charged) {
            store.refund([{ kind: 'window', key: 'k', windowMs: 60_000, limit: 50, cost, windowStart }]);
          }
          const left = store.peek([{ kind: 'window', key: 'k', windowMs: 60_000, limit: 50, cost: 0 }])
            .counters[0]!;
          expect(left.remaining).toBe(50);
          // Refunding more than was ever charged cannot push the counter below zero.
          store.refund([
            {
              kind: 'window',
              key: 'k',
              windowMs: 60_000,
              limit: 50,
              cost: extra,
              windowStart: left.windowStart!,
            },
          ]);
          expect(
            store.consume([{ kind: 'window', key: 'k', windowMs: 60_000, limit: 50, cost: 51 }]).admitted,
          ).toBe(false);
        },
      ),
    );
  });
});
