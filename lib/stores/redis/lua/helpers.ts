/** Lua, for reset, refund and charge: reading a spec, a window's start, and keys' TTLs. */
export const HELPERS = `
local function specOf(text)
  local kind, a, b, cost = string.match(text, '^(%a)([^:]+):([^:]+):(.+)$')
  a = a + 0
  local spec = { kind, a, b + 0, cost + 0, kind ~= 'b' and now - fmod(now, a) }
  specs[text] = spec
  return spec
end

-- Keys are always written with a TTL; one found without (PERSIST, a restore, a foreign
-- writer) would never go away, so a call that reads it without charging it gives it one, as
-- does the first charge of its next window, which writes the key afresh. (Consume and peek,
-- above, check theirs inline: defining a function costs every call that runs past it.)
local function repairTtl(key, at)
  if redis.call('PTTL', key) == -1 then
    local ttl = ceil(at - now)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
  end
end

local function expireIn(key, at)
  local ttl = ceil(at - now)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
end

-- The window a counter is in now: aligned to the epoch, but never earlier than the one it
-- last counted in, so that a clock stepping back cannot reopen a window.
local function windowStart(spec, stored)
  if stored ~= nil and stored > spec[5] then return stored end
  return spec[5]
end

local function setBucket(key, tat)
  redis.call('SET', key, tat, 'PX', math.max(1, ceil(tat - now)))
end
`;
