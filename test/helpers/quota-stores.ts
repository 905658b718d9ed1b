import { MemoryStore } from '../../lib/stores/memory/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import type { Store } from '../../lib/stores/store.js';
import type { ManualClock } from './clock.js';
import { type ClientKind, connectClient, type TestClient } from './redis-clients.js';
import { type RedisServer, redisAvailable, startRedis } from './redis-server.js';

/**
 * The stores the quota suites (periods, concurrency) run on, each on the test's clock: the
 * memory store, and a real Redis through ioredis and node-redis when redis-server can run.
 * Call `start()` in `beforeAll` and `close()` in `afterAll`.
 */
export interface QuotaStores {
  readonly subjects: ReadonlyArray<[string, (clock: ManualClock) => Store]>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function quotaStores(): QuotaStores {
  let server: RedisServer | undefined;
  const clients = new Map<ClientKind, TestClient>();
  let stores = 0;
  const redis = (kind: ClientKind) => (clock: ManualClock) =>
    new RedisStore({
      client: clients.get(kind)!.client,
      // A prefix per store: each test starts from empty counters on the shared server.
      prefix: `q${++stores}:`,
      now: clock.now,
      timeoutMs: 5_000,
    });
  const subjects: Array<[string, (clock: ManualClock) => Store]> = [
    ['memory store', (clock) => new MemoryStore({ now: clock.now })],
  ];
  if (redisAvailable())
    subjects.push(
      ['Redis store (ioredis)', redis('ioredis')],
      ['Redis store (node-redis)', redis('node-redis')],
    );
  return {
    subjects,
    async start() {
      if (!redisAvailable()) return;
      server = await startRedis();
      for (const kind of ['ioredis', 'node-redis'] as const)
        clients.set(kind, await connectClient(kind, server.port));
    },
    async close() {
      for (const client of clients.values()) await client.close();
      await server?.stop();
    },
  };
}
