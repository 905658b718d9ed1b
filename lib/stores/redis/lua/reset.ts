/** Lua, op `x`: each counter forgets its current window or bucket; idempotency marks stay. */
export const RESET = `
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
`;
