import { createHash } from 'node:crypto';
import { EPSILON_MS } from '../counter-state.js';

/**
 * How long a window key outlives its window. The script alone decides which window a key
 * counts for, so this only covers a promoted replica whose clock runs a little behind: it
 * still finds the count instead of an expired key and a fresh window.
 */
export const WINDOW_MARGIN_MS = 1_000;

/**
 * One script serves every operation, so there is one SHA to cache and one script to reload
 * after a `SCRIPT FLUSH` or a restart.
 *
 * Redis spends about a microsecond on each `redis.call` (a PTTL per counter was a quarter of a
 * check), a few hundred ns on each argument and each number it parses (strtod), and tens on
 * each Lua instruction; a check pays them once per counter. So the script calls Redis once to
 * read a counter and once to charge it, parses a spec shared by several counters once, and
 * answers only what the client cannot compute: `decide` in redis.ts derives remaining,
 * resetAt, retryAt and windowStart from it, on the same numbers and the same clock.
 *
 * KEYS: one per counter, every one carrying the same hash tag (one cluster slot).
 * ARGV[1]: the operation: `c` consume, `p` peek, `r` refund, `a` charge (add), `x` reset;
 * `C` and `P`, consume and peek of one window counter without an idempotency key, whose
 * arguments are windowMs, limit and cost, then the clock when it is not Redis `TIME`.
 * ARGV[2] (every other op): the clock in ms, or `''` to read Redis `TIME`.
 * Then, per counter, its spec `<kind><a>:<b>:<cost>`: kind `w` window, `i` window with an
 * idempotency key, `b` bucket; a and b windowMs and limit (window) or capacity and intervalMs
 * (bucket). A refund or a charge of a window adds the window start it aims at; kind `i` adds
 * the idempotency key.
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
 * The reply to consume and peek: admitted (0/1), now, then one number per counter: a window's
 * units used before the call (`-1 - used` when the idempotency key replayed), a bucket's
 * arrival time before the call (no earlier than now); then, for each window counted in a
 * window later than the clock's (the clock stepped back), its index (1-based) and start.
 */
