import { parseSpec } from './preamble.js';

/** Lua, for refund, charge and reset: reading a spec (consume and peek parse theirs inline). */
export const HELPERS = `
-- A window's count field, n<s>@<start>: see countField in single-window.ts.
local function countOf(s, at)
  return 'n' .. s .. '@' .. (at % 1 == 0 and string.format('%d', at) or string.format('%.17g', at))
end

local function specOf(text)
  local c
  ${parseSpec('text', 'c')}
  return c
end
`;
