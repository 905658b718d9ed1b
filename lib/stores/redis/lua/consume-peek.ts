import { CHARGE_FIRST } from './charge-first.js';
import { countField, parseSpec, sweepMarks } from './preamble.js';

/**
 * Lua, ops `c` and `p`: consume or peek of any counters, every hash read once before all or
 * none is charged, each charged hash written once. Its first locals (`fmod`, `ceil`, `specs`,
 * `at`) serve the sections after it too.
 */
export const CONSUME_PEEK = `
local fmod, ceil = math.fmod, math.ceil
local at = 3
${CHARGE_FIRST}
-- A counter's spec, '<kind><a>:<b>:<cost><suffix>', is read once per call however many
-- counters share it (the windows of one length, in every scope, usually do): each number costs
-- Lua a strtod, and each field name a string. It holds kind, a, b, cost, the start of the
-- current window (windows), the cost's text, the suffix, and the names w<s>, n<s> and t<s>.
-- (Parsed inline, as specOf below does for the other ops: a function defined here would cost
-- every call that runs past it.)
local specs = {}
if op == 'c' or op == 'p' then
  -- What a check costs Redis beyond its commands is mostly the tables it makes (each is
  -- allocated, then collected), so both passes walk ARGV again rather than keep per-counter
  -- tables: state[i] is all that pass 1 leaves for pass 2, with each hash's 'e' as read (es[g],
  -- false when it has none) and the latest end of what it was found holding (seen[g], for a
  -- hash without 'e').
  -- state[i], for a window: the units counted in the current (or a later) window; false when it
  -- has no count; the start of the ended window it holds, negated. For a bucket: its arrival
  -- time, negated when the bucket had none or was full.
  local out = { 1, now }
  local state, es, seen = {}, {}, {}
  local admitted = true
  local later, moved
  local i = 0
  for g = 1, #KEYS do
    local count = ARGV[at] + 0
    local first = at + 1
    -- The fields to read: each counter's, then the hash's 'e', which a charge needs whenever
    -- it may reach past it (a bucket's, a window that starts: this path's usual business, as
    -- the charge-first one takes the rest). A hash of one window is read without building a
    -- list of names.
    local v
    local c1 = specs[ARGV[first]]
    if c1 == nil then ${parseSpec('ARGV[first]', 'c1')}
    end
    if count == 1 and c1[1] == 'w' then
      v = redis.call('HMGET', KEYS[g], c1[8], c1[11], 'e')
      es[g] = v[3]
      at = first + 1
    else
      local names = {}
      at = first
      for j = 1, count do
        local c = specs[ARGV[at]]
        if c == nil then ${parseSpec('ARGV[at]', 'c')}
        end
        at = at + 1
        if c[1] == 'b' then
          names[#names + 1] = c[10]
        else
          names[#names + 1] = c[8]
          names[#names + 1] = c[11]
          if c[1] == 'i' then
            names[#names + 1] = 'i' .. c[7] .. ':' .. ARGV[at]
            at = at + 1
          end
        end
      end
      names[#names + 1] = 'e'
      v = redis.call('HMGET', KEYS[g], unpack(names))
      es[g] = v[#names]
    end
    local last = 0
    local f = 1
    local arg = first
    for j = i + 1, i + count do
      local c = specs[ARGV[arg]]
      arg = arg + (c[1] == 'i' and 2 or 1)
      local b, cost = c[3], c[4]
      if c[1] == 'b' then
        local stored = tonumber(v[f])
        f = f + 1
        local tat = stored or now
        if tat < now then tat = now end
        state[j] = stored and stored > now and tat or -tat
        if stored and stored > last then last = stored end
        -- A number in the reply becomes an integer reply (truncated): fractions go as text.
        out[j + 2] = tat % 1 == 0 and tat or string.format('%.17g', tat)
        if tat + (cost - c[2]) * b > now + EPSILON then admitted = false end
      else
        local w, n = v[f], v[f + 1]
        local replayed = c[1] == 'i' and v[f + 2]
        f = f + (c[1] == 'i' and 3 or 2)
        local stored = tonumber(w)
        local start = c[5]
        if stored and stored >= start then
          -- A clock that stepped back keeps counting in the later window the counter holds.
          if stored > start then
            later = later or {}
            later[#later + 1] = j
            later[#later + 1] = stored % 1 == 0 and stored or string.format('%.17g', stored)
            -- Its count is that window's field: read, and kept for the charge (moved[j]).
            moved = moved or {}
            moved[j] = ${countField('c[7]', 'stored')}
            n = redis.call('HGET', KEYS[g], moved[j]) or nil
          end
          local units = n and tonumber(n) or 0
          state[j] = units
          if stored + c[2] + MARGIN > last then last = stored + c[2] + MARGIN end
          if replayed then
            out[j + 2] = -1 - units
          else
            out[j + 2] = units
            if units + cost > b then admitted = false end
          end
        else
          state[j] = stored and -stored or false
          if stored and stored + c[2] + MARGIN > last then last = stored + c[2] + MARGIN end
          out[j + 2] = 0
          if cost > b then admitted = false end
        end
      end
    end
    seen[g] = last
    i = i + count
  end

  -- Pass 2: a hash charged one count is one HINCRBY; any other charged hash one HSET. Its TTL
  -- moves only when a window it starts (or a bucket it fills) ends later than everything it held
  -- ('e', the end its TTL was last set to). A hash read and not written is checked for a TTL.
  local charge = admitted and op == 'c'
  at = 3
  i = 0
  for g = 1, #KEYS do
    local key = KEYS[g]
    local count = ARGV[at] + 0
    at = at + 1
    local set, ends, held, incr = nil, nil, false, nil
    for j = i + 1, i + count do
      local c = specs[ARGV[at]]
      local kind, cost, s = c[1], c[4], c[7]
      local held1 = state[j]
      if kind == 'b' then
        at = at + 1
        if charge and cost > 0 then
          local tat = (held1 < 0 and -held1 or held1) + cost * c[3]
          set = set or {}
          set[#set + 1] = c[10]
          set[#set + 1] = tat
          if ends == nil or tat > ends then ends = tat end
        elseif held1 > 0 then
          held = true
        end
      else
        local mark = kind == 'i' and 'i' .. s .. ':' .. ARGV[at + 1]
        at = at + (kind == 'i' and 2 or 1)
        if charge and cost > 0 and out[j + 2] >= 0 then
          set = set or {}
          if held1 and held1 >= 0 then
            set[#set + 1] = moved and moved[j] or c[11]
            local units = held1 + cost
            if cost % 1 == 0 and units % 1 == 0 and units < 9007199254740992 then
              incr = c[6]
              -- Whole numbers as %d text: Redis would write a number with %.17g, which costs more.
              units = string.format('%d', units)
            end
            set[#set + 1] = units
          else
            -- The ended window's count and idempotency marks must not carry over.
            if held1 then
              redis.call('HDEL', key, ${countField('s', '-held1')})
              ${sweepMarks('key', 's')}
            end
            local start = c[5]
            set[#set + 1] = c[8]
            set[#set + 1] = start % 1 == 0 and string.format('%d', start) or start
            set[#set + 1] = c[11]
            set[#set + 1] = c[6]
            local last = start + c[2] + MARGIN
            if ends == nil or last > ends then ends = last end
          end
          if mark then
            set[#set + 1] = mark
            set[#set + 1] = 1
            set[#set + 1] = 'm' .. s
            set[#set + 1] = 1
          end
        elseif held1 then
          held = true
        end
      end
    end
    if set and #set == 2 and incr then
      -- One count to raise: HINCRBY by the cost's own text spares Redis formatting a number.
      -- It fails on a count that is not an integer's canonical text, which is then written whole.
      if type(redis.pcall('HINCRBY', key, set[1], incr)) == 'table' then redis.call('HSET', key, set[1], set[2]) end
    elseif set then
      local e = ends and tonumber(es[g])
      if ends and (e == nil or ends > e) then
        set[#set + 1] = 'e'
        set[#set + 1] = ends
        redis.call('HSET', key, unpack(set))
        redis.call('PEXPIRE', key, math.max(1, ceil(ends - now)))
      else
        redis.call('HSET', key, unpack(set))
      end
    elseif held and redis.call('PTTL', key) == -1 then
      -- Keys are always written with a TTL; one found without (PERSIST, a restore, a foreign
      -- writer) would never go away, so a call that reads it without charging it gives it one.
      -- Without 'e' (written by another version or tool), the latest end this call saw.
      local last = tonumber(es[g]) or seen[g]
      local ttl = ceil(last - now)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
    end
    i = i + count
  end
  if not admitted then out[1] = 0 end
  if later then
    for j = 1, #later do out[i + 2 + j] = later[j] end
  end
  return out
end
`;
