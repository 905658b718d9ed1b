import { createLimiter } from '../../lib/core/limiter.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { CounterSpec, WindowCounterSpec } from '../../lib/stores/store.js';
import { manualClock, T0 } from '../helpers/clock.js';
import { requestFrom } from '../helpers/requests.js';

const window = (key: string, limit = 5, cost = 1): CounterSpec => ({
  kind: 'window',
  key,
  windowMs: 60_000,
  limit,
  cost,
});
const bucket = (key: string, capacity = 5, cost = 1): CounterSpec => ({
  kind: 'bucket',
  key,
  capacity,
  intervalMs: 1000,
  cost,
});

describe('MemoryStore is bounded', () => {
  test('ended windows are reclaimed whole when their window ends', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    for (let i = 0; i < 1000; i++) store.consume([window(`k${i}`)]);
    expect(store.size).toBe(1000);
    clock.advance(60_000);
    expect(store.size).toBe(0);
  });

  test('ended records are dropped as the store is used, a few per call, without a full sweep', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const held = () =>
      [...(store as unknown as { records: Map<string, Map<string, unknown>> }).records.values()].reduce(
        (sum, records) => sum + records.size,
        0,
      );
    for (let i = 0; i < 1000; i++) store.consume([window(`k${i}`), bucket(`k${i}`)]);
    expect(held()).toBe(1000);
    // A minute on, every window has ended and every bucket refilled: the next pass drops them.
    clock.advance(60_000);
    for (let i = 0; i < 100; i++) store.consume([window('live')]);
    expect(held()).toBe(1);
    expect(store.size).toBe(1);
  });

  test('a group whose longer window is still running is kept, and its ended minute reads as empty', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const g = { namespace: 'tg:', value: 'g' };
    const group = (cost = 1): CounterSpec[] => [
      { kind: 'window', key: 'g:60000', group: g, windowMs: 60_000, limit: 5, cost },
      { kind: 'window', key: 'g:3600000', group: g, windowMs: 3_600_000, limit: 8, cost },
    ];
    expect(store.consume(group(5)).admitted).toBe(true);
    clock.advance(60_000);
    store.sweep();
    expect(store.size).toBe(2);
    expect(store.peek(group()).counters.map((state) => state.remaining)).toEqual([5, 3]);
  });

  test('idempotency marks count towards size and maxKeys, and go with their window', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const marked = (request: string): WindowCounterSpec => ({
      ...(window('k', 100) as WindowCounterSpec),
      idempotencyKey: request,
    });
    let windowStart = 0;
    for (let i = 0; i < 10; i++) windowStart = store.consume([marked(`r${i}`)]).counters[0]!.windowStart!;
    // One slot, ten marks; a retry adds none, and a refund takes its mark back.
    expect(store.size).toBe(11);
    store.consume([marked('r0')]);
    expect(store.size).toBe(11);
    store.refund([{ ...marked('r3'), windowStart }]);
    expect(store.size).toBe(10);
    clock.advance(60_000);
    expect(store.size).toBe(0);

    const capped = new MemoryStore({ now: clock.now, maxKeys: 3 });
    capped.consume([marked('r0')]);
    capped.consume([marked('r1')]);
    // One slot and two marks fill it: a newcomer shares the overflow counter.
    expect(capped.consume([window('newcomer')]).counters[0]!.key).toBeDefined();
  });

  test('refilled buckets are swept', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    for (let i = 0; i < 100; i++) store.consume([bucket(`b${i}`, 5, 2)]);
    clock.advance(2000);
    store.sweep();
    expect(store.size).toBe(0);
  });

  test('at maxKeys, newcomers share one overflow counter and held counters are not evicted', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now, maxKeys: 100 });
    for (let i = 0; i < 100; i++) store.consume([window(`held${i}`, 5)]);
    // A flood of random keys: each alone would be fresh, together they get one client's allowance.
    const admitted = Array.from({ length: 1000 }, (_, i) => store.consume([window(`flood${i}`, 5)]).admitted);
    expect(admitted.filter(Boolean)).toHaveLength(5);
    expect(store.size).toBeLessThanOrEqual(101);
    // The counters already held still count from where they were.
    expect(store.consume([window('held0', 5)]).counters[0]?.remaining).toBe(3);
  });

  test('under a sustained flood the store stays at its cap and recovers when windows end', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now, maxKeys: 1000 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 5000; i++) store.consume([window(`r${round}-${i}`, 10), bucket(`r${round}-${i}`)]);
      expect(store.size).toBeLessThanOrEqual(1002);
      clock.advance(60_000);
    }
  });

  test('through the limiter, a flood of random API keys at the cap never passes unlimited', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now, maxKeys: 50 });
    const limiter = createLimiter({
      store,
      now: clock.now,
      scopes: [{ name: 'key', key: 'apiKey', limits: [{ max: 10, window: '1m' }] }],
    });
    let admitted = 0;
    for (let i = 0; i < 2000; i++) {
      const decision = await limiter.check(requestFrom({ headers: { authorization: `Bearer random-${i}` } }));
      if (decision?.allowed) admitted++;
    }
    // 50 keys fit; the other 1,950 share the overflow counter's 10.
    expect(admitted).toBe(50 + 10);
  });
});

