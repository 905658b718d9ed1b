import fc from 'fast-check';
import type { CounterSpec } from '../../lib/store.js';
import { MemoryStore } from '../../lib/stores/memory.js';
import { manualClock } from '../helpers/clock.js';

// A random workload over two keys, each with a minute window, an hour window and a bucket.
const step = fc.oneof(
  fc.record({
    op: fc.constant('consume' as const),
    key: fc.integer({ min: 0, max: 1 }),
    cost: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 90_000 }) }),
);

const countersFor = (key: number, cost: number): CounterSpec[] => [
  { kind: 'window', key: `k${key}:m`, windowMs: 60_000, limit: 10, cost },
  { kind: 'window', key: `k${key}:h`, windowMs: 3_600_000, limit: 25, cost },
  { kind: 'bucket', key: `k${key}:b`, capacity: 6, intervalMs: 6_000, cost },
];

describe('MemoryStore properties', () => {
  test('admitted units never exceed any window limit, and a refused call charges nothing', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const clock = manualClock();
        const store = new MemoryStore({ now: clock.now });
        const admitted = new Map<string, number>();
        for (const s of steps) {
          if (s.op === 'advance') {
            clock.advance(s.ms);
            continue;
          }
          const counters = countersFor(s.key, s.cost);
          const before = store.peek(counters).counters.map((c) => c.remaining);
          const result = store.consume(counters);
          const after = result.counters.map((c) => c.remaining);
          if (!result.admitted) {
            expect(after).toEqual(before);
            continue;
          }
          for (const [index, windowMs] of [
            [0, 60_000],
            [1, 3_600_000],
          ] as const) {
            const id = `${s.key}:${windowMs}:${Math.floor(clock.now() / windowMs)}`;
            const total = (admitted.get(id) ?? 0) + s.cost;
            admitted.set(id, total);
            expect(total).toBeLessThanOrEqual(index === 0 ? 10 : 25);
            expect(after[index]).toBe((index === 0 ? 10 : 25) - total);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

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
