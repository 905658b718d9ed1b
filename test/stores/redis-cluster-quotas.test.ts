import { createLimiter } from '../../lib/core/limiter.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { manualClock } from '../helpers/clock.js';
import { connectCluster, type TestClient } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisCluster, startCluster } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';
import { quotaConformance } from './conformance-quotas.js';

/**
 * Calendar caps and concurrency slots on a 3-master Redis Cluster, each scope value on its own
 * slot: the quota ops run per slot, and a request refused anywhere charges nothing anywhere.
 */
describeWithRedis()('quotas on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: TestClient;
  let stores = 0;

  beforeAll(async () => {
    cluster = await startCluster();
    client = await connectCluster('ioredis', cluster.ports);
  }, 90_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  quotaConformance(
    (clock) =>
      new RedisStore({ client: client.client, prefix: `cq${++stores}:`, now: clock.now, timeoutMs: 5_000 }),
  );

  test('a monthly cap, a daily cap, a minute and a slot across slots: all or nothing', async () => {
    const clock = manualClock(Date.parse('2025-04-30T23:00:00Z'));
    const limiter = createLimiter<null>({
      now: clock.now,
      store: new RedisStore({ client: client.client, prefix: 'cqx:', now: clock.now, timeoutMs: 5_000 }),
      scopes: [
        { name: 'gen', key: { header: 'x-key' }, limits: [{ max: 10, window: '1m' }], concurrency: 1 },
      ],
      spendCap: {
        key: { header: 'x-key' },
        cost: 5,
        budgets: [
          { period: 'day', budget: 100 },
          { period: 'month', budget: 10 },
        ],
      },
    });
    const req = requestFrom({ headers: { 'x-key': 'k1' } });
    const first = await limiter.check(req);
    expect(first?.allowed).toBe(true);
    // The slot is held: refused, and the month, the day and the minute keep only the first charge.
    expect((await limiter.check(req))?.reason).toBe('gen_concurrency');
    await limiter.release(first!);
    const second = await limiter.check(req);
    expect(second?.allowed).toBe(true);
    await limiter.release(second!);
    const refused = await limiter.check(req);
    expect(refused?.reason).toBe('monthly_spend_cap_exceeded');
    // The minute kept one charge per admitted request alone: 10 − 2.
    expect(refused?.policies.find((policy) => policy.id === 'gen_minute')?.remaining).toBe(8);
    const usage = await limiter.getUsage('k1');
    expect(usage.periods).toMatchObject({ day: { used: 10 }, month: { used: 10 } });
    clock.set(Date.parse('2025-05-01T00:00:00Z'));
    expect((await limiter.check(req))?.allowed).toBe(true);
  });
});
