import { Registry } from 'prom-client';
import { prometheusMetrics } from '../../lib/metrics/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { limitedApp } from '../helpers/limited-app.js';
import { Scrape } from '../helpers/prometheus.js';
import { connectClient, type TestClient } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis, waitFor } from '../helpers/redis-server.js';

/**
 * The metrics over a real Redis, through Express and Koa: every store call timed, and when
 * Redis goes away, its errors by code and the admissions the failure policy made.
 */

describeWithRedis()('metrics on the Redis store', () => {
  let server: RedisServer;
  let redis: TestClient;

  beforeEach(async () => {
    server = await startRedis();
    redis = await connectClient('ioredis', server.port);
  }, 30_000);

  afterEach(async () => {
    await redis.close();
    await server.stop();
  });

  test.each(['express', 'koa'] as const)(
    '%s: store timings, then errors by code and failure-policy admissions',
    async (framework) => {
      const registry = new Registry();
      const app = limitedApp(framework, {
        // No refusal cache: every call goes to Redis, so that its failures are what is counted.
        store: new RedisStore({ client: redis.client, timeoutMs: 2_000, refusalCache: false }),
        onStoreError: 'open',
        metrics: prometheusMetrics({ registry }),
        scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 2, window: '1m' }] }],
      });
      for (let i = 0; i < 3; i++) await app.get('/');
      let scrape = new Scrape(await registry.metrics());
      expect(scrape.series('tollgate_store_duration_seconds')).toEqual([
        expect.objectContaining({ labels: { operation: 'consume' }, count: 3 }),
      ]);
      expect(
        scrape.value('tollgate_decisions_total', { scope: 'ip', limit: 'ip_minute', outcome: 'allowed' }),
      ).toBe(2);
      expect(
        scrape.value('tollgate_decisions_total', {
          scope: 'ip',
          limit: 'ip_minute',
          outcome: 'limited',
          status: '429',
        }),
      ).toBe(1);

      await server.stop();
      await waitFor(() => !redis.ready(), 'the client to see Redis gone');
      for (let i = 0; i < 2; i++) expect((await app.get('/')).status).toBe(200);
      scrape = new Scrape(await registry.metrics());
      expect(
        scrape.value('tollgate_store_errors_total', {
          operation: 'consume',
          code: 'ERR_TOLLGATE_REDIS_UNAVAILABLE',
        }),
      ).toBe(2);
      expect(scrape.value('tollgate_failure_admissions_total', { policy: 'open' })).toBe(2);
      expect(
        scrape.value('tollgate_decisions_total', { scope: '', limit: '', outcome: 'store_unavailable' }),
      ).toBe(2);
      // Back, so that the client closes a live connection rather than a pending reconnect.
      await server.start();
      await waitFor(() => redis.ready(), 'the client to reconnect');
    },
    30_000,
  );
});
