/**
 * Lua, ops `q` (consume), `Q` (peek), `qr` (refund), `qa` (charge) and `qx` (reset) of a call
 * holding a calendar window (a week, a month) or a lease (issue 22). Kept apart from the other
 * ops, whose windows are all epoch-aligned: the calls without either never run a line of it.
 *
 * Per counter, its spec `<kind><a>:<b>:<cost>`: kind `w` window, `i` window with an idempotency
 * key, `b` bucket, `l` lease. A window's `a` is its length in ms, or its period's span (-2 the
 * ISO week, -3 the calendar month: see periods.ts); a lease's `a` is its leaseMs and `b` its
 * limit. Then kind `i` adds the idempotency key, `l` the lease id, and a refund or charge of a
 * window the start of the window it aims at (before the idempotency key).
 *
 * The reply to `q` and `Q`: admitted (0/1), now, then per counter: a window's units used
 * before the call (`-1 - used` when its idempotency key replayed) and the start of the window
 * counted; a bucket's arrival time before the call (text when fractional); a lease's leases
 * held before the call, and when the first and the last of them end (now when none).
 */
export const QUOTAS = `
if op == 'q' or op == 'Q' or op == 'qr' or op == 'qa' or op == 'qx' then
  local DAY, floor, ceil = 86400000, math.floor, math.ceil
  local LENGTHS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

  -- The window of span a holding t: its start and end. Months from the civil calendar of the
  -- days since the epoch (Howard Hinnant's civil_from_days), as periods.ts cuts them with Date.
  local function windowAt(a, t)
    if a > 0 then
      local s = t - math.fmod(t, a)
      return s, s + a
    end
    if a == -2 then
      local s = floor((t - 4 * DAY) / (7 * DAY)) * 7 * DAY + 4 * DAY
      return s, s + 7 * DAY
    end
    local days = floor(t / DAY)
    local z = days + 719468
    local era = floor(z / 146097)
    local doe = z - era * 146097
    local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
    local y = yoe + era * 400
    local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
    local mp = floor((5 * doy + 2) / 153)
    local d = doy - floor((153 * mp + 2) / 5) + 1
    local m = mp < 10 and mp + 3 or mp - 9
    if m <= 2 then y = y + 1 end
    local length = LENGTHS[m]
    if m == 2 and ((y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0) then length = 29 end
    local s = (days - (d - 1)) * DAY
    return s, s + length * DAY
  end

  local function number(value)
    return value % 1 == 0 and string.format('%.0f', value) or string.format('%.17g', value)
  end

  local function expireAt(key, at)
    local ttl = ceil(at - now)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
  end

  -- Every counter's spec and its extra arguments, in order.
  local counters = {}
  local at = 3
  for i = 1, #KEYS do
    local kind, a, b, cost = string.match(ARGV[at], '^(%a)([^:]+):([^:]+):(.+)$')
    local c = { kind = kind, a = a + 0, b = b + 0, cost = cost + 0, key = KEYS[i] }
    at = at + 1
    if kind ~= 'b' and kind ~= 'l' and (op == 'qr' or op == 'qa') then
      c.target = ARGV[at] + 0
      at = at + 1
    end
    if kind == 'i' or kind == 'l' then
      c.extra = ARGV[at]
      at = at + 1
    end
    counters[i] = c
  end

  if op == 'q' or op == 'Q' then
    local out, admitted = { 1, number(now) }, true
    for i, c in ipairs(counters) do
      if c.kind == 'b' then
        local stored = tonumber(redis.call('GET', c.key))
        local tat = stored or now
        if tat < now then tat = now end
        c.tat = tat
        out[#out + 1] = number(tat)
        if tat + (c.cost - c.a) * c.b > now + EPSILON then admitted = false end
      elseif c.kind == 'l' then
        redis.call('ZREMRANGEBYSCORE', c.key, '-inf', now)
        local held = redis.call('ZCARD', c.key)
        local first = redis.call('ZRANGE', c.key, 0, 0, 'WITHSCORES')[2]
        local last = redis.call('ZRANGE', c.key, -1, -1, 'WITHSCORES')[2]
        out[#out + 1] = held
        out[#out + 1] = first or number(now)
        out[#out + 1] = last or number(now)
        if held + c.cost > c.b then admitted = false end
      else
        local v = redis.call('HMGET', c.key, 'w', 'n', c.kind == 'i' and ('i:' .. c.extra) or 'w')
        local stored = tonumber(v[1])
        local start, finish = windowAt(c.a, now)
        local used = 0
        -- A clock that stepped back keeps counting in the later window the key holds.
        if stored and stored >= start then
          start, finish = stored, select(2, windowAt(c.a, stored))
          used = tonumber(v[2]) or 0
        else
          c.stale = v[1] or v[2]
        end
        c.start, c.finish, c.used = start, finish, used
        c.replayed = c.kind == 'i' and v[3] ~= false and not c.stale
        out[#out + 1] = c.replayed and -1 - used or used
        out[#out + 1] = number(start)
        if not c.replayed and used + c.cost > c.b then admitted = false end
      end
    end
    if admitted and op == 'q' then
      for _, c in ipairs(counters) do
        if c.cost > 0 and c.kind == 'b' then
          local tat = c.tat + c.cost * c.b
          redis.call('SET', c.key, number(tat), 'PX', math.max(1, ceil(tat - now)))
        elseif c.cost > 0 and c.kind == 'l' then
          redis.call('ZADD', c.key, now + c.a, c.extra)
          local last = tonumber(redis.call('ZRANGE', c.key, -1, -1, 'WITHSCORES')[2])
          expireAt(c.key, last + MARGIN)
        elseif c.cost > 0 and (c.kind == 'w' or c.kind == 'i') and not c.replayed then
          -- That window's count and idempotency marks must not carry over.
          if c.stale then redis.call('DEL', c.key) end
          redis.call('HSET', c.key, 'w', number(c.start), 'n', number(c.used + c.cost))
          if c.kind == 'i' then redis.call('HINCRBY', c.key, 'i:' .. c.extra, 1) end
          expireAt(c.key, c.finish + MARGIN)
        end
      end
    end
    if not admitted then out[1] = 0 end
    return out
  end

  for _, c in ipairs(counters) do
    if c.kind == 'l' then
      if op == 'qr' then redis.call('ZREM', c.key, c.extra)
      elseif op == 'qx' then redis.call('DEL', c.key) end
    elseif c.kind == 'b' then
      if op == 'qx' then redis.call('DEL', c.key)
      elseif c.cost > 0 then
        local stored = tonumber(redis.call('GET', c.key))
        local tat
        if op == 'qa' then
          tat = math.max(stored or now, now) + c.cost * c.b
        elseif stored ~= nil then
          tat = stored - c.cost * c.b
          -- Within the tolerance of now, the bucket is full: see the memory store's refund.
          if tat <= now + EPSILON then tat = nil end
        end
        if tat then redis.call('SET', c.key, number(tat), 'PX', math.max(1, ceil(tat - now)))
        elseif op == 'qr' then redis.call('DEL', c.key) end
      end
    else
      local v = redis.call('HMGET', c.key, 'w', 'n')
      local stored, used = tonumber(v[1]), tonumber(v[2]) or 0
      local start, finish = windowAt(c.a, now)
      if stored and stored > start then start, finish = stored, select(2, windowAt(c.a, stored)) end
      if op == 'qx' then
        if stored == start then redis.call('HDEL', c.key, 'n') end
      elseif c.cost > 0 and c.target == start then
        if op == 'qa' then
          if stored ~= start and (v[1] or v[2]) then redis.call('DEL', c.key) end
          if stored ~= start then used = 0 end
          redis.call('HSET', c.key, 'w', number(start), 'n', number(used + c.cost))
          expireAt(c.key, finish + MARGIN)
        elseif stored == start then
          local give = true
          if c.kind == 'i' then
            -- Only the refund that finds the mark gives anything back: refunds are idempotent.
            local mark = tonumber(redis.call('HGET', c.key, 'i:' .. c.extra))
            give = mark ~= nil
            if mark == 1 then redis.call('HDEL', c.key, 'i:' .. c.extra)
            elseif give then redis.call('HSET', c.key, 'i:' .. c.extra, mark - 1) end
          end
          if give then redis.call('HSET', c.key, 'n', number(math.max(0, used - c.cost))) end
        end
      end
    end
  end
  return 1
end
`;
