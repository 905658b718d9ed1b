import { countField, sweepMarks } from './preamble.js';

/**
 * Lua, ops `C` and `P`: consume or peek of one window counter without an idempotency key, the
 * commonest call, on locals alone.
 */
export const SINGLE_WINDOW = `
-- Consume (C) or peek (P) of a single window counter without an idempotency key: the general
-- path's decision for that one counter (see below), on locals alone, since a table, a closure or
-- a pattern match each costs about as much as a redis.call's dispatch. ARGV: windowMs, limit,
-- cost, the counter's field suffix, then the window start the client expects and that window's
-- count field: the script uses the name it is sent when its own clock agrees, which spares it
-- formatting a number (the client's clock only names a field; Redis's decides).
if op == 'C' or op == 'P' then
  local key, a, b, cost, s = KEYS[1], ARGV[3] + 0, ARGV[4] + 0, ARGV[5], ARGV[6]
  local units = cost + 0
  local start = now - now % a
  local nf = tonumber(ARGV[7]) == start and ARGV[8] or ${countField('s', 'start')}
  local wf = 'w' .. s
  local w, n, e
  if op == 'C' and units > 0 and units % 1 == 0 then
    -- A charge is tried first: the count of this window is a field of its own, so one HINCRBY
    -- both charges it and reads it, and a refused charge is taken back at once (nothing runs
    -- between the two). A count that is not an integer's canonical text, or one past 2^53,
    -- takes the careful way below instead.
    local r = redis.pcall('HINCRBY', key, nf, cost)
    if type(r) == 'number' and r < 9007199254740992 then
      local used = r - units
      -- No count before: w tells whether this window is the counter's (a reset took its count)
      -- or starts now; e comes along for the window that starts.
      local read = r == units and redis.call('HMGET', key, wf, 'e')
      local held = read and tonumber(read[1])
      if not read or held == start then
        if used + units <= b then return { 1, now, used } end
        if used == 0 then redis.call('HDEL', key, nf) else redis.call('HINCRBY', key, nf, -units) end
        if redis.call('PTTL', key) == -1 then
          local ttl = math.ceil((tonumber(redis.call('HGET', key, 'e')) or start + a + MARGIN) - now)
          if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
        end
        return { 0, now, used }
      end
      -- A window that starts keeps this charge, the count the write below gives it; a later
      -- window the counter holds (the clock stepped back), or a cost over the limit, undoes it.
      w, n, e = read[1], nil, tonumber(read[2])
      if (held and held > start) or units > b then redis.call('HDEL', key, nf) end
    end
  end
  if w == nil then
    -- A field HMGET does not find reads as false. A counter can hold w without a count: a reset
    -- takes the count and leaves the window's idempotency marks. 'e' comes along for a window
    -- that starts, or a key found without a TTL.
    local v = redis.call('HMGET', key, wf, nf, 'e')
    w, n, e = v[1], v[2] or nil, tonumber(v[3])
  end
  local stored = tonumber(w)
  if stored and stored >= start then
    -- A clock that stepped back keeps counting in the later window the counter holds.
    if stored > start then
      nf = ${countField('s', 'stored')}
      n = redis.call('HGET', key, nf) or nil
    end
    local used = n and tonumber(n) or 0
    local admitted = used + units <= b
    if admitted and op == 'C' and units > 0 then
      -- Whole counts as %d text: Redis would write a number with %.17g, which costs more.
      local total = used + units
      redis.call('HSET', key, nf, total % 1 == 0 and total < 9007199254740992 and string.format('%d', total) or total)
    elseif redis.call('PTTL', key) == -1 then
      local ttl = math.ceil((e or stored + a + MARGIN) - now)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
    end
    if stored > start then
      return { admitted and 1 or 0, now, used, 1, stored % 1 == 0 and stored or string.format('%.17g', stored) }
    end
    return { admitted and 1 or 0, now, used }
  end
  local admitted = not (units > b)
  if admitted and op == 'C' and units > 0 then
    -- The ended window's count and idempotency marks must not carry over.
    if stored then redis.call('HDEL', key, ${countField('s', 'stored')}) end
    if w then ${sweepMarks('key', 's')}
    end
    -- The hash lives as long as its longest window: 'e' is the end its TTL was last set to, so
    -- the TTL is written only when a window ends later than every other the hash holds.
    local ends = start + a + MARGIN
    local at = start % 1 == 0 and string.format('%d', start) or start
    if e == nil or ends > e then
      redis.call('HSET', key, wf, at, nf, cost, 'e', ends)
      redis.call('PEXPIRE', key, math.ceil(ends - now))
    else
      redis.call('HSET', key, wf, at, nf, cost)
    end
  elseif w and redis.call('PTTL', key) == -1 then
    local ttl = math.ceil((e or (stored or start) + a + MARGIN) - now)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
  end
  return { admitted and 1 or 0, now, 0 }
end
`;
