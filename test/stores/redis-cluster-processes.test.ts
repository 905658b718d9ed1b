import type { ChildProcess } from 'node:child_process';
import { Cluster } from 'ioredis';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { slotOf } from '../../lib/stores/redis/layout.js';
import type { WindowCounterSpec } from '../../lib/stores/store.js';
import { forkRedisWorkers, nextMessage, ROUND_WINDOW_MS, stopWorkers } from '../helpers/processes.js';
import { describeWithRedis, type RedisCluster, startCluster } from '../helpers/redis-server.js';
import type { RoundOrder, RoundReport } from './redis-worker.js';

const WORKERS = 4;
const CALLS = 250;
const LIMIT = 100;
const ROUNDS = 10;
const ROOMY = 1_000_000;

/** One request's counters over four scope values: the first binding at LIMIT, the rest roomy. */
function countersOf(round: string): WindowCounterSpec[] {
  return ['ip', 'partner', 'user', 'bank'].map((scope, i) => {
    const group = { namespace: `tg:${scope}:`, value: round };
    return {
      kind: 'window',
      key: `tg:${scope}:${round}:${ROUND_WINDOW_MS}`,
      group,
      windowMs: ROUND_WINDOW_MS,
      limit: i === 0 ? LIMIT : ROOMY,
      cost: 1,
    };
  });
}

describeWithRedis()(
  'exactness across processes on a 3-master cluster, one request over several slots',
  () => {
    let cluster: RedisCluster;
    let client: Cluster;
    let workers: ChildProcess[] = [];

    beforeAll(async () => {
      cluster = await startCluster();
      client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
      workers = await forkRedisWorkers(cluster.ports.join(','), WORKERS);
    }, 90_000);

    afterAll(async () => {
      await stopWorkers(workers);
      client.disconnect();
      await cluster.stop();
    });

    test(`${WORKERS} processes × ${CALLS} concurrent 4-slot calls, one limit of ${LIMIT}: exactly ${LIMIT}, ${ROUNDS} times`, async () => {
      const store = new RedisStore({ client, timeoutMs: 5_000, refusalCache: false });
      for (let round = 0; round < ROUNDS; round++) {
        const value = `round-${round}-${Date.now()}`;
        const counters = countersOf(value);
        expect(new Set(counters.map((c) => slotOf(store.keyOf(c)))).size).toBeGreaterThan(1);
        const order: RoundOrder = { key: value, calls: CALLS, limit: LIMIT, counters };
        const reports = workers.map((worker) => nextMessage<RoundReport>(worker));
        for (const worker of workers) worker.send(order);
        const done = await Promise.all(reports);
        expect(done.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
        expect(done.reduce((sum, r) => sum + r.admitted, 0)).toBe(LIMIT);
        // Each refused call's charges on the roomy slots were given back: every counter holds LIMIT.
        const peek = await store.peek(counters);
        expect(peek.counters.map((c, i) => counters[i]!.limit - c.remaining)).toEqual([
          LIMIT,
          LIMIT,
          LIMIT,
          LIMIT,
        ]);
      }
    }, 120_000);
  },
);
