/**
 * A separate process for test/stores/redis-processes.test.ts and redis-cluster-processes.test.ts,
 * run with `node --import tsx`: connects to the Redis on argv[2] (a port, or a cluster's ports
 * joined by commas) with the client named by argv[3], then on each message fires that many
 * concurrent consumes of its counters and reports how many were admitted.
 */
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import type { RedisClientLike } from '../../lib/stores/redis/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import type { CounterSpec } from '../../lib/stores/store.js';
import { ROUND_WINDOW_MS } from '../helpers/processes.js';

export interface RoundOrder {
  readonly key: string;
  readonly calls: number;
  readonly limit: number;
  /** The counters of each call; without them, one `ROUND_WINDOW_MS` window under `key` of `limit`. */
  readonly counters?: readonly CounterSpec[];
}

export interface RoundReport {
  readonly key: string;
  readonly admitted: number;
  readonly failed: number;
}

const host = '127.0.0.1';

async function connect(ports: number[], kind: string): Promise<{ client: RedisClientLike; close(): void }> {
  if (kind === 'ioredis') {
    if (ports.length > 1) {
      const cluster = new Cluster(
        ports.map((port) => ({ host, port })),
        { enableOfflineQueue: false, lazyConnect: true, redisOptions: { maxRetriesPerRequest: 0 } },
      );
      await cluster.connect();
      return { client: cluster, close: () => cluster.disconnect() };
    }
    const client = new Redis({ host, port: ports[0], lazyConnect: true, enableOfflineQueue: false });
    await client.connect();
    return { client, close: () => client.disconnect() };
  }
  if (ports.length > 1) {
    const cluster = createCluster({
      rootNodes: ports.map((port) => ({ socket: { host, port } })),
      defaults: { disableOfflineQueue: true },
    });
    cluster.on('error', () => {});
    await cluster.connect();
    return { client: cluster, close: () => cluster.destroy() };
  }
  const client = createClient({ socket: { host, port: ports[0] }, disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  return { client, close: () => client.destroy() };
}

async function main(): Promise<void> {
  const ports = (process.argv[2] ?? '').split(',').map(Number);
  const { client, close } = await connect(ports, process.argv[3] ?? 'ioredis');
  // Every call of a round is sent before any answer: remembered refusals would change nothing.
  const store = new RedisStore({ client, timeoutMs: 10_000 });
  process.on('message', async (message: RoundOrder | 'exit') => {
    if (message === 'exit') {
      close();
      process.disconnect?.();
      return;
    }
    const counters: readonly CounterSpec[] = message.counters ?? [
      { kind: 'window', key: message.key, windowMs: ROUND_WINDOW_MS, limit: message.limit, cost: 1 },
    ];
    const results = await Promise.allSettled(
      Array.from({ length: message.calls }, () => store.consume(counters)),
    );
    const report: RoundReport = {
      key: message.key,
      admitted: results.filter((r) => r.status === 'fulfilled' && r.value.admitted).length,
      failed: results.filter((r) => r.status === 'rejected').length,
    };
    process.send?.(report);
  });
  process.send?.('ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
