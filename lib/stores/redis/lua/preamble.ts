import { EPSILON_MS } from '../../counter-state.js';

/**
 * How long a window key outlives its window. The script alone decides which window a key
 * counts for, so this only covers a promoted replica whose clock runs a little behind: it
 * still finds the count instead of an expired key and a fresh window.
 */
export const WINDOW_MARGIN_MS = 1_000;

/**
 * Lua, every op: the operation, locals for globals, the constants, and the clock (the client's
 * or Redis `TIME`).
 */
export const PREAMBLE = `
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
`;
