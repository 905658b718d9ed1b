import { createLimiter, type Limiter } from '../../lib/core/limiter.js';
import type { TollgateOptions } from '../../lib/options/options.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import type { Store } from '../../lib/stores/store.js';
import { clearStore, createTestClock, type TestClock } from '../../lib/testing/index.js';
import { clientKinds, withRedisClients } from '../helpers/redis-clients.js';
import { describeWithRedis } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';

const RAW_KEY = 'sk_live_5ecretKEY0123456789';

/** A payment API's limiter: per IP with a burst, per API key in tiers, per partner, and a spending cap. */
function paymentOptions(clock: TestClock, store: Store): TollgateOptions<null> {
  return {
    now: clock.now,
    store,
    scopes: [
      {
        name: 'ip',
        key: 'ip',
        limits: [
          { max: 5, window: '1m' },
          { max: 50, window: '1h' },
        ],
        burst: 3,
      },
      {
        name: 'apiKey',
        key: 'apiKey',
        tiers: {
          free: { limits: [{ max: 2, window: '1m' }] },
          pro: {
            limits: [
              { max: 4, window: '1m' },
              { max: 40, window: '1h' },
            ],
          },
        },
        tier: (req) => (String(req.headers.authorization).includes('pro') ? 'pro' : 'free'),
      },
      { name: 'partner', key: { header: 'x-partner-id' }, limits: [{ max: 3, window: '1m' }] },
    ],
    spendCap: { key: { header: 'x-user' }, budget: 10, cost: 4, onMissing: 'skip' },
  };
}

/** What each store case provides: a store on the test clock, cleared before each test. */
interface StoreCase {
  readonly name: string;
  store(clock: TestClock): Store;
  clear(store: Store): Promise<void>;
}

function inspectSuite(cases: () => readonly StoreCase[]): void {
  test.each(cases().map((c) => [c.name, c] as const))(
    '%s: reset forgets every counter of one key, state reads them without charging',
    async (_name, storeCase) => {
      const clock = createTestClock();
      const store = storeCase.store(clock);
      await storeCase.clear(store);
      const limiter = createLimiter(paymentOptions(clock, store));
      const from = (ip: string, headers: Record<string, string> = {}) =>
        limiter.check(requestFrom({ ip, headers: { authorization: `Bearer ${RAW_KEY}`, ...headers } }));

      // Spend the IP's burst and the free tier of the key.
      expect((await from('203.0.113.7'))?.allowed).toBe(true);
      expect((await from('203.0.113.7'))?.allowed).toBe(true);
      const refused = await from('203.0.113.7');
      expect(refused).toMatchObject({ allowed: false, reason: 'apiKey_minute' });

      // state: as the decision's policies show them, and reading charges nothing.
      const keyState = await limiter.state({ scope: 'apiKey', key: RAW_KEY, tier: 'free' });
      expect(keyState).toEqual([
        expect.objectContaining({
          id: 'apiKey_minute',
          tier: 'free',
          limit: 2,
          remaining: 0,
          allowed: false,
        }),
      ]);
      expect(await limiter.state({ scope: 'apiKey', key: RAW_KEY, tier: 'free' })).toEqual(keyState);
      const ipState = await limiter.state({ scope: 'ip', key: '203.0.113.7' });
      expect(ipState.map((p) => [p.id, p.remaining])).toEqual([
        ['ip_minute', 3],
        ['ip_hour', 48],
        ['ip_burst', 1],
      ]);

      // Support unblocks the key: the raw key, hashed inside, every tier's counters.
      await limiter.reset({ scope: 'apiKey', key: `  ${RAW_KEY}` });
      expect(
        (await limiter.state({ scope: 'apiKey', key: RAW_KEY, tier: 'pro' })).map((p) => p.remaining),
      ).toEqual([4, 40]);
      expect((await from('203.0.113.7'))?.allowed).toBe(true);
      // The IP's counters were not touched by the key's reset; its own reset clears the burst too.
      expect((await limiter.state({ scope: 'ip', key: '203.0.113.7' })).map((p) => p.remaining)).toEqual([
        2, 47, 0,
      ]);
      await limiter.reset({ scope: 'ip', key: '203.0.113.7' });
      expect((await limiter.state({ scope: 'ip', key: '203.0.113.7' })).map((p) => p.remaining)).toEqual([
        5, 50, 3,
      ]);
    },
  );

  test.each(cases().map((c) => [c.name, c] as const))(
    '%s: keys are normalised as requests are (IPv6 subnet, trimmed header), and the spending cap resets',
    async (_name, storeCase) => {
      const clock = createTestClock();
      const store = storeCase.store(clock);
      await storeCase.clear(store);
      const limiter = createLimiter(paymentOptions(clock, store));
      const check = (headers: Record<string, string>, ip = '2001:db8:1:2::7') =>
        limiter.check(requestFrom({ ip, headers: { authorization: 'Bearer k-pro', ...headers } }));
      await check({ 'x-partner-id': 'acme', 'x-user': 'u1' });
      await check({ 'x-partner-id': 'acme', 'x-user': 'u1' }, '2001:db8:1:2::8');
      expect((await limiter.state({ scope: 'ip', key: '2001:db8:1:2::99' }))[0]).toMatchObject({
        remaining: 3,
      });
      expect(await limiter.state({ spendCap: true, key: 'u1' })).toEqual([
        expect.objectContaining({ id: 'spend_day', unit: 'credits', limit: 10, remaining: 2 }),
      ]);
      expect((await check({ 'x-user': 'u1' }))?.reason).toBe('daily_spend_cap_exceeded');
      await limiter.reset({ spendCap: true, key: 'u1' });
      await limiter.reset({ scope: 'partner', key: ' acme ' });
      expect((await limiter.state({ scope: 'partner', key: 'acme' }))[0]).toMatchObject({ remaining: 3 });
      expect((await check({ 'x-user': 'u1' }))?.allowed).toBe(true);
    },
  );
}

