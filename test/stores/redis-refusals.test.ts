import type { Redis } from 'ioredis';
import type { Decision } from '../../lib/core/decision.js';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions } from '../../lib/options/options.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import type { WindowCounterSpec } from '../../lib/stores/store.js';
import { manualClock, T0 } from '../helpers/clock.js';
import { adminClient, connectClient, recordingClient, type TestClient } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';

const scopes: ScopeOptions[] = [
  {
    name: 'ip',
    key: 'ip',
    limits: [
      { max: 3, window: '1m' },
      { max: 50, window: '1h' },
    ],
  },
  { name: 'user', key: { header: 'x-user' }, limits: [{ max: 100, window: '1m' }] },
];
/** The same with a burst allowance, whose bucket refills by itself while refusals are remembered. */
const withBurst: ScopeOptions[] = [{ ...scopes[0]!, burst: 3 }, scopes[1]!];
/** The client address's minute counter, as the limiter hands it to the store. */
const minute: WindowCounterSpec = {
  kind: 'window',
  key: 'tg:ip:203.0.113.7:60000',
  group: { namespace: 'tg:ip:', value: '203.0.113.7' },
  windowMs: 60_000,
  limit: 3,
  cost: 1,
};
const req = (ip = '203.0.113.7') => requestFrom({ ip, headers: { 'x-user': 'u-1' } });
const evals = (calls: string[]) => calls.filter((name) => /^eval/i.test(name)).length;

