import type { Redis } from 'ioredis';
import type { Decision } from '../../lib/core/decision.js';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions } from '../../lib/options/options.js';
import { RedisStore, RedisStoreError } from '../../lib/stores/redis/index.js';
import { slotOf } from '../../lib/stores/redis/layout.js';
import type { WindowCounterSpec } from '../../lib/stores/store.js';
import { T0 } from '../helpers/clock.js';
import { adminClient, type ClientKind, connectCluster, type TestClient } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisCluster, startCluster, waitFor } from '../helpers/redis-server.js';
import { requestFrom } from '../helpers/requests.js';

/** Generous: proves that a call returns instead of hanging, not how fast it fails. */
const BOUNDED_MS = 3_000;

function windowOf(value: string, limit = 1_000_000): WindowCounterSpec {
  return {
    kind: 'window',
    key: `tg:ip:${value}:60000`,
    group: { namespace: 'tg:ip:', value },
    windowMs: 60_000,
    limit,
    cost: 1,
  };
}

/** Which node (index into the cluster's ports) serves each slot, from CLUSTER SLOTS. */
async function slotOwners(admin: Redis, ports: readonly number[]): Promise<(slot: number) => number> {
  const ranges = (await admin.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    return ports.indexOf(range[2][1]);
  };
}

describeWithRedis().each(['ioredis', 'node-redis'] as ClientKind[])(
  'a 3-master cluster losing a master, via %s',
  (kind) => {
    let cluster: RedisCluster;
    let admins: Redis[];
    let client: TestClient;
    let ownerOf: (slot: number) => number;

    beforeAll(async () => {
      // The live masters keep serving their slots when one is gone.
      cluster = await startCluster(['--cluster-require-full-coverage', 'no']);
      admins = cluster.ports.map((port) => adminClient(port));
      client = await connectCluster(kind, cluster.ports);
      ownerOf = await slotOwners(admins[0]!, cluster.ports);
    }, 60_000);

    afterAll(async () => {
      await client.close();
      for (const admin of admins) admin.disconnect();
      await cluster.stop();
    });

    /** A scope value whose hash lives on node `node`. */
    function valueOn(node: number, namespace: string, tag: string): string {
      for (let i = 0; ; i++) {
        const value = `${tag}-${i}`;
        if (ownerOf(slotOf(`{${namespace}${value}}`)) === node) return value;
      }
    }

    test('a master killed mid-traffic: the failure policy answers, promptly, and the live counts add up', async () => {
      const errors: unknown[] = [];
      const scopes: ScopeOptions[] = [
        { name: 'ip', key: 'ip', limits: [{ max: 5, window: '1h' }] },
        { name: 'user', key: { header: 'x-user' }, limits: [{ max: 1_000_000, window: '1h' }] },
      ];
      const store = new RedisStore({ client: client.client, timeoutMs: 300 });
      const limiter = createLimiter({
        scopes,
        store,
        onStoreError: 'closed',
        onError: (e) => errors.push(e),
      });
      // Addresses are IPv4 literals: pick, per node, one whose hash lives there.
      const ips = [0, 1, 2].map((node) => {
        for (let i = 1; ; i++) {
          const ip = `192.0.${node}.${i}`;
          if (ownerOf(slotOf(`{tg:ip:${ip}}`)) === node) return ip;
        }
      });
      const users = [0, 1, 2].map((node) => valueOn(node, 'tg:user:', 'u'));
      const decisions: Array<{ decision: Decision; ms: number; user: number; ip: number; round: number }> =
        [];
      let killed: Promise<void> | undefined;
      for (let round = 0; round < 10; round++) {
        // Node 2 dies while the fourth round is in flight.
        if (round === 3) killed = cluster.nodes[2]!.stop();
        await Promise.all(
          [0, 1, 2].flatMap((ip) =>
            [0, 1, 2].map(async (user) => {
              const start = performance.now();
              const req = requestFrom({ ip: ips[ip]!, headers: { 'x-user': users[user]! } });
              const decision = (await limiter.check(req))!;
              decisions.push({ decision, ms: performance.now() - start, user, ip, round });
            }),
          ),
        );
      }
      await killed;
      expect(decisions).toHaveLength(90);
      expect(decisions.every((d) => d.ms < BOUNDED_MS)).toBe(true);
      for (const { decision, user, ip, round } of decisions) {
        const touchesDead = ip === 2 || user === 2;
        if (!touchesDead) expect(decision.storeError).toBeUndefined();
        else if (round > 3)
          expect(decision).toMatchObject({ allowed: false, status: 503, reason: 'store_unavailable' });
        else if (decision.storeError !== undefined) expect(decision).toMatchObject({ status: 503 });
      }
      expect(
        errors.every((e) => e instanceof RedisStoreError && e.code === 'ERR_TOLLGATE_REDIS_REFUND_LOST'),
      ).toBe(true);
      // On the live masters, every count is what was admitted: each refused or failed request's
      // charges there were given back (a refund lost would have been reported above).
      for (const ip of [0, 1]) {
        const admitted = decisions.filter((d) => d.ip === ip && d.decision.allowed).length;
        expect(admitted).toBe(5);
        const counter = { ...windowOf(ips[ip]!, 5), key: `tg:ip:${ips[ip]}:3600000`, windowMs: 3_600_000 };
        expect((await store.peek([counter])).counters[0]!.remaining).toBe(0);
      }
      for (const user of [0, 1]) {
        const admitted = decisions.filter((d) => d.user === user && d.decision.allowed).length;
        const value = users[user]!;
        const counter: WindowCounterSpec = {
          ...windowOf(value),
          key: `tg:user:${value}:3600000`,
          group: { namespace: 'tg:user:', value },
          windowMs: 3_600_000,
        };
        expect((await store.peek([counter])).counters[0]!.remaining).toBe(1_000_000 - admitted);
      }
    }, 60_000);

    test('a charge whose refund cannot reach its master is reported, never dropped', async () => {
      const store = new RedisStore({ client: client.client, timeoutMs: 400, now: () => T0 + 30_000 });
      const charged = windowOf(valueOn(0, 'tg:ip:', 'a'));
      const stalled = windowOf(valueOn(1, 'tg:ip:', 'b'));
      const reports: Error[] = [];
      cluster.nodes[1]!.pause();
      try {
        const call = store.consume([charged, stalled], { report: (error) => reports.push(error) });
        const settled = call.then(
          () => undefined,
          (error: unknown) => error,
        );
        // Node 0 charges its counter, then dies before the refund can reach it.
        await waitFor(
          async () => (await admins[0]!.hget(store.keyOf(charged), `n:60000@${T0}`)) === '1',
          'the charge',
        );
        await cluster.nodes[0]!.stop();
        expect(await settled).toMatchObject({ code: 'ERR_TOLLGATE_REDIS_TIMEOUT' });
      } finally {
        cluster.nodes[1]!.resume();
      }
      expect(reports).toHaveLength(1);
      expect(reports[0]).toBeInstanceOf(RedisStoreError);
      expect(reports[0]).toMatchObject({ code: 'ERR_TOLLGATE_REDIS_REFUND_LOST', keys: [charged.key] });
    }, 30_000);
  },
);
