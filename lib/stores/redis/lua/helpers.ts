/** Lua, for refund, charge and reset: reading a spec. */
export const HELPERS = `
local function specOf(text)
  local kind, a, b, cost = string.match(text, '^(%a)([^:]+):([^:]+):(.+)$')
  a = a + 0
  local spec = { kind, a, b + 0, cost + 0, kind ~= 'b' and now - fmod(now, a) }
  specs[text] = spec
  return spec
end
`;
