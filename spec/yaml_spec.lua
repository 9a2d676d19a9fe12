-- bottle.core's YAML: core.yaml_decode, core.yaml_encode, core.null,
-- core.array_mt (csrc/yaml_*.c, on libyaml).  Everything here runs the real
-- core; the independent check runs the real python3-yaml.
local core = require "bottle.core"
local cjson = require "cjson"
local gen = dofile("spec/helpers/yaml_gen.lua")

local null, array_mt = core.null, core.array_mt

local function seq(t)
   return setmetatable(t, array_mt)
end

-- assert.same does not see integer vs float, NaN or core.array_mt.
local function assert_same(want, got)
   local ok, where = gen.same(core, want, got)
   assert(ok, where)
end

local function decode_ok(text, opts)
   local v, err, code = core.yaml_decode(text, opts)
   assert(v ~= nil, tostring(err) .. " " .. tostring(code))
   return v, err
end

local function encode_ok(v, opts)
   local text, err, code = core.yaml_encode(v, opts)
   assert(text, tostring(err) .. " " .. tostring(code))
   return text
end

-- Runs python3-yaml (a YAML 1.1 reader: it takes yes/on/y-like words,
-- 1_000, 0b101, 1:20 and dates for non-strings, so it is a strict check of
-- the quoting) over `text` and returns its reading in a typed JSON form, so
-- that an integer, a float and a string stay told apart:
-- {"int": "12"}, {"float": "1.5"}, {"seq": [...]}, {"map": [[k, v], ...]}.
local PY_TYPED = [[
import json, sys, yaml
def t(v):
    if v is None or isinstance(v, bool): return v
    if isinstance(v, int): return {"int": str(v)}
    if isinstance(v, float): return {"float": repr(v)}
    if isinstance(v, str): return v
    if isinstance(v, list): return {"seq": [t(x) for x in v]}
    if isinstance(v, dict): return {"map": [[t(k), t(x)] for k, x in v.items()]}
    return {"other": repr(v)}
with open(sys.argv[1], encoding="utf-8") as f:
    data = yaml.safe_load(f)
sys.stdout.buffer.write(json.dumps(t(data), ensure_ascii=False).encode("utf-8"))
]]

local function python_read(text)
   local yaml_path, script_path = os.tmpname(), os.tmpname()
   local f = assert(io.open(yaml_path, "wb"))
   f:write(text)
   f:close()
   f = assert(io.open(script_path, "wb"))
   f:write(PY_TYPED)
   f:close()
   local p = assert(io.popen("python3 " .. script_path .. " " .. yaml_path .. " 2>&1"))
   local out = p:read("a")
   local ok = p:close()
   os.remove(yaml_path)
   os.remove(script_path)
   assert(ok, "python3-yaml failed: " .. out)
   return cjson.decode(out)
end

-- Does python's typed reading `p` stand for the Lua value `x`?
local function python_agrees(p, x, path)
   path = path or "value"
   local function fail(what) return false, path .. ": " .. what end
   if x == null then
      return p == cjson.null or fail("python read " .. tostring(p) .. " for null")
   elseif type(x) == "boolean" or type(x) == "string" then
      return p == x or fail(("python read %q for %q"):format(tostring(p), tostring(x)))
   elseif math.type(x) == "integer" then
      return (type(p) == "table" and p.int == ("%d"):format(x))
         or fail("python read " .. cjson.encode(p) .. " for integer " .. x)
   elseif math.type(x) == "float" then
      if type(p) ~= "table" or type(p.float) ~= "string" then
         return fail("python read " .. cjson.encode(p) .. " for a float")
      end
      local y = ({ inf = math.huge, ["-inf"] = -math.huge, nan = 0 / 0 })[p.float]
         or tonumber(p.float)
      local same = (x ~= x and y ~= y) or (x == y and (x ~= 0 or 1 / x == 1 / y))
      return same or fail(("python read %s for %.17g"):format(p.float, x))
   elseif getmetatable(x) == array_mt then
      if type(p) ~= "table" or not p.seq then return fail("python did not read a sequence") end
      if #p.seq ~= #x then return fail("length " .. #p.seq .. " vs " .. #x) end
      for i = 1, #x do
         local ok, where = python_agrees(p.seq[i], x[i], path .. "[" .. i .. "]")
         if not ok then return false, where end
      end
      return true
   else
      if type(p) ~= "table" or not p.map then return fail("python did not read a mapping") end
      local n = 0
      for _ in pairs(x) do n = n + 1 end
      if #p.map ~= n then return fail("size " .. #p.map .. " vs " .. n) end
      for _, pair in ipairs(p.map) do
         if type(pair[1]) ~= "string" then
            return fail("python read a non-string key " .. cjson.encode(pair[1]))
         end
         if x[pair[1]] == nil then return fail(("python read key %q"):format(pair[1])) end
         local ok, where = python_agrees(pair[2], x[pair[1]], path .. ("[%q]"):format(pair[1]))
         if not ok then return false, where end
      end
      return true
   end
