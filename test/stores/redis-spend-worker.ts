/**
 * A separate process for test/stores/redis-spend.test.ts, run with `node --import tsx`: on each
 * message it fires that many concurrent spend-capped requests of the given costs at one user
 * through `createLimiter` on the Redis at argv[2], and reports every decision.
 */
import { Redis } from 'ioredis';
import { createLimiter } from '../../lib/core/limiter.js';
import { RedisStore } from '../../lib/stores/redis/index.js';

export interface SpendOrder {
  readonly user: string;
  readonly budget: number;
  readonly costs: readonly number[];
}

/** [cost, admitted, the cap's remaining credits after the decision] per request. */
export type SpendReport = Array<[number, boolean, number]>;

async function main(): Promise<void> {
  const client = new Redis({
    host: '127.0.0.1',
    port: Number(process.argv[2]),
    lazyConnect: true,
    enableOfflineQueue: false,
  });
  await client.connect();
  const store = new RedisStore({ client, timeoutMs: 10_000 });
  process.on('message', async (message: SpendOrder | 'exit') => {
    if (message === 'exit') {
      client.disconnect();
      process.disconnect?.();
      return;
    }
    const limiter = createLimiter<null>({
      store,
      spendCap: { key: { header: 'x-user' }, budget: message.budget, cost: { header: 'x-credits' } },
    });
    const decisions = await Promise.all(
      message.costs.map((cost) =>
        limiter.check({
          ip: '192.0.2.1',
          method: 'POST',
          path: '/',
          headers: { 'x-user': message.user, 'x-credits': String(cost) },
          raw: null,
        }),
      ),
    );
    const report: SpendReport = decisions.map((d, i) => [
      message.costs[i]!,
      d?.allowed === true,
      d?.policies[0]?.remaining ?? -1,
    ]);
    process.send?.(report);
  });
  process.send?.('ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