describeWithRedis()('remembered refusals (RedisStore refusalCache)', () => {
  let server: RedisServer;
  let admin: Redis;
  let client: TestClient;
  let prefixes = 0;

  beforeAll(async () => {
    server = await startRedis();
    admin = adminClient(server.port);
    client = await connectClient('ioredis', server.port);
  });

  afterAll(async () => {
    await client.close();
    admin.disconnect();
    await server.stop();
  });

  /** A limiter on its own prefix, and the Redis calls its store makes. */
  function setUp(
    options: { refusalCache?: false | { size?: number }; prefix?: string; scopes?: ScopeOptions[] } = {},
  ) {
    const clock = manualClock(T0 + 15_000);
    const calls: string[] = [];
    const prefix = options.prefix ?? `rc${++prefixes}:`;
    const store = new RedisStore({
      client: recordingClient(client.client, calls),
      prefix,
      now: clock.now,
      timeoutMs: 2_000,
      ...(options.refusalCache === undefined ? {} : { refusalCache: options.refusalCache }),
    });
    const limiter = createLimiter({
      scopes: options.scopes ?? scopes,
      store,
      now: clock.now,
      onStoreError: 'closed',
    });
    return { clock, calls, store, limiter, prefix };
  }

  /** What a client sees of a decision: status, headers, body. */
  function answerOf(limiter: ReturnType<typeof setUp>['limiter'], decision: Decision | undefined) {
    const refusal = limiter.refusal(decision!, req());
    return {
      status: refusal.status,
      headers: refusal.headers,
      body: refusal.body.replace(/"request_id":"[^"]*"/, ''),
    };
  }

  test('a repeat of a refusal is answered without Redis, as Redis would answer it', async () => {
    const { clock, calls, limiter, prefix } = setUp({ scopes: withBurst });
    // The same counters read without a cache: what Redis would answer at each moment.
    const plain = setUp({ refusalCache: false, prefix, scopes: withBurst });
    for (let i = 0; i < 3; i++) expect((await limiter.check(req()))!.allowed).toBe(true);
    const first = await limiter.check(req());
    expect(first).toMatchObject({ allowed: false, reason: 'ip_minute', retryAfter: 45 });
    calls.length = 0;
    for (const advance of [0, 20_000, 24_001]) {
      clock.advance(advance);
      plain.clock.set(clock.now());
      const remembered = await limiter.check(req());
      expect(evals(calls)).toBe(0);
      const fromRedis = await plain.limiter.check(req());
      expect(answerOf(limiter, remembered)).toEqual(answerOf(plain.limiter, fromRedis));
      expect(remembered!.retryAfter).toBe(fromRedis!.retryAfter);
      expect(remembered!.resetAt).toBe(fromRedis!.resetAt);
    }
    // The window ends: Redis is asked again, and admits.
    clock.set(T0 + 60_000);
    expect((await limiter.check(req()))!.policies.map((p) => [p.id, p.remaining])).toEqual([
      ['ip_minute', 2],
      ['ip_hour', 46],
      ['ip_burst', 1],
      ['user_minute', 99],
    ]);
    expect(evals(calls)).toBe(1);
  });

  test('a refund or a reset through this process clears what it remembers', async () => {
    const { calls, limiter, store } = setUp();
    const admitted: Decision[] = [];
    for (let i = 0; i < 3; i++) admitted.push((await limiter.check(req()))!);
    expect((await limiter.check(req()))!.allowed).toBe(false);
    expect(store.refusals!.held).toBeGreaterThan(0);
    await limiter.refund(admitted[0]!);
    calls.length = 0;
    expect(await limiter.check(req())).toMatchObject({ allowed: true, remaining: 0 });
    expect(evals(calls)).toBe(1);
    expect((await limiter.check(req()))!.allowed).toBe(false);
    await store.reset([minute]);
    calls.length = 0;
    expect((await limiter.check(req()))!.allowed).toBe(true);
    expect(evals(calls)).toBe(1);
  });

  test('a refund made by another process is not seen until the window ends (documented)', async () => {
    const here = setUp();
    const there = setUp({ prefix: here.prefix });
    const admitted: Decision[] = [];
    for (let i = 0; i < 3; i++) admitted.push((await here.limiter.check(req()))!);
    expect((await here.limiter.check(req()))!.allowed).toBe(false);
    // Another process gives a unit back (a decision's own refund goes through the store that charged it).
    await there.store.refund([{ ...minute, windowStart: T0 }]);
    // Redis would admit one more now; this process still refuses from memory, never the reverse.
    expect((await here.limiter.check(req()))!.allowed).toBe(false);
    expect((await setUp({ prefix: here.prefix, refusalCache: false }).limiter.check(req()))!.allowed).toBe(
      true,
    );
  });

  test('only a call whose every counter is remembered is answered from memory', async () => {
    const { calls, limiter } = setUp();
    for (let i = 0; i < 4; i++) await limiter.check(req());
    calls.length = 0;
    // Same address, another user: the user's counter is not remembered, so Redis decides.
    const other = await limiter.check(requestFrom({ ip: '203.0.113.7', headers: { 'x-user': 'u-2' } }));
    expect(other).toMatchObject({ allowed: false, reason: 'ip_minute' });
    expect(evals(calls)).toBe(1);
  });

  test('memory is bounded by size, oldest first; refusalCache: false remembers nothing', async () => {
    const small = setUp({ refusalCache: { size: 4 } });
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
      for (let i = 0; i < 4; i++) await small.limiter.check(req(ip));
    expect(small.store.refusals!.held).toBe(4);
    const off = setUp({ refusalCache: false });
    for (let i = 0; i < 6; i++) await off.limiter.check(req());
    expect(off.store.refusals).toBeUndefined();
    expect(evals(off.calls)).toBe(6);
  });

  test("on Redis's own clock, a remembered Retry-After is never earlier than Redis's", async () => {
    const store = new RedisStore({ client: client.client, prefix: `rt${++prefixes}:`, timeoutMs: 2_000 });
    const plain = new RedisStore({
      client: client.client,
      prefix: `rt${prefixes}:`,
      timeoutMs: 2_000,
      refusalCache: false,
    });
    const limiter = createLimiter({ scopes, store, onStoreError: 'closed' });
    const reference = createLimiter({ scopes, store: plain, onStoreError: 'closed' });
    for (let i = 0; i < 4; i++) await limiter.check(req());
    const remembered = (await limiter.check(req()))!;
    const fromRedis = (await reference.check(req()))!;
    expect(remembered.allowed).toBe(false);
    expect(remembered.resetAt).toBe(fromRedis.resetAt);
    expect(remembered.retryAfter!).toBeGreaterThanOrEqual(fromRedis.retryAfter! - 1);
    expect(Math.abs(remembered.now - fromRedis.now)).toBeLessThan(1000);
  });
});
