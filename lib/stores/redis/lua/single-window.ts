/**
 * Lua, ops `C` and `P`: consume or peek of one window counter without an idempotency key, the
 * commonest call, on locals alone.
 */
export const SINGLE_WINDOW = `
-- Consume (C) or peek (P) of a single window counter without an idempotency key, the commonest
-- call: the general path's decision for that one counter (see below), on locals alone, since a
-- table, a closure or a pattern match each costs about as much as a redis.call's dispatch. Its
-- numbers come as arguments of their own, not as a spec: windowMs, limit, cost, then the clock
-- only when it is not Redis TIME.
if op == 'C' or op == 'P' then
  local key, a, b, cost = KEYS[1], ARGV[2] + 0, ARGV[3] + 0, ARGV[4]
  local units = cost + 0
  local start = now - math.fmod(now, a)
  local v = redis.call('HMGET', key, 'w', 'n')
  -- A field HMGET does not find reads as false. A key can hold w without n: a reset takes the
  -- count and leaves the window's idempotency marks.
  local w, n = v[1], v[2] or nil
  local stored = tonumber(w)
  if stored and stored >= start then
    -- A count HINCRBY can read as an integer: canonical digits, which also read for one
    -- strtod where tonumber takes two. HINCRBY by the cost's own text spares Redis formatting a
    -- number argument (a %.17g snprintf, about the price of a redis.call's dispatch).
    local whole = n == nil or n == '0' or string.find(n, '^[1-9]%d*$')
    local used = 0
    if n then
      if whole then used = n + 0 else used = tonumber(n) or 0 end
    end
    local admitted = not (used + units > b)
    if admitted and op == 'C' and units > 0 then
      if whole and units % 1 == 0 and used + units < 9007199254740992 then
        redis.call('HINCRBY', key, 'n', cost)
      else
        redis.call('HSET', key, 'n', used + units)
      end
    elseif redis.call('PTTL', key) == -1 then
      local ttl = math.ceil(stored + a + MARGIN - now)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
    end
    -- A clock that stepped back keeps counting in the later window the key holds.
    if stored > start then
      return { admitted and 1 or 0, now, used, 1, stored % 1 == 0 and stored or string.format('%.17g', stored) }
    end
    return { admitted and 1 or 0, now, used }
  end
  local admitted = not (units > b)
  if admitted and op == 'C' and units > 0 then
    -- That window's count and idempotency marks must not carry over.
    if w or n then redis.call('DEL', key) end
    -- Whole numbers as %.0f text: what Redis would write for them (%.17g), for less. Not %d,
    -- which is a C long, 32 bits on some builds: a start in ms would overflow it.
    local format = string.format
    local ttl = math.ceil(start + a + MARGIN - now)
    redis.call('HSET', key, 'w', start % 1 == 0 and format('%.0f', start) or start, 'n', cost)
    redis.call('PEXPIRE', key, format('%.0f', ttl))
  elseif (w or n) and redis.call('PTTL', key) == -1 then
    -- An earlier window's key (kept by the margin) expires by its own end, not this one's.
    local ttl = math.ceil((stored or start) + a + MARGIN - now)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
  end
  return { admitted and 1 or 0, now, 0 }
end
`;
