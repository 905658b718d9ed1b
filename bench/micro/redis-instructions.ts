/**
 * Redis instructions per check: every instruction redis-server ran per check (reading the
 * request, the script, the reply), counted by callgrind, on the runner's redis-server started
 * under `valgrind --tool=callgrind` (`REDIS_PORT`, `REDIS_PID`, dumps at `CALLGRIND_OUT.<n>`).
 * Unlike µs on a shared machine, a count does not move from run to run, so it tells apart
 * script changes and subjects whose µs differ by less than the noise.
 * Beside tollgate and rate-limiter-flexible, two floors: scripts that take the least a check
 * decided in Redis must be sent (windows, limits, cost) and run only the commands it cannot do
 * without while Redis TIME is the clock (TIME, one HINCRBY per window, a bucket's HMGET and
 * HSET), each checked against its limit, and nothing else: nothing taken back on a refusal, no
 * TTL, no other field.
 * Per subject: the database flushed, `FEW` checks (scripts loaded, every key made), the counts
 * zeroed, then `BENCH_REDIS_INSTRUCTION_CHECKS` checks with 50 in flight over the same keys.
 * Prints one JSON line: `{ results: RedisInstructionsRow[] }`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Redis } from 'ioredis';
import {
  BURST,
  FOUR_SCOPES,
  type FourScope,
  fluid,
  HOUR_MAX,
  KEY_OF_INFO,
  MINUTE_MAX,
  oneRule,
} from '../support/policies.js';
import {
  type CheckOn,
  flexibleCheck,
  type Requests,
  requests,
  runChecks,
  tollgateCheck,
} from '../support/redis-checks.js';
import { commandStats } from '../support/redis-cpu.js';

export interface RedisInstructionsRow {
  readonly id: string;
  readonly title: string;
  readonly checks: number;
  /** Instructions redis-server ran per check, all of its work included. */
  readonly instructionsPerCheck: number;
  /** Calls per check, by command (`INFO commandstats`). */
  readonly calls: Record<string, number>;
}

const IN_FLIGHT = 50;
/** Keys the subjects cycle through: few enough that making them all under callgrind stays short. */
const FEW = 1_000;
const checks = Number(process.env.BENCH_REDIS_INSTRUCTION_CHECKS ?? 2_000);
const out = process.env.CALLGRIND_OUT ?? '';
const pid = process.env.REDIS_PID ?? '';
const few: Requests = () => (i) => requests[i % FEW]!;

/**
 * One window counter's check and nothing more: Redis TIME, then one HINCRBY of the count field
 * its window names, checked against the limit. ARGV: windowMs, limit, cost, the least a check
 * decided in Redis is sent.
 */
