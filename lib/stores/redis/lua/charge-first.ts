import { countField, SPEC_PATTERN } from './preamble.js';

/**
 * Lua, op `f`: the commonest multi-counter consume, sent by the client only when no counter has
 * an idempotency key and every cost is a whole number above 0 (batch.ts). Runs inside
 * `CONSUME_PEEK`, ahead of its general path; its ARGV are op `c`'s.
 */
export const CHARGE_FIRST = `
  -- Charge first: each window's count field names its window, so one HINCRBY charges and reads
  -- it, with no field read and no number written by the script; a bucket is read and checked
  -- where it comes, and written once everything else has passed. Anything else takes back what
  -- this section charged (nothing runs between the two) and falls to the general path as op c:
  -- a count first charged in this window (its window starts: w, e and the TTL move, the ended
  -- window's fields go), a count over its limit or at 2^53, a bucket that refuses.
  -- A count found here is this window's: every path that writes a count field writes the w it
  -- belongs to, and a window that starts drops the ended one's count.
  -- What costs Redis here, beyond the commands, is what the script allocates (each table and
  -- new string is collected later, on some call's time), so this section keeps one table of
  -- parsed specs (ps[text] = the base of its kind, a, b, cost, cost's text and field name, flat
  -- in ps) and the reply, and walks ARGV again rather than keep a list of what it charged.
  if op == 'f' then
    local out, ps, top = { 1, now }, {}, 0
    local pending
    local j, ok = 2, true
    for g = 1, #KEYS do
      local key = KEYS[g]
      local count = ARGV[at] + 0
      at = at + 1
      for _ = 1, count do
        local text = ARGV[at]
        at = at + 1
        j = j + 1
        local p = ps[text]
        if p == nil then
          local kind, a, b, cost, s = string.match(text, ${SPEC_PATTERN})
          a = a + 0
          p = top + 1
          top = top + 6
          ps[text], ps[p], ps[p + 1], ps[p + 2], ps[p + 3], ps[p + 4] = p, kind, a, b + 0, cost + 0, cost
          if kind == 'w' then
            local start = now - now % a
            ps[p + 5] = ${countField('s', 'start')}
          else
            ps[p + 5] = 't' .. s
          end
        end
        if ps[p] == 'w' then
          local r = redis.pcall('HINCRBY', key, ps[p + 5], ps[p + 4])
          if type(r) ~= 'number' then
            ok = false
            break
          end
          local used = r - ps[p + 3]
          out[j] = used
          if used == 0 or r > ps[p + 2] or r >= 9007199254740992 then
            ok = false
            break
          end
        else
          -- pcall: windows before it may be charged already, and a script that stops on an
          -- error keeps what it wrote (a key of another type answers WRONGTYPE). The general
          -- path then meets the error before it charges anything.
          local v = redis.pcall('HMGET', key, ps[p + 5], 'e')
          if v.err then
            ok = false
            break
          end
          local tat = tonumber(v[1]) or now
          if tat < now then tat = now end
          if tat + (ps[p + 3] - ps[p + 1]) * ps[p + 2] > now + EPSILON then
            ok = false
            break
          end
          -- A number in the reply becomes an integer reply (truncated): fractions go as text.
          out[j] = tat % 1 == 0 and tat or string.format('%.17g', tat)
          pending = pending or {}
          local n = #pending
          pending[n + 1], pending[n + 2], pending[n + 3], pending[n + 4] = key, ps[p + 5], tat + ps[p + 3] * ps[p + 2], v[2]
        end
      end
      if not ok then break end
    end
    if ok then
      -- 'e' as read, or as a bucket before this one in the same hash just wrote it.
      for k = 1, pending and #pending or 0, 4 do
        local key, field, tat = pending[k], pending[k + 1], pending[k + 2]
        local e = tonumber(pending[k + 3])
        for m = 1, k - 4, 4 do
          if pending[m] == key and (e == nil or pending[m + 2] > e) then e = pending[m + 2] end
        end
        if e == nil or tat > e then
          redis.call('HSET', key, field, tat, 'e', tat)
          redis.call('PEXPIRE', key, math.max(1, ceil(tat - now)))
        else
          redis.call('HSET', key, field, tat)
        end
      end
      return out
    end
    -- Taken back: the windows before position j, and j itself when HINCRBY answered (out[j];
    -- a bucket's is never taken back, as it is written only once everything has passed).
    local last = j
    at, j = 3, 2
    for g = 1, #KEYS do
      local key = KEYS[g]
      local count = ARGV[at] + 0
      at = at + 1
      for _ = 1, count do
        j = j + 1
        if j > last then break end
        local p = ps[ARGV[at]]
        at = at + 1
        local used = out[j]
        if ps[p] == 'w' and used ~= nil then
          if used == 0 then
            redis.call('HDEL', key, ps[p + 5])
          else
            redis.call('HINCRBY', key, ps[p + 5], '-' .. ps[p + 4])
          end
        end
      end
      if j >= last then break end
    end
    at = 3
    op = 'c'
  end
`;
