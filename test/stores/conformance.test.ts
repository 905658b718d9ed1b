import { MemoryStore } from '../../lib/stores/memory/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import type { CounterGroup, Store, StoreCounterSpec, StoreRefundSpec } from '../../lib/stores/store.js';
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

/**
 * The memory store given counters in groups, as the limiter gives them: `p-minute`, `p-hour`
 * and `p-burst` share the group `p`, so they are held in one record. The suite's property test
 * holds it to an ungrouped MemoryStore, result for result.
 */
function groupedMemoryStore(clock: ManualClock): Store {
  const store = new MemoryStore({ now: clock.now });
  // One group object per value within a call, as the limiter gives them.
  const inGroups = <T extends StoreCounterSpec | StoreRefundSpec>(list: readonly T[]): T[] => {
    const groups = new Map<string, CounterGroup>();
    return list.map((counter) => {
      const value = counter.key.split('-')[0]!;
      let group = groups.get(value);
      if (group === undefined) {
        group = { namespace: 'c:', value };
        groups.set(value, group);
      }
      return { ...counter, group };
    });
  };
  return {
    consume: (counters) => store.consume(inGroups(counters)),
    peek: (counters) => store.peek(inGroups(counters)),
    refund: (refunds) => store.refund(inGroups(refunds)),
    charge: (charges) => store.charge(inGroups(charges)),
    reset: (counters) => store.reset(inGroups(counters)),
  };
}

const subjects: Array<[string, StoreFactory]> = [
  ['MemoryStore', (clock) => new MemoryStore({ now: clock.now })],
  ['MemoryStore, counters in groups', groupedMemoryStore],
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
