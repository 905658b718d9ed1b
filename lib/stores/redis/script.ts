import { createHash } from 'node:crypto';

/**
 * One script serves every operation, so there is one SHA to cache and one script to reload
 * after a `SCRIPT FLUSH` or a restart.
 *
 * KEYS: one per counter, every one carrying the same hash tag (one cluster slot).
 * ARGV[1]: the operation: `c` consume, `p` peek, `r` refund, `a` charge (add), `x` reset.
 * ARGV[2]: the clock in ms, or `''` to read Redis `TIME`.
 * ARGV[3]: how long a window key outlives its window, in ms.
 * Then six arguments per counter: `w` or `b`; windowMs and limit (window) or capacity and
 * intervalMs (bucket); cost; the window start a refund or charge aims at (or `''`); the
 * idempotency key (or `''`).
 *
 * A window key is a hash `{ w = window start, n = units used, i:<idempotency key> = mark }`
 * under the counter's own key, rather than one key per window, so that every key the script
 * touches is declared in KEYS (the client cannot name the window: only the script knows the
 * time), so that idempotency marks go with the window they belong to, and so that, as in the
 * memory store, a clock that steps back keeps counting in the later window.
 *
 * A bucket key holds its theoretical arrival time, fractional when the interval is. Lua numbers
 * are doubles, as in JavaScript, and the arithmetic repeats memory.ts operation for operation,
 * so that both stores agree to the bit; fractional results travel as `%.17g` text, which
 * reads back as the same double.
 *
 * The reply: admitted (0/1), now, then six fields per counter: allowed (0/1), remaining,
 * resetAt, retryAt, windowStart (0 for a bucket), replayed (0/1).
 */
export const STORE_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local op = ARGV[1]
local now = tonumber(ARGV[2])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local margin = tonumber(ARGV[3])
local EPSILON = 1e-3

-- Redis writes a number argument with %.17g, so counts and arrival times are stored unrounded.
-- A number in the reply, though, becomes an integer reply (truncated): fractions go as text.
local function reply(x)
  if x == math.floor(x) then return x end
  return string.format('%.17g', x)
end

local function expireIn(key, at)
  local ttl = math.ceil(at - now)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
end

-- Keys are always written with a TTL; one found without (PERSIST, a restore, a foreign
-- writer) would never go away, so it gets one here.
local function repairTtl(key, at)
  if redis.call('PTTL', key) == -1 then expireIn(key, at) end
end

-- The window a counter is in now: aligned to the epoch, but never earlier than the one it
-- last counted in, so that a clock stepping back cannot reopen a window.
local function windowStart(windowMs, stored)
  local start = now - math.fmod(now, windowMs)
  if stored ~= nil and stored > start then return stored end
  return start
end

-- Writes a window's count, first dropping the hash when it held an earlier window: that
-- window's count and idempotency marks must not carry over.
local function writeWindow(key, found, stored, start, used)
  if found and stored ~= start then redis.call('DEL', key) end
  redis.call('HSET', key, 'w', start, 'n', used)
end

local function setBucket(key, tat)
  redis.call('SET', key, tat, 'PX', math.ceil(tat - now))
end

if op == 'x' then
  for i = 1, #KEYS do
    local key = KEYS[i]
    local at = 3 + (i - 1) * 6
    if ARGV[at + 1] == 'w' then
      -- The count goes; idempotency marks stay for the rest of the window, as in the memory
      -- store: a retry of a request already charged is still not charged again.
      local stored = tonumber(redis.call('HGET', key, 'w'))
      if stored ~= nil and stored == windowStart(tonumber(ARGV[at + 2]), stored) then
        redis.call('HDEL', key, 'n')
        if redis.call('HLEN', key) <= 1 then redis.call('DEL', key) end
      else
        redis.call('DEL', key)
      end
    else
      redis.call('DEL', key)
    end
  end
  return 1
end

if op == 'r' or op == 'a' then
  for i = 1, #KEYS do
    local key = KEYS[i]
    local at = 3 + (i - 1) * 6
    local a = tonumber(ARGV[at + 2])
    local b = tonumber(ARGV[at + 3])
    local cost = tonumber(ARGV[at + 4])
    if cost > 0 and ARGV[at + 1] == 'w' then
      local target = tonumber(ARGV[at + 5])
      local v = redis.call('HMGET', key, 'w', 'n')
      local stored = tonumber(v[1])
      local used = tonumber(v[2])
      local start = windowStart(a, stored)
      if start == target and op == 'a' then
        if stored ~= start then used = nil end
        writeWindow(key, v[1] or v[2], stored, start, (used or 0) + cost)
        expireIn(key, start + a + margin)
      elseif start == target and stored == target then
        local idem = ARGV[at + 6]
        local give = true
        if idem ~= '' then
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
        else repairTtl(key, start + a + margin) end
      end
    elseif cost > 0 then
      local stored = tonumber(redis.call('GET', key))
      if op == 'a' then
        local tat = stored or now
        if tat < now then tat = now end
        setBucket(key, tat + cost * b)
      elseif stored ~= nil then
        local back = stored - cost * b
        if back > now then setBucket(key, back) else redis.call('DEL', key) end
      end
    end
  end
  return 1
