/**
 * A separate process for test/stores/redis-processes.test.ts, run with `node --import tsx`:
 * connects to the Redis on argv[2] with the client named by argv[3], then on each message
 * fires that many concurrent consumes at one counter and reports how many were admitted.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisClientLike } from '../../lib/stores/redis/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';

export interface RoundOrder {
  readonly key: string;
  readonly calls: number;
  readonly limit: number;
}

export interface RoundReport {
  readonly key: string;
  readonly admitted: number;
  readonly failed: number;
}

async function connect(port: number, kind: string): Promise<{ client: RedisClientLike; close(): void }> {
  if (kind === 'ioredis') {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false });
    await client.connect();
    return { client, close: () => client.disconnect() };
  }
  const client = createClient({ socket: { host: '127.0.0.1', port }, disableOfflineQueue: true });
  client.on('error', () => {});
  await client.connect();
  return { client, close: () => client.destroy() };
}

async function main(): Promise<void> {
  const { client, close } = await connect(Number(process.argv[2]), process.argv[3] ?? 'ioredis');
  const store = new RedisStore({ client, timeoutMs: 10_000 });
  process.on('message', async (message: RoundOrder | 'exit') => {
    if (message === 'exit') {
      close();
      process.disconnect?.();
      return;
    }
    const counter = {
      kind: 'window',
      key: message.key,
      windowMs: 3_600_000,
      limit: message.limit,
      cost: 1,
    } as const;
    const results = await Promise.allSettled(
      Array.from({ length: message.calls }, () => store.consume([counter])),
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