describe('MemoryStore semantics', () => {
  test('a clock that steps back does not open a fresh window', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    for (let i = 0; i < 5; i++) store.consume([window('k')]);
    clock.advance(-60_000);
    expect(store.consume([window('k')]).admitted).toBe(false);
  });

  test('peek charges nothing', () => {
    const store = new MemoryStore();
    store.consume([window('k')]);
    expect(store.peek([window('k')]).counters[0]?.remaining).toBe(4);
    expect(store.peek([window('k')]).counters[0]?.remaining).toBe(4);
  });

  test('refunds never go below zero and ignore ended windows', () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const first = store.consume([window('k')]).counters[0]!;
    store.refund([
      { ...(window('k', 5, 3) as Extract<CounterSpec, { kind: 'window' }>), windowStart: first.windowStart! },
    ]);
    expect(store.peek([window('k')]).counters[0]?.remaining).toBe(5);
    store.consume([window('k')]);
    clock.advance(60_000);
    store.consume([window('k')]);
    store.refund([
      { ...(window('k') as Extract<CounterSpec, { kind: 'window' }>), windowStart: first.windowStart! },
    ]);
    expect(store.peek([window('k')]).counters[0]?.remaining).toBe(4);
  });

  test('reset forgets a counter', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 5; i++) store.consume([window('k'), bucket('k')]);
    store.reset([window('k'), bucket('k')]);
    expect(store.consume([window('k'), bucket('k')]).admitted).toBe(true);
  });
});

describe('MemoryStore records: what a review of the record store found', () => {
  const grouped = (group: string, limit = 5, idempotencyKey?: string): CounterSpec => ({
    kind: 'window',
    key: `${group}:60000`,
    group: { namespace: 'tg:', value: group },
    windowMs: 60_000,
    limit,
    cost: 1,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  });

  test('a full sweep at the key cap never drops a record the same call then charges', () => {
    const clock = manualClock(T0 + 30_000);
    const store = new MemoryStore({ now: clock.now, maxKeys: 2 });
    store.consume([window('a', 1)]);
    store.consume([window('c', 5)]);
    clock.set(T0 + 61_000);
    // At the cap: the sweep that makes room drops a's ended record before a is looked up.
    expect(store.consume([window('a', 1), window('b', 5)]).admitted).toBe(true);
    expect(store.consume([window('a', 1)]).admitted).toBe(false);
    expect(store.size).toBe(2);
  });

  test('counters of one call that share an overflow counter are both charged, and refunded once each', () => {
    const store = new MemoryStore({ maxKeys: 1 });
    store.consume([window('held')]);
    const calls = Array.from({ length: 20 }, (_, i) =>
      store.consume([window(`x${i}`, 10), window(`y${i}`, 10)]),
    );
    const admitted = calls.filter((call) => call.admitted);
    // Each call takes 2 of the overflow counter's 10.
    expect(admitted).toHaveLength(5);
    const last = admitted[admitted.length - 1]!;
    const aimed = last.counters.map((state, i) => ({
      ...(window(`${i === 0 ? 'x' : 'y'}4`, 10) as Extract<CounterSpec, { kind: 'window' }>),
      key: state.key!,
      windowStart: state.windowStart!,
    }));
    store.refund(aimed);
    expect(store.consume([window('x99', 10), window('y99', 10)]).admitted).toBe(true);
    expect(store.consume([window('x98', 10), window('y98', 10)]).admitted).toBe(false);
  });

  test("a refund aimed at an overflow counter leaves the group's own record alone", () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now, maxKeys: 2 });
    store.consume([bucket('short-lived-1')]);
    store.consume([bucket('short-lived-2')]);
    const overflowed = store.consume([grouped('g')]);
    const state = overflowed.counters[0]!;
    expect(state.key).toBeDefined();
    // The buckets refill and are swept at the next full pass: g gets a record of its own.
    clock.advance(1_500);
    store.consume([grouped('g')]);
    store.refund([
      {
        ...(grouped('g') as Extract<CounterSpec, { kind: 'window' }>),
        key: state.key!,
        windowStart: state.windowStart!,
      },
    ]);
    expect(store.peek([grouped('g')]).counters[0]!.remaining).toBe(4);
    expect(store.peek([{ ...grouped('g'), key: state.key!, group: undefined }]).counters[0]!.remaining).toBe(
      5,
    );
  });

  test('idempotency marks follow the window a slot counts in when the clock steps back', () => {
    const clock = manualClock(T0 + 30_000);
    const store = new MemoryStore({ now: clock.now });
    store.consume([grouped('k', 10)]);
    clock.set(T0 - 30_000);
    // k keeps counting in the later window; its marks go with that window.
    const first = store.consume([grouped('k', 10, 'x')]);
    expect(first.counters[0]!.windowStart).toBe(T0);
    expect(store.consume([grouped('k', 10, 'x')]).counters[0]!.replayed).toBe(true);
    store.refund([
      { ...(grouped('k', 10, 'x') as Extract<CounterSpec, { kind: 'window' }>), windowStart: T0 },
    ]);
    expect(store.peek([grouped('k', 10)]).counters[0]!.remaining).toBe(9);
    // A key first seen after the step back counts in the clock's window, marks and all.
    const fresh = store.consume([grouped('n', 10, 'y')]);
    expect(fresh.counters[0]!.windowStart).toBe(T0 - 60_000);
    expect(store.consume([grouped('n', 10, 'y')]).counters[0]!.replayed).toBe(true);
  });
});
