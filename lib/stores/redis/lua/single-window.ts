import { sweepMarks } from './preamble.js';

/**
 * Lua, ops `C` and `P`: consume or peek of one window counter without an idempotency key, the
 * commonest call, on locals alone.
 */
export const SINGLE_WINDOW = `
-- Consume (C) or peek (P) of a single window counter without an idempotency key: the general
-- path's decision for that one counter (see below), on locals alone, since a table, a closure or
-- a pattern match each costs about as much as a redis.call's dispatch. ARGV: windowMs, limit,
-- cost, the counter's field suffix.
if op == 'C' or op == 'P' then
  local key, a, b, cost, s = KEYS[1], ARGV[3] + 0, ARGV[4] + 0, ARGV[5], ARGV[6]
  local units = cost + 0
  local start = now - math.fmod(now, a)
  local wf, nf = 'w' .. s, 'n' .. s
  -- A field HMGET does not find reads as false. A counter can hold w without n: a reset takes
  -- the count and leaves the window's idempotency marks.
  local v = redis.call('HMGET', key, wf, nf)
  local w, n = v[1], v[2] or nil
  local stored = tonumber(w)
  if stored and stored >= start then
    local used = n and tonumber(n) or 0
    local admitted = used + units <= b
    if admitted and op == 'C' and units > 0 then
      -- HINCRBY by the cost's own text spares Redis formatting a number argument. It fails on a
      -- count that is not an integer's canonical text (nothing else was written yet): that
      -- count, and fractions and counts past 2^53, are written whole.
      if units % 1 ~= 0 or used + units >= 9007199254740992 or type(redis.pcall('HINCRBY', key, nf, cost)) == 'table' then
        redis.call('HSET', key, nf, used + units)
      end
    elseif redis.call('PTTL', key) == -1 then
      local ttl = math.ceil((tonumber(redis.call('HGET', key, 'e')) or stored + a + MARGIN) - now)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
    end
    -- A clock that stepped back keeps counting in the later window the counter holds.
    if stored > start then
      return { admitted and 1 or 0, now, used, 1, stored % 1 == 0 and stored or string.format('%.17g', stored) }
    end
    return { admitted and 1 or 0, now, used }
  end
  local admitted = not (units > b)
  if admitted and op == 'C' and units > 0 then
    -- The ended window's count goes with the HSET below; its idempotency marks must not carry over.
    if w then ${sweepMarks('key', 's')}
    end
    -- The hash lives as long as its longest window: 'e' is the end its TTL was last set to, so
    -- the TTL is written only when a window ends later than every other the hash holds.
    local ends = start + a + MARGIN
    local e = tonumber(redis.call('HGET', key, 'e'))
    if e == nil or ends > e then
      redis.call('HSET', key, wf, start, nf, cost, 'e', ends)
      redis.call('PEXPIRE', key, math.ceil(ends - now))
    else
      redis.call('HSET', key, wf, start, nf, cost)
    end
  elseif (w or n) and redis.call('PTTL', key) == -1 then
    local ttl = math.ceil((tonumber(redis.call('HGET', key, 'e')) or (stored or start) + a + MARGIN) - now)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
  end
  return { admitted and 1 or 0, now, 0 }
end
`;