const FLOOR_ONE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000
local a, b, cost = ARGV[1] + 0, ARGV[2] + 0, ARGV[3]
local count = redis.call('HINCRBY', KEYS[1], 'n@' .. string.format('%d', now - now % a), cost)
return { count <= b and 1 or 0, now, count - cost }
`;

/**
 * The 4 × 2 + burst policy's check and nothing more: Redis TIME, a HINCRBY per window of each
 * scope value, the partner's bucket read (HMGET) and written (HSET), each checked against its
 * limit. ARGV: the minute's and the hour's windowMs and limit, the cost, the bucket's capacity
 * and interval.
 */
const FLOOR_FLUID = `
local t = redis.call('TIME')
local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000
local m, mMax, h, hMax, cost = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0, ARGV[5]
local minute = 'n:m@' .. string.format('%d', now - now % m)
local hour = 'n:h@' .. string.format('%d', now - now % h)
local out = { 1, now }
for g = 1, 4 do
  local a = redis.call('HINCRBY', KEYS[g], minute, cost)
  local b = redis.call('HINCRBY', KEYS[g], hour, cost)
  out[#out + 1] = a - cost
  out[#out + 1] = b - cost
  if a > mMax or b > hMax then out[1] = 0 end
end
local capacity, interval = ARGV[6] + 0, ARGV[7] + 0
local tat = tonumber(redis.call('HMGET', KEYS[2], 't', 'e')[1]) or now
if tat < now then tat = now end
if tat + (cost - capacity) * interval > now then out[1] = 0 end
redis.call('HSET', KEYS[2], 't', tat + cost * interval)
out[#out + 1] = tat
return out
`;

/** A script of its own with `args`, on the keys tollgate would use for the scopes (another prefix). */
function scriptCheck(lua: string, scopes: readonly FourScope[], args: readonly number[]): CheckOn {
  const sha = createHash('sha1').update(lua).digest('hex');
  const argv = args.map(String);
  return (client) => {
    const loaded = client.script('LOAD', lua);
    const at = few();
    return async (i) => {
      await loaded;
      const request = at(i);
      const keys = scopes.map((scope) => `{floor:${scope}:${KEY_OF_INFO[scope](request)}}`);
      const reply = (await client.evalsha(sha, keys.length, ...keys, ...argv)) as number[];
      return reply[0] === 1;
    };
  };
}

const SUBJECTS: ReadonlyArray<{ id: string; title: string; check: CheckOn }> = [
  { id: 'tg-1', title: 'tollgate, 1 scope × 1 window', check: tollgateCheck(oneRule(), {}, few) },
  {
    id: 'rlf-1',
    title: 'rate-limiter-flexible, 1 RateLimiterRedis',
    check: flexibleCheck(['ip'], few),
  },
  {
    id: 'floor-1',
    title: 'floor: Redis TIME + 1 HINCRBY and a limit, nothing else',
    check: scriptCheck(FLOOR_ONE, ['ip'], [60_000, MINUTE_MAX, 1]),
  },
  { id: 'tg-fluid', title: 'tollgate, 4 × 2 + burst', check: tollgateCheck(fluid(), {}, few) },
  {
    id: 'floor-fluid',
    title: 'floor: Redis TIME + 8 HINCRBY + HMGET + HSET and their limits, nothing else',
    check: scriptCheck(FLOOR_FLUID, FOUR_SCOPES, [
      60_000,
      MINUTE_MAX,
      3_600_000,
      HOUR_MAX,
      1,
      BURST,
      60_000 / MINUTE_MAX,
    ]),
  },
];

/** The instruction count of callgrind's newest dump. */
function lastDump(): number {
  const prefix = `${basename(out)}.`;
  const dumps = readdirSync(dirname(out))
    .filter((name) => name.startsWith(prefix))
    .map((name) => Number(name.slice(prefix.length)))
    .sort((a, b) => b - a);
  const text = readFileSync(`${out}.${dumps[0]}`, 'utf8');
  const total = /^(?:summary|totals): (\d+)/m.exec(text)?.[1];
  if (total === undefined) throw new Error(`no instruction count in ${out}.${dumps[0]}`);
  return Number(total);
}

/**
 * Waits, when less than 20 s of the minute are left, for the next one: a subject's checks must
 * fall in the windows its first checks made, or some would be a key's first in a window, which
 * costs more (the hour's windows end with a minute's).
 */
async function clearOfMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

async function measure(
  subject: (typeof SUBJECTS)[number],
  client: Redis,
  admin: Redis,
): Promise<RedisInstructionsRow> {
  await clearOfMinuteEnd();
  await admin.flushall();
  const check = subject.check(client);
  await runChecks(check, FEW, IN_FLIGHT);
  await admin.config('RESETSTAT');
  execFileSync('callgrind_control', ['--zero', pid], { stdio: 'ignore' });
  await runChecks(check, checks, IN_FLIGHT);
  execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
  const stats = await commandStats(admin);
  return {
    id: subject.id,
    title: subject.title,
    checks,
    instructionsPerCheck: lastDump() / checks,
    calls: Object.fromEntries(Object.entries(stats).map(([name, s]) => [name, s.calls / checks])),
  };
}

const port = Number(process.env.REDIS_PORT);
const only = (process.env.REDIS_INSTRUCTIONS_ONLY ?? '').split(',').filter((id) => id !== '');
const client = new Redis({ host: '127.0.0.1', port });
const admin = new Redis({ host: '127.0.0.1', port });
const results: RedisInstructionsRow[] = [];
for (const subject of SUBJECTS)
  if (only.length === 0 || only.includes(subject.id)) results.push(await measure(subject, client, admin));
client.disconnect();
admin.disconnect();
console.log(JSON.stringify({ results }));