export const STORE_SCRIPT = `
local op = ARGV[1]
-- Locals: a global is a table lookup each time it is read.
local KEYS, ARGV, tonumber = KEYS, ARGV, tonumber
local MARGIN = ${WINDOW_MARGIN_MS}
local EPSILON = ${EPSILON_MS}

-- The clock: the client's, or Redis TIME when it sends none ('' in ARGV[2], or no ARGV[5] for
-- C and P).
local now
if op == 'C' or op == 'P' then now = ARGV[5] elseif ARGV[2] ~= '' then now = ARGV[2] end
if now == nil then
  local t = redis.call('TIME')
  local us = t[2] + 0
  now = t[1] * 1000 + (us - us % 1000) / 1000
else
  now = now + 0
end

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

local fmod, ceil = math.fmod, math.ceil

-- A counter's spec, '<kind><a>:<b>:<cost>', is read once per call however many counters
-- share it (the windows of one length usually do): each number costs Lua a strtod. A
-- window's spec also holds the start of the current window.
local specs = {}

local at = 3
if op == 'c' or op == 'p' then
  -- Read every counter and decide, then charge all or none. The first pass leaves in state[i]
  -- what the second needs: for a window, the start of the window its key holds when that is
  -- the current one (or a later one), true when it holds an earlier one (stale[i] then says
  -- when the key expires), false when there is no key; for a bucket, its arrival time, or
  -- false when there is no key.
  local n = #KEYS
  local out = { 1, now }
  local state, starts = {}, {}
  local stale, later, odd
  local admitted = true
  for i = 1, n do
    local text = ARGV[at]
    local spec = specs[text]
    if spec == nil then
      local kind, a, b, cost = string.match(text, '^(%a)([^:]+):([^:]+):(.+)$')
      a = a + 0
      spec = { kind, a, b + 0, cost + 0, kind ~= 'b' and now - fmod(now, a), cost }
      specs[text] = spec
    end
    local kind, b, cost = spec[1], spec[3], spec[4]
    if kind ~= 'b' then
      local v
      if kind == 'i' then
        v = redis.call('HMGET', KEYS[i], 'w', 'n', 'i:' .. ARGV[at + 1])
        at = at + 2
      else
        v = redis.call('HMGET', KEYS[i], 'w', 'n')
        at = at + 1
      end
      -- The keys of one window length hold one start, as one interned string: read it once.
      local w = v[1]
      local stored = w and starts[w]
      if stored == nil then
        stored = tonumber(w)
        starts[w] = stored
      end
      local start = spec[5]
      if stored and stored >= start then
        -- A clock that stepped back keeps counting in the later window the key holds.
        if stored > start then
          later = later or {}
          later[#later + 1] = i
          later[#later + 1] = stored % 1 == 0 and stored or string.format('%.17g', stored)
        end
        local count, used = v[2], 0
        state[i] = stored
        if count then
          -- Canonical digits, which HINCRBY can read (see below), also read for one strtod.
          if count == '0' or string.find(count, '^[1-9]%d*$') then
            used = count + 0
          else
            used = tonumber(count) or 0
            odd = odd or {}
            odd[i] = true
          end
        end
        if v[3] then
          out[i + 2] = -1 - used
        else
          out[i + 2] = used
          if used + cost > b then admitted = false end
        end
      else
        if w or v[2] then
          -- An earlier window's key (kept by the margin) expires by its own end, not this one's.
          stale = stale or {}
          stale[i] = (stored or start) + spec[2] + MARGIN
          state[i] = true
        else
          state[i] = false
        end
        out[i + 2] = 0
        if cost > b then admitted = false end
      end
    else
      at = at + 1
      local stored = tonumber(redis.call('GET', KEYS[i]))
      local tat = stored or now
      if tat < now then tat = now end
      -- A bucket is full again, and its key worthless, from its arrival time on.
      state[i] = stored ~= nil and tat
      -- Redis writes a number argument with %.17g, so arrival times are stored unrounded; a
      -- number in the reply, though, becomes an integer reply (truncated): fractions go as text.
      out[i + 2] = tat % 1 == 0 and tat or string.format('%.17g', tat)
      if tat + (cost - spec[2]) * b > now + EPSILON then admitted = false end
    end
  end

  local charge = admitted and op == 'c'
  -- Keys read and not charged, each with the moment it should expire: their TTLs are checked
  -- after the writes (see repairTtl).
  local unexpiring
  at = 3
  for i = 1, n do
    local key, spec, s = KEYS[i], specs[ARGV[at]], state[i]
    local kind, cost = spec[1], spec[4]
    if kind ~= 'b' then
      local used = out[i + 2]
      if charge and used >= 0 and cost > 0 then
        -- A key charged in its current window has its TTL already: checking it would cost as
        -- much as the charge (see repairTtl for one found without).
        if s and s ~= true then
          -- HINCRBY by the cost's own text spares Redis formatting a number argument (a %.17g
          -- snprintf, as dear as a redis.call's dispatch), but fails on a count that is not an
          -- integer's canonical text, which would break all-or-none after earlier writes: those
          -- (and fractions, and counts past 2^53) are written whole.
          if cost % 1 == 0 and used + cost < 9007199254740992 and not (odd and odd[i]) then
            redis.call('HINCRBY', key, 'n', spec[6])
          else
            redis.call('HSET', key, 'n', used + cost)
          end
        else
          -- That window's count and idempotency marks must not carry over.
          if s then redis.call('DEL', key) end
          -- Whole numbers as %.0f text (see the short path above).
          local start = spec[5]
          redis.call('HSET', key, 'w', start % 1 == 0 and string.format('%.0f', start) or start, 'n', spec[6])
          redis.call('PEXPIRE', key, string.format('%.0f', ceil(start + spec[2] + MARGIN - now)))
        end
        if kind == 'i' then redis.call('HINCRBY', key, 'i:' .. ARGV[at + 1], 1) end
      elseif s then
        unexpiring = unexpiring or {}
        unexpiring[#unexpiring + 1] = key
        unexpiring[#unexpiring + 1] = s == true and stale[i] or s + spec[2] + MARGIN
      end
      at = at + (kind == 'i' and 2 or 1)
    else
      if charge and cost > 0 then
        local tat = (s or now) + cost * spec[3]
        redis.call('SET', key, tat, 'PX', ceil(tat - now))
      elseif s then
        unexpiring = unexpiring or {}
        unexpiring[#unexpiring + 1] = key
        unexpiring[#unexpiring + 1] = s
      end
      at = at + 1
    end
  end
  if unexpiring then
    for j = 1, #unexpiring, 2 do
      local key = unexpiring[j]
      if redis.call('PTTL', key) == -1 then
        local ttl = ceil(unexpiring[j + 1] - now)
        if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
      end
    end
  end
  if not admitted then out[1] = 0 end
  if later then
    for j = 1, #later do out[n + 2 + j] = later[j] end
  end
  return out
end

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
  redis.call('SET', key, tat, 'PX', ceil(tat - now))
end

if op == 'x' then
  for i = 1, #KEYS do
    local key = KEYS[i]
    local spec = specs[ARGV[at]] or specOf(ARGV[at])
    local kind = spec[1]
    at = at + (kind == 'i' and 2 or 1)
    if kind ~= 'b' then
      -- The count goes; idempotency marks stay for the rest of the window, as in the memory
      -- store: a retry of a request already charged is still not charged again.
      local stored = tonumber(redis.call('HGET', key, 'w'))
      if stored ~= nil and stored == windowStart(spec, stored) then
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

export const STORE_SCRIPT_SHA = createHash('sha1').update(STORE_SCRIPT).digest('hex');