end

describe("core.null and core.array_mt #core", function()
   it("null is a light userdata, the same value as cjson.null", function()
      assert.equal("userdata", type(null))
      assert.equal(cjson.null, null)
   end)

   it("array_mt is one table, the one decoded sequences carry", function()
      assert.is_table(array_mt)
      assert.equal(array_mt, core.array_mt)
      assert.equal(array_mt, getmetatable(decode_ok("[1]")))
      assert.equal(array_mt, getmetatable(decode_ok("a: []").a))
      assert.is_nil(getmetatable(decode_ok("{}")))
   end)
end)

describe("core.yaml_decode scalars #core", function()
   -- plain scalar -> value, as YAML 1.2's core schema resolves it
   local cases = {
      { "~", null }, { "null", null }, { "Null", null }, { "NULL", null }, { "", null },
      { "true", true }, { "True", true }, { "TRUE", true },
      { "false", false }, { "False", false }, { "FALSE", false },
      { "0", 0 }, { "12", 12 }, { "-12", -12 }, { "+12", 12 }, { "007", 7 },
      { "0x1F", 31 }, { "0xff", 255 }, { "0o17", 15 }, { "-0", 0 },
      { "9223372036854775807", math.maxinteger },
      { "-9223372036854775808", math.mininteger },
      { "0x7FFFFFFFFFFFFFFF", math.maxinteger },
      -- integers past 64 bits become floats
      { "9223372036854775808", 9223372036854775808.0 },
      { "99999999999999999999", 1e20 },
      { "0xFFFFFFFFFFFFFFFF", 18446744073709551615.0 },
      { "1.5", 1.5 }, { "-1.5", -1.5 }, { "1.", 1.0 }, { ".5", 0.5 }, { "+.5", 0.5 },
      { "1e3", 1000.0 }, { "1E-3", 0.001 }, { "1.5e+2", 150.0 }, { "-0.0", -0.0 },
      { ".inf", math.huge }, { ".Inf", math.huge }, { "+.INF", math.huge },
      { "-.inf", -math.huge }, { ".nan", 0 / 0 }, { ".NaN", 0 / 0 }, { ".NAN", 0 / 0 },
      -- strings in the 1.2 core schema, whatever YAML 1.1 made of them
      { "yes", "yes" }, { "no", "no" }, { "on", "on" }, { "off", "off" },
      { "y", "y" }, { "n", "n" }, { "Yes", "Yes" }, { "nULL", "nULL" }, { "tRUE", "tRUE" },
      { "1_000", "1_000" }, { "0b101", "0b101" }, { "1:20", "1:20" }, { "0X1F", "0X1F" },
      { "-0x1F", "-0x1F" }, { "0x", "0x" }, { "0o8", "0o8" }, { "1e", "1e" },
      { ".e5", ".e5" }, { ".", "." }, { "+", "+" }, { "inf", "inf" }, { "nan", "nan" },
      { "NaN", "NaN" }, { ".Nan", ".Nan" }, { ".iNF", ".iNF" }, { "2001-12-14", "2001-12-14" }, { "<<", "<<" }, { "=", "=" },
      { "é", "é" }, { "a b", "a b" }, { "h123.example45.com", "h123.example45.com" },
   }
   for _, case in ipairs(cases) do
      it(("reads plain %q"):format(case[1]), function()
         assert_same(seq { case[2] }, decode_ok("- " .. case[1] .. "\n"))
      end)
   end

   it("reads an empty value as null", function()
      assert_same({ a = null, b = 1 }, decode_ok("a:\nb: 1\n"))
   end)

   it("reads every quoted scalar as a string", function()
      assert_same(seq { "1", "true", "null", "", "~", ".inf", "0x1F", "a\nb", "\0" },
                  decode_ok([=[["1", 'true', "null", '', "~", '.inf', "0x1F", "a\nb", "\0"]]=]))
   end)

   it("reads block scalars as strings", function()
      assert_same({ a = "1\n2\n", b = "x y" }, decode_ok("a: |\n  1\n  2\nb: >-\n  x\n  y\n"))
   end)

   it("honours !!str, !!int, !!float, !!bool, !!null, !!seq, !!map", function()
      assert_same({ s = "123", i = 42, h = 31, f = 1.0, g = 2.5, b = true, z = null,
                    q = seq { 1 }, m = { x = "y" } },
                  decode_ok("s: !!str 123\ni: !!int '42'\nh: !!int 0x1F\nf: !!float 1\n" ..
                            "g: !!float '2.5'\nb: !!bool True\nz: !!null ''\n" ..
                            "q: !!seq [1]\nm: !!map {x: y}\n"))
      assert_same({ a = "1" }, decode_ok("a: !<tag:yaml.org,2002:str> 1"))
   end)

   it("reads the root scalar of a document", function()
      assert.equal("x", decode_ok("--- x\n"))
      assert.equal(5, decode_ok("5"))
   end)

   it("reads an empty stream, or comments only, as null", function()
      assert.equal(null, decode_ok(""))
      assert.equal(null, decode_ok("# nothing\n\n"))
      assert.equal(null, decode_ok("---\n"))
   end)

   it("accepts anchors that no alias uses", function()
      assert_same({ a = seq { 1 } }, decode_ok("a: &x [1]\n"))
   end)

   it("reads a document ended by ...", function()
      assert_same({ a = 1 }, decode_ok("a: 1\n...\n"))
   end)
end)

