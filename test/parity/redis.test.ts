import type { Redis } from 'ioredis';
import { createLimiter } from '../../lib/core/limiter.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { adapters } from '../helpers/adapters.js';
import { T0 } from '../helpers/clock.js';
import { perIp } from '../helpers/koa-parity.js';
import { adminClient } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';

// The same behaviour through every adapter when the counters live in a real Redis.
describeWithRedis()('adapters on the Redis store', () => {
  let server: RedisServer;
  let client: Redis;
  let run = 0;

  beforeAll(async () => {
    server = await startRedis();
    client = adminClient(server.port);
    await client.ping();
  }, 30_000);

  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  // A fresh key prefix per test: every test starts from empty counters on the shared server. The
  // store clock is pinned mid-minute so that no window ends during a test; a store error would
  // be a 503 (fail closed), never a silent admission.
  const now = () => T0 + 30_000;
  const store = () => new RedisStore({ client, prefix: `parity${++run}:`, timeoutMs: 5_000, now });

  describe.each(adapters)('$name', (adapter) => {
    test('1000 concurrent requests against a limit of 100 admit exactly 100', async () => {
      const api = adapter.build({
        app: { store: store(), now, onStoreError: 'closed', scopes: [perIp(100)] },
      });
      const statuses = await Promise.all(Array.from({ length: 1000 }, () => api.get('/ping')));
      expect(statuses.filter((res) => res.status === 200)).toHaveLength(100);
      const refused = statuses.find((res) => res.status === 429)!;
      expect(refused.headers['x-ratelimit-reason']).toBe('ip_minute');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    test('every dialect reports the Redis counters', async () => {
      const api = adapter.build({
        app: {
          store: store(),
          now,
          headers: ['x-ratelimit', 'ratelimit', 'ietf'],
          scopes: [
            {
              ...perIp(10),
              limits: [
                { max: 10, window: '1m' },
                { max: 50, window: '1h' },
              ],
              headerLimit: 'minute',
            },
          ],
        },
      });
      await api.get('/ping');
      const res = await api.get('/ping');
      expect(res.headers['x-ratelimit-limit']).toBe('10');
      expect(res.headers['x-ratelimit-remaining']).toBe('8');
      expect(res.headers['ratelimit-remaining']).toBe('8');
      expect(res.headers['ratelimit-policy']).toBe('"ip_minute";q=10;w=60, "ip_hour";q=50;w=3600');
      expect(res.headers.ratelimit).toMatch(/^"ip_minute";r=8;t=\d+$/);
    });

    test('a spending cap charges once per request and refunds a 5xx', async () => {
      const limiter = createLimiter({
        store: store(),
        now,
        spendCap: { key: { header: 'x-user' }, budget: 10, cost: 4 },
      });
      const api = adapter.build({ router: limiter, usage: limiter });
      expect((await api.post('/v1/spend/200').set('x-user', 'u')).status).toBe(200);
      expect((await api.post('/v1/spend/503').set('x-user', 'u')).status).toBe(503);
      // Settlement runs when the response has finished; read once it has landed.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await api.get('/usage').set('x-user', 'u')).body).toMatchObject({
        used: 4,
        remaining: 6,
        cap: 10,
      });
      expect((await api.post('/v1/spend/200').set('x-user', 'u')).status).toBe(200);
      const refused = await api.post('/v1/spend/200').set('x-user', 'u');
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-reason']).toBe('daily_spend_cap_exceeded');
    });
  });
});
