import type { Decision } from '../../lib/core/decision.js';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions } from '../../lib/options/options.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { STORE_SCRIPT } from '../../lib/stores/redis/script.js';
import type { CounterSpec } from '../../lib/stores/store.js';
import { manualClock, T0 } from '../helpers/clock.js';
import {
  allKeys,
  clientKinds,
  commandCalls,
  keysWithoutTtl,
  withRedisClients,
} from '../helpers/redis-clients.js';
import { describeWithRedis } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const RAW_API_KEY = 'sk_live_5ecretKEY0123456789';
const RAW_IDEMPOTENCY_KEY = 'order-7f3a9c21-retry-safe';

describeWithRedis()('the limiter through a RedisStore', () => {
  const redis = withRedisClients();

  beforeEach(async () => {
    await redis.admin.flushall();
  });

  /** Every key, hash field and value in Redis, as one string to search. */
  async function everythingStored(): Promise<string> {
    const parts: string[] = [];
    for (const key of await allKeys(redis.admin)) {
      const type = await redis.admin.type(key);
      parts.push(
        key,
        ...(type === 'hash'
          ? Object.entries(await redis.admin.hgetall(key)).flat()
          : [(await redis.admin.get(key)) ?? '']),
      );
    }
    return parts.join(' ');
  }

  describe.each(clientKinds)('via %s', (kind) => {
    const storeOf = (now?: () => number) =>
      new RedisStore({ client: redis.client(kind), timeoutMs: 2_000, ...(now ? { now } : {}) });

    test('minute and hour limits of two scopes hold exactly over two simulated hours', async () => {
      const clock = manualClock(T0);
      const scopes: ScopeOptions[] = [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 5, window: '1m' },
            { max: 20, window: '1h' },
          ],
        },
        {
          name: 'user',
          key: { header: 'x-user' },
          limits: [
            { max: 6, window: '1m' },
            { max: 25, window: '1h' },
          ],
        },
      ];
      const store = storeOf(clock.now);
      const viaRedis = createLimiter({ scopes, store, now: clock.now });
      // The memory store is the reference: the Redis store must decide every request alike.
      const inMemory = createLimiter({ scopes, now: clock.now });
      // The limiter's counters as it hands them to the store, groups included: a group is where
      // the Redis store keeps a scope value's counters.
      const countersOf = (ip: string, user: string | undefined): CounterSpec[] => {
        const byIp = { namespace: 'tg:ip:', value: ip };
        const byUser = { namespace: 'tg:user:', value: user ?? '' };
        return [
          { kind: 'window', key: `tg:ip:${ip}:${MINUTE}`, group: byIp, windowMs: MINUTE, limit: 5, cost: 1 },
          { kind: 'window', key: `tg:ip:${ip}:${HOUR}`, group: byIp, windowMs: HOUR, limit: 20, cost: 1 },
          ...(user === undefined
            ? []
            : ([
                {
                  kind: 'window',
                  key: `tg:user:${user}:${MINUTE}`,
                  group: byUser,
                  windowMs: MINUTE,
                  limit: 6,
                  cost: 1,
                },
                {
                  kind: 'window',
                  key: `tg:user:${user}:${HOUR}`,
                  group: byUser,
                  windowMs: HOUR,
                  limit: 25,
                  cost: 1,
                },
              ] as CounterSpec[])),
        ];
      };
      const admitted = new Map<string, number>();
      const count = (name: string) => admitted.set(name, (admitted.get(name) ?? 0) + 1);
      const refusedBy = new Map<string, number>();

      async function send(ip: string, user: string | undefined): Promise<Decision> {
        const req = requestFrom({ ip, headers: user === undefined ? {} : { 'x-user': user } });
        const counters = countersOf(ip, user);
        const before = await store.peek(counters);
        const decision = (await viaRedis.check(req))!;
        // String-keyed fields only: the charge riding on a decision names its own store.
        expect(Object.entries(decision)).toEqual(Object.entries((await inMemory.check(req))!));
        const t = clock.now() - T0;
        if (decision.allowed) {
          count(`ip:${ip}:m${Math.floor(t / MINUTE)}`);
          count(`ip:${ip}:h${Math.floor(t / HOUR)}`);
          if (user !== undefined) {
            count(`user:${user}:m${Math.floor(t / MINUTE)}`);
            count(`user:${user}:h${Math.floor(t / HOUR)}`);
          }
          // The limiter's counters are the ones peeked: the first request of a window moves them.
          if (decision.policies.length === counters.length)
            expect((await store.peek(counters)).counters.map((c) => c.remaining)).toEqual(
              decision.policies.map((p) => p.remaining),
            );
        } else {
          refusedBy.set(decision.reason!, (refusedBy.get(decision.reason!) ?? 0) + 1);
          // A refused request, whichever limit refused it, leaves every counter as it was.
          expect(await store.peek(counters)).toEqual(before);
        }
        return decision;
      }

      for (let step = 0; step < (2 * HOUR) / 10_000; step++) {
        clock.set(T0 + step * 10_000);
        await send('198.51.100.3', undefined);
        await send('198.51.100.1', 'u1');
        if (step % 2 === 0) await send('198.51.100.2', 'u1');
      }

      for (const [name, n] of admitted) {
        const [scope, , window] = name.split(':') as [string, string, string];
        const limit = scope === 'ip' ? (window.startsWith('m') ? 5 : 20) : window.startsWith('m') ? 6 : 25;
        expect(n).toBeLessThanOrEqual(limit);
      }
      // The lone client asks 6 times a minute: 5 in each of the first four minutes, then none.
      for (const h of [0, 1]) {
        expect(admitted.get(`ip:198.51.100.3:h${h}`)).toBe(20);
        for (let m = 0; m < 60; m++)
          expect(admitted.get(`ip:198.51.100.3:m${h * 60 + m}`) ?? 0).toBe(m < 4 ? 5 : 0);
        expect(admitted.get(`user:u1:h${h}`)).toBe(25);
      }
      expect([...refusedBy.keys()].sort()).toEqual(['ip_hour', 'ip_minute', 'user_hour', 'user_minute']);
    });

    test('four scopes with two windows each are decided by one EVALSHA', async () => {
      const limits = [
        { max: 100, window: '1m' },
        { max: 1000, window: '1h' },
      ];
      const limiter = createLimiter({
        store: storeOf(),
        scopes: [
          { name: 'ip', key: 'ip', limits },
          { name: 'apiKey', key: 'apiKey', limits },
          { name: 'partner', key: { header: 'x-partner-id' }, limits },
          { name: 'user', key: { header: 'x-user' }, limits },
        ],
      });
      const req = requestFrom({
        headers: { authorization: `Bearer ${RAW_API_KEY}`, 'x-partner-id': 'acme', 'x-user': 'u-42' },
      });
      await limiter.check(req);
      await redis.admin.config('RESETSTAT');
      const decision = (await limiter.check(req))!;
      const calls = await commandCalls(redis.admin);
      expect(decision.policies).toHaveLength(8);
      expect(decision.policies.map((p) => p.remaining)).toEqual([98, 998, 98, 998, 98, 998, 98, 998]);
      expect(calls.evalsha).toBe(1);
      // Everything else Redis counted ran inside the script (or is this test's own CONFIG).
      const inScript = new Set([
        ...[...STORE_SCRIPT.matchAll(/redis\.call\('([A-Z]+)'/g)].map((m) => m[1]!.toLowerCase()),
        'config|resetstat',
      ]);
      expect(Object.keys(calls).filter((name) => name !== 'evalsha' && !inScript.has(name))).toEqual([]);
    });

    test('keys are <prefix>{<scope value>}, one hash per value, API keys hashed, and no raw key reaches Redis', async () => {
      const clock = manualClock(T0 + 15_000);
      const limiter = createLimiter({
        store: storeOf(clock.now),
        now: clock.now,
        scopes: [
          { name: 'ip', key: 'ip', limits: [{ max: 10, window: '1m' }], burst: 3 },
          { name: 'apiKey', key: 'apiKey', limits: [{ max: 10, window: '1m' }] },
        ],
      });
      await limiter.check(requestFrom({ headers: { authorization: `Bearer ${RAW_API_KEY}` } }));
      await limiter.check(requestFrom({ headers: { 'x-api-key': RAW_API_KEY } }));
      const keys = await allKeys(redis.admin);
      expect(keys).toHaveLength(2);
      expect(keys).toEqual(
        expect.arrayContaining([
          '{tg:ip:203.0.113.7}',
          expect.stringMatching(/^\{tg:apiKey:#[A-Za-z0-9_-]{22}\}$/),
        ]),
      );
      expect(await everythingStored()).not.toContain(RAW_API_KEY);
      expect(await redis.admin.hget(keys.find((k) => k.includes('apiKey'))!, `n:60000@${T0}`)).toBe('2');
      expect(Object.keys(await redis.admin.hgetall('{tg:ip:203.0.113.7}')).sort()).toEqual([
        'e',
        `n:60000@${T0}`,
        't:burst',
        'w:60000',
      ]);
    });

    test('a spend cap charges a retried idempotency key once, and stores neither key raw', async () => {
      const clock = manualClock(T0 + 15_000);
      const limiter = createLimiter({
        store: storeOf(clock.now),
        now: clock.now,
        spendCap: { key: 'apiKey', budget: 10, cost: 4 },
      });
      const req = requestFrom({
        headers: { authorization: `Bearer ${RAW_API_KEY}`, 'idempotency-key': RAW_IDEMPOTENCY_KEY },
      });
      const decisions = [await limiter.check(req), await limiter.check(req), await limiter.check(req)];
      expect(decisions.map((d) => [d!.allowed, d!.policies[0]!.remaining])).toEqual([
        [true, 6],
        [true, 6],
        [true, 6],
      ]);
      const stored = await everythingStored();
      expect(stored).not.toContain(RAW_API_KEY);
      expect(stored).not.toContain(RAW_IDEMPOTENCY_KEY);
    });

    test('leaves no tollgate key without a TTL', async () => {
      const limiter = createLimiter({
        store: storeOf(),
        scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 2, window: '1s' }], burst: 1 }],
      });
      for (let i = 0; i < 5; i++) await limiter.check(requestFrom());
      expect(await keysWithoutTtl(redis.admin)).toEqual([]);
    });
  });
});
