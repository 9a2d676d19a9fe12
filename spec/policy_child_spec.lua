-- The way back from a policy's process: what policy_child.lua writes, read
-- by the core's YAML decoder, is the same data (exact integers and floats,
-- lists and mappings, empty lists, null, any UTF-8, long keys), and what
-- cannot cross is refused with its path.
local core = require "bottle.core"
local child = require "bottle.policy_child"

local function list(t) return setmetatable(t, child.ARRAY_MT) end

-- child values → what the launcher should get back
local function expected(v)
   if v == child.NULL then return core.null end
   if type(v) ~= "table" then return v end
   local out = {}
   for k, x in pairs(v) do out[k] = expected(x) end
   if getmetatable(v) == child.ARRAY_MT or (next(v) ~= nil and #v > 0) then setmetatable(out, core.array_mt) end
   return out
end

local function same(a, b)
   if type(a) ~= type(b) then return false end
   if type(a) == "number" then
      return math.type(a) == math.type(b) and (a == b or (a ~= a and b ~= b))
   end
   if type(a) ~= "table" then return a == b end
   if (getmetatable(a) == core.array_mt) ~= (getmetatable(b) == core.array_mt) then return false end
   for k, x in pairs(a) do if not same(x, b[k]) then return false end end
   for k in pairs(b) do if a[k] == nil then return false end end
   return true
end

local function roundtrip(v)
   local text = assert(child.encode(v))
   assert.is_nil(text:find("[^\32-\126]"), "ASCII only")
   return assert(core.yaml_decode(text))
end

describe("policy_child.encode", function()
   it("carries every kind of value exactly", function()
      local v = {
         int = math.maxinteger, neg = math.mininteger, zero = 0, float = 0.1 + 0.2, whole = 4.0,
         big = 2 ^ 70, tiny = 5e-324, inf = math.huge, ninf = -math.huge, yes = true, no = false,
         null = child.NULL, empty = list {}, map = {}, nested = { list { 1, list { "a" } } },
         text = "é ✓ 😀 \"quoted\" back\\slash \n\t\0 \127 \194\133 \226\128\168",
         [("k"):rep(3000)] = "long key",
      }
      local got = roundtrip(v)
      assert.is_true(same(expected(v), got))
      assert.is_true(got.nan == nil)
      local n = roundtrip({ nan = 0 / 0 }).nan
      assert.is_true(n ~= n)
   end)

   it("round-trips random data", function()
      math.randomseed(7)
      local strings = { "", "a", "é", "\0", "\n", "\u{9b}", "x: y", "- z", "#c", "'q'", "[", "{}", "null", "1e3" }
      local function gen(depth)
         local r = math.random(depth > 3 and 6 or 9)
         if r == 1 then return math.random(-1000, 1000) end
         if r == 2 then return math.random() * 10 ^ math.random(-20, 20) end
         if r == 3 then return strings[math.random(#strings)] .. strings[math.random(#strings)] end
         if r == 4 then return math.random(2) == 1 end
         if r == 5 then return child.NULL end
         if r == 6 then return math.random(1 << 62) end
         if r == 7 then
            local t = list {}
            for i = 1, math.random(0, 4) do t[i] = gen(depth + 1) end
            return t
         end
         local t = {}
         for _ = 1, math.random(0, 4) do t[strings[math.random(#strings)] .. math.random(9)] = gen(depth + 1) end
         return t
      end
      for _ = 1, 500 do
         local v = { gen(0) }
         assert.is_true(same(expected(v), roundtrip(v)))
      end
   end)

   it("refuses what cannot cross, with its path", function()
      local cyc = {}
      cyc.self = cyc
      for _, case in ipairs {
         { { f = print }, "value.f: a function is not data" },
         { { s = "\255" }, "value.s: a string that is not valid UTF-8" },
         { { [true] = 1 }, "value: a boolean key (keys are names or list positions)" },
         { { 1, nil, 3 }, "value: a list with holes (positions must be 1 to 2)" },
         { { 1, x = 2 }, "value: a table with both names and list positions as keys" },
         { cyc, "value.self: a table that contains itself" },
      } do
         assert.same({ nil, case[2] }, { child.encode(case[1]) })
      end
   end)
end)
