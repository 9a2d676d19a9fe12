-- Deterministic generator of Lua values for the YAML round-trip specs:
-- strings, integers, floats, booleans, core.null and nested tables, with the
-- strings that break hand-written or careless YAML writers mixed in.
--
-- It has its own PRNG (a 64-bit LCG, top bits used) so a seed always gives
-- the same values, whatever else touches math.random.
local M = {}

-- Whole strings that a YAML reader may take for something else, or that
-- need quoting or escaping to survive.
M.NASTY = {
   "", " ", "  ", "\t", "\n", "\r", "\r\n", " a", "a ", "\na", "a\n", "a\n\nb",
   "yes", "no", "on", "off", "y", "n", "Y", "N", "YES", "No", "On", "OFF", "oN",
   "true", "false", "True", "FALSE", "tRUE", "null", "Null", "NULL", "nULL", "~",
   "0x1F", "0o17", "017", "1e3", "1E3", "1_000", "0b101", ".5", "+1", "-1", "1.",
   "1.0", "-0", "+.inf", ".inf", "-.inf", ".NaN", ".nan", "nan", "inf", "1:20",
   "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "12:30", "0",
   "00", "-", "--", "---", "...", "- a", "-a", "?", "? a", "?a", ":", ": a", ":a",
   "a:", "a: b", "a:b", "a #b", "a#b", "#a", "'", "''", "\"", "\"\"", "'a'",
   "\"a\"", "\\", "\\n", "*a", "&a", "!a", "!!str", "%a", "@a", "`a", "|", ">",
   "|-", ">+", "[a]", "{a: b}", "[", "]", "{", "}", ",", "a, b", "a,b", "<<",
   "=", "!", "&", "*", "#", "%YAML 1.2", "é", "中文", "😀", "a😀b", "ü: x",
   "\xC2\x85", "a\xC2\x85b", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xEF\xBB\xBF",
   "a\xEF\xBB\xBFb", "\xC2\xA0", "\x7F", "\x01\x02\x1B", "\0", "a\0b",
   "evil.com\"\n  - \"*", "a\tb", "tab\t", "\ttab", "line1\nline2\n",
   "  leading and trailing  ", "C:\\path\\to", "http://example.com/a?b=c#d",
   "*.example.com", "h123.example45.com", "key: value\n- item",
}

-- Fragments glued together into new strings.
local FRAGMENTS = {
   "a", "b", "xyz", " ", "  ", "\t", "\n", "\r", "#", ": ", ":", "-", "- ", "?",
   "'", "\"", "\\", "*", "&", "!", "%", "@", "`", "|", ">", "[", "]", "{", "}",
   ",", "yes", "no", "null", "~", "1", "0x", "1e3", ".", "é", "中", "😀", "\0",
   "\x01", "\x7F", "\xC2\x85", "\xE2\x80\xA8", "\xEF\xBB\xBF", "---", "...",
   "host.example.com", "=", "<<",
}

-- Code points for random unicode strings (every one valid UTF-8).
local CODE_RANGES = {
   { 0x20, 0x7E }, { 0x20, 0x7E }, { 0x20, 0x7E }, { 0x00, 0x1F }, { 0x7F, 0x9F },
   { 0xA0, 0x24F }, { 0x370, 0x3FF }, { 0x4E00, 0x4FFF }, { 0x2000, 0x206F },
   { 0xD7F0, 0xD7FF }, { 0xE000, 0xE0FF }, { 0xFFF0, 0xFFFD }, { 0x1F600, 0x1F64F },
   { 0x10000, 0x10100 }, { 0x10FF00, 0x10FFFF },
}

local Gen = {}
Gen.__index = Gen

function M.new(seed, core)
   return setmetatable({ state = seed, core = core }, Gen)
end

-- A uniform integer in [1, n].
function Gen:int(n)
   self.state = self.state * 6364136223846793005 + 1442695040888963407
   return ((self.state >> 17) & 0x7fffffffffff) % n + 1
end

