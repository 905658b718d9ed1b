import type { Redis } from 'ioredis';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions, StoreFailurePolicy } from '../../lib/options/options.js';
import { RedisStore, RedisStoreError } from '../../lib/stores/redis/index.js';
import { STORE_SCRIPT_SHA } from '../../lib/stores/redis/script.js';
import type { CounterSpec, WindowCounterSpec } from '../../lib/stores/store.js';
import { T0 } from '../helpers/clock.js';
import {
  adminClient,
  clientKinds,
  connectClient,
  keysWithoutTtl,
  type TestClient,
} from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis, waitFor } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';

/** Generous: proves that a call returns instead of hanging, not how fast it fails. */
const BOUNDED_MS = 2_000;

const scopes: ScopeOptions[] = [{ name: 'ip', key: 'ip', limits: [{ max: 4, window: '1m' }] }];
/** The limiter's minute counter of a client address, as the limiter hands it to the store. */
const minuteOf = (ip: string): WindowCounterSpec => ({
  kind: 'window',
  key: `tg:ip:${ip}:60000`,
  group: { namespace: 'tg:ip:', value: ip },
  windowMs: 60_000,
  limit: 4,
  cost: 1,
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
}

describeWithRedis().each(clientKinds)('RedisStore faults via %s', (kind) => {
  let server: RedisServer;
  let admin: Redis;
  let client: TestClient;
  let store: RedisStore;
  const limiterWith = (onStoreError: StoreFailurePolicy) => createLimiter({ scopes, store, onStoreError });

  beforeAll(async () => {
    server = await startRedis();
    admin = adminClient(server.port);
    client = await connectClient(kind, server.port);
    // The store clock is pinned mid-minute: these tests are about faults, and a window ending
    // between a late script and the read that checks it must not decide the outcome.
    store = new RedisStore({ client: client.client, timeoutMs: 100, now: () => T0 + 30_000 });
  });

  afterAll(async () => {
    await client.close();
    admin.disconnect();
    await server.stop();
  });

  async function restarted(): Promise<void> {
    await server.start();
    await waitFor(() => client.ready(), `the ${kind} client to reconnect`);
  }

  test('Redis stopped mid-run: each failure policy answers promptly', async () => {
    const open = limiterWith('open');
    const closed = limiterWith('closed');
    const insured = limiterWith({ insurance: { divisor: 2 } });
    const before = await open.check(requestFrom({ ip: '192.0.2.1' }));
    expect(before).toMatchObject({ allowed: true, remaining: 3 });
    expect(before!.storeError).toBeUndefined();

    await server.stop();

    const failedOpen = await timed(() => open.check(requestFrom({ ip: '192.0.2.1' })));
    expect(failedOpen.ms).toBeLessThan(BOUNDED_MS);
    expect(failedOpen.value).toMatchObject({ allowed: true, status: 200, reason: 'store_unavailable' });
    expect(failedOpen.value!.storeError).toBeInstanceOf(RedisStoreError);

    const failedClosed = await timed(() => closed.check(requestFrom({ ip: '192.0.2.1' })));
    expect(failedClosed.ms).toBeLessThan(BOUNDED_MS);
    expect(failedClosed.value).toMatchObject({ allowed: false, status: 503, reason: 'store_unavailable' });

    // Insurance: 4 a minute shared by 2 instances is 2 a minute here, counted in memory.
    const insuredDecisions = [];
    for (let i = 0; i < 3; i++) insuredDecisions.push(await insured.check(requestFrom({ ip: '192.0.2.9' })));
    expect(insuredDecisions.map((d) => [d!.allowed, d!.status, d!.limit])).toEqual([
      [true, 200, 2],
      [true, 200, 2],
      [false, 429, 2],
    ]);
    expect(insuredDecisions.every((d) => d!.storeError instanceof RedisStoreError)).toBe(true);
  });

  test('restarted empty: limits hold again, no NOSCRIPT reaches the caller, nothing queued is replayed', async () => {
    // Still down from the test above: these calls must not wait in a queue for the restart.
    for (let i = 0; i < 5; i++)
      await expect(store.consume([minuteOf('192.0.2.2')])).rejects.toBeInstanceOf(RedisStoreError);
    await restarted();
    expect(await admin.script('EXISTS', STORE_SCRIPT_SHA)).toEqual([0]);
    expect((await store.peek([minuteOf('192.0.2.2')])).counters[0]!.remaining).toBe(4);
    const limiter = limiterWith('closed');
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await limiter.check(requestFrom({ ip: '192.0.2.2' })));
    expect(decisions.map((d) => d!.status)).toEqual([200, 200, 200, 200, 429]);
    expect(decisions.every((d) => d!.storeError === undefined)).toBe(true);
  });

  test('SCRIPT FLUSH mid-run is invisible to the caller and counts once', async () => {
    const limiter = limiterWith('closed');
    await limiter.check(requestFrom({ ip: '192.0.2.3' }));
    await admin.script('FLUSH');
    const decision = await limiter.check(requestFrom({ ip: '192.0.2.3' }));
    expect(decision).toMatchObject({ allowed: true, remaining: 2 });
    expect(decision!.storeError).toBeUndefined();
  });

  test('a paused server: calls reject within the timeout, and late replies count once', async () => {
    const counter: CounterSpec = { ...minuteOf('late'), limit: 100 };
    await store.consume([counter]);
    server.pause();
    try {
      for (let i = 0; i < 3; i++) {
        const failed = await timed(() => store.consume([counter]).catch((error: unknown) => error));
        expect(failed.value).toMatchObject({ code: 'ERR_TOLLGATE_REDIS_TIMEOUT' });
        expect(failed.ms).toBeGreaterThanOrEqual(90);
        expect(failed.ms).toBeLessThan(BOUNDED_MS);
      }
      const open = await timed(() => limiterWith('open').check(requestFrom({ ip: '192.0.2.4' })));
      expect(open.value).toMatchObject({ allowed: true, reason: 'store_unavailable' });
      expect(open.ms).toBeLessThan(BOUNDED_MS);
    } finally {
      server.resume();
    }
    // The three timed-out scripts were sent once each and ran late, in order, before this
    // peek: 1 + 3 units. A retry after the timeout would show more.
    expect((await store.peek([counter])).counters[0]!.remaining).toBe(100 - 4);
    expect(await admin.hget(store.keyOf(minuteOf('192.0.2.4')), `n:60000@${T0}`)).toBe('1');
  });

  test('leaves no tollgate key without a TTL', async () => {
    expect(await keysWithoutTtl(admin)).toEqual([]);
  });
});