end

-- consume and peek: read every counter, decide, then charge all or none.
local n = #KEYS
local kinds, as, bs, costs, idems, before, stores, starts, found, replays = {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
local admitted = true
for i = 1, n do
  local key = KEYS[i]
  local at = 3 + (i - 1) * 6
  local kind = ARGV[at + 1]
  local a = tonumber(ARGV[at + 2])
  local b = tonumber(ARGV[at + 3])
  local cost = tonumber(ARGV[at + 4])
  local idem = ARGV[at + 6]
  kinds[i], as[i], bs[i], costs[i], idems[i] = kind, a, b, cost, idem
  if kind == 'w' then
    local v
    if idem == '' then v = redis.call('HMGET', key, 'w', 'n')
    else v = redis.call('HMGET', key, 'w', 'n', 'i:' .. idem) end
    local stored = tonumber(v[1])
    local start = windowStart(a, stored)
    local used = 0
    local replay = false
    if stored == start then
      used = tonumber(v[2]) or 0
      replay = idem ~= '' and tonumber(v[3]) ~= nil
    end
    stores[i], starts[i], before[i], replays[i] = stored, start, used, replay
    -- An earlier window's key (kept by the margin) expires by its own end, not this one's.
    if v[1] or v[2] then found[i] = (stored or start) + a + margin end
    if not replay and used + cost > b then admitted = false end
  else
    local stored = tonumber(redis.call('GET', key))
    local tat = stored or now
    if tat < now then tat = now end
    before[i] = tat
    -- A bucket is full again, and its key worthless, from its arrival time on.
    if stored ~= nil then found[i] = tat end
    if tat + cost * b - a * b > now + EPSILON then admitted = false end
  end
end

local charge = admitted and op == 'c'
local out = { admitted and 1 or 0, reply(now) }
for i = 1, n do
  local key, kind, a, b, cost = KEYS[i], kinds[i], as[i], bs[i], costs[i]
  if kind == 'w' then
    local start, used, replay = starts[i], before[i], replays[i]
    local allowed = replay or used + cost <= b
    local after = used
    local resetAt = start + a
    if charge and not replay and cost > 0 then
      after = used + cost
      if found[i] and stores[i] == start then
        -- The window's key already carries its TTL: checking it is cheaper than setting it.
        redis.call('HSET', key, 'n', after)
        repairTtl(key, found[i])
      else
        writeWindow(key, found[i], stores[i], start, after)
        expireIn(key, resetAt + margin)
      end
      if idems[i] ~= '' then redis.call('HINCRBY', key, 'i:' .. idems[i], 1) end
    elseif found[i] then
      repairTtl(key, found[i])
    end
    local retryAt = now
    if not allowed then retryAt = resetAt end
    out[#out + 1] = allowed and 1 or 0
    out[#out + 1] = reply(math.max(0, b - after))
    out[#out + 1] = reply(resetAt)
    out[#out + 1] = reply(retryAt)
    out[#out + 1] = reply(start)
    out[#out + 1] = replay and 1 or 0
  else
    local tat = before[i]
    local earliest = tat + cost * b - a * b
    local allowed = earliest <= now + EPSILON
    local after = tat
    if charge and cost > 0 then
      after = tat + cost * b
      setBucket(key, after)
    elseif found[i] then
      repairTtl(key, found[i])
    end
    local remaining = math.min(a, math.max(0, math.floor((now + a * b - after) / b + 1e-9)))
    local retryAt = now
    if not allowed then retryAt = math.ceil(earliest) end
    out[#out + 1] = allowed and 1 or 0
    out[#out + 1] = reply(remaining)
    out[#out + 1] = reply(math.max(now, after))
    out[#out + 1] = reply(retryAt)
    out[#out + 1] = 0
    out[#out + 1] = 0
  end
end
return out
`;

export const STORE_SCRIPT_SHA = createHash('sha1').update(STORE_SCRIPT).digest('hex');

/** Fields per counter in the script's reply, after `admitted` and `now`. */
export const REPLY_FIELDS = 6;
/** Arguments per counter, after the three leading ones. */
export const ARGS_PER_COUNTER = 6;
