import { Redis } from 'ioredis';
import { createClient } from '../../lib/client/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { T0 } from '../helpers/clock.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { expectNeverEarly, type Listening, listen, recordingFetch } from './helpers/e2e.js';
import { testClock } from './helpers/fakes.js';
import { type BurstProfile, PROFILES } from './helpers/profiles.js';

// The same bursts against three instances of each example sharing their counters in a real
// redis-server, behind a round-robin balancer. RedisStore's `now` option (tests only) stands in
// for Redis TIME, so the one test clock drives the servers, their store and the client's sleep.

const BURST = 150;
const INSTANCES = 3;

describeWithRedis()('the client against three instances over Redis', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  let run = 0;

  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
    await redis.stop();
  });

  async function instances(profile: BurstProfile, now: () => number): Promise<Listening[]> {
    const prefix = `client${++run}:`;
    const servers: Listening[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const client = new Redis({
        host: '127.0.0.1',
        port: redis.port,
        enableOfflineQueue: false,
        lazyConnect: true,
      });
      await client.connect();
      clients.push(client);
      // Fail closed with a generous timeout: a store error must show as a 503, never as an admission.
      servers.push(await listen(profile.app(now, new RedisStore({ client, prefix, timeoutMs: 5000, now }))));
    }
    return servers;
  }

  describe.each(PROFILES)('$name', (profile) => {
    test.each([false, true])('a burst of 150, throttled: %s', async (throttle) => {
      const clock = testClock();
      const servers = await instances(profile, clock.now);
      try {
        const wire = recordingFetch(
          clock,
          servers.map((s) => s.url),
        );
        const api = createClient({
          baseUrl: 'http://api.test',
          fetch: wire.fetch,
          now: clock.now,
          sleep: wire.sleep,
          ...profile.client,
          ...(throttle ? {} : { throttle: false, requestsPerMinute: undefined }),
        });
        const headers = (i: number) => ({
          ...(profile.init.headers as Record<string, string>),
          'X-Test-Call': String(i),
        });
        const results = await Promise.allSettled(
          Array.from({ length: BURST }, (_, i) =>
            api.fetch(profile.path, { ...profile.init, headers: headers(i) }),
          ),
        );
        expect(
          results
            .filter((r) => r.status === 'rejected')
            .map((r) => String((r as PromiseRejectedResult).reason)),
        ).toEqual([]);
        expect(results.every((r) => r.status === 'fulfilled' && r.value.status < 300)).toBe(true);
        const { log } = wire;
        const refused = log.filter((a) => a.status === 429);
        expect(expectNeverEarly(log)).toBe(refused.length);
        // Every instance took its share, yet the shared counters admitted no more than the limit in the first minute.
        expect(new Set(log.map((a) => a.instance)).size).toBe(INSTANCES);
        const firstMinute = log.filter((a) => a.status < 300 && a.sentAt < T0 + 60_000);
        expect(firstMinute.length).toBeLessThanOrEqual(profile.perMinute);
        if (throttle) expect(refused.length).toBeLessThanOrEqual(2);
        else expect(refused.length).toBeGreaterThan(0);
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
    });
  });
});
