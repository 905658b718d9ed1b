import { sweepMarks } from './preamble.js';

/**
 * Lua, ops `r`, `a` and `x`: refund or charge each counter in the window it aims at, or reset
 * it; one HMGET per hash, then at most one HDEL and one HSET.
 */
export const REFUND_CHARGE = `
for g = 1, #KEYS do
  local key = KEYS[g]
  local count = ARGV[at] + 0
  at = at + 1
  local names, list = { 'e' }, {}
  for j = 1, count do
    local c = specs[ARGV[at]] or specOf(ARGV[at])
    local s = c[7]
    at = at + 1
    local item = { c, s }
    if c[1] == 'b' then
      names[#names + 1] = c[10]
    else
      -- A refund or a charge names the window it aims at.
      if op ~= 'x' then
        item[3] = tonumber(ARGV[at])
        at = at + 1
      end
      -- The count read: the aimed window's, or, for a reset, the current window's.
      item[5] = op == 'x' and c[11] or countOf(s, item[3])
      names[#names + 1] = c[8]
      names[#names + 1] = item[5]
      if c[1] == 'i' then
        item[4] = 'i' .. s .. ':' .. ARGV[at]
        names[#names + 1] = item[4]
        at = at + 1
      end
    end
    list[j] = item
  end
  local v = redis.call('HMGET', key, unpack(names))
  local set, del, ends = {}, {}, nil
  local f = 2
  for j = 1, count do
    local c, s = list[j][1], list[j][2]
    local kind, a, b, cost = c[1], c[2], c[3], c[4]
    if kind == 'b' then
      local stored = tonumber(v[f])
      f = f + 1
      if op == 'x' then
        if stored then del[#del + 1] = c[10] end
      elseif cost > 0 and op == 'a' then
        local tat = stored or now
        if tat < now then tat = now end
        tat = tat + cost * b
        set[#set + 1] = c[10]
        set[#set + 1] = tat
        if ends == nil or tat > ends then ends = tat end
      elseif cost > 0 and stored then
        local back = stored - cost * b
        -- Within the tolerance of now, the bucket is full: see the memory store's refund.
        if back > now + EPSILON then
          set[#set + 1] = c[10]
          set[#set + 1] = back
        else
          del[#del + 1] = c[10]
        end
      end
    else
      local w, n, marked = v[f], v[f + 1], kind == 'i' and v[f + 2]
      f = f + (kind == 'i' and 3 or 2)
      local stored, used = tonumber(w), tonumber(n)
      -- The window a counter is in now: aligned to the epoch, but never earlier than the one it
      -- last counted in, so that a clock stepping back cannot reopen a window.
      local start = c[5]
      if stored and stored > start then start = stored end
      if op == 'x' then
        -- The count goes; idempotency marks stay for the rest of the window, as in the memory
        -- store: a retry of a request already charged is still not charged again.
        if stored == start then
          del[#del + 1] = countOf(s, stored)
        elseif w then
          del[#del + 1] = c[8]
          del[#del + 1] = countOf(s, stored)
          ${sweepMarks('key', 's')}
        end
      elseif cost > 0 and start == list[j][3] and op == 'a' then
        if stored == start then
          set[#set + 1] = list[j][5]
          set[#set + 1] = (used or 0) + cost
        else
          -- That window's count and idempotency marks must not carry over.
          if stored then
            del[#del + 1] = countOf(s, stored)
            ${sweepMarks('key', 's')}
          end
          set[#set + 1] = c[8]
          set[#set + 1] = start
          set[#set + 1] = list[j][5]
          set[#set + 1] = cost
          local last = start + a + MARGIN
          if ends == nil or last > ends then ends = last end
        end
      elseif cost > 0 and start == list[j][3] and stored == start then
        -- Only the refund that finds the mark gives anything back: refunds are idempotent.
        local give = kind ~= 'i' or marked
        if kind == 'i' and marked then del[#del + 1] = list[j][4] end
        if give and used then
          if used - cost > 0 then
            set[#set + 1] = list[j][5]
            set[#set + 1] = used - cost
          else
            del[#del + 1] = list[j][5]
          end
        end
      end
    end
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  local e = tonumber(v[1])
  if ends and (e == nil or ends > e) then
    set[#set + 1] = 'e'
    set[#set + 1] = ends
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  if ends and (e == nil or ends > e) then
    redis.call('PEXPIRE', key, math.max(1, ceil(ends - now)))
  elseif #del > 0 and #set == 0 and redis.call('HLEN', key) <= 1 then
    -- Nothing left but the hash's own end: a hash with no counter is no hash.
    redis.call('DEL', key)
  end
end
return 1
`;
