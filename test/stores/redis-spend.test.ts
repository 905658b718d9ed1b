import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createLimiter } from '../../lib/core/limiter.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { nextMessage } from '../helpers/processes.js';
import { adminClient, keysWithoutTtl } from '../helpers/redis-clients.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import type { SpendOrder, SpendReport } from './redis-spend-worker.js';

const WORKERS = 4;
const CHARGES = 500;
const BUDGET = 50_000;

/** A deterministic spread of integer costs from 1 to 250. */
const costsFor = (worker: number) =>
  Array.from({ length: CHARGES }, (_, i) => 1 + ((i * 7919 + worker * 104_729) % 250));

describeWithRedis()('spending caps on Redis', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedis();
    admin = adminClient(server.port);
  }, 30_000);

  afterAll(async () => {
    expect(await keysWithoutTtl(admin)).toEqual([]);
    admin.disconnect();
    await server.stop();
  });

  describe(`${WORKERS} processes × ${CHARGES} concurrent charges of random cost against one key`, () => {
    const workers: ChildProcess[] = [];

    beforeAll(async () => {
      for (let i = 0; i < WORKERS; i++) {
        workers.push(
          fork(join(__dirname, 'redis-spend-worker.ts'), [String(server.port)], {
            execArgv: ['--import', 'tsx'],
            cwd: join(__dirname, '..', '..'),
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        );
      }
      await Promise.all(workers.map((worker) => nextMessage<string>(worker)));
    }, 60_000);

    afterAll(() => {
      for (const worker of workers) worker.send('exit');
    });

    test('never above the cap, the stored counter equals the sum admitted, no admission beyond what remained', async () => {
      const reports = workers.map((worker) => nextMessage<SpendReport>(worker));
      workers.forEach((worker, i) => {
        worker.send({ user: 'racer', budget: BUDGET, costs: costsFor(i) } satisfies SpendOrder);
      });
      const decisions = (await Promise.all(reports)).flat();
      const admitted = decisions.filter(([, ok]) => ok);
      const sum = admitted.reduce((total, [cost]) => total + cost, 0);

      expect(sum).toBeLessThanOrEqual(BUDGET);
      // The costs asked for far more than the budget, so the cap was reached.
      expect(decisions.reduce((total, [cost]) => total + cost, 0)).toBeGreaterThan(BUDGET);

      const limiter = createLimiter<null>({
        store: new RedisStore({ client: admin }),
        spendCap: { key: { header: 'x-user' }, budget: BUDGET },
      });
      expect((await limiter.getUsage('racer')).used).toBe(sum);

      // Admissions happen one at a time inside the script: ordered by what they left, each left
      // exactly the budget minus everything admitted up to it — none took more than remained.
      const byRemaining = [...admitted].sort((a, b) => b[2] - a[2]);
      let left = BUDGET;
      for (const [cost, , remaining] of byRemaining) {
        left -= cost;
        expect(remaining).toBe(left);
      }
      // A refusal saw less remaining than its cost.
      for (const [cost, ok, remaining] of decisions) if (!ok) expect(cost).toBeGreaterThan(remaining);
    }, 60_000);
  });

  test('the same Idempotency-Key retried 10 times concurrently is charged once; refunds are idempotent', async () => {
    const store = new RedisStore({ client: admin });
    const limiter = createLimiter<null>({
      store,
      spendCap: { key: { header: 'x-user' }, budget: 1000, cost: 100 },
    });
    const req = {
      ip: '192.0.2.1',
      method: 'POST',
      path: '/',
      headers: { 'x-user': 'idem', 'idempotency-key': 'order-7' },
      raw: null,
    };
    const decisions = await Promise.all(Array.from({ length: 10 }, () => limiter.check(req)));
    expect(decisions.every((d) => d?.allowed)).toBe(true);
    expect((await limiter.getUsage('idem')).used).toBe(100);
    const charged = decisions.find((d) => d?.policies[0]?.remaining === 900)!;
    await Promise.all(Array.from({ length: 5 }, () => limiter.refund(charged)));
    expect((await limiter.getUsage('idem')).used).toBe(0);
  });

  test('a charge at 23:59:59.999 UTC and one at 00:00:00.000 land in different days, by the store clock', async () => {
    const midnight = Date.UTC(2025, 9, 28);
    let now = midnight - 1;
    const store = new RedisStore({ client: admin, now: () => now });
    const limiter = createLimiter<null>({
      store,
      spendCap: { key: { header: 'x-user' }, budget: 1, cost: 1 },
    });
    const req = { ip: '192.0.2.1', method: 'POST', path: '/', headers: { 'x-user': 'midnight' }, raw: null };
    expect((await limiter.check(req))?.allowed).toBe(true);
    const refused = await limiter.check(req);
    expect(refused).toMatchObject({ allowed: false, reason: 'daily_spend_cap_exceeded', retryAfter: 1 });
    now = midnight;
    expect((await limiter.check(req))?.allowed).toBe(true);
  });
});