describe('reset and state on the memory store', () => {
  inspectSuite(() => [
    {
      name: 'memory',
      store: (clock) => new MemoryStore({ now: clock.now }),
      clear: (store) => clearStore(store),
    },
  ]);

  test('an unknown scope, a tiered scope without a tier and a malformed key are errors that say so', async () => {
    const clock = createTestClock();
    const limiter: Limiter<null> = createLimiter(paymentOptions(clock, new MemoryStore({ now: clock.now })));
    await expect(limiter.reset({ scope: 'bank', key: 'b1' })).rejects.toMatchObject({
      code: 'ERR_TOLLGATE_UNKNOWN_SCOPE',
      message: expect.stringContaining('"ip", "apiKey", "partner"'),
    });
    await expect(limiter.state({ scope: 'apiKey', key: 'k' })).rejects.toThrow(/free, pro.*tier/);
    await expect(limiter.reset({ scope: 'ip', key: 'not an address' })).rejects.toThrow(
      /not a key this scope counts/,
    );
    const noCap = createLimiter({ scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }] });
    await expect(noCap.reset({ spendCap: true, key: 'u1' })).rejects.toMatchObject({
      code: 'ERR_TOLLGATE_UNKNOWN_SCOPE',
    });
  });

  test('reset also clears the insurance counters kept while the store is down', async () => {
    const down = () => Promise.reject(new Error('down'));
    const store: Store = { consume: down, peek: down, refund: down, charge: down, reset: async () => {} };
    const limiter = createLimiter({
      store,
      onStoreError: { insurance: { divisor: 2 } },
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 2, window: '1m' }] }],
    });
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
    expect((await limiter.check(requestFrom()))?.allowed).toBe(false);
    await limiter.reset({ scope: 'ip', key: '203.0.113.7' });
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
  });
});

describeWithRedis()('reset and state on the Redis store', () => {
  const redis = withRedisClients();

  inspectSuite(() =>
    clientKinds.map((kind) => ({
      name: `redis (${kind})`,
      store: (clock: TestClock) => new RedisStore({ client: redis.client(kind), now: clock.now }),
      clear: (store: Store) => clearStore(store, { client: redis.admin }),
    })),
  );

  test('clearStore deletes only the keys under the store prefix, with glob characters in it', async () => {
    await redis.admin.set('unrelated', '1');
    const clock = createTestClock();
    const store = new RedisStore({ client: redis.client('ioredis'), now: clock.now, prefix: 'app*1:' });
    const limiter = createLimiter({
      store,
      now: clock.now,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
    });
    await limiter.check(requestFrom());
    expect(await redis.admin.keys('app\\*1:*')).toHaveLength(1);
    await clearStore(store, { client: redis.admin });
    expect(await redis.admin.keys('app\\*1:*')).toEqual([]);
    expect(await redis.admin.get('unrelated')).toBe('1');
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
  });
});