function Gen:pick(list)
   return list[self:int(#list)]
end

function Gen:unicode(len)
   local out = {}
   for i = 1, len do
      local r = self:pick(CODE_RANGES)
      out[i] = utf8.char(r[1] + self:int(r[2] - r[1] + 1) - 1)
   end
   return table.concat(out)
end

function Gen:string()
   local kind = self:int(10)
   if kind <= 3 then
      return self:pick(M.NASTY)
   elseif kind <= 6 then
      local out = {}
      for i = 1, self:int(5) do out[i] = self:pick(FRAGMENTS) end
      return table.concat(out)
   elseif kind <= 8 then
      return self:unicode(self:int(12))
   elseif kind == 9 then
      return self:pick(M.NASTY) .. self:unicode(self:int(3)) .. self:pick(M.NASTY)
   else
      -- long: past libyaml's 128-character simple keys and any line width
      local unit = self:pick(FRAGMENTS)
      return unit:rep(self:int(3000) // #unit + 1) .. self:unicode(5)
   end
end

local SPECIAL_INTEGERS = {
   0, 1, -1, 7, 42, 255, 1000, -1000, 1 << 31, 1 << 53, -(1 << 53) - 1,
   math.maxinteger, math.mininteger, math.maxinteger - 1, math.mininteger + 1,
}

local SPECIAL_FLOATS = {
   0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1 / 3, 1e20, 1e-20, 1e300, 5e-324, 2.0 ^ 53,
   2.0 ^ 63, -2.0 ^ 63, 123456789.125, 1.7976931348623157e308, math.huge,
   -math.huge, 100.0, 1e15, 1e16, 1e17, 3.0,
}

function Gen:number()
   local kind = self:int(6)
   if kind == 1 then
      return self:pick(SPECIAL_INTEGERS)
   elseif kind == 2 then
      return self:int(2000000) - 1000000
   elseif kind == 3 then
      return (self:int(0x7fffffff) << 32) ~ self:int(0x7fffffff)
   elseif kind == 4 then
      return self:pick(SPECIAL_FLOATS)
   elseif kind == 5 then
      return (self:int(2000001) - 1000001) / self:int(1000) * 10.0 ^ (self:int(41) - 21)
   else
      return (self:int(200001) - 100001) + 0.0       -- integral floats
   end
end

function Gen:scalar()
   local kind = self:int(10)
   if kind <= 5 then return self:string()
   elseif kind <= 8 then return self:number()
   elseif kind == 9 then return self:int(2) == 1
   else return self.core.null end
end

function Gen:value(depth)
   depth = depth or 0
   local kind = self:int(10)
   if depth >= 4 or kind <= 6 then
      return self:scalar()
   elseif kind <= 8 then
      local seq = setmetatable({}, self.core.array_mt)
      for i = 1, self:int(6) - 1 do seq[i] = self:value(depth + 1) end
      return seq
   else
      local map = {}
      for _ = 1, self:int(6) - 1 do map[self:string()] = self:value(depth + 1) end
      return map
   end
end

-- Deep equality as the round trip promises it: same types (integer vs
-- float included), NaN equal to NaN, sequences carry core.array_mt and
-- mappings do not.  Returns true, or false and the path where they differ.
function M.same(core, a, b, path)
   path = path or "value"
   if type(a) ~= type(b) then
      return false, path .. ": " .. type(a) .. " vs " .. type(b)
   end
   if type(a) == "number" then
      if math.type(a) ~= math.type(b) then
         return false, path .. ": " .. math.type(a) .. " vs " .. math.type(b)
      end
      if a ~= a and b ~= b then return true end
      if a ~= b or (a == 0 and 1 / a ~= 1 / b) then
         return false, path .. (": %.17g vs %.17g"):format(a, b)
      end
      return true
   end
   if type(a) ~= "table" then
      if a ~= b then return false, path .. (": %q vs %q"):format(tostring(a), tostring(b)) end
      return true
   end
   local seq_a = getmetatable(a) == core.array_mt
   local seq_b = getmetatable(b) == core.array_mt
   if seq_a ~= seq_b then
      return false, path .. ": sequence vs mapping"
   end
   for k, v in pairs(a) do
      local ok, where = M.same(core, v, b[k], path .. "[" .. ("%q"):format(k) .. "]")
      if not ok then return false, where end
   end
   for k in pairs(b) do
      if a[k] == nil then return false, path .. ": extra key " .. ("%q"):format(k) end
   end
   return true
end

return M
