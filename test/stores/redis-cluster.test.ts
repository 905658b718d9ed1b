import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { storeValue } from '../../lib/core/keys.js';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions } from '../../lib/options/options.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { slotOf } from '../../lib/stores/redis/layout.js';
import type { CounterSpec, WindowCounterSpec } from '../../lib/stores/store.js';
import { type ManualClock, manualClock, T0 } from '../helpers/clock.js';
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
const roomy = [
  { max: 1_000_000, window: '1m' },
  { max: 1_000_000, window: '1h' },
];
const scopes: ScopeOptions[] = [
  { name: 'ip', key: 'ip', limits, burst: 100 },
  { name: 'apiKey', key: 'apiKey', limits },
  { name: 'partner', key: { header: 'x-partner-id' }, limits },
  { name: 'user', key: { header: 'x-user' }, limits },
];
/** The same four scopes, only the client address binding: the other slots never refuse. */
const oneBinding: ScopeOptions[] = scopes.map((scope, i) =>
  i === 0 ? { ...scope, burst: undefined } : { ...scope, limits: roomy },
);
const request = (i = 0) =>
  requestFrom({
    ip: `198.51.${(i >> 8) & 255}.${i & 255}`,
    headers: { authorization: `Bearer k-${i}`, 'x-partner-id': `acme-${i}`, 'x-user': `u-${i}` },
  });

/** `count` requests, `inFlight` at a time. */
async function inBatches<T>(count: number, inFlight: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await run(i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return results;
}

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

  test("the store computes each key's slot as Redis does", async () => {
    const keys = [
      '{tg:ip:203.0.113.7}',
      'app:{tg:partner:acme}',
      '{tg:spend:#Xk2p9aaaaaaaaaaaaaaaaa:day}',
      'no-tag',
      '{}empty-tag',
      '{tg}:tg:ip:203.0.113.7',
      '{ünïcode}',
      'a{b}c{d}',
    ];
    for (const key of keys) expect(slotOf(key)).toBe(await admins[0]!.cluster('KEYSLOT', key));
  });

  describe.each(clientKinds)('via %s', (kind) => {
    const storeOf = (options: { now?: () => number; hashTag?: string; refusalCache?: false } = {}) =>
      new RedisStore({ client: clients.get(kind)!.client, timeoutMs: 5_000, ...options });

    test('4 scopes × 2 windows and a burst: each scope value its own hash, on its own slot', async () => {
      const limiter = createLimiter({ store: storeOf(), scopes, onStoreError: 'closed' });
      const decision = (await limiter.check(request()))!;
      expect(decision.storeError).toBeUndefined();
      expect(decision).toMatchObject({ allowed: true, status: 200 });
      expect(decision.policies.map((p) => p.remaining)).toEqual([99, 999, 99, 99, 999, 99, 999, 99, 999]);
      const keys = (await Promise.all(admins.map((admin) => allKeys(admin)))).flat();
      expect(keys).toHaveLength(4);
      expect(new Set(keys.map(slotOf)).size).toBeGreaterThan(1);
    });

    test('with hashTag, every key on one slot, hence one master', async () => {
      const limiter = createLimiter({ store: storeOf({ hashTag: 'tg' }), scopes, onStoreError: 'closed' });
      expect(await limiter.check(request())).toMatchObject({ allowed: true, remaining: 99 });
      const perNode = await Promise.all(admins.map((admin) => allKeys(admin)));
      expect(perNode.map((keys) => keys.length).sort()).toEqual([0, 0, 4]);
    });

    test('300 concurrent requests over 4 slots, one binding limit of 100: exactly 100 admitted', async () => {
      // On a clock that stands still: a minute ending mid-test would start the counts afresh.
      const now = manualClock(T0 + 15_000).now;
      const limiter = createLimiter({
        store: storeOf({ now }),
        now,
        scopes: oneBinding,
        onStoreError: 'closed',
      });
      const decisions = await Promise.all(Array.from({ length: 300 }, () => limiter.check(request())));
      expect(decisions.every((d) => d!.storeError === undefined)).toBe(true);
      expect(decisions.filter((d) => d!.allowed)).toHaveLength(100);
      // The refused requests' charges on the other slots were all given back.
      const store = limiter.store as RedisStore;
      const peek = await store.peek(windowsOfRequest(0, 1_000_000).slice(2));
      expect(peek.counters.map((c) => c.remaining)).toEqual(Array(6).fill(1_000_000 - 100));
    });

    test('300 concurrent requests, every limit binding: never more than 100, and the counts are the admissions', async () => {
      const now = manualClock(T0 + 15_000).now;
      const store = storeOf({ now, refusalCache: false });
      const limiter = createLimiter({ store, now, scopes, onStoreError: 'closed' });
      const decisions = await Promise.all(Array.from({ length: 300 }, () => limiter.check(request())));
      const admitted = decisions.filter((d) => d!.allowed).length;
      expect(admitted).toBeLessThanOrEqual(100);
      expect(admitted).toBeGreaterThan(0);
      // Every charge a refused request took on the other slots was given back: each window
      // holds exactly the admitted requests.
      const peek = await store.peek(windowsOfRequest(0));
      expect(peek.counters.map((c) => c.remaining)).toEqual(
        [0, 1, 2, 3].flatMap(() => [100 - admitted, 1000 - admitted]),
      );
    });

    test('10,000 scope values × 4 scopes: no master holds more than half of the keys', async () => {
      const limiter = createLimiter({ store: storeOf(), scopes: oneBinding, onStoreError: 'closed' });
      const decisions = await inBatches(10_000, 100, (i) => limiter.check(request(i)));
      expect(decisions.every((d) => d!.allowed && d!.storeError === undefined)).toBe(true);
      const perNode = await Promise.all(admins.map((admin) => admin.dbsize()));
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(40_000);
      for (const keys of perNode) expect(keys).toBeLessThanOrEqual(20_000);
    }, 120_000);

    test("after SCRIPT FLUSH on every master the script is sent again by EVAL, to each key's node", async () => {
      const limiter = createLimiter({ store: storeOf(), scopes, onStoreError: 'closed' });
      await limiter.check(request());
      await Promise.all(admins.map((admin) => admin.script('FLUSH')));
      const decision = await limiter.check(request());
      expect(decision?.storeError).toBeUndefined();
      expect(decision).toMatchObject({ allowed: true, remaining: 98 });
    });

    test('multi-slot requests interleaved at random never over-admit, and end with the counts of a model', async () => {
      const counters = modelCounters();
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(
              fc.record({
                pick: fc.subarray([0, 1, 2, 3, 4, 5], { minLength: 1 }),
                cost: fc.integer({ min: 1, max: 3 }),
              }),
              { minLength: 1, maxLength: 12 },
            ),
            { minLength: 1, maxLength: 6 },
          ),
          async (rounds) => {
            const store = storeOf({ now: manualClock(T0 + 15_000).now, refusalCache: false });
            const run = `r${++prefixes}:`;
            const specs = counters.map((c) => ({
              ...c,
              key: run + c.key,
              group: { ...c.group!, namespace: run + c.group!.namespace },
            }));
            const model = specs.map(() => 0);
            for (const round of rounds) {
              const calls = round.map(({ pick, cost }) => pick.map((i) => ({ ...specs[i]!, cost })));
              // Every request of a round in flight at once: their scripts interleave on the masters.
              const results = await Promise.all(calls.map((call) => store.consume(call)));
              results.forEach((result, n) => {
                if (!result.admitted) return;
                for (const i of round[n]!.pick) model[i]! += round[n]!.cost;
              });
              for (const [i, used] of model.entries()) expect(used).toBeLessThanOrEqual(specs[i]!.limit);
              const peek = await store.peek(specs);
              expect(peek.counters.map((c) => c.remaining)).toEqual(specs.map((c, i) => c.limit - model[i]!));
            }
          },
        ),
        { numRuns: Number(process.env.TOLLGATE_FC_RUNS ?? 25) },
      );
    }, 60_000);

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

