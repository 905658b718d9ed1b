import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { forkRedisWorkers, nextMessage, stopWorkers } from '../helpers/processes.js';
import { adminClient, countIn } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import type { RoundOrder, RoundReport } from './redis-worker.js';

const WORKERS = 4;
const CALLS = 250;
const LIMIT = 100;
const ROUNDS = 10;

describeWithRedis()('exactness across processes', () => {
  let server: RedisServer;
  let admin: Redis;
  let workers: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startRedis();
    admin = adminClient(server.port);
    workers = await forkRedisWorkers(String(server.port), WORKERS);
  }, 60_000);

  afterAll(async () => {
    await stopWorkers(workers);
    admin.disconnect();
    await server.stop();
  });

  test(`${WORKERS} processes × ${CALLS} concurrent calls on one counter of ${LIMIT} admit exactly ${LIMIT}, ${ROUNDS} times`, async () => {
    const store = new RedisStore({ client: admin, timeoutMs: 5_000 });
    for (let round = 0; round < ROUNDS; round++) {
      const order: RoundOrder = { key: `procs:round-${round}:${Date.now()}`, calls: CALLS, limit: LIMIT };
      const reports = workers.map((worker) => nextMessage<RoundReport>(worker));
      for (const worker of workers) worker.send(order);
      const done = await Promise.all(reports);
      expect(done.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
      expect(done.reduce((sum, r) => sum + r.admitted, 0)).toBe(LIMIT);
      expect(await countIn(admin, store.keyOf(order))).toBe(String(LIMIT));
    }
  }, 60_000);
});
