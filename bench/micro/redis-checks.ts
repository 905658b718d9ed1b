/**
 * Scenario 17: Redis checks per second, sequential and 100 concurrent, tollgate's core with
 * `RedisStore` against rate-limiter-flexible's `RateLimiterRedis`, both on ioredis; and the
 * round trips each decision costs, read from Redis's own command counters. Prints one JSON line.
 */

import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createLimiter, type TollgateOptions } from '../../lib/index.js';
import { requestsFor } from '../support/keys.js';
import { fourByTwoOptions, MINUTE_MAX, oneRuleOptions, SPEND_CAP } from '../support/policies.js';
import { concurrent, type Measured, measure, SECONDS, sequential } from './timing.js';

const KEYS = 10_000;
const IN_FLIGHT = 100;
const port = Number(process.env.REDIS_PORT);

let redisModule: typeof import('../../lib/stores/redis/index.js');
try {
  redisModule = await import('../../lib/stores/redis/index.js');
} catch (error) {
  console.log(JSON.stringify({ unavailable: `lib/stores/redis.ts could not be loaded: ${String(error)}` }));
  process.exit(0);
}

const client = new Redis({
  host: '127.0.0.1',
  port,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  lazyConnect: true,
});
await client.connect();
/** A second connection for INFO and RESETSTAT, so that they never queue behind checks. */
const admin = new Redis({ host: '127.0.0.1', port });

const requests = requestsFor(KEYS);

type Step = (i: number) => Promise<unknown>;

function tollgate(options: TollgateOptions<null>): Step {
  const store = new redisModule.RedisStore({ client, timeoutMs: 1000 });
  const limiter = createLimiter<null>({ ...options, store, onStoreError: 'closed' });
  return async (i) => {
    const decision = await limiter.check(requests[i % KEYS]!);
    if (decision?.allowed !== true) throw new Error(`tollgate refused: ${decision?.reason}`);
  };
}

function flexible(count: 1 | 4): Step {
  const limiter = (keyPrefix: string) =>
    new RateLimiterRedis({ storeClient: client, keyPrefix, points: MINUTE_MAX, duration: 60 });
  const ip = limiter('rlf-ip');
  if (count === 1) return (i) => ip.consume(requests[i % KEYS]!.ip!);
  const partner = limiter('rlf-partner');
  const user = limiter('rlf-user');
  const bank = limiter('rlf-bank');
  return async (i) => {
    const req = requests[i % KEYS]!;
    await ip.consume(req.ip!);
    await partner.consume(req.headers['x-partner-id'] as string);
    await user.consume(req.headers['x-user-id'] as string);
    await bank.consume(String(req.params!.bankId));
  };
}

/**
 * Round trips per call of `step`: the commands the client sent (counted where ioredis sends
 * them) over 1,000 sequential calls; and, for the record, every command Redis ran, those
 * inside scripts included, from INFO commandstats.
 */
let sent = 0;
const sendCommand = client.sendCommand.bind(client);
client.sendCommand = ((...args: Parameters<typeof client.sendCommand>) => {
  sent++;
  return sendCommand(...args);
}) as typeof client.sendCommand;

async function roundTrips(step: Step): Promise<RoundTrips> {
  const calls = 1000;
  for (let i = 0; i < 100; i++) await step(i); // the script is loaded by now
  await admin.config('RESETSTAT');
  sent = 0;
  for (let i = 0; i < calls; i++) await step(i);
  const perCall = sent / calls;
  const info = await admin.info('commandstats');
  const commands: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/gm)) {
    const name = match[1]!;
    if (name.startsWith('config') || name === 'info') continue;
    commands[name] = Number(match[2]) / calls;
    if (name === 'evalsha' || name === 'eval') scriptMicros[name] = Number(match[3]);
  }
  return { perCall, redisCommandsPerCall: commands, scriptMicrosPerCall: { ...scriptMicros } };
}

interface RoundTrips {
  /** Commands the client sent per call: its round trips. */
  readonly perCall: number;
  /** Commands Redis ran per call, script-internal ones included. */
  readonly redisCommandsPerCall: Record<string, number>;
  /** Redis's own time per script call (INFO commandstats usec_per_call), µs. */
  readonly scriptMicrosPerCall: Record<string, number>;
}
const scriptMicros: Record<string, number> = {};

const subjects: Array<{ name: string; step: Step }> = [
  { name: 'tollgate, 1 rule', step: tollgate(oneRuleOptions<null>()) },
  { name: 'rate-limiter-flexible, 1 RateLimiterRedis', step: flexible(1) },
  { name: 'tollgate, 4 × 2', step: tollgate(fourByTwoOptions<null>()) },
  { name: 'rate-limiter-flexible, 4 RateLimiterRedis in turn', step: flexible(4) },
  {
    name: 'tollgate, 4 × 2 + spending cap',
    step: tollgate({ ...fourByTwoOptions<null>(), spendCap: { ...SPEND_CAP } }),
  },
];

const results: Array<Measured & { mode: string; subject: string }> = [];
const trips: Record<string, RoundTrips> = {};
for (const { name, step } of subjects) {
  for (const key of Object.keys(scriptMicros)) delete scriptMicros[key];
  trips[name] = await roundTrips(step);
  const seq = await measure(`${name}, sequential`, (s) => sequential(s, step));
  results.push({ ...seq, mode: 'sequential', subject: name });
  const con = await measure(`${name}, ${IN_FLIGHT} concurrent`, (s) => concurrent(s, IN_FLIGHT, step));
  results.push({ ...con, mode: 'concurrent', subject: name });
}

client.disconnect();
admin.disconnect();
console.log(JSON.stringify({ seconds: SECONDS, inFlight: IN_FLIGHT, results, roundTrips: trips }));
