import type { LeaseCounterSpec, Store, WindowCounterSpec } from '../../lib/stores/store.js';
import { type ManualClock, manualClock } from '../helpers/clock.js';
import type { StoreFactory } from './conformance.js';

/**
 * The Store contract's calendar windows and leases (issue 22), run over every store by
 * test/stores/conformance-quotas.test.ts beside the main suite.
 */

const DAY = 86_400_000;

function month(key: string, limit: number, cost = 1): WindowCounterSpec {
  return { kind: 'window', key, windowMs: 31 * DAY, period: 'month', limit, cost };
}

function week(key: string, limit: number, cost = 1): WindowCounterSpec {
  return { kind: 'window', key, windowMs: 7 * DAY, period: 'week', limit, cost };
}

let leases = 0;
function lease(key: string, limit: number, leaseMs = 60_000): LeaseCounterSpec {
  return { kind: 'lease', key, limit, cost: 1, leaseId: `lease-${++leases}`, leaseMs };
}

export function quotaConformance(factory: StoreFactory): void {
  let store: Store;
  let clock: ManualClock;

  async function fresh(at: string): Promise<void> {
    clock = manualClock(Date.parse(at));
    store = await factory(clock);
  }

  describe('calendar months', () => {
    test.each([
      ['February 2025 (28 days)', '2025-02-28T23:59:59.999Z', '2025-02-01', '2025-03-01'],
      ['February 2024 (29 days)', '2024-02-29T23:59:59.999Z', '2024-02-01', '2024-03-01'],
      ['April (30 days)', '2025-04-30T23:59:59.999Z', '2025-04-01', '2025-05-01'],
      ['July (31 days)', '2025-07-31T23:59:59.999Z', '2025-07-01', '2025-08-01'],
      ['December, across the year end', '2025-12-31T23:59:59.999Z', '2025-12-01', '2026-01-01'],
    ])('%s: counted until the last ms, fresh at the next 1st', async (_what, last, start, end) => {
      await fresh(last);
      const counters = [month('m', 2)];
      expect((await store.consume(counters)).admitted).toBe(true);
      expect((await store.consume(counters)).admitted).toBe(true);
      const refused = await store.consume(counters);
      expect(refused.admitted).toBe(false);
      expect(refused.counters[0]).toMatchObject({
        remaining: 0,
        windowStart: Date.parse(`${start}T00:00:00Z`),
        resetAt: Date.parse(`${end}T00:00:00Z`),
        retryAt: Date.parse(`${end}T00:00:00Z`),
      });
      clock.advance(1);
      const next = await store.consume(counters);
      expect(next.admitted).toBe(true);
      expect(next.counters[0]).toMatchObject({ remaining: 1, windowStart: Date.parse(`${end}T00:00:00Z`) });
    });

    test('a refund aims at the month it was charged in, and does nothing once it has ended', async () => {
      await fresh('2025-01-31T23:00:00Z');
      const counters = [month('m', 5, 3)];
      const charged = await store.consume(counters);
      const refund = [{ ...counters[0]!, windowStart: charged.counters[0]!.windowStart! }];
      await store.refund(refund);
      expect((await store.peek([month('m', 5, 0)])).counters[0]!.remaining).toBe(5);
      await store.consume(counters);
      clock.advance(2 * 3_600_000);
      await store.refund(refund);
      expect((await store.peek([month('m', 5, 0)])).counters[0]).toMatchObject({
        remaining: 5,
        windowStart: Date.parse('2025-02-01T00:00:00Z'),
      });
    });

    test('a charge settles into the month it names', async () => {
      await fresh('2025-06-15T00:00:00Z');
      const start = Date.parse('2025-06-01T00:00:00Z');
      await store.charge([{ ...month('m', 10, 4), windowStart: start }]);
      expect((await store.peek([month('m', 10, 0)])).counters[0]!.remaining).toBe(6);
    });

    test('idempotency marks hold for the month', async () => {
      await fresh('2025-06-15T00:00:00Z');
      const counter = { ...month('m', 10, 4), idempotencyKey: 'k1' };
      await store.consume([counter]);
      clock.advance(10 * DAY);
      const again = await store.consume([counter]);
      expect(again.counters[0]).toMatchObject({ replayed: true, remaining: 6 });
    });
  });

  describe('ISO weeks', () => {
    test('the week of 1 January 2026 began on Monday 29 December 2025 and ends on Monday 5 January', async () => {
      await fresh('2025-12-29T00:00:00Z');
      const counters = [week('w', 1)];
      expect((await store.consume(counters)).admitted).toBe(true);
      clock.set(Date.parse('2026-01-04T23:59:59.999Z'));
      const refused = await store.consume(counters);
      expect(refused.admitted).toBe(false);
      expect(refused.counters[0]!.resetAt).toBe(Date.parse('2026-01-05T00:00:00Z'));
      clock.set(Date.parse('2026-01-05T00:00:00Z'));
      expect((await store.consume(counters)).admitted).toBe(true);
    });
  });

  describe('months with days and rate windows in one call', () => {
    test('a refusal by the month charges neither the day nor the minute', async () => {
      await fresh('2025-03-10T12:00:00Z');
      const day: WindowCounterSpec = { kind: 'window', key: 'd', windowMs: DAY, limit: 10, cost: 3 };
      const minute: WindowCounterSpec = { kind: 'window', key: 'r', windowMs: 60_000, limit: 10, cost: 1 };
      expect((await store.consume([minute, day, month('m', 5, 3)])).admitted).toBe(true);
      const refused = await store.consume([minute, day, month('m', 5, 3)]);
      expect(refused.admitted).toBe(false);
      expect(refused.counters.map((state) => state.allowed)).toEqual([true, true, false]);
      const after = await store.peek([{ ...minute, cost: 0 }, { ...day, cost: 0 }, month('m', 5, 0)]);
      expect(after.counters.map((state) => state.remaining)).toEqual([9, 7, 2]);
    });
  });

  describe('leases', () => {
    test('admit up to the limit in flight; a lease given back frees its slot, once', async () => {
      await fresh('2025-06-15T00:00:00Z');
      const held = [lease('c', 2), lease('c', 2)];
      for (const counter of held) expect((await store.consume([counter])).admitted).toBe(true);
      const third = lease('c', 2);
      const refused = await store.consume([third]);
      expect(refused.admitted).toBe(false);
      expect(refused.counters[0]).toMatchObject({ allowed: false, remaining: 0 });
      // The earliest a held lease ends by itself.
      expect(refused.counters[0]!.retryAt).toBe(clock.now() + 60_000);
      const give = { ...held[0]!, windowStart: undefined };
      await store.refund([give]);
      await store.refund([give]);
      expect((await store.consume([third])).admitted).toBe(true);
      expect((await store.consume([lease('c', 2)])).admitted).toBe(false);
    });

    test('a refused call takes no lease, with the windows charged nothing either', async () => {
      await fresh('2025-06-15T00:00:00Z');
      const minute: WindowCounterSpec = { kind: 'window', key: 'r', windowMs: 60_000, limit: 1, cost: 1 };
      expect((await store.consume([lease('c', 5), minute])).admitted).toBe(true);
      expect((await store.consume([lease('c', 5), minute])).admitted).toBe(false);
      const read = await store.peek([{ ...lease('c', 5), cost: 0 }]);
      expect(read.counters[0]!.remaining).toBe(4);
    });

    test('a lease never given back ends by itself after leaseMs', async () => {
      await fresh('2025-06-15T00:00:00Z');
      expect((await store.consume([lease('c', 1, 5_000)])).admitted).toBe(true);
      clock.advance(4_999);
      expect((await store.consume([lease('c', 1, 5_000)])).admitted).toBe(false);
      clock.advance(1);
      expect((await store.consume([lease('c', 1, 5_000)])).admitted).toBe(true);
    });

    test('reset gives back every lease held', async () => {
      await fresh('2025-06-15T00:00:00Z');
      await store.consume([lease('c', 1)]);
      await store.reset([lease('c', 1)]);
      expect((await store.consume([lease('c', 1)])).admitted).toBe(true);
    });
  });
}
