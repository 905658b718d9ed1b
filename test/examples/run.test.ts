import type { Server } from 'node:http';
import request from 'supertest';
import { EXAMPLES, runExample } from '../../examples/run.js';
import { bearerToken, storeFromEnv } from '../../examples/support.js';
import { redisServerAvailable, throwawayRedis } from '../helpers/examples-redis.js';

/** What a client of each example sends to be admitted on one of its routes. */
const SMOKE: Record<string, { method: 'get' | 'post'; path: string; headers: Record<string, string> }> = {
  fastino: { method: 'get', path: '/v1/users/alice/summary', headers: { Authorization: 'Bearer fk_smoke' } },
  fluid: { method: 'get', path: '/v1/status', headers: {} },
  pioneer: { method: 'post', path: '/inference', headers: { Authorization: 'Bearer pk_smoke' } },
  firsthand: { method: 'get', path: '/v1/jobs/job_none', headers: { Authorization: 'Bearer fh_live_smoke' } },
};

/** The server's URL: supertest then only sends requests, and leaves the server to the test. */
function origin(server: Server): string {
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
}

describe('npm run example -- <name>', () => {
  test('names the four profiles, the Koa FirstHand and the metrics demo', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual([
      'fastino',
      'firsthand',
      'firsthand-koa',
      'fluid',
      'metrics',
      'pioneer',
    ]);
  });

  test('an unknown name is refused with the list of names', async () => {
    await expect(runExample('stripe', {})).rejects.toThrow(/Unknown example "stripe".*fastino, fluid/);
    await expect(runExample('toString', {})).rejects.toThrow(/Unknown example/);
  });

  test.each(Object.keys(SMOKE))('%s starts on PORT with the memory store and answers', async (name) => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    let server: Server | undefined;
    try {
      server = (await runExample(name, { PORT: '0' }))!;
      expect(server.listening).toBe(true);
      expect(log).toHaveBeenCalledWith(
        expect.stringMatching(new RegExp(`^${name} example listening .*store: memory`)),
      );
      const { method, path, headers } = SMOKE[name]!;
      const res = await request(origin(server))[method](path).set(headers);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['x-powered-by']).toBeUndefined();
    } finally {
      log.mockRestore();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
  });
});

describe('support', () => {
  test('no REDIS_URL, no Redis: the examples fall back to memory', async () => {
    const { store } = await storeFromEnv({});
    expect(store).toBeUndefined();
    expect((await storeFromEnv({ REDIS_URL: '' })).store).toBeUndefined();
  });

  test('bearerToken reads Authorization: Bearer <token> only', () => {
    expect(bearerToken({ authorization: 'Bearer fk_1' })).toBe('fk_1');
    expect(bearerToken({ authorization: 'bearer  fk_1 ' })).toBe('fk_1');
    expect(bearerToken({ authorization: 'Basic Zms6' })).toBeUndefined();
    expect(bearerToken({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });
});

(redisServerAvailable() ? describe : describe.skip)('REDIS_URL', () => {
  let redis: Awaited<ReturnType<typeof throwawayRedis>>;
  beforeAll(async () => {
    redis = await throwawayRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  test('puts the counters in Redis, where a second instance of the example sees them', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    const env = { PORT: '0', REDIS_URL: redis.url };
    const servers: Server[] = [];
    try {
      servers.push((await runExample('fluid', env))!, (await runExample('fluid', env))!);
      expect(log).toHaveBeenCalledWith(expect.stringContaining('store: redis'));
      const first = await request(origin(servers[0]!))
        .get('/v1/status')
        .set('X-Forwarded-For', '203.0.113.9');
      const second = await request(origin(servers[1]!))
        .get('/v1/status')
        .set('X-Forwarded-For', '203.0.113.9');
      expect(first.headers['ratelimit-remaining']).toBe('99');
      expect(second.headers['ratelimit-remaining']).toBe('98');
      expect((await redis.keys('*203.0.113.9*')).length).toBeGreaterThan(0);
    } finally {
      log.mockRestore();
      await Promise.all(
        servers.map((server) => {
          server.closeAllConnections();
          return new Promise((resolve) => server.close(resolve));
        }),
      );
      // Closing an example's server quits its Redis client.
      await redis.drained();
    }
  });
});
