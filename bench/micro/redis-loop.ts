/**
 * A target for bench/profile.ts: tollgate checks against `REDIS_PORT` with `POLICY` (`1`, `4x2`)
 * for `PROFILE_SECONDS`, 100 in flight, to see the client side of a Redis check.
 */

import { Redis } from 'ioredis';
import { createLimiter } from '../../lib/index.js';
import { RedisStore } from '../../lib/stores/redis/index.js';
import { requestsFor } from '../support/keys.js';
import { fourByTwoOptions, oneRuleOptions } from '../support/policies.js';
import { concurrent } from './timing.js';

const KEYS = 10_000;
const client = new Redis({
  host: '127.0.0.1',
  port: Number(process.env.REDIS_PORT),
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  lazyConnect: true,
});
await client.connect();
const requests = requestsFor(KEYS);
const options = process.env.POLICY === '1' ? oneRuleOptions<null>() : fourByTwoOptions<null>();
const limiter = createLimiter<null>({ ...options, store: new RedisStore({ client, timeoutMs: 1000 }) });
const rate = await concurrent(Number(process.env.PROFILE_SECONDS ?? 10), 100, (i) =>
  limiter.check(requests[i % KEYS]!),
);
client.disconnect();
console.log(JSON.stringify({ checksPerSecond: Math.round(rate) }));