describe("core.yaml_decode refusals #core", function()
   -- text -> exact message (with NAME:LINE:COL of the offending node), code
   local cases = {
      { "a: 1\n---\nb: 2\n", "f.yaml:2:1: a second document: only one is allowed here",
        "yaml_multiple_documents" },
      { "a: 1\n...\n--- b\n", "f.yaml:3:1: a second document: only one is allowed here",
        "yaml_multiple_documents" },
      { "a: 1\n...\nb: 2\n", "f.yaml:3:1: did not find expected <document start>",
        "yaml_syntax" },
      { "a: &x 1\nb: *x\n",
        "f.yaml:2:4: alias *x: aliases are not supported here (write the value out in full)",
        "yaml_alias" },
      { "a: 1\nb: 2\na: 3\n", 'f.yaml:3:1: duplicate key "a"', "yaml_duplicate_key" },
      { "top:\n  x: 1\n  y: 2\n  x: 3\n", 'f.yaml:4:3: duplicate key "x"', "yaml_duplicate_key" },
      { "{a: 1, a: 2}", 'f.yaml:1:8: duplicate key "a"', "yaml_duplicate_key" },
      { "1: a\n", "f.yaml:1:1: a mapping key must be a string, not an integer (quote it)",
        "yaml_key_type" },
      { "a: 1\n1.5: b\n", "f.yaml:2:1: a mapping key must be a string, not a float (quote it)",
        "yaml_key_type" },
      { "x:\n  true: 1\n", "f.yaml:2:3: a mapping key must be a string, not a boolean (quote it)",
        "yaml_key_type" },
      { "~: a\n", "f.yaml:1:1: a mapping key must be a string, not null (quote it)",
        "yaml_key_type" },
      { "? [a]\n: 1\n", "f.yaml:1:3: a mapping key must be a string, not a sequence",
        "yaml_key_type" },
      { "{{a: 1}: 2}", "f.yaml:1:2: a mapping key must be a string, not a mapping",
        "yaml_key_type" },
      { "a: !foo x\n", "f.yaml:1:4: unsupported tag !foo on a scalar", "yaml_tag" },
      { "a: !!binary aGk=\n", "f.yaml:1:4: unsupported tag !!binary on a scalar", "yaml_tag" },
      { "a: !!set {x: ~}\n", "f.yaml:1:4: unsupported tag !!set on a mapping", "yaml_tag" },
      { "a: !!map [1]\n", "f.yaml:1:4: unsupported tag !!map on a sequence", "yaml_tag" },
      { "a: !!int 1.5\n", "f.yaml:1:4: the value is not an !!int", "yaml_tag" },
      { "a: !!bool yes\n", "f.yaml:1:4: the value is not a !!bool", "yaml_tag" },
      { "a: !!float x\n", "f.yaml:1:4: the value is not a !!float", "yaml_tag" },
      { "a: !!null 0\n", "f.yaml:1:4: the value is not a !!null", "yaml_tag" },
      { "a: b: c\n", "f.yaml:1:5: mapping values are not allowed in this context", "yaml_syntax" },
      { "a: [1, 2\n", "f.yaml:2:1: did not find expected ',' or ']'", "yaml_syntax" },
      { "a: 'x\n", "f.yaml:2:1: found unexpected end of stream", "yaml_syntax" },
      { "a:\n\tb: 1\n", "f.yaml:2:1: found character that cannot start any token", "yaml_syntax" },
      { "a: \xff\n", "f.yaml:1:4: invalid leading UTF-8 octet", "yaml_syntax" },
      { "a: b\x01c\n", "f.yaml:1:5: control characters are not allowed", "yaml_syntax" },
      { "é: \"\\uD800\"\n", "f.yaml:1:7: found invalid Unicode character escape code", "yaml_syntax" },
   }
   for _, case in ipairs(cases) do
      it(("refuses %q with %s"):format(case[1], case[3]), function()
         local v, msg, code = core.yaml_decode(case[1], { name = "f.yaml" })
         assert.is_nil(v)
         assert.equal(case[3], code)
         assert.equal(case[2], msg:sub(1, #case[2]))
      end)
   end

   it("names <string> when no name is given", function()
      local _, msg = core.yaml_decode("a: 1\na: 2\n")
      assert.equal('<string>:2:1: duplicate key "a"', msg)
   end)

   it("says where a duplicate key first was, when positions are asked for", function()
      local _, msg = core.yaml_decode("a: 1\nb: 2\na: 3\n", { name = "m.yaml", positions = true })
      assert.equal('m.yaml:3:1: duplicate key "a" (first at 1:1)', msg)
   end)

   it("accepts 256 levels of nesting and refuses 257 at the 257th", function()
      assert.is_table(decode_ok(("["):rep(256) .. ("]"):rep(256)))
      local v, msg, code = core.yaml_decode(("["):rep(257) .. ("]"):rep(257))
      assert.is_nil(v)
      assert.equal("yaml_depth", code)
      assert.equal("<string>:1:257: nested deeper than 256 levels", msg)
      v, msg, code = core.yaml_decode(("- "):rep(300) .. "x\n")
      assert.is_nil(v)
      assert.equal("yaml_depth", code)
      assert.equal("<string>:1:513: nested deeper than 256 levels", msg)
   end)

   it("refuses very deep nesting quickly, without running out of stack", function()
      local t0 = os.clock()
      local v, _, code = core.yaml_decode(("["):rep(1000000))
      assert.is_nil(v)
      assert.equal("yaml_depth", code)
      assert.is_true(os.clock() - t0 < 1)
   end)

   it("refuses a billion-laughs YAML bomb at its first alias, at once", function()
      local lines = { 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]' }
      local names = { "a", "b", "c", "d", "e", "f", "g", "h", "i" }
      for i = 2, #names do
         local prev = "*" .. names[i - 1]
         lines[i] = ("%s: &%s [%s]"):format(names[i], names[i],
                                            table.concat({ prev, prev, prev, prev, prev,
                                                           prev, prev, prev, prev }, ","))
      end
      local t0 = os.clock()
      local v, msg, code = core.yaml_decode(table.concat(lines, "\n"))
      assert.is_nil(v)
      assert.equal("yaml_alias", code)
      assert.equal("<string>:2:8: alias *a", msg:sub(1, 22))
      assert.is_true(os.clock() - t0 < 0.1)
   end)

   it("raises on misuse", function()
      assert.has_error(function() core.yaml_decode() end)
      assert.has_error(function() core.yaml_decode({}) end)
      assert.has_error(function() core.yaml_decode("a", "opts") end)
      assert.has_error(function() core.yaml_decode("a", { name = 5 }) end)
   end)
end)

describe("core.yaml_decode positions #core", function()
   local text = table.concat({
      "version: 1",              -- 1
      "api_allowlist:",          -- 2
      "  - a.example.com",       -- 3
      "  - \"b.example.com\"",   -- 4
      "egress:",                 -- 5
      "  dlp_action: warn",      -- 6
      "  nested: {x: [10, 20]}", -- 7
      "list:",                   -- 8
      "- k: v",                  -- 9
      "  j: w",                  -- 10
      "",
   }, "\n")

   it("returns positions only when asked", function()
      local v, extra = core.yaml_decode(text)
      assert.is_table(v)
      assert.is_nil(extra)
   end)

   it("gives every mapping's keys and every sequence's items a 1-based line and column", function()
      local v, pos = decode_ok(text, { positions = true })
      local root = pos[v]
      assert.same({ line = 1, col = 1 }, { line = root.line, col = root.col })
      assert.same({ line = 1, col = 1 }, root.at.version)
      assert.same({ line = 2, col = 1 }, root.at.api_allowlist)
      assert.same({ line = 5, col = 1 }, root.at.egress)
      assert.same({ line = 8, col = 1 }, root.at.list)

      local allow = pos[v.api_allowlist]
      assert.same({ 3, 3 }, { allow.line, allow.col })
      assert.same({ line = 3, col = 5 }, allow.at[1])
      assert.same({ line = 4, col = 5 }, allow.at[2])

      local egress = pos[v.egress]
      assert.same({ 6, 3 }, { egress.line, egress.col })
      assert.same({ line = 6, col = 3 }, egress.at.dlp_action)
      assert.same({ line = 7, col = 3 }, egress.at.nested)

      local nested = pos[v.egress.nested]
      assert.same({ 7, 11 }, { nested.line, nested.col })
      assert.same({ line = 7, col = 12 }, nested.at.x)
      local x = pos[v.egress.nested.x]
      assert.same({ 7, 15 }, { x.line, x.col })
      assert.same({ line = 7, col = 16 }, x.at[1])
      assert.same({ line = 7, col = 20 }, x.at[2])

      local list = pos[v.list]
      assert.same({ line = 9, col = 3 }, list.at[1])
      local item = pos[v.list[1]]
      assert.same({ line = 9, col = 3 }, item.at.k)
      assert.same({ line = 10, col = 3 }, item.at.j)
   end)

   it("has one entry per decoded table and nothing else", function()
      local v, pos = decode_ok(text, { positions = true })
      local n = 0
      for t, entry in pairs(pos) do
         n = n + 1
         assert.is_table(t)
         assert.is_number(entry.line)
         assert.is_table(entry.at)
      end
      assert.equal(7, n)
      assert.is_table(pos[v.list[1]])
   end)

   it("counts columns in characters, not bytes", function()
      local v, pos = decode_ok("é: {ü: 1, ö: 2}\n", { positions = true })
      assert.same({ line = 1, col = 5 }, pos[v["é"]].at["ü"])
      assert.same({ line = 1, col = 11 }, pos[v["é"]].at["ö"])
   end)
end)

describe("core.yaml_encode #core", function()
   it("writes block style, sorted keys, and opts.key_order first at the top level", function()
      local cfg = {
         version = 1, mode = "strict", enforce = true,
         api_allowlist = seq { "a.example.com", "b.example.com" },
         forward_proxy = { enabled = true, max_tunnel_seconds = 3600 },
         dlp = { scan_env = true, include_defaults = true },
      }
      assert.equal(table.concat({
         "version: 1",
         "mode: strict",
         "enforce: true",
         "api_allowlist:",
         "- a.example.com",
         "- b.example.com",
         "dlp:",
         "  include_defaults: true",
         "  scan_env: true",
         "forward_proxy:",
         "  enabled: true",
         "  max_tunnel_seconds: 3600",
         "",
      }, "\n"), encode_ok(cfg, { key_order = { "version", "mode", "enforce", "absent",
                                              "api_allowlist", "mode" } }))
   end)

   it("sorts keys bytewise everywhere when no order is given", function()
      assert.equal("A: 1\nB:\n  a: 1\n  b: 2\na: 3\nb: 4\n",
                   encode_ok({ b = 4, a = 3, B = { b = 2, a = 1 }, A = 1 }))
   end)

   it("writes integers as integers and floats so that they read back as floats", function()
      local text = encode_ok({ i = 3, f = 3.0, z = -0.0, big = 1e20, tiny = 5e-324,
                               third = 1 / 3, inf = math.huge, ninf = -math.huge, nan = 0 / 0,
                               min = math.mininteger })
      assert.equal(table.concat({
         "big: 1.0e+20", "f: 3.0", "i: 3", "inf: .inf", "min: -9223372036854775808",
         "nan: .nan", "ninf: -.inf", "third: 0.3333333333333333", "tiny: 4.94065645841247e-324",
         "z: -0.0", "" }, "\n"), text)
   end)

   it("writes booleans, core.null and nil as true, false, null", function()
      assert.equal("a: true\nb: false\nc: null\n", encode_ok({ a = true, b = false, c = null }))
      assert.same(null, decode_ok(encode_ok(nil)))
   end)

   it("writes empty tables: [] when marked with array_mt, {} otherwise", function()
      assert.equal("a: []\nb: {}\n", encode_ok({ a = seq {}, b = {} }))
   end)

   it("writes an unmarked table with keys 1..n as a sequence", function()
      assert.equal("- x\n- 2\n", encode_ok({ "x", 2 }))
   end)

   it("writes unicode as it is, and escapes what is not printable", function()
      assert.equal('a: é 中文\nb: "\\x01"\nc: "\\U0001F600"\nd: "\\N"\n',
                   encode_ok({ a = "é 中文", b = "\1", c = "😀", d = "\xC2\x85" }))
   end)

   it("never folds long lines", function()
      local long = ("word "):rep(400) .. "end"
      local text = encode_ok({ a = long })
      assert.equal("a: " .. long .. "\n", text)
   end)

   -- every one of these, written plain, some YAML reader takes for a
   -- non-string (or a different string): they must come out double-quoted
   local must_quote = {
      "", "yes", "no", "on", "off", "y", "n", "Y", "N", "YES", "No", "ON", "Off",
      "true", "False", "TRUE", "tRuE", "null", "Null", "NULL", "nUlL", "~", "<<", "=",
      "0", "12", "-12", "+12", "0x1F", "0o17", "017", "1_000", "0b101", "1e3", "1.",
      ".5", "-.5", "+.5", "1.5", ".inf", "-.inf", "+.inf", ".nan", ".NaN", "1:20",
      "-1:20", "2001-12-14", "2001-12-14 21:59:43.10 -5", "a\nb", "tab\there", "\r",
      "nel\xC2\x85", "ls\xE2\x80\xA8", "\0",
   }
   for _, s in ipairs(must_quote) do
      it(("double-quotes %q"):format(s), function()
         local text = encode_ok({ k = s })
         assert.equal('k: "', text:sub(1, 4))
         assert.equal(s, decode_ok(text).k)
      end)
   end

   it("leaves libyaml to quote indicators, ': ', ' #' and edge spaces", function()
      for _, s in ipairs({ "*a", "&a", "!a", "%a", "@a", "`a", "- a", "? a", ": a",
                           "a: b", "a #b", "#a", "'a'", '"a"', " a", "a ", "[a]", "{a}",
                           "|", ">", "---", "a:" }) do
         local text = encode_ok({ k = s })
         assert.is_truthy(text:match("^k: ['\"]"), s .. " came out as " .. text)
         assert.equal(s, decode_ok(text).k)
      end
   end)

   it("keeps plain strings plain", function()
      assert.equal("- a.example.com\n- '*.example.com'\n- hello world\n- a:b\n- yes2\n",
                   encode_ok(seq { "a.example.com", "*.example.com", "hello world", "a:b", "yes2" }))
   end)

   -- value -> message, code
   local refusals = {
      { { a = print }, "a: a function cannot be written", "yaml_encode_type" },
      { { a = seq { 1, { b = coroutine.create(print) } } },
        "a[2].b: a thread cannot be written", "yaml_encode_type" },
      { { a = io.stdout }, "a: a userdata cannot be written", "yaml_encode_type" },
      { { [true] = 1 }, "value: a table with a boolean key cannot be written (keys must be strings)",
        "yaml_encode_type" },
      { { x = { [1.5] = 1 } }, "x: a table with a float key cannot be written (keys must be strings)",
        "yaml_encode_type" },
      { { x = { 1, 2, a = 3 } },
        "x: a table with both integer and string keys cannot be written", "yaml_encode_table" },
      { { ["a b"] = { [1] = 1, [3] = 3 } },
        '["a b"]: a table with integer keys other than 1..n (a sparse array) cannot be written',
        "yaml_encode_table" },
      { { [0] = "x" }, "value: a table with integer keys other than 1..n", "yaml_encode_table" },
      { setmetatable({ 1, 2, a = 1 }, array_mt),
        "value: a table marked as a sequence (core.array_mt) must have exactly the keys 1..n",
        "yaml_encode_table" },
      { setmetatable({ [1] = 1, [3] = 3, [4] = 4 }, array_mt),
        "value: a table marked as a sequence", "yaml_encode_table" },
      { { a = "\xff" }, "a: a string that is not valid UTF-8 cannot be written", "yaml_encode_utf8" },
      { { ["\xc0\x80"] = 1 }, ": a string that is not valid UTF-8", "yaml_encode_utf8" },
      { { a = "\xed\xa0\x80" }, "a: a string that is not valid UTF-8", "yaml_encode_utf8" },
   }
   for i, case in ipairs(refusals) do
      it("refuses case " .. i .. " with " .. case[3], function()
         local text, msg, code = core.yaml_encode(case[1])
         assert.is_nil(text)
         assert.equal(case[3], code)
         assert.is_truthy(msg:find(case[2], 1, true), msg)
      end)
   end

   it("refuses cycles", function()
      local t = { a = { b = {} } }
      t.a.b.c = t
      local text, msg, code = core.yaml_encode(t)
      assert.is_nil(text)
      assert.equal("yaml_encode_cycle", code)
      assert.equal("a.b.c: the table contains itself (a cycle)", msg)
   end)

   it("writes a table twice when it is shared but not cyclic", function()
      local shared = seq { 1 }
      assert.equal("a:\n- 1\nb:\n- 1\n", encode_ok({ a = shared, b = shared }))
   end)

   it("writes 256 levels of nesting and refuses 257", function()
      local t = "x"
      for _ = 1, 256 do t = seq { t } end
      assert_same(t, decode_ok(encode_ok(t)))
      local text, _, code = core.yaml_encode(seq { t })
      assert.is_nil(text)
      assert.equal("yaml_depth", code)
   end)

   it("raises on misuse", function()
      assert.has_error(function() core.yaml_encode() end)
      assert.has_error(function() core.yaml_encode({}, "opts") end)
      assert.has_error(function() core.yaml_encode({}, { key_order = "version" }) end)
      assert.has_error(function() core.yaml_encode({}, { key_order = { 1 } }) end)
   end)
end)

describe("core.yaml round trip #core", function()
   it("decode(encode(x)) equals x for each nasty string, as value and as key", function()
      for _, s in ipairs(gen.NASTY) do
         local x = { [s] = seq { s, { [s] = s } } }
         assert_same(x, decode_ok(encode_ok(x)))
      end
   end)

   it("decode(encode(x)) equals x for 3000 generated values (seed 20240601)", function()
      local g = gen.new(20240601, core)
      for i = 1, 3000 do
         local x = g:value()
         local text = encode_ok(x)
         local y, err = core.yaml_decode(text)
         assert(y ~= nil, ("value %d: %s\n%s"):format(i, tostring(err), text))
         local ok, where = gen.same(core, x, y)
         assert(ok, ("value %d: %s\n%s"):format(i, tostring(where), text))
         assert.equal(text, encode_ok(y))   -- and writing it again changes nothing
      end
   end)

   it("python3-yaml (YAML 1.1) reads the same values from encode's output", function()
      local g = gen.new(7, core)
      local values = seq {}
      for i = 1, 2000 do values[i] = g:value() end
      for _, s in ipairs(gen.NASTY) do values[#values + 1] = { [s] = s } end
      local p = python_read(encode_ok(values))
      local ok, where = python_agrees(p, values)
      assert(ok, where)
   end)
end)

describe("core.yaml_encode against the seed's injection #core", function()
   local evil = 'evil.com"\n  - "*'

   it("writes the manifest string as one allowlist entry, by our reading and python's", function()
      local cfg = { api_allowlist = seq { evil } }
      local text = encode_ok(cfg)
      local back = decode_ok(text)
      assert.equal(1, #back.api_allowlist)
      assert.equal(evil, back.api_allowlist[1])
      local p = python_read(text)
      assert.is_true(python_agrees(p, cfg))
      assert.equal(1, #p.map[1][2].seq)
      assert.equal(evil, p.map[1][2].seq[1])
   end)

   it("keeps each of many hostile entries one entry", function()
      local list = seq {}
      for _, s in ipairs(gen.NASTY) do
         list[#list + 1] = s
         list[#list + 1] = s .. '"\n  - "*'
         list[#list + 1] = "a.com\n- b.com"
      end
      local text = encode_ok({ api_allowlist = list })
      assert_same({ api_allowlist = list }, decode_ok(text))
      local p = python_read(text)
      assert(python_agrees(p, { api_allowlist = list }))
   end)
end)
