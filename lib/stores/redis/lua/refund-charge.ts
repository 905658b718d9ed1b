/** Lua, ops `r` and `a`: refund or charge each counter in the window it aims at. */
export const REFUND_CHARGE = `
-- refund (r) and charge (a): each window counter names the window it aims at.
for i = 1, #KEYS do
  local key = KEYS[i]
  local spec = specs[ARGV[at]] or specOf(ARGV[at])
  local kind, a, b, cost = spec[1], spec[2], spec[3], spec[4]
  if kind ~= 'b' then
    local target = tonumber(ARGV[at + 1])
    local idem = kind == 'i' and ARGV[at + 2]
    at = at + (idem and 3 or 2)
    if cost > 0 then
      local v = redis.call('HMGET', key, 'w', 'n')
      local stored = tonumber(v[1])
      local used = tonumber(v[2])
      local start = windowStart(spec, stored)
      if start == target and op == 'a' then
        if stored == start then
          redis.call('HSET', key, 'n', (used or 0) + cost)
        else
          -- Dropping the hash that held an earlier window: its count and marks must not carry over.
          if v[1] or v[2] then redis.call('DEL', key) end
          redis.call('HSET', key, 'w', start, 'n', cost)
        end
        expireIn(key, start + a + MARGIN)
      elseif start == target and stored == target then
        local give = true
        if idem then
          -- Only the refund that finds the mark gives anything back: refunds are idempotent.
          local mark = tonumber(redis.call('HGET', key, 'i:' .. idem))
          give = mark ~= nil
          if give then
            if mark > 1 then redis.call('HSET', key, 'i:' .. idem, mark - 1)
            else redis.call('HDEL', key, 'i:' .. idem) end
          end
        end
        if give and used ~= nil then
          if used - cost > 0 then redis.call('HSET', key, 'n', used - cost)
          else redis.call('HDEL', key, 'n') end
        end
        if redis.call('HLEN', key) <= 1 then redis.call('DEL', key)
        else repairTtl(key, start + a + MARGIN) end
      end
    end
  else
    at = at + 1
    if cost > 0 then
      local stored = tonumber(redis.call('GET', key))
      if op == 'a' then
        local tat = stored or now
        if tat < now then tat = now end
        setBucket(key, tat + cost * b)
      elseif stored ~= nil then
        local back = stored - cost * b
        -- Within the tolerance of now, the bucket is full: see the memory store's refund.
        if back > now + EPSILON then setBucket(key, back) else redis.call('DEL', key) end
      end
    end
  end
end
return 1
`;
