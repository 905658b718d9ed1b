/**
 * Lua, ops `c` and `p`: consume or peek of any counters, every one read before all or none is
 * charged. Its first locals (`fmod`, `ceil`, `specs`, `at`) serve the sections after it too.
 */
export const CONSUME_PEEK = `
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
        redis.call('SET', key, tat, 'PX', math.max(1, ceil(tat - now)))
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
`;
