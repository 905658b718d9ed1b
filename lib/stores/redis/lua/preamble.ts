import { EPSILON_MS } from '../../counter-state.js';

/**
 * How long a window outlives its end in Redis. The script alone decides which window a count
 * belongs to, so this only covers a promoted replica whose clock runs a little behind: it
 * still finds the count instead of an expired key and a fresh window.
 */
export const WINDOW_MARGIN_MS = 1_000;

/**
 * Lua, every op: the operation, locals for globals, the constants, and the clock (the client's
 * in ARGV[2], or Redis `TIME` when that is empty).
 */
export const PREAMBLE = `
local op = ARGV[1]
-- Locals: a global is a table lookup each time it is read.
local KEYS, ARGV, tonumber = KEYS, ARGV, tonumber
local MARGIN = ${WINDOW_MARGIN_MS}
local EPSILON = ${EPSILON_MS}

local now = ARGV[2]
if now == '' then
  local t = redis.call('TIME')
  local us = t[2] + 0
  now = t[1] * 1000 + (us - us % 1000) / 1000
else
  now = now + 0
end
`;

/**
 * Lua, inlined where a counter starts a new window: drops the idempotency marks of its ended
 * window (fields `i<suffix>:<key>`, flagged by `m<suffix>`), which must not carry over. A hash
 * holds several counters, so the marks go one by one; it happens once per window at most, and
 * only for counters that were ever charged with a key.
 */
export function sweepMarks(key: string, suffix: string): string {
  return `
        if redis.call('HGET', ${key}, 'm' .. ${suffix}) then
          local drop, prefix = { 'm' .. ${suffix} }, 'i' .. ${suffix} .. ':'
          for _, name in ipairs(redis.call('HKEYS', ${key})) do
            if string.sub(name, 1, #prefix) == prefix then drop[#drop + 1] = name end
          end
          redis.call('HDEL', ${key}, unpack(drop))
        end`;
}

/**
 * Lua, inlined: the name of a window's count field, `n<suffix>@<start>`, for the start in `at`.
 * Whole starts as %d text (ms since epoch); any other in full.
 */
export function countField(suffix: string, at: string): string {
  return `'n' .. ${suffix} .. '@' .. (${at} % 1 == 0 and string.format('%d', ${at}) or string.format('%.17g', ${at}))`;
}

/**
 * The Lua pattern of a counter's spec, `<kind><a>:<b>:<cost><suffix>` (written by batch.ts):
 * captures kind, a, b, the cost's text and the suffix (empty, or starting with `:` or `/`).
 */
export const SPEC_PATTERN = `'^(%a)([^:]+):([^:]+):([^:/]+)(.*)$'`;

/**
 * Lua, inlined: parses the spec `<kind><a>:<b>:<cost><suffix>` in `text` into the table `into`
 * (kind, a, b, cost, the current window's start, the cost's text, the suffix, the field names
 * w<s>, n<s> and t<s>, and the current window's count field n<s>@<start>), and keeps it in
 * `specs` for the rest of the call.
 */
export function parseSpec(text: string, into: string): string {
  return `
      local kind, a, b, cost, s = string.match(${text}, ${SPEC_PATTERN})
      a = a + 0
      local start = kind ~= 'b' and now - now % a
      ${into} = { kind, a, b + 0, cost + 0, start, cost, s, 'w' .. s, 'n' .. s, 't' .. s,
        start and ${countField('s', 'start')} }
      specs[${text}] = ${into}`;
}
