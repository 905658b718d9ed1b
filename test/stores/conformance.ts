import fc from 'fast-check';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type {
  BucketCounterSpec,
  ConsumeResult,
  CounterSpec,
  RefundSpec,
  Store,
  WindowCounterSpec,
} from '../../lib/stores/store.js';
import { type ManualClock, manualClock, T0 } from '../helpers/clock.js';

/**
 * The Store contract (lib/store.ts) as one suite, run over every adapter by
 * test/stores/conformance.test.ts. Each test gets a fresh, empty store on a manual clock.
 */
export interface StoreUnderTest {
  readonly store: Store;
  readonly clock: ManualClock;
}

export type StoreFactory = (clock: ManualClock) => Promise<Store> | Store;

const MINUTE = 60_000;
const HOUR = 3_600_000;

function window(key: string, limit: number, windowMs = MINUTE, cost = 1): WindowCounterSpec {
  return { kind: 'window', key, windowMs, limit, cost };
}

function bucket(key: string, capacity: number, intervalMs: number, cost = 1): BucketCounterSpec {
  return { kind: 'bucket', key, capacity, intervalMs, cost };
}

function refundOf(counters: readonly CounterSpec[], result: ConsumeResult): RefundSpec[] {
  return counters.map((counter, i) =>
    counter.kind === 'window'
      ? { ...counter, windowStart: result.counters[i]!.windowStart! }
      : { ...counter, windowStart: undefined },
  );
}

/** The same counter, or refund, held under its own key. */
function keyed<Counter extends CounterSpec>(counter: Counter): Counter {
  return { ...counter, group: undefined };
}

async function admittedCount(store: Store, counters: readonly CounterSpec[], calls: number): Promise<number> {
  const results = await Promise.all(Array.from({ length: calls }, () => store.consume(counters)));
  return results.filter((result) => result.admitted).length;
}

