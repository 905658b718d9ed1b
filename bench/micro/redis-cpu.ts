/**
 * Redis CPU and round trips per check, on the runner's standalone redis-server (`REDIS_PORT`,
 * `REDIS_PID`): tollgate's `limiter.check` with `RedisStore` (build in `TOLLGATE_DIST`) beside
 * rate-limiter-flexible's `RateLimiterRedis`, all on one ioredis connection. Per subject: the
 * database flushed, every one of the 10,000 keys checked once (scripts loaded, keys made), the
 * counters reset, then `BENCH_REDIS_CHECKS` checks with 50 in flight, none refused.
 * Prints one JSON line: `{ results: RedisCpuRow[] }`. To add a subject: a line in SUBJECTS.
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import {
  FOUR_SCOPES,
  fluid,
  fourByOne,
  fourByTwo,
  KEY_OF_INFO,
  KEYS,
  MINUTE_MAX,
  oneRule,
  requestOf,
} from '../support/policies.js';
import { processCpuMicros } from '../support/processes.js';
import { commandStats, costPerCheck, type RedisCost } from '../support/redis-cpu.js';
import { loadTollgate, type Policy } from '../support/tollgate.js';

export interface RedisCpuRow extends RedisCost {
  readonly id: string;
  readonly title: string;
  readonly checks: number;
  /** Commands the client sent per check (counted where ioredis sends them). */
  readonly sentPerCheck: number;
  /** redis-server's own CPU time per check (utime + stime, network I/O included), µs. */
  readonly processUsPerCheck: number;
  readonly checksPerSecond: number;
}

const IN_FLIGHT = 50;
const port = Number(process.env.REDIS_PORT);
const redisPid = Number(process.env.REDIS_PID);
const checks = Number(process.env.BENCH_REDIS_CHECKS ?? 20_000);
const requests = Array.from({ length: KEYS }, (_, i) => requestOf(i));

const client = new Redis({
  host: '127.0.0.1',
  port,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  lazyConnect: true,
});
await client.connect();
/** INFO, RESETSTAT and FLUSHALL on their own connection, never queued behind checks. */
const admin = new Redis({ host: '127.0.0.1', port });
let sent = 0;
const sendCommand = client.sendCommand.bind(client);
client.sendCommand = ((...args: Parameters<typeof sendCommand>) => {
  sent++;
  return sendCommand(...args);
}) as typeof sendCommand;

type Check = (i: number) => Promise<unknown>;
const tollgate = await loadTollgate();

function tollgateCheck(policy: Policy<null>): Check {
  const store = new tollgate.RedisStore({ client, timeoutMs: 1000 });
  const limiter = tollgate.createLimiter({ ...policy, store, onStoreError: 'closed' });
  return async (i) => {
    const decision = await limiter.check(requests[i % KEYS]!);
    if (decision?.allowed !== true) throw new Error(`tollgate refused a check: ${JSON.stringify(decision)}`);
  };
}

function flexibleCheck(scopes: readonly (typeof FOUR_SCOPES)[number][]): Check {
  const limiters = scopes.map((scope) => ({
    limiter: new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `rlf-${scope}`,
      points: MINUTE_MAX,
      duration: 60,
    }),
    keyOf: KEY_OF_INFO[scope],
  }));
  return async (i) => {
    for (const { limiter, keyOf } of limiters) await limiter.consume(keyOf(requests[i % KEYS]!));
  };
}

const SUBJECTS: ReadonlyArray<{ id: string; title: string; check: () => Check }> = [
  { id: 'tg-1', title: 'tollgate, 1 scope × 1 window', check: () => tollgateCheck(oneRule()) },
  { id: 'rlf-1', title: 'rate-limiter-flexible, 1 RateLimiterRedis', check: () => flexibleCheck(['ip']) },
  { id: 'tg-4x1', title: 'tollgate, 4 scopes × 1 window', check: () => tollgateCheck(fourByOne()) },
  {
    id: 'rlf-4',
    title: 'rate-limiter-flexible, 4 RateLimiterRedis awaited in turn',
    check: () => flexibleCheck(FOUR_SCOPES),
  },
  { id: 'tg-4x2', title: 'tollgate, 4 scopes × 2 windows', check: () => tollgateCheck(fourByTwo()) },
  { id: 'tg-fluid', title: 'tollgate, 4 × 2 + burst', check: () => tollgateCheck(fluid()) },
];

async function run(check: Check, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await check(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

const only = (process.env.REDIS_CPU_ONLY ?? '').split(',').filter((id) => id !== '');
const results: RedisCpuRow[] = [];
for (const subject of SUBJECTS) {
  if (only.length > 0 && !only.includes(subject.id)) continue;
  await admin.flushall();
  const check = subject.check();
  await run(check, KEYS);
  await admin.config('RESETSTAT');
  sent = 0;
  const cpuBefore = processCpuMicros(redisPid);
  const start = performance.now();
  await run(check, checks);
  const seconds = (performance.now() - start) / 1000;
  results.push({
    id: subject.id,
    title: subject.title,
    checks,
    ...costPerCheck(await commandStats(admin), checks),
    sentPerCheck: sent / checks,
    processUsPerCheck: (processCpuMicros(redisPid) - cpuBefore) / checks,
    checksPerSecond: Math.round(checks / seconds),
  });
}
client.disconnect();
admin.disconnect();
console.log(JSON.stringify({ results }));
