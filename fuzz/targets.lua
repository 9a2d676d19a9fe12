-- The Lua side of the libFuzzer targets (harness.c embeds this file and calls
-- the function named by its FUZZ_TARGET with each input).  Each target calls
-- bottle.core as the launcher does and raises on anything docs/api.md rules
-- out; the sanitizers catch the rest.
local core = require "bottle.core"

local T = {}

local DECODE_CODES = {
   yaml_syntax = true, yaml_multiple_documents = true, yaml_alias = true,
   yaml_duplicate_key = true, yaml_key_type = true, yaml_tag = true, yaml_depth = true,
}

local function check (cond, fmt, ...)
   if not cond then error(fmt:format(...), 2) end
end

-- Deep equality for decoded values: integer vs float, NaN, array_mt.
local function same (a, b)
   if type(a) ~= type(b) then return false end
   if type(a) == "number" then
      return math.type(a) == math.type(b) and (a == b or (a ~= a and b ~= b))
   end
   if type(a) ~= "table" then return a == b end
   if (getmetatable(a) == core.array_mt) ~= (getmetatable(b) == core.array_mt) then
      return false
   end
   for k, v in pairs(a) do
      if not same(v, b[k]) then return false end
   end
   for k in pairs(b) do
      if a[k] == nil then return false end
   end
   return true
end

local function is_out_of_memory (err)
   return tostring(err):find("not enough memory", 1, true) ~= nil
end

-- Runs f(...) with only a few allocations to spare, now and then (the
-- input's length decides how few), then collects, so that the core's
-- cleanup on a Lua error is exercised and LeakSanitizer sees its result.
local function under_memory_pressure (data, f, ...)
   if #data % 4 ~= 0 then return end
   local ok, err = fuzz_limit(#data // 4 % 64, f, ...)
   check(ok or is_out_of_memory(err), "failed other than for memory: %s", tostring(err))
   collectgarbage()
end

local function check_failure (v, msg, code, codes)
   if v ~= nil then return end
   check(type(msg) == "string" and type(code) == "string",
         "failure without a message and code: %s %s", tostring(msg), tostring(code))
   check(codes[code], "unknown code %s (%s)", code, msg)
end

-- yaml_decode: any input gives a value or nil, "fuzz:L:C: problem", code.
function T.yaml_decode (data)
   local v, msg, code = core.yaml_decode(data, { name = "fuzz", positions = #data % 2 == 0 })
   check_failure(v, msg, code, DECODE_CODES)
   if v == nil then
      check(msg:match("^fuzz:%d+:%d+: ."), "message without a position: %s", msg)
   end
   under_memory_pressure(data, core.yaml_decode, data, { positions = true })
end

-- yaml_roundtrip: whatever decodes encodes, and decodes back to the same.
function T.yaml_roundtrip (data)
   local v = core.yaml_decode(data)
   if v == nil then return end
   local opts
   if type(v) == "table" and #data % 3 == 0 then
      local order = {}
      for k in pairs(v) do
         if type(k) == "string" and #order < 4 then order[#order + 1] = k end
      end
      opts = { key_order = order }
   end
   local text, msg, code = core.yaml_encode(v, opts)
   check(text, "a decoded value did not encode: %s %s", tostring(msg), tostring(code))
   local w, msg2 = core.yaml_decode(text)
   check(w ~= nil, "encoded text did not decode: %s\n%s", tostring(msg2), text)
   check(same(v, w), "decode(encode(v)) differs from v:\n%s", text)
   check(core.yaml_encode(w, opts) == text, "encoding is not stable:\n%s", text)
   under_memory_pressure(data, core.yaml_encode, v, opts)
end

-- host_check / allowlist: a host either normalises to a fixed point of
-- host_check or is refused with invalid_host; allowlist gives a sorted,
-- deduplicated array of normal forms.
function T.host_check (data)
   local h, msg, code = core.host_check(data)
   if h == nil then
      check(code == "invalid_host" and type(msg) == "string", "bad failure %s %s",
            tostring(msg), tostring(code))
   else
      check(type(h) == "string" and #h <= 253, "bad normal form")
      check(not h:find("[^a-z0-9.*-]"), "normal form with odd characters: %q", h)
      check(core.host_check(h) == h, "host_check is not idempotent on %q", h)
   end
   local extra = {}
   for line in (data .. "\n"):gmatch("([^\n]*)\n") do extra[#extra + 1] = line end
   local list, msg2, code2 = core.allowlist(core.DEFAULT_ALLOWLIST, extra)
   if list == nil then
      check(code2 == "invalid_host" and type(msg2) == "string", "bad allowlist failure")
      return
   end
   for i, host in ipairs(list) do
      check(core.host_check(host) == host, "allowlist entry %q is not a normal form", host)
      check(i == 1 or list[i - 1] < host, "allowlist not sorted and unique at %d", i)
   end
end

-- pipelock_check: any table is checked without raising; a config that
-- passes, and any config pipelock_config builds, writes as YAML that reads
-- back the same and passes again.
local function check_written_config (cfg)
   local text, msg, code = core.pipelock_yaml(cfg)
   check(text, "a checked config did not write: %s %s", tostring(msg), tostring(code))
   local back, msg2 = core.yaml_decode(text)
   check(back ~= nil, "pipelock_yaml's output did not decode: %s", tostring(msg2))
   check(same(back, cfg) or same(back, core.yaml_decode(core.yaml_encode(cfg))),
         "pipelock_yaml's output reads back different:\n%s", text)
   check(core.pipelock_check(back) == true, "re-read config fails the check:\n%s", text)
end

function T.pipelock_check (data)
   local v = core.yaml_decode(data)
   if type(v) ~= "table" then return end
   local ok, msg, code = core.pipelock_check(v)
   if ok == true then
      check_written_config(v)
   else
      check(ok == nil and type(msg) == "string" and type(code) == "string",
            "bad failure %s %s %s", tostring(ok), tostring(msg), tostring(code))
   end
   -- the same table read as a bottle: what pipelock_config builds must pass
   local built, cfg = pcall(core.pipelock_config, v, {})
   if built and type(cfg) == "table" then
      check(core.pipelock_check(cfg) == true, "pipelock_config built a config that fails the check")
      check_written_config(cfg)
   end
end

return T
