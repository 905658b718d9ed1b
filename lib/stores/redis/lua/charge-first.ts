import { parseSpec } from './preamble.js';

/**
 * Lua, op `c`, before the general path: the commonest multi-counter consume, where every window
 * is charged in a window it was charged in before, taken the way the single-window path takes
 * one counter (see single-window.ts). Runs inside `CONSUME_PEEK`, after its locals.
 */
export const CHARGE_FIRST = `
  -- Charge first: each window's count field names its window, so one HINCRBY charges and reads
  -- it, with no field read and no number written by the script. Buckets are read and checked
  -- before any window is charged, and written last. Anything else falls to the general path below, with every charge
  -- made here taken back first (nothing runs between the two): an idempotency key, a cost that
  -- is zero or not whole, a count first charged in this window (its window starts: w, e and the
  -- TTL move, the ended window's fields go), a count over its limit, a bucket that refuses.
  -- A count found here is this window's: every path that writes a count field writes the w it
  -- belongs to, and a window that starts drops the ended one's count.
  if op == 'c' then
    local out, fast = { 1, now }, true
    local buckets, undo, nb, nu = {}, {}, 0, 0
    local i = 0
    for g = 1, #KEYS do
      local count = ARGV[at] + 0
      at = at + 1
      for j = i + 1, i + count do
        local text = ARGV[at]
        local c = specs[text]
        if c == nil then ${parseSpec('text', 'c')}
        end
        at = at + 1
        local cost = c[4]
        if c[1] == 'i' or cost <= 0 or cost % 1 ~= 0 then
          fast = false
          break
        end
        if c[1] == 'b' then
          buckets[nb + 1], buckets[nb + 2], buckets[nb + 3] = g, c, j
          nb = nb + 5
        end
      end
      if not fast then break end
      i = i + count
    end
    -- Buckets are read once every counter is known to fit this path: per bucket its hash, spec,
    -- position, then its arrival time and the hash's 'e' as read.
    for k = 1, fast and nb or 0, 5 do
      local g, c = buckets[k], buckets[k + 1]
      local v = redis.call('HMGET', KEYS[g], c[10], 'e')
      local tat = tonumber(v[1]) or now
      if tat < now then tat = now end
      if tat + (c[4] - c[2]) * c[3] > now + EPSILON then
        fast = false
        break
      end
      out[buckets[k + 2] + 2] = tat % 1 == 0 and tat or string.format('%.17g', tat)
      buckets[k + 3], buckets[k + 4] = tat, v[2]
    end
    if fast then
      at = 3
      i = 0
      for g = 1, #KEYS do
        local key = KEYS[g]
        local count = ARGV[at] + 0
        at = at + 1
        for j = i + 1, i + count do
          local c = specs[ARGV[at]]
          at = at + 1
          if c[1] == 'w' then
            local r = redis.pcall('HINCRBY', key, c[11], c[6])
            if type(r) ~= 'number' then
              fast = false
              break
            end
            local used = r - c[4]
            undo[nu + 1], undo[nu + 2], undo[nu + 3], undo[nu + 4] = key, c[11], used, c[6]
            nu = nu + 4
            if used == 0 or r > c[3] or r >= 9007199254740992 then
              fast = false
              break
            end
            out[j + 2] = used
          end
        end
        if not fast then break end
        i = i + count
      end
    end
    if fast then
      -- 'e' as read, or as a bucket before this one in the same hash just wrote it.
      local ends = {}
      for k = 1, nb, 5 do
        local g, c, tat = buckets[k], buckets[k + 1], buckets[k + 3]
        local key, e = KEYS[g], ends[g] or tonumber(buckets[k + 4])
        tat = tat + c[4] * c[3]
        if e == nil or tat > e then
          ends[g] = tat
          redis.call('HSET', key, c[10], tat, 'e', tat)
          redis.call('PEXPIRE', key, math.max(1, ceil(tat - now)))
        else
          redis.call('HSET', key, c[10], tat)
        end
      end
      return out
    end
    for k = 1, nu, 4 do
      if undo[k + 2] == 0 then
        redis.call('HDEL', undo[k], undo[k + 1])
      else
        redis.call('HINCRBY', undo[k], undo[k + 1], '-' .. undo[k + 3])
      end
    end
    at = 3
  end
`;
