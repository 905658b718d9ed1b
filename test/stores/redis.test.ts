import { TollgateConfigError } from '../../lib/errors/errors.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createRedisStore, RedisStore, RedisStoreError } from '../../lib/stores/redis/index.js';
import { STORE_SCRIPT_SHA } from '../../lib/stores/redis/script.js';
import type { CounterSpec } from '../../lib/stores/store.js';
import { manualClock, T0 } from '../helpers/clock.js';
import { clientKinds, keysWithoutTtl, recordingClient, withRedisClients } from '../helpers/redis-clients.js';
import { describeWithRedis } from '../helpers/redis-server.js';

const minute: CounterSpec = {
  kind: 'window',
  key: 'tg:ip:203.0.113.7:60000',
  windowMs: 60_000,
  limit: 5,
  cost: 1,
};
const hour: CounterSpec = {
  kind: 'window',
  key: 'tg:ip:203.0.113.7:3600000',
  windowMs: 3_600_000,
  limit: 50,
  cost: 1,
};
const burst: CounterSpec = {
  kind: 'bucket',
  key: 'tg:ip:203.0.113.7:burst',
  capacity: 3,
  intervalMs: 1000,
  cost: 1,
};

function expectBetween(value: number, low: number, high: number): void {
  expect(value).toBeGreaterThanOrEqual(low);
  expect(value).toBeLessThanOrEqual(high);
}

const fakeIoredis = { evalsha() {}, eval() {}, defineCommand() {}, status: 'ready' };

