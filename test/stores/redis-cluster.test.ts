import type { Redis } from 'ioredis';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions } from '../../lib/options/options.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import type { ManualClock } from '../helpers/clock.js';
import {
  adminClient,
  allKeys,
  type ClientKind,
  clientKinds,
  connectCluster,
  keysWithoutTtl,
  type TestClient,
} from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisCluster, startCluster } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';
import { storeConformance } from './conformance.js';

const limits = [
  { max: 100, window: '1m' },
  { max: 1000, window: '1h' },
];
const scopes: ScopeOptions[] = [
  { name: 'ip', key: 'ip', limits, burst: 100 },
  { name: 'apiKey', key: 'apiKey', limits },
  { name: 'partner', key: { header: 'x-partner-id' }, limits },
  { name: 'user', key: { header: 'x-user' }, limits },
];
const request = () =>
  requestFrom({ headers: { authorization: 'Bearer k-123', 'x-partner-id': 'acme', 'x-user': 'u-7' } });

describeWithRedis()('RedisStore on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let admins: Redis[];
  const clients = new Map<ClientKind, TestClient>();
  let prefixes = 0;

  beforeAll(async () => {
    cluster = await startCluster();
    admins = cluster.ports.map((port) => adminClient(port));
    for (const kind of clientKinds) clients.set(kind, await connectCluster(kind, cluster.ports));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients.values()) await client.close();
    for (const admin of admins) admin.disconnect();
    await cluster.stop();
  });

  beforeEach(async () => {
    await Promise.all(admins.map((admin) => admin.flushall()));
  });

  test('the scopes of one request would span several slots without the shared hash tag', async () => {
    const slots = await Promise.all(
      [
        'tg:ip:203.0.113.7:60000',
        'tg:partner:acme:60000',
        'tg:user:u-7:60000',
        'tg:ip:203.0.113.7:burst',
      ].map((key) => admins[0]!.cluster('KEYSLOT', key)),
    );
    expect(new Set(slots).size).toBeGreaterThan(1);
    const tagged = await Promise.all(slots.map((_, i) => admins[0]!.cluster('KEYSLOT', `{tg}:k${i}`)));
    expect(new Set(tagged).size).toBe(1);
  });

  describe.each(clientKinds)('via %s', (kind) => {
    const storeOf = (options: { now?: () => number; hashTag?: string } = {}) =>
      new RedisStore({ client: clients.get(kind)!.client, timeoutMs: 5_000, ...options });

    test('checks 4 scopes × 2 windows and a burst in one call, without CROSSSLOT', async () => {
      const limiter = createLimiter({ store: storeOf(), scopes, onStoreError: 'closed' });
      const decision = (await limiter.check(request()))!;
      expect(decision.storeError).toBeUndefined();
      expect(decision).toMatchObject({ allowed: true, status: 200 });
      expect(decision.policies).toHaveLength(9);
      // Every counter of the request lives on one master.
      const perNode = await Promise.all(admins.map((admin) => allKeys(admin)));
      expect(perNode.map((keys) => keys.length).sort()).toEqual([0, 0, 9]);
    });

    test('300 concurrent requests against a limit of 100 admit exactly 100', async () => {
      const limiter = createLimiter({ store: storeOf(), scopes, onStoreError: 'closed' });
      const decisions = await Promise.all(Array.from({ length: 300 }, () => limiter.check(request())));
      expect(decisions.every((d) => d!.storeError === undefined)).toBe(true);
      expect(decisions.filter((d) => d!.allowed)).toHaveLength(100);
    });

    test("after SCRIPT FLUSH on every master the script is sent again by EVAL, to the key's node", async () => {
      const limiter = createLimiter({ store: storeOf(), scopes, onStoreError: 'closed' });
      await limiter.check(request());
      await Promise.all(admins.map((admin) => admin.script('FLUSH')));
      const decision = await limiter.check(request());
      expect(decision?.storeError).toBeUndefined();
      expect(decision).toMatchObject({ allowed: true, remaining: 98 });
    });

    test('another hash tag is another slot: limiters that never share a request can be spread', async () => {
      const a = storeOf({ hashTag: 'tg-a' });
      const b = storeOf({ hashTag: 'tg-b' });
      const slotOf = (store: RedisStore) => admins[0]!.cluster('KEYSLOT', store.keyOf({ key: 'x' }));
      expect(await slotOf(a)).not.toBe(await slotOf(b));
      await createLimiter({ store: a, scopes, onStoreError: 'closed' }).check(request());
      const decision = await createLimiter({ store: b, scopes, onStoreError: 'closed' }).check(request());
      expect(decision).toMatchObject({ allowed: true, remaining: 99 });
    });

    describe('store conformance', () => {
      storeConformance(
        (clock: ManualClock) =>
          new RedisStore({
            client: clients.get(kind)!.client,
            prefix: `cl${++prefixes}:`,
            now: clock.now,
            timeoutMs: 5_000,
          }),
      );
    });
  });

  describe('afterwards', () => {
    test('leaves no tollgate key without a TTL on any node', async () => {
      for (const admin of admins) expect(await keysWithoutTtl(admin)).toEqual([]);
    });
  });
});
