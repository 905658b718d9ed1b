/**
 * A separate process for test/stores/redis-leases.test.ts, run with `node --import tsx`: an
 * Express server whose `/generate` takes a concurrency slot on the Redis at argv[2] (on the
 * clock argv[3], ms) and never answers. It reports its port, then each request that came in.
 */
import express from 'express';
import { Redis } from 'ioredis';
import { rateLimit } from '../../lib/express/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';

async function main(): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port: Number(process.argv[2]), enableOfflineQueue: false });
  // Connected before the first request: without an offline queue, a request sent earlier would
  // find the store unavailable and be admitted by the failure policy, without a slot.
  await new Promise((resolve) => client.once('ready', resolve));
  const at = Number(process.argv[3]);
  const store = new RedisStore({ client, now: () => at, timeoutMs: 5_000 });
  const app = express();
  app.use(
    rateLimit({
      store,
      now: () => at,
      scopes: [{ name: 'generate', key: { header: 'x-api-key' }, concurrency: { max: 2, lease: '60s' } }],
    }),
  );
  app.get('/generate', () => {
    process.send?.('entered');
  });
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