describe('RedisStore options', () => {
  test.each([
    ['no client', {}, 'client'],
    ['a client of neither library', { client: { get() {} } }, 'client'],
    ['a prefix with braces', { client: fakeIoredis, prefix: 'app{x}:' }, 'prefix'],
    ['an empty hash tag', { client: fakeIoredis, hashTag: '' }, 'hashTag'],
    ['a hash tag with a brace', { client: fakeIoredis, hashTag: 'a}b' }, 'hashTag'],
    ['a zero timeout', { client: fakeIoredis, timeoutMs: 0 }, 'timeoutMs'],
    ['a fractional timeout', { client: fakeIoredis, timeoutMs: 1.5 }, 'timeoutMs'],
    ['a clock that is not a function', { client: fakeIoredis, now: 5 }, 'now'],
    ['an unknown option', { client: fakeIoredis, ttl: 5 }, 'ttl'],
  ])('refuses %s, naming the option', (_what, options, path) => {
    let error: unknown;
    try {
      new RedisStore(options as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TollgateConfigError);
    expect(error).toMatchObject({ code: 'ERR_TOLLGATE_INVALID_OPTION', path });
  });

  test('defaults: 100 ms timeout, a hash tag per scope value, no prefix', () => {
    const store = createRedisStore({ client: fakeIoredis });
    expect(store).toBeInstanceOf(RedisStore);
    expect(store.timeoutMs).toBe(100);
    // A counter without a group (a spending cap's) is a hash of its own, its key the tag.
    expect(store.keyOf(minute)).toBe('{tg:ip:203.0.113.7:60000}');
    const grouped = { ...minute, group: { namespace: 'tg:ip:', value: '203.0.113.7' } };
    expect(store.keyOf(grouped)).toBe('{tg:ip:203.0.113.7}');
    expect(store.fieldSuffixOf(grouped)).toBe(':60000');
    expect(new RedisStore({ client: fakeIoredis, prefix: 'app:', hashTag: 'rl-eu' }).keyOf(minute)).toBe(
      'app:{rl-eu}:tg:ip:203.0.113.7:60000',
    );
  });

  test('a client that is not connected is not sent anything: the call rejects at once', async () => {
    const calls: string[] = [];
    const store = new RedisStore({
      client: recordingClient({ ...fakeIoredis, status: 'reconnecting' }, calls),
    });
    await expect(store.consume([minute])).rejects.toMatchObject({
      name: 'RedisStoreError',
      code: 'ERR_TOLLGATE_REDIS_UNAVAILABLE',
    });
    expect(calls).toEqual([]);
    const nodeRedis = { evalSha() {}, eval() {}, sendCommand() {}, isOpen: true, isReady: false };
    await expect(new RedisStore({ client: nodeRedis }).peek([minute])).rejects.toBeInstanceOf(
      RedisStoreError,
    );
  });

  test('an unexpected reply is an error, not a decision', async () => {
    const client = { ...fakeIoredis, evalsha: async () => ['1'] };
    await expect(new RedisStore({ client }).consume([minute])).rejects.toMatchObject({
      code: 'ERR_TOLLGATE_REDIS_REPLY',
    });
  });
});

describeWithRedis()('RedisStore on a real server', () => {
  const redis = withRedisClients();
  let prefixes = 0;

  describe.each(clientKinds)('via %s', (kind) => {
    const storeOf = (extra: { now?: () => number; calls?: string[] } = {}) => {
      const client = redis.client(kind);
      return new RedisStore({
        client: extra.calls === undefined ? client : recordingClient(client, extra.calls),
        prefix: `u${++prefixes}:`,
        timeoutMs: 2_000,
        ...(extra.now === undefined ? {} : { now: extra.now }),
      });
    };

    test('reads the time from Redis TIME when no clock is given', async () => {
      const before = Date.now();
      const result = await storeOf().consume([minute]);
      const after = Date.now();
      // Same machine, so Redis's clock is ours, give or take a millisecond of truncation.
      expect(result.now).toBeGreaterThanOrEqual(before - 5);
      expect(result.now).toBeLessThanOrEqual(after + 5);
      expect(result.counters[0]!.windowStart).toBe(result.now - (result.now % 60_000));
    });

    test('window keys expire a second after their window; buckets when full again', async () => {
      const store = storeOf();
      const result = await store.consume([minute, hour, burst]);
      const ttls = await Promise.all([minute, hour, burst].map((c) => redis.admin.pttl(store.keyOf(c))));
      const [windowTtl, hourTtl, bucketTtl] = ttls as [number, number, number];
      expect(windowTtl).toBeGreaterThan(0);
      expect(windowTtl).toBeLessThanOrEqual(result.counters[0]!.resetAt + 1000 - result.now);
      expect(windowTtl).toBeGreaterThan(result.counters[0]!.resetAt + 1000 - result.now - 1000);
      expect(hourTtl).toBeLessThanOrEqual(result.counters[1]!.resetAt + 1000 - result.now);
      expect(hourTtl).toBeGreaterThan(result.counters[1]!.resetAt - result.now);
      expect(bucketTtl).toBeGreaterThan(0);
      expect(bucketTtl).toBeLessThanOrEqual(1000);
    });

    test("a window that starts alone in its scope value's hash keeps the hash's longer TTL", async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      const group = { namespace: 'tg:ip:', value: '198.51.100.20' };
      const ofGroup = (c: CounterSpec, suffix: string) => ({
        ...c,
        key: `tg:ip:198.51.100.20:${suffix}`,
        group,
      });
      const [m, h] = [ofGroup(minute, '60000'), ofGroup(hour, '3600000')];
      await store.consume([m, h]);
      const key = store.keyOf(m);
      const hourEnd = T0 + 3_600_000 + 1000;
      expect(Number(await redis.admin.hget(key, 'e'))).toBe(hourEnd);
      const ttl = await redis.admin.pttl(key);
      // The next minute, the minute alone (the one-window path): a new window, whose end is
      // earlier than the hash's, so neither 'e' nor the TTL moves.
      clock.advance(60_000);
      expect((await store.consume([m])).counters[0]!.remaining).toBe(4);
      expect(Number(await redis.admin.hget(key, 'e'))).toBe(hourEnd);
      // PEXPIRE counts on Redis's own clock: the TTL set by the first call, less real ms gone by.
      expectBetween(await redis.admin.pttl(key), ttl - 500, ttl);
    });

    test('a key found without a TTL gets one back, even from a refused call or a peek', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      const one = { ...minute, key: 'tg:ip:198.51.100.9:60000', limit: 1 };
      await store.consume([one, burst]);
      await redis.admin.persist(store.keyOf(one));
      await redis.admin.persist(store.keyOf(burst));
      expect((await store.consume([one, burst])).admitted).toBe(false);
      // The window's end and the bucket's arrival time on the store's clock, less real ms gone by.
      expectBetween(await redis.admin.pttl(store.keyOf(one)), 45_000 + 1000 - 500, 45_000 + 1000);
      await redis.admin.persist(store.keyOf(burst));
      await store.peek([burst]);
      expectBetween(await redis.admin.pttl(store.keyOf(burst)), 500, 1000);
      // Charged again in the same window, a key is not checked (a PTTL per counter on every
      // check): the next call that reads it without charging it gives it its TTL back.
      await store.consume([minute]);
      await redis.admin.persist(store.keyOf(minute));
      expect((await store.consume([minute])).counters[0]!.remaining).toBe(3);
      expect((await store.peek([minute])).counters[0]!.remaining).toBe(3);
      expectBetween(await redis.admin.pttl(store.keyOf(minute)), 45_000 + 1000 - 500, 45_000 + 1000);
    });

    test('a call refused by its last window, or by its bucket, leaves every hash as it was', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      const tight = { ...hour, key: 'tg:user:u1:3600000', limit: 2 };
      const counters = [minute, burst, tight];
      const hashes = () => Promise.all(counters.map((c) => redis.admin.hgetall(store.keyOf(c))));
      // Every window charged before in this window: the script charges them first, then finds
      // the last one over its limit and takes back what it charged.
      expect((await store.consume(counters)).admitted).toBe(true);
      expect((await store.consume(counters)).admitted).toBe(true);
      const before = await hashes();
      const refused = await store.consume(counters);
      expect(refused.admitted).toBe(false);
      expect(refused.counters.map((c) => c.allowed)).toEqual([true, true, false]);
      expect(refused.counters[0]!.remaining).toBe(3);
      expect(await hashes()).toEqual(before);
      // The bucket (3, one a second) refuses after the minute was charged, which is taken back.
      const roomy = [minute, burst];
      expect((await store.consume(roomy)).admitted).toBe(true);
      const full = await hashes();
      const byBucket = await store.consume(roomy);
      expect(byBucket.admitted).toBe(false);
      expect(byBucket.counters.map((c) => c.allowed)).toEqual([true, false]);
      expect(await hashes()).toEqual(full);
      // Once the bucket has room again, both are charged.
      clock.advance(1_000);
      const again = await store.consume(roomy);
      expect(again.admitted).toBe(true);
      expect(again.counters[0]!.remaining).toBe(1);
    });

    test('a counter whose key holds another type: the call fails, the windows charged before it taken back', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      const counters = [minute, burst];
      expect((await store.consume(counters)).admitted).toBe(true);
      const before = await redis.admin.hgetall(store.keyOf(minute));
      // A foreign write: the minute is charged first in the call, then the bucket's read fails.
      await redis.admin.set(store.keyOf(burst), 'not a hash');
      await expect(store.consume(counters)).rejects.toBeInstanceOf(RedisStoreError);
      expect(await redis.admin.hgetall(store.keyOf(minute))).toEqual(before);
      // The same for a window after it.
      const windows = [minute, hour];
      await redis.admin.del(store.keyOf(burst));
      expect((await store.consume(windows)).admitted).toBe(true);
      const charged = await redis.admin.hgetall(store.keyOf(minute));
      await redis.admin.set(store.keyOf(hour), 'not a hash');
      await expect(store.consume(windows)).rejects.toBeInstanceOf(RedisStoreError);
      expect(await redis.admin.hgetall(store.keyOf(minute))).toEqual(charged);
      await redis.admin.del(store.keyOf(hour));
    });

    test('counters of one hash in any order: a refusal takes back every charge, a bucket moves the TTL', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      const group = { namespace: 'tg:ip:', value: '198.51.100.9' };
      const of = (counter: CounterSpec, suffix: string): CounterSpec => ({
        ...counter,
        key: `tg:ip:198.51.100.9:${suffix}`,
        group,
      });
      const slow = { ...burst, capacity: 2, intervalMs: 30_000 };
      // A bucket first, a window, a second bucket that outlasts them, a second's window last.
      const second = { ...minute, windowMs: 1000, limit: 10 };
      const counters = [of(burst, 'burst'), of(minute, '60000'), of(slow, 'slow'), of(second, '1000')];
      const key = store.keyOf(counters[0]!);
      const reference = new MemoryStore({ now: clock.now });
      const keyed = counters.map((c) => ({ ...c, group: undefined }));
      for (let i = 0; i < 4; i++) {
        const before = await redis.admin.hgetall(key);
        const result = await store.consume(counters);
        expect(result).toEqual(reference.consume(keyed));
        // Admitted twice (the slow bucket holds 2), then refused by it, leaving the hash as it was.
        expect(result.admitted).toBe(i < 2);
        if (!result.admitted) expect(await redis.admin.hgetall(key)).toEqual(before);
      }
      // The TTL follows the slow bucket's arrival time: two charges of 30 s from 15 s past T0.
      expectBetween(await redis.admin.pttl(key), 60_000 - 500, 60_000);
      expect(Number((await redis.admin.hgetall(key)).e)).toBe(T0 + 15_000 + 60_000);
    });

    test('a key without a TTL that is only ever charged gets one when its next window begins', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      await store.consume([minute]);
      await redis.admin.persist(store.keyOf(minute));
      expect((await store.consume([minute])).counters[0]!.remaining).toBe(3);
      clock.advance(60_000);
      // The first charge of the next window writes the key afresh, TTL included.
      expect((await store.consume([minute])).counters[0]!.remaining).toBe(4);
      expectBetween(await redis.admin.pttl(store.keyOf(minute)), 45_000 + 1000 - 500, 45_000 + 1000);
      expect(await redis.admin.hget(store.keyOf(minute), 'w')).toBe(String(T0 + 60_000));
    });

    test('counts are written as whole numbers, and a count written otherwise is read as before', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      const fraction = { ...hour, cost: 0.5 };
      // One window alone takes the script's short path, several the general one.
      for (const counters of [[minute], [minute, fraction]]) {
        await redis.admin.del(...counters.map((c) => store.keyOf(c)));
        await store.consume(counters);
        expect(await redis.admin.hget(store.keyOf(minute), 'w')).toBe(String(T0));
        expect(await redis.admin.hget(store.keyOf(minute), `n@${T0}`)).toBe('1');
        await redis.admin.hset(store.keyOf(minute), `n@${T0}`, '02');
        expect((await store.consume(counters)).counters[0]).toMatchObject({ allowed: true, remaining: 2 });
        expect(await redis.admin.hget(store.keyOf(minute), `n@${T0}`)).toBe('3');
        await redis.admin.hset(store.keyOf(minute), `n@${T0}`, '2.5');
        expect((await store.consume(counters)).admitted).toBe(true);
        expect(Number(await redis.admin.hget(store.keyOf(minute), `n@${T0}`))).toBe(3.5);
        await redis.admin.hset(store.keyOf(minute), `n@${T0}`, 'junk');
        expect((await store.consume(counters)).counters[0]).toMatchObject({ allowed: true, remaining: 4 });
        expect(await redis.admin.hget(store.keyOf(minute), `n@${T0}`)).toBe('1');
      }
      // Four charges of half a unit: whole counts and fractional ones alike.
      expect(Number(await redis.admin.hget(store.keyOf(fraction), `n@${T0}`))).toBe(2);
    });

    test("a client clock that disagrees with Redis's names no window: Redis TIME decides", async () => {
      // The short path is sent the window this process expects; a wrong one is ignored.
      const store = storeOf();
      const skewed = jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2001, 0, 1));
      try {
        await store.consume([minute]);
        const result = await store.consume([minute]);
        expect(result.counters[0]).toMatchObject({ allowed: true, remaining: 3 });
        const start = result.counters[0]!.windowStart!;
        expect(start).toBe(result.now - (result.now % 60_000));
        expect(await redis.admin.hget(store.keyOf(minute), `n@${start}`)).toBe('2');
        expect((await store.peek([minute])).counters[0]!.remaining).toBe(3);
      } finally {
        skewed.mockRestore();
      }
    });

    test('a peek on Redis TIME reads the same clock as a consume', async () => {
      const store = storeOf();
      const consumed = await store.consume([minute]);
      const peeked = await store.peek([minute]);
      expect(peeked.now).toBeGreaterThanOrEqual(consumed.now);
      expect(peeked.counters[0]).toMatchObject({ allowed: true, remaining: 4 });
      expect(peeked.counters[0]!.windowStart).toBe(peeked.now - (peeked.now % 60_000));
    });

    test('a clock stepping back: each window keeps its later window, the others their own, as in memory', async () => {
      const clock = manualClock(T0 + 60_000 + 10);
      const store = storeOf({ now: clock.now });
      const reference = new MemoryStore({ now: clock.now });
      const second: CounterSpec = { ...minute, key: 'tg:ip:203.0.113.7:1000', windowMs: 1000, limit: 9 };
      const fractional: CounterSpec = { ...burst, intervalMs: 60_000 / 7 };
      await store.consume([minute, hour, fractional]);
      reference.consume([minute, hour, fractional]);
      clock.set(T0 + 60_000 - 10);
      const counters = [hour, second, minute, fractional];
      for (const op of ['peek', 'consume', 'consume'] as const) {
        const result = await store[op](counters);
        expect(result).toEqual(reference[op](counters));
        expect(result.counters[2]).toMatchObject({ windowStart: T0 + 60_000, resetAt: T0 + 120_000 });
      }
    });

    test("a bucket whose charge is below the clock's precision is kept for at least 1 ms (SET PX 0 was an error)", async () => {
      // 1e9 a minute refills every 6e-5 ms: at epoch milliseconds the arrival time does not move.
      const store = storeOf({});
      const tiny: CounterSpec = { ...burst, capacity: 100, intervalMs: 60_000 / 1e9 };
      const result = await store.consume([tiny]);
      expect(result.admitted).toBe(true);
      expect((await store.consume([tiny])).admitted).toBe(true);
    });

    test('one call is one EVALSHA, whatever the number of counters', async () => {
      const calls: string[] = [];
      const store = storeOf({ calls });
      const counters = Array.from({ length: 8 }, (_, i): CounterSpec => ({ ...minute, key: `k${i}:60000` }));
      await store.consume(counters);
      calls.length = 0;
      await store.consume(counters);
      await store.peek(counters);
      expect(calls.filter((name) => name !== 'status' && name !== 'isReady' && name !== 'isOpen')).toEqual(
        kind === 'ioredis' ? ['evalsha', 'evalsha'] : ['evalSha', 'evalSha'],
      );
    });

    test('after SCRIPT FLUSH the script is sent again once, by EVAL, and counts once', async () => {
      const calls: string[] = [];
      const store = storeOf({ calls, now: manualClock(T0).now });
      await store.consume([minute]);
      await redis.admin.script('FLUSH');
      calls.length = 0;
      const result = await store.consume([minute]);
      expect(result.counters[0]!.remaining).toBe(3);
      expect(calls.filter((name) => /eval/i.test(name)).map((name) => name.toLowerCase())).toEqual([
        'evalsha',
        'eval',
      ]);
      expect(await redis.admin.script('EXISTS', STORE_SCRIPT_SHA)).toEqual([1]);
    });

    test('only NOSCRIPT is retried: any other error rejects after one attempt', async () => {
      const calls: string[] = [];
      const store = storeOf({ calls });
      // A key of the wrong type makes the script fail after Redis has accepted it.
      await redis.admin.lpush(store.keyOf(minute), 'x');
      await redis.admin.pexpire(store.keyOf(minute), 60_000);
      await store.consume([hour]);
      calls.length = 0;
      const failure = store.consume([hour, minute]);
      await expect(failure).rejects.toMatchObject({ code: 'ERR_TOLLGATE_REDIS_FAILED' });
      await expect(failure).rejects.toHaveProperty('cause');
      expect(calls.filter((name) => /eval/i.test(name))).toHaveLength(1);
      // The script failed while reading, before any write: the hour counter was not charged.
      expect((await store.peek([hour])).counters[0]!.remaining).toBe(49);
    });

    test('keeps nothing but numbers: the values are window starts, counts and arrival times', async () => {
      const clock = manualClock(T0 + 15_000);
      const store = storeOf({ now: clock.now });
      await store.consume([minute, burst]);
      // `e`: the end the hash's TTL was last set to (the window's end and its margin; the bucket full).
      expect(await redis.admin.hgetall(store.keyOf(minute))).toEqual({
        w: String(T0),
        [`n@${T0}`]: '1',
        e: String(T0 + 61_000),
      });
      expect(await redis.admin.hgetall(store.keyOf(burst))).toEqual({
        t: String(T0 + 15_000 + 1000),
        e: String(T0 + 15_000 + 1000),
      });
    });
  });

  describe('afterwards', () => {
    test('leaves no tollgate key without a TTL', async () => {
      expect(await keysWithoutTtl(redis.admin)).toEqual([]);
    });
  });
});
