import { createLimiter } from '../../lib/limiter.js';
import type { CounterSpec } from '../../lib/store.js';
import { MemoryStore } from '../../lib/stores/memory.js';
import { manualClock } from '../helpers/clock.js';
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
    const held = () => (store as unknown as { records: Map<string, unknown> }).records.size;
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
    const group = (cost = 1): CounterSpec[] => [
      { kind: 'window', key: 'g:60000', group: 'g', windowMs: 60_000, limit: 5, cost },
      { kind: 'window', key: 'g:3600000', group: 'g', windowMs: 3_600_000, limit: 8, cost },
    ];
    expect(store.consume(group(5)).admitted).toBe(true);
    clock.advance(60_000);
    store.sweep();
    expect(store.size).toBe(2);
    expect(store.peek(group()).counters.map((state) => state.remaining)).toEqual([5, 3]);
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
