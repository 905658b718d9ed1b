import type { Store } from '../../lib/store.js';
import { MemoryStore } from '../../lib/stores/memory.js';
import { RedisStore } from '../../lib/stores/redis.js';
import type { ManualClock } from '../helpers/clock.js';
import { type ClientKind, connectClient, type TestClient } from '../helpers/redis-clients.js';
import { type RedisServer, redisAvailable, startRedis } from '../helpers/redis-server.js';
import { type StoreFactory, storeConformance } from './conformance.js';

let server: RedisServer | undefined;
const clients = new Map<ClientKind, TestClient>();
let stores = 0;

beforeAll(async () => {
  if (!redisAvailable()) return;
  server = await startRedis();
  for (const kind of ['ioredis', 'node-redis'] as const)
    clients.set(kind, await connectClient(kind, server.port));
});

afterAll(async () => {
  for (const client of clients.values()) await client.close();
  await server?.stop();
});

function redisFactory(kind: ClientKind): StoreFactory {
  return (clock: ManualClock): Store =>
    new RedisStore({
      client: clients.get(kind)!.client,
      // A prefix per store: each test starts from empty counters on the shared server.
      prefix: `c${++stores}:`,
      now: clock.now,
      // 1000 calls in flight at once on a loaded CI machine: the contract is under test, not latency.
      timeoutMs: 5_000,
    });
}

const subjects: Array<[string, StoreFactory]> = [
  ['MemoryStore', (clock) => new MemoryStore({ now: clock.now })],
  ...(redisAvailable()
    ? ([
        ['RedisStore via ioredis', redisFactory('ioredis')],
        ['RedisStore via node-redis', redisFactory('node-redis')],
      ] as Array<[string, StoreFactory]>)
    : []),
];

describe.each(subjects)('Store conformance: %s', (_name, factory) => {
  storeConformance(factory);
});
