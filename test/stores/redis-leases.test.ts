import { fork } from 'node:child_process';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createLimiter } from '../../lib/core/limiter.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { manualClock } from '../helpers/clock.js';
import { nextMessage } from '../helpers/processes.js';
import { adminClient } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';

const T = Date.parse('2025-06-15T12:00:00Z');

describeWithRedis()('Redis leases outlive no process', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedis();
    admin = adminClient(server.port);
  }, 30_000);

  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  test('a process killed mid-request holds its slots until their leases end, then no longer', async () => {
    const worker = fork(join(__dirname, 'redis-lease-worker.ts'), [String(server.port), String(T)], {
      execArgv: ['--import', 'tsx'],
      cwd: join(__dirname, '..', '..'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await nextMessage<number>(worker);
    // Two requests take both slots and hang in the handler; then the process dies with them.
    // Plain requests, each on its own connection and held here, so that nothing closes them
    // before the process dies (a closed connection would give its slot back).
    const pending: ClientRequest[] = [];
    for (let i = 0; i < 2; i++) {
      const entered = nextMessage<string>(worker);
      const req = httpRequest({
        port,
        host: '127.0.0.1',
        path: '/generate',
        headers: { 'x-api-key': 'k1' },
        agent: false,
      });
      req.on('error', () => {});
      req.end();
      pending.push(req);
      expect(await entered).toBe('entered');
    }
    // Both leases stand in Redis before the process dies.
    const leases = new RedisStore({ client: admin }).layout.hashOf({ key: 'tg:generate:k1:concurrency' });
    expect(await admin.zcard(leases)).toBe(2);
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;

    // Another instance of the fleet, on the same Redis, sees the dead process's slots taken
    // until their 60 s leases end.
    const clock = manualClock(T + 59_999);
    const limiter = createLimiter<null>({
      now: clock.now,
      store: new RedisStore({ client: admin, now: clock.now, timeoutMs: 5_000 }),
      scopes: [{ name: 'generate', key: { header: 'x-api-key' }, concurrency: { max: 2, lease: '60s' } }],
    });
    const req = requestFrom({ headers: { 'x-api-key': 'k1' } });
    expect(await admin.zcard(leases)).toBe(2);
    const held = await limiter.check(req);
    expect(held).toMatchObject({ allowed: false, reason: 'generate_concurrency', retryAfter: 1 });
    clock.set(T + 60_000);
    const freed = await limiter.check(req);
    expect(freed?.allowed).toBe(true);
    await limiter.release(freed!);
    for (const req of pending) req.destroy();
  }, 30_000);
});
