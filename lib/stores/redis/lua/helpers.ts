import { countField, parseSpec } from './preamble.js';

/** Lua, for refund, charge and reset: reading a spec (consume and peek parse theirs inline). */
export const HELPERS = `
-- A window's count field, n<s>@<start>.
local function countOf(s, at)
  return ${countField('s', 'at')}
end

local function specOf(text)
  local c
  ${parseSpec('text', 'c')}
  return c
end
`;