export function storeConformance(factory: StoreFactory): void {
  let store: Store;
  let clock: ManualClock;

  beforeEach(async () => {
    // 15 s into a minute (and into an hour): windows end at T0 + 60 000 and T0 + 3 600 000.
    clock = manualClock(T0 + 15_000);
    store = await factory(clock);
  });

  describe('windows', () => {
    test('admit up to the limit, then refuse with exact remaining, resetAt and retryAt', async () => {
      const counters = [window('w', 3)];
      const remaining: number[] = [];
      for (let i = 0; i < 3; i++) {
        const result = await store.consume(counters);
        expect(result).toEqual({
          admitted: true,
          now: T0 + 15_000,
          counters: [expect.objectContaining({ allowed: true, resetAt: T0 + MINUTE, retryAt: T0 + 15_000 })],
        });
        expect(result.counters[0]!.windowStart).toBe(T0);
        remaining.push(result.counters[0]!.remaining);
      }
      expect(remaining).toEqual([2, 1, 0]);
      clock.advance(5_000);
      expect(await store.consume(counters)).toEqual({
        admitted: false,
        now: T0 + 20_000,
        counters: [
          { allowed: false, remaining: 0, resetAt: T0 + MINUTE, retryAt: T0 + MINUTE, windowStart: T0 },
        ],
      });
    });

    test('a cost above the whole limit is refused until the next window', async () => {
      const result = await store.consume([window('big', 3, MINUTE, 4)]);
      expect(result.admitted).toBe(false);
      expect(result.counters[0]).toMatchObject({ allowed: false, remaining: 3, retryAt: T0 + MINUTE });
    });

    test('a cost of zero is admitted and charges nothing', async () => {
      await store.consume([window('z', 1)]);
      const result = await store.consume([window('z', 1, MINUTE, 0)]);
      expect(result.admitted).toBe(true);
      expect(result.counters[0]!.remaining).toBe(0);
    });

    test('roll over at the epoch-aligned window end, not a window length after the first charge', async () => {
      const counters = [window('roll', 2)];
      expect(await admittedCount(store, counters, 3)).toBe(2);
      clock.set(T0 + MINUTE - 1);
      expect((await store.consume(counters)).admitted).toBe(false);
      clock.set(T0 + MINUTE);
      const result = await store.consume(counters);
      expect(result.admitted).toBe(true);
      expect(result.counters[0]).toMatchObject({
        remaining: 1,
        windowStart: T0 + MINUTE,
        resetAt: T0 + 2 * MINUTE,
      });
    });

    test('a clock that steps back does not reopen a window', async () => {
      const counters = [window('back', 1)];
      clock.set(T0 + MINUTE + 10);
      expect((await store.consume(counters)).admitted).toBe(true);
      clock.set(T0 + MINUTE - 10);
      const result = await store.consume(counters);
      expect(result.admitted).toBe(false);
      expect(result.counters[0]).toMatchObject({ windowStart: T0 + MINUTE, resetAt: T0 + 2 * MINUTE });
    });
  });

  describe('all or nothing', () => {
    test('a call is admitted only when every counter admits, and a refusal charges nothing', async () => {
      const wide = window('wide', 10);
      const narrow = window('narrow', 1, HOUR);
      const burst = bucket('burst', 5, 1000);
      expect((await store.consume([wide, narrow, burst])).admitted).toBe(true);
      const refused = await store.consume([wide, narrow, burst]);
      expect(refused.admitted).toBe(false);
      expect(refused.counters.map((c) => c.allowed)).toEqual([true, false, true]);
      // The counters that allowed report what is left without the refused charge.
      expect(refused.counters[0]!.remaining).toBe(9);
      expect(refused.counters[2]!.remaining).toBe(4);
      for (let i = 0; i < 5; i++) await store.consume([wide, narrow, burst]);
      const peeked = await store.peek([wide, burst]);
      expect(peeked.counters.map((c) => c.remaining)).toEqual([9, 4]);
    });

    test('an empty bucket refuses the call and leaves the windows uncharged', async () => {
      const minute = window('m', 100);
      const hour = window('h', 1000, HOUR);
      const burst = bucket('b', 2, 500);
      expect(await admittedCount(store, [minute, hour, burst], 5)).toBe(2);
      const peeked = await store.peek([minute, hour]);
      expect(peeked.counters.map((c) => c.remaining)).toEqual([98, 998]);
    });

    test('1000 concurrent calls with a limit of 100 admit exactly 100', async () => {
      expect(await admittedCount(store, [window('crowd', 100), window('crowd-h', 1000, HOUR)], 1000)).toBe(
        100,
      );
      expect((await store.peek([window('crowd', 100)])).counters[0]!.remaining).toBe(0);
    });

    test('an empty call is admitted', async () => {
      expect(await store.consume([])).toEqual({ admitted: true, now: T0 + 15_000, counters: [] });
    });
  });

  describe('buckets', () => {
    test('a full bucket admits its capacity at once, then one unit per interval', async () => {
      const burst = bucket('tb', 3, 1000);
      const states = [];
      for (let i = 0; i < 4; i++) states.push((await store.consume([burst])).counters[0]!);
      const now = T0 + 15_000;
      expect(states).toEqual([
        { allowed: true, remaining: 2, resetAt: now + 1000, retryAt: now },
        { allowed: true, remaining: 1, resetAt: now + 2000, retryAt: now },
        { allowed: true, remaining: 0, resetAt: now + 3000, retryAt: now },
        { allowed: false, remaining: 0, resetAt: now + 3000, retryAt: now + 1000 },
      ]);
      clock.advance(999);
      expect((await store.consume([burst])).admitted).toBe(false);
      clock.advance(1);
      expect((await store.consume([burst])).counters[0]).toEqual({
        allowed: true,
        remaining: 0,
        resetAt: now + 4000,
        retryAt: now + 1000,
      });
      clock.advance(10_000);
      expect((await store.peek([burst])).counters[0]!.remaining).toBe(3);
    });

    test('a fractional interval (7 a minute) refills on the microsecond', async () => {
      const burst = bucket('frac', 7, MINUTE / 7);
      expect(await admittedCount(store, [burst], 8)).toBe(7);
      const refused = (await store.consume([burst])).counters[0]!;
      expect(refused.retryAt).toBe(Math.ceil(T0 + 15_000 + MINUTE / 7));
      clock.set(refused.retryAt);
      expect((await store.consume([burst])).admitted).toBe(true);
    });

    test('a full bucket of fractional interval reads as full at any moment', async () => {
      // now + capacity × interval rounds, at today's epoch, to 0.00024 ms either way.
      const burst = bucket('frac-full', 3, MINUTE / 7);
      for (let ms = 0; ms < 64; ms++) {
        clock.set(T0 + 15_000 + ms * 17);
        expect((await store.peek([burst])).counters[0]!.remaining).toBe(3);
      }
      const charged = await store.consume([burst]);
      expect(charged.counters[0]!.remaining).toBe(2);
      clock.set(charged.counters[0]!.resetAt);
      expect((await store.peek([burst])).counters[0]!.remaining).toBe(3);
    });
  });

  describe('peek', () => {
    test('reads as consume would without charging', async () => {
      const counters = [window('pk', 2), bucket('pkb', 2, 1000)];
      await store.consume(counters);
      const peeked = await store.peek(counters);
      expect(peeked.admitted).toBe(true);
      expect(peeked.counters.map((c) => c.remaining)).toEqual([1, 1]);
      expect(await store.peek(counters)).toEqual(peeked);
      await store.consume(counters);
      expect((await store.peek(counters)).admitted).toBe(false);
    });
  });

  describe('refund', () => {
    test('gives units back, never below zero', async () => {
      const counters = [window('rf', 5), bucket('rfb', 5, 1000)];
      const charged = await store.consume([{ ...counters[0]!, cost: 3 } as CounterSpec, counters[1]!]);
      await store.refund(refundOf([window('rf', 5, MINUTE, 1), bucket('rfb', 5, 1000, 1)], charged));
      expect((await store.peek(counters)).counters.map((c) => c.remaining)).toEqual([3, 5]);
      await store.refund(refundOf([window('rf', 5, MINUTE, 10), bucket('rfb', 5, 1000, 10)], charged));
      expect((await store.peek(counters)).counters.map((c) => c.remaining)).toEqual([5, 5]);
      expect(await admittedCount(store, counters, 6)).toBe(5);
    });

    test('a bucket of fractional interval refunded in full is full again', async () => {
      // 7 a minute: charging 2 then 1 and giving the 1 back three times leaves 0.00024 ms of
      // rounding above now, which must not read as a unit short.
      const burst = bucket('rff', 3, MINUTE / 7);
      await store.consume([{ ...burst, cost: 2 }]);
      const charged = await store.consume([burst]);
      for (let i = 0; i < 3; i++) await store.refund(refundOf([burst], charged));
      expect((await store.peek([burst])).counters[0]).toMatchObject({
        remaining: 3,
        resetAt: T0 + 15_000,
      });
    });

    test('aimed at a window that has ended, does nothing', async () => {
      const counters = [window('old', 3)];
      const charged = await store.consume(counters);
      clock.set(T0 + MINUTE + 1);
      await store.consume(counters);
      await store.refund(refundOf(counters, charged));
      expect((await store.peek(counters)).counters[0]!.remaining).toBe(2);
    });
  });

  describe('reset', () => {
    test('forgets windows and buckets', async () => {
      const counters = [window('rs', 1), bucket('rsb', 1, HOUR)];
      await store.consume(counters);
      expect((await store.consume(counters)).admitted).toBe(false);
      await store.reset(counters);
      expect((await store.consume(counters)).admitted).toBe(true);
    });
  });

  describe('idempotency keys and charges', () => {
    test('a charge is counted once per idempotency key and window, even when retries race', async () => {
      const spend: WindowCounterSpec = { ...window('spend', 10, 86_400_000, 4), idempotencyKey: '#k1' };
      const results = await Promise.all(Array.from({ length: 20 }, () => store.consume([spend])));
      expect(results.every((r) => r.admitted)).toBe(true);
      expect(results.filter((r) => r.counters[0]!.replayed === true)).toHaveLength(19);
      expect((await store.peek([window('spend', 10, 86_400_000)])).counters[0]!.remaining).toBe(6);
      // A full counter does not refuse a replay.
      await store.consume([window('spend', 10, 86_400_000, 6)]);
      expect((await store.consume([spend])).counters[0]).toMatchObject({ allowed: true, replayed: true });
    });

    test('a refund with the key gives back once, and a retry after it is charged again', async () => {
      const spend: WindowCounterSpec = { ...window('spend2', 10, 86_400_000, 4), idempotencyKey: '#k2' };
      const charged = await store.consume([spend]);
      const [refund] = refundOf([spend], charged);
      await store.refund([refund!]);
      await store.refund([refund!]);
      expect((await store.peek([spend])).counters[0]).toEqual(
        expect.objectContaining({ remaining: 10, allowed: true }),
      );
      const retried = await store.consume([spend]);
      expect(retried.counters[0]).toMatchObject({ remaining: 6 });
      expect(retried.counters[0]!.replayed).toBeUndefined();
    });

    test('a window reset while it holds idempotency marks counts again from zero, with or without a key', async () => {
      const marked: WindowCounterSpec = { ...window('reset-marked', 5), idempotencyKey: '#r' };
      await store.consume([marked]);
      await store.reset([marked]);
      // The mark stays: its retry is still not charged again.
      expect((await store.consume([marked])).counters[0]).toMatchObject({ replayed: true, remaining: 5 });
      // A counter alone and without a key (Redis's short path) finds the window with no count.
      expect((await store.peek([window('reset-marked', 5)])).counters[0]!.remaining).toBe(5);
      expect((await store.consume([window('reset-marked', 5)])).counters[0]!.remaining).toBe(4);
      expect((await store.consume([window('reset-marked', 5, MINUTE, 0)])).counters[0]!.remaining).toBe(4);
    });

    test('charge adds without checking the limit, and not to an ended window', async () => {
      const counters = [window('ch', 5), bucket('chb', 2, 1000)];
      const charged = await store.consume(counters);
      await store.charge(refundOf([window('ch', 5, MINUTE, 7), bucket('chb', 2, 1000, 3)], charged));
      const peeked = await store.peek(counters);
      expect(peeked.counters.map((c) => c.remaining)).toEqual([0, 0]);
      expect(peeked.counters[1]!.resetAt).toBe(T0 + 15_000 + 4000);
      clock.set(T0 + MINUTE);
      await store.charge(refundOf([window('ch', 5, MINUTE, 2)], charged));
      expect((await store.peek([counters[0]!])).counters[0]!.remaining).toBe(5);
    });
  });

  // The reference keeps each counter in a record of its own. Given as one group, the same
  // counters share one record in a MemoryStore subject: two windows in its fields, the third
  // in its overflow slots, the bucket in a field of its own. Redis ignores groups.
  describe.each([
    ['each counter under its key', undefined],
    ['the counters as one group', { namespace: 'tg:', value: 'p' }],
  ])('agrees with MemoryStore, result for result: %s', (_layout, group) => {
    const ungrouped: CounterSpec[] = [
      window('p-minute', 5),
      window('p-second', 3, 1000),
      window('p-hour', 8, HOUR),
      bucket('p-burst', 3, MINUTE / 7),
    ];
    const defs = ungrouped.map((counter) => ({ ...counter, group }));
    const op = fc.oneof(
      fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 90_000 }) }),
      fc.record({
        type: fc.constantFrom('consume' as const, 'peek' as const, 'refund' as const, 'charge' as const),
        // In any order: the Redis script charges each counter where it comes in the call.
        pick: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 1 }),
        cost: fc.integer({ min: 0, max: 3 }),
        idem: fc.constantFrom(undefined, '#a', '#b'),
      }),
      fc.record({ type: fc.constant('reset' as const), pick: fc.subarray([0, 1, 2, 3], { minLength: 1 }) }),
    );

    test('over random sequences of consume, peek, refund, charge, reset and time', async () => {
      await fc.assert(
        // `size: 'max'`: left to its default, fast-check keeps arrays to about ten steps.
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30, size: 'max' }), async (ops) => {
          const time = manualClock(T0 + 15_000);
          const subject = await factory(time);
          const reference = new MemoryStore({ now: time.now });
          let last: ConsumeResult | undefined;
          let lastCounters: CounterSpec[] = [];
          for (const step of ops) {
            if (step.type === 'advance') {
              time.advance(step.ms);
              continue;
            }
            const counters = step.pick.map((i) => {
              const def = defs[i]!;
              if (step.type === 'reset') return def;
              const cost = step.cost;
              return def.kind === 'window' && step.idem !== undefined
                ? { ...def, cost, idempotencyKey: step.idem }
                : { ...def, cost };
            });
            if (step.type === 'consume' || step.type === 'peek') {
              const got = await subject[step.type](counters);
              expect(got).toEqual(reference[step.type](counters.map(keyed)));
              if (step.type === 'consume' && got.admitted) [last, lastCounters] = [got, counters];
            } else if (step.type === 'reset') {
              await subject.reset(counters);
              reference.reset(counters.map(keyed));
            } else if (last !== undefined) {
              const aimed = refundOf(lastCounters, last);
              await subject[step.type](aimed);
              reference[step.type](aimed.map(keyed));
            }
            expect(await subject.peek(defs)).toEqual(reference.peek(ungrouped));
          }
        }),
        { numRuns: Number(process.env.TOLLGATE_FC_RUNS ?? 40) },
      );
    });
  });
}
