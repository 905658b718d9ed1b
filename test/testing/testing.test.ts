import { createLimiter } from '../../lib/core/limiter.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { Store } from '../../lib/stores/store.js';
import { clearStore, createTestClock } from '../../lib/testing/index.js';
import { requestFrom } from '../helpers/requests.js';

describe('createTestClock', () => {
  test('starts at a round UTC day, moves by ms or durations, and is set to moments', () => {
    const clock = createTestClock();
    expect(new Date(clock.now()).toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(clock.advance('1m')).toBe(Date.UTC(2025, 0, 1, 0, 1));
    clock.advance(500);
    expect(clock.now()).toBe(Date.UTC(2025, 0, 1, 0, 1, 0, 500));
    clock.set('2025-10-27T23:59:59Z');
    expect(clock.now()).toBe(Date.UTC(2025, 9, 27, 23, 59, 59));
    clock.set(new Date(0));
    expect(clock.now()).toBe(0);
    expect(createTestClock(1234).now()).toBe(1234);
  });

  test('refuses what is not a duration or a moment', () => {
    const clock = createTestClock();
    expect(() => clock.advance('soon')).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set('yesterday')).toThrow(RangeError);
  });

  test('one clock drives the limiter and its default store: a window passes with one call', async () => {
    const clock = createTestClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
    });
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
    expect(await limiter.check(requestFrom())).toMatchObject({ allowed: false, retryAfter: 60 });
    clock.advance('1m');
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
  });
});

describe('clearStore', () => {
  test('forgets every counter of a memory store', async () => {
    const store = new MemoryStore();
    const limiter = createLimiter({
      store,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
    });
    await limiter.check(requestFrom());
    expect((await limiter.check(requestFrom()))?.allowed).toBe(false);
    await clearStore(store);
    expect(store.size).toBe(0);
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
  });

  test('says what it needs for a store it cannot clear', async () => {
    const nothing = async () => {
      throw new Error('unused');
    };
    const store: Store = {
      consume: nothing,
      peek: nothing,
      refund: nothing,
      charge: nothing,
      reset: nothing,
    };
    await expect(clearStore(store)).rejects.toThrow(/clear\(\).*client/);
  });
});
