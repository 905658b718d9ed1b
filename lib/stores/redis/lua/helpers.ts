import { parseSpec } from './preamble.js';

/** Lua, for refund, charge and reset: reading a spec (consume and peek parse theirs inline). */
export const HELPERS = `
local function specOf(text)
  local c
  ${parseSpec('text', 'c')}
  return c
end
`;
