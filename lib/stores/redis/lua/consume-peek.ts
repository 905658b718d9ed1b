import { sweepMarks } from './preamble.js';

/**
 * Lua, ops `c` and `p`: consume or peek of any counters, every hash read once before all or
 * none is charged, each charged hash written once. Its first locals (`fmod`, `ceil`, `specs`,
 * `at`) serve the sections after it too.
 */
export const CONSUME_PEEK = `
local fmod, ceil = math.fmod, math.ceil

-- A counter's spec, '<kind><a>:<b>:<cost>', is read once per call however many counters
-- share it (the windows of one length usually do): each number costs Lua a strtod. A
-- window's spec also holds the start of the current window.
local specs = {}

local at = 3
if op == 'c' or op == 'p' then
  -- Pass 1: one HMGET per hash (every counter of a scope value), then each counter's decision.
  -- It leaves in used[i], for a window, the units counted in the current (or a later) window,
  -- or nil when the counter must start a new one (stale[i]: it holds an ended one); for a
  -- bucket, its arrival time (stale[i]: it had one).
  local out = { 1, now }
  local admitted = true
  local spec, field, mark, used, stale, since, reads, first = {}, {}, {}, {}, {}, {}, {}, {}
  local later
  local i = 0
  for g = 1, #KEYS do
    local count = ARGV[at] + 0
    at = at + 1
    first[g] = i + 1
    local names = { 'e' }
    for j = i + 1, i + count do
      local text, s = ARGV[at], ARGV[at + 1]
      local c = specs[text]
      if c == nil then
        local kind, a, b, cost = string.match(text, '^(%a)([^:]+):([^:]+):(.+)$')
        a = a + 0
        c = { kind, a, b + 0, cost + 0, kind ~= 'b' and now - fmod(now, a), cost }
        specs[text] = c
      end
      spec[j], field[j] = c, s
      at = at + 2
      if c[1] == 'b' then
        names[#names + 1] = 't' .. s
      else
        names[#names + 1] = 'w' .. s
        names[#names + 1] = 'n' .. s
        if c[1] == 'i' then
          mark[j] = 'i' .. s .. ':' .. ARGV[at]
          names[#names + 1] = mark[j]
          at = at + 1
        end
      end
    end
    local v = redis.call('HMGET', KEYS[g], unpack(names))
    reads[g] = v
    local f = 2
    for j = i + 1, i + count do
      local c = spec[j]
      local b, cost = c[3], c[4]
      if c[1] == 'b' then
        local stored = tonumber(v[f])
        f = f + 1
        local tat = stored or now
        if tat < now then tat = now end
        used[j], stale[j] = tat, stored ~= nil
        -- A number in the reply becomes an integer reply (truncated): fractions go as text.
        out[j + 2] = tat % 1 == 0 and tat or string.format('%.17g', tat)
        if tat + (cost - c[2]) * b > now + EPSILON then admitted = false end
      else
        local w, n = v[f], v[f + 1]
        local replayed = c[1] == 'i' and v[f + 2]
        f = f + (c[1] == 'i' and 3 or 2)
        local stored = tonumber(w)
        local start = c[5]
        since[j] = stored
        if stored and stored >= start then
          -- A clock that stepped back keeps counting in the later window the counter holds.
          if stored > start then
            later = later or {}
            later[#later + 1] = j
            later[#later + 1] = stored % 1 == 0 and stored or string.format('%.17g', stored)
          end
          local units = n and tonumber(n) or 0
          used[j] = units
          if replayed then
            out[j + 2] = -1 - units
          else
            out[j + 2] = units
            if units + cost > b then admitted = false end
          end
        else
          stale[j] = w ~= false or n ~= false
          out[j + 2] = 0
          if cost > b then admitted = false end
        end
      end
    end
    i = i + count
  end
  first[#KEYS + 1] = i + 1

  -- Pass 2: each hash charged is written by one HSET, and its TTL moved only when a window it
  -- starts (or a bucket it fills) ends later than everything it held ('e', the end its TTL was
  -- last set to). A hash read and not written is checked for a TTL instead (see below).
  local charge = admitted and op == 'c'
  for g = 1, #KEYS do
    local key = KEYS[g]
    local set, ends, held = {}, nil, false
    for j = first[g], first[g + 1] - 1 do
      local c, s = spec[j], field[j]
      local cost = c[4]
      if c[1] == 'b' then
        if charge and cost > 0 then
          local tat = used[j] + cost * c[3]
          set[#set + 1] = 't' .. s
          set[#set + 1] = tat
          if ends == nil or tat > ends then ends = tat end
        elseif stale[j] then
          held = true
        end
      elseif charge and cost > 0 and out[j + 2] >= 0 then
        local units = used[j]
        if units then
          set[#set + 1] = 'n' .. s
          set[#set + 1] = units + cost
        else
          if stale[j] then ${sweepMarks('key', 's')}
          end
          local start = c[5]
          set[#set + 1] = 'w' .. s
          set[#set + 1] = start
          set[#set + 1] = 'n' .. s
          set[#set + 1] = c[6]
          local last = start + c[2] + MARGIN
          if ends == nil or last > ends then ends = last end
        end
        if mark[j] then
          set[#set + 1] = mark[j]
          set[#set + 1] = 1
          set[#set + 1] = 'm' .. s
          set[#set + 1] = 1
        end
      elseif used[j] or stale[j] then
        held = true
      end
    end
    local e = tonumber(reads[g][1])
    if #set > 0 then
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
      -- Without 'e' (written by another version or tool), the latest end this call can see.
      local last = e or 0
      if e == nil then
        for j = first[g], first[g + 1] - 1 do
          local c = spec[j]
          local t = c[1] == 'b' and used[j] or (since[j] or c[5]) + c[2] + MARGIN
          if t > last then last = t end
        end
      end
      local ttl = ceil(last - now)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
    end
  end
  if not admitted then out[1] = 0 end
  if later then
    local n = first[#KEYS + 1] - 1
    for j = 1, #later do out[n + 2 + j] = later[j] end
  end
  return out
end
`;