/** The window counters the limiter hands the store for `request(i)`, in its order. */
function windowsOfRequest(i: number, othersMax = 100): CounterSpec[] {
  const ip = `198.51.${(i >> 8) & 255}.${i & 255}`;
  const windows = (scope: string, value: string): CounterSpec[] => {
    const group = { namespace: `tg:${scope}:`, value };
    const [minute, hour] = scope === 'ip' || othersMax === 100 ? [100, 1000] : [othersMax, othersMax];
    return [
      { kind: 'window', key: `tg:${scope}:${value}:60000`, group, windowMs: 60_000, limit: minute!, cost: 1 },
      {
        kind: 'window',
        key: `tg:${scope}:${value}:3600000`,
        group,
        windowMs: 3_600_000,
        limit: hour!,
        cost: 1,
      },
    ];
  };
  return [
    ...windows('ip', ip),
    ...windows('apiKey', storeValue(`k-${i}`, true)),
    ...windows('partner', `acme-${i}`),
    ...windows('user', `u-${i}`),
  ];
}

/** Six counters over three scope values (so, most often, three slots): two windows each. */
function modelCounters(): WindowCounterSpec[] {
  return ['a', 'b', 'c'].flatMap((value, n) => {
    const group = { namespace: 'm:', value };
    return [
      { kind: 'window', key: `m:${value}:60000`, group, windowMs: 60_000, limit: 4 + n, cost: 1 },
      { kind: 'window', key: `m:${value}:3600000`, group, windowMs: 3_600_000, limit: 9 + n, cost: 1 },
    ] as WindowCounterSpec[];
  });
}
