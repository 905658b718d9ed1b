import { createHash } from 'node:crypto';
import { BURST, FOUR_SCOPES, type FourScope, HOUR_MAX, KEY_OF_INFO, MINUTE_MAX } from './policies.js';
import { type CheckOn, known } from './redis-checks.js';

/**
 * The floors of the Redis measurements: scripts sent the least a check decided in Redis needs
 * (windows, limits, cost) that run only the commands it cannot do without while Redis TIME is
 * the clock (TIME, one HINCRBY per window, a bucket's HGET and HSET), each checked against its
 * limit, and nothing else: nothing taken back on a refusal, no TTL, no other field. That is
 * what a check in tollgate's key layout cannot do without; a script may still shave a little.
 */

/** One window counter: TIME, one HINCRBY of the count field its window names. ARGV: windowMs, limit, cost. */
const FLOOR_ONE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000
local a, b, cost = ARGV[1] + 0, ARGV[2] + 0, ARGV[3]
local count = redis.call('HINCRBY', KEYS[1], 'n@' .. string.format('%d', now - now % a), cost)
return { count <= b and 1 or 0, now, count - cost }
`;

/**
 * 4 × 2 + burst: TIME, a HINCRBY per window of each scope value, the bucket read and written.
 * ARGV: the minute's and the hour's windowMs and limit, the cost, the bucket's capacity and
 * interval, and the position in KEYS of the scope value that has it.
 */
const FLOOR_FLUID = `
local t = redis.call('TIME')
local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000
local m, mMax, h, hMax, cost = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0, ARGV[5]
local minute = 'n:m@' .. string.format('%d', now - now % m)
local hour = 'n:h@' .. string.format('%d', now - now % h)
local out = { 1, now }
for g = 1, #KEYS do
  local a = redis.call('HINCRBY', KEYS[g], minute, cost)
  local b = redis.call('HINCRBY', KEYS[g], hour, cost)
  out[#out + 1] = a - cost
  out[#out + 1] = b - cost
  if a > mMax or b > hMax then out[1] = 0 end
end
local capacity, interval, bucket = ARGV[6] + 0, ARGV[7] + 0, KEYS[ARGV[8] + 0]
local tat = tonumber(redis.call('HGET', bucket, 't')) or now
if tat < now then tat = now end
if tat + (cost - capacity) * interval > now then out[1] = 0 end
redis.call('HSET', bucket, 't', tat + cost * interval)
out[#out + 1] = tat
return out
`;

/** A script with `args` on the keys tollgate would use for the scopes (under another prefix). */
function scriptCheck(
  lua: string,
  scopes: readonly FourScope[],
  args: readonly number[],
  requestAt = known,
): CheckOn {
  const sha = createHash('sha1').update(lua).digest('hex');
  const argv = args.map(String);
  return (client) => {
    const loaded = client.script('LOAD', lua);
    const at = requestAt();
    return async (i) => {
      await loaded;
      const request = at(i);
      const keys = scopes.map((scope) => `{floor:${scope}:${KEY_OF_INFO[scope](request)}}`);
      const reply = (await client.evalsha(sha, keys.length, ...keys, ...argv)) as number[];
      if (reply[0] !== 1) throw new Error(`a floor script refused a check: ${JSON.stringify(reply)}`);
      return true;
    };
  };
}

/** The floor of the 1 scope × 1 window policy (a minute of `MINUTE_MAX`, cost 1). */
export const floorOne = (requestAt = known): CheckOn =>
  scriptCheck(FLOOR_ONE, ['ip'], [60_000, MINUTE_MAX, 1], requestAt);

/** The floor of the 4 × 2 + burst policy (`fluid()`: the partner's bucket of `BURST`). */
export const floorFluid = (requestAt = known): CheckOn =>
  scriptCheck(
    FLOOR_FLUID,
    FOUR_SCOPES,
    [
      60_000,
      MINUTE_MAX,
      3_600_000,
      HOUR_MAX,
      1,
      BURST,
      60_000 / MINUTE_MAX,
      FOUR_SCOPES.indexOf('partner') + 1,
    ],
    requestAt,
  );

export const FLOOR_TITLES = {
  one: 'floor: Redis TIME + 1 HINCRBY and its limit, nothing else',
  fluid: 'floor: Redis TIME + 8 HINCRBY + bucket HGET + HSET and their limits, nothing else',
} as const;
