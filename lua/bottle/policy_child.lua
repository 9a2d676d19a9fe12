-- The process one launch policy runs in (started by bottle.policy through
-- core.child, with kernel limits on CPU time, address space and open files,
-- an empty environment, and no descriptor but its two pipes).  This file is
-- the second wall: the first is the sandbox below (no io, no os beyond
-- time/date/clock, no require, load or debug, an instruction budget and a
-- heap check), which stops ordinary mistakes with a precise message; what
-- the sandbox cannot stop (a loop inside one C call, an allocation of
-- gigabytes between two samples, an error handler that never returns) the
-- kernel stops, and the launcher, which never runs policy code, reports it.
--
-- Protocol, one request at a time: the launcher writes a line with a byte
-- count and then that many bytes of a Lua table constructor (its own data,
-- so loading it is safe); the child answers with one line of JSON written
-- by encode() below, which the launcher reads with the core's YAML decoder.
local M = {}

local format, sub, gsub, find, match, rep, byte = string.format, string.sub, string.gsub,
   string.find, string.match, string.rep, string.byte
local concat, pack, unpack, move = table.concat, table.pack, table.unpack, table.move
local sethook, getinfo, getmetatable_raw = debug.sethook, debug.getinfo, debug.getmetatable
local math_type = math.type
local utf8_len, utf8_codes = utf8.len, utf8.codes
local STRING_MT = getmetatable_raw("")

-- Set by the load request (the launcher's policy.* values).
local limits = { instruction_budget = 10000000, memory_limit_kb = 64 * 1024,
                 max_string_bytes = 16 * 1024 * 1024, max_log_lines = 200, process_memory_mb = 256 }

-- Marks a sequence, so that an empty one is written as [] (the launcher's
-- core.array_mt does the same on its side).
local ARRAY_MT = { __name = "array" }
-- core.null has no equivalent without the C module: a sentinel the
-- policy cannot change.
local NULL = setmetatable({}, { __name = "null", __newindex = function() error("null is read-only", 2) end,
   __tostring = function() return "null" end, __metatable = false })
M.ARRAY_MT, M.NULL = ARRAY_MT, NULL

-- Instructions between two runs of the count hook.  Lua decrements the
-- count inside the hook too, so a step near the hook's own length (~15
-- instructions) makes the count meaningless; 1000 keeps it within ~2%.
local STEP = 1000
local BUDGET = setmetatable({}, { __tostring = function() return "instruction budget exceeded" end })
local MEMORY = setmetatable({}, { __tostring = function() return "memory limit exceeded" end })
local OUT_OF_MEMORY = "not enough memory"   -- Lua's own message when malloc fails (RLIMIT_AS)

local function a_type(v)
   local t = type(v)
   if t == "nil" then return "nil" end
   if rawequal(v, NULL) then return "null" end
   return (find(t, "^[aeiou]") and "an " or "a ") .. t
end
M.a_type = a_type

---------------------------------------------------------------------------
-- JSON out, as YAML flow (read by the launcher's YAML decoder)
---------------------------------------------------------------------------

-- Written by hand on purpose: lua-cjson 2.1.0 writes every number with
-- %.14g (integers past 2^46 and most floats lose digits, 1 and 1.0 look the
-- same) and every empty table as {}, and it cannot be told which strings
-- must be refused.  What is written here is exact and ASCII-only: every
-- character outside printable ASCII is a \u escape, so neither YAML's line
-- breaks (NEL, U+2028) nor its unprintable characters ever appear raw.

local function escape_cp(cp)
   if cp < 0x10000 then return format("\\u%04x", cp) end
   return format("\\U%08x", cp)
end

-- text = true: a message (invalid UTF-8 bytes become the text \xNN);
-- otherwise data, where invalid UTF-8 is refused (→ nil).
local function json_string(s, text)
   if not find(s, "[^\32-\126]") then
      return '"' .. gsub(s, '[\\"]', "\\%0") .. '"'
   end
   if not utf8_len(s) then
      if not text then return nil end
      local parts, i = {}, 1
      while true do
         local ok, bad = utf8_len(s, i)
         if ok then parts[#parts + 1] = sub(s, i); break end
         parts[#parts + 1] = sub(s, i, bad - 1)
         parts[#parts + 1] = format("\\x%02x", byte(s, bad))
         i = bad + 1
      end
      s = concat(parts)
   end
   local out = {}
   for _, cp in utf8_codes(s) do
      if cp == 34 or cp == 92 then out[#out + 1] = "\\" .. string.char(cp)
      elseif cp >= 32 and cp <= 126 then out[#out + 1] = string.char(cp)
      else out[#out + 1] = escape_cp(cp) end
   end
   return '"' .. concat(out) .. '"'
end

local function json_number(v)
   if math_type(v) == "integer" then return format("%d", v) end
   if v ~= v then return ".nan" end
   if v == math.huge then return ".inf" end
   if v == -math.huge then return "-.inf" end
   local s = format("%.17g", v)
   if not find(s, "[.eEn]") then s = s .. ".0" end
   return s
end

local function join(path, k)
   if type(k) == "string" then return path == "" and k or path .. "." .. k end
   return path .. "[" .. tostring(k) .. "]"
end

local function key_text(k)
   if type(k) == "string" then return format("%q", k) end
   return a_type(k) .. " key"
end

-- Data a policy produced → JSON text | nil, "path: problem".  Raw access
-- only (rawget, next), so no metamethod runs; no cycles, bounded depth.
local function encode_data(v, path, depth, seen, out)
   local t = type(v)
   if t == "string" then
      local s = json_string(v)
      if not s then return nil, format("%s: a string that is not valid UTF-8", path) end
      out[#out + 1] = s
   elseif t == "number" then
      out[#out + 1] = json_number(v)
   elseif t == "boolean" then
      out[#out + 1] = v and "true" or "false"
   elseif rawequal(v, NULL) then
      out[#out + 1] = "null"
   elseif t ~= "table" then
      return nil, format("%s: %s is not data", path, a_type(v))
   else
      if seen[v] then return nil, format("%s: a table that contains itself", path) end
      if depth > 32 then return nil, format("%s: nested more than 32 levels deep", path) end
      seen[v] = true
      local n, strings, ints = 0, 0, 0
      for k in next, v do
         n = n + 1
         if type(k) == "string" then strings = strings + 1
         elseif math_type(k) == "integer" then ints = ints + 1
         else return nil, format("%s: %s (keys are names or list positions)", path, key_text(k)) end
      end
      if n == 0 then
         out[#out + 1] = rawequal(getmetatable_raw(v), ARRAY_MT) and "[]" or "{}"
      elseif ints == n then
         for i = 1, n do
            if rawget(v, i) == nil then
               return nil, format("%s: a list with holes (positions must be 1 to %d)", path, n)
            end
         end
         out[#out + 1] = "["
         for i = 1, n do
            if i > 1 then out[#out + 1] = ", " end
            local ok, err = encode_data(rawget(v, i), join(path, i), depth + 1, seen, out)
            if not ok then return nil, err end
         end
         out[#out + 1] = "]"
      elseif strings == n then
         out[#out + 1] = "{"
         local first = true
         for k, x in next, v do
            if not first then out[#out + 1] = ", " end
            first = false
            local ks = json_string(k)
            if not ks then return nil, format("%s: a key that is not valid UTF-8", path) end
            -- "? " (an explicit key): libyaml refuses an implicit one past 1024 characters
            out[#out + 1] = "? "
            out[#out + 1] = ks
            out[#out + 1] = ": "
            local ok, err = encode_data(x, join(path, k), depth + 1, seen, out)
            if not ok then return nil, err end
         end
         out[#out + 1] = "}"
      else
         return nil, format("%s: a table with both names and list positions as keys", path)
      end
      seen[v] = nil
   end
   return true
end

-- The launcher's own fields of an answer: strings (text), lists of them,
-- booleans, and at most one data value (already encoded).
local function encode_reply(fields, data)
   local out = {}
   for k, v in pairs(fields) do
      local s
      if type(v) == "string" then s = json_string(v, true)
      elseif type(v) == "boolean" then s = v and "true" or "false"
      elseif type(v) == "table" then
         local items = {}
         for i, x in ipairs(v) do items[i] = json_string(x, true) end
         s = "[" .. concat(items, ", ") .. "]"
      end
      out[#out + 1] = json_string(k, true) .. ": " .. s
   end
   if data then out[#out + 1] = '"value": ' .. data end
   return "{" .. concat(out, ", ") .. "}"
end

function M.encode(v, path)
   local out = {}
   local ok, err = encode_data(v, path or "value", 0, {}, out)
   if not ok then return nil, err end
   return concat(out)
end
M.encode_reply = encode_reply

---------------------------------------------------------------------------
-- The sandbox
---------------------------------------------------------------------------

local SAFE_GLOBALS = { "assert", "error", "ipairs", "next", "pairs", "select",
   "tonumber", "tostring", "type", "rawequal", "rawlen", "rawget", "rawset" }

local function copy_library(lib, without)
   local c = {}
   for k, v in pairs(lib) do
      if not (without and without[k]) then c[k] = v end
   end
   return c
end

-- Only tables reach a policy's getmetatable: the string metatable and the
-- list marker are the runner's.
local function safe_getmetatable(v)
   local mt = getmetatable(v)
   if rawequal(mt, STRING_MT) or rawequal(mt, ARRAY_MT) then return nil end
   return mt
end

-- A __gc metamethod would run later, outside the budget.
local function safe_setmetatable(t, mt)
   if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("setmetatable: a __gc metamethod is not allowed in a policy", 2)
   end
   local ok, r = pcall(setmetatable, t, mt)
   if not ok then error(r, 2) end
   return r
end

-- string.rep and table.move loop in C, where the count hook cannot stop them.
local function capped_rep(s, n, sep)
   local ok, r = pcall(function()
      local cap, count = limits.max_string_bytes, tonumber(n)
      local size = #tostring(s) + #tostring(sep or "")
      if count and (count > cap or size * count > cap) then
         error(format("string.rep: the result would exceed %d bytes", cap), 0)
      end
      return rep(s, n, sep)
   end)
   if not ok then error(r, 2) end
   return r
end

local function capped_move(a1, f, e, t, a2)
   local ok, r = pcall(function()
      local first, last = tonumber(f), tonumber(e)
      if first and last and last - first > limits.max_string_bytes then
         error(format("table.move: more than %d elements", limits.max_string_bytes), 0)
      end
      return move(a1, f, e, t, a2)
   end)
   if not ok then error(r, 2) end
   return r
end

-- pcall and xpcall inside a policy must not swallow the budget: once it is
-- spent, every protected call re-raises the stop.
local function settle(sb, ok, ...)
   if sb.stopped then error(sb.stopped, 0) end
   return ok, ...
end

local run_limited   -- defined below; the count hook never raises inside it

local function new_sandbox(token)
   local sb = { token = token, chunkname = "=" .. token, count = 0, budget = 0, base_kb = 0 }
   local env = {}
   for _, g in ipairs(SAFE_GLOBALS) do env[g] = _G[g] end
   env.getmetatable = safe_getmetatable
   env.setmetatable = safe_setmetatable
   env.pcall = function(f, ...) return settle(sb, pcall(f, ...)) end
   -- Once the count hook has raised the stop, Lua runs the message handler
   -- with hooks off: a policy's handler would then run unmetered (and is
   -- called again for each error it raises), so after the stop it is not
   -- called at all.
   env.xpcall = function(f, h, ...)
      return settle(sb, xpcall(f, function(e)
         if sb.stopped then return e end
         return h(e)
      end, ...))
   end
   env.string = copy_library(string, { dump = true })
   env.string.rep = capped_rep
   env.table = copy_library(table)
   env.table.move = capped_move
   env.math = copy_library(math, { randomseed = true })
   env.utf8 = copy_library(utf8)
   env.os = { time = os.time, date = os.date, clock = os.clock }
   env._G = env
   env._VERSION = _VERSION
   sb.env = env
   sb.string = env.string

   sb.hook = function()
      sb.count = sb.count + STEP
      if not sb.stopped then
         if sb.count > sb.budget then
            sb.stopped = BUDGET
         elseif collectgarbage("count") - sb.base_kb > limits.memory_limit_kb then
            collectgarbage("collect")
            if collectgarbage("count") - sb.base_kb > limits.memory_limit_kb then sb.stopped = MEMORY end
         end
      end
      if sb.stopped and getinfo(2, "f").func ~= run_limited then error(sb.stopped, 0) end
   end

   -- Message handler: runs where the error was raised, still under the
   -- hook, so a __tostring that loops is stopped like any other loop.
   sb.on_error = function(e)
      if sb.stopped then return sb.stopped end
      if type(e) == "string" then return e end
      local mt = getmetatable_raw(e)
      if mt and rawget(mt, "__tostring") ~= nil then
         local ok, s = pcall(tostring, e)
         if ok and type(s) == "string" and not sb.stopped then return s end
         return format("(error object is %s value whose __tostring failed)", a_type(e))
      end
      return format("(error object is %s value)", a_type(e))
   end
   return sb
end

-- "token:12: msg" → "policy FILE:12: msg"; anything else → "policy FILE: msg".
local error_text
function error_text(sb, file, e)
   if sb.stopped == BUDGET then
      return format("policy %s: exceeded its instruction budget (%d instructions): an endless loop?",
         file, sb.budget)
   elseif sb.stopped == MEMORY then
      return format("policy %s: used more than %d MB of memory", file, limits.memory_limit_kb // 1024)
   elseif e == OUT_OF_MEMORY then
      return format("policy %s: ran out of memory (its process may use %d MB)", file, limits.process_memory_mb)
   end
   if type(e) ~= "string" then e = format("(error object is %s value)", a_type(e)) end
   local prefix = sb.token .. ":"
   if sub(e, 1, #prefix) == prefix then
      local line, rest = match(sub(e, #prefix + 1), "^(%d+):%s*(.*)$")
      if rest == OUT_OF_MEMORY then return error_text(sb, file, rest) end
      if line then return format("policy %s:%s: %s", file, line, rest) end
   end
   return format("policy %s: %s", file, e)
end

-- Runs fn(...) inside the sandbox.  → true, packed results | false, message
function run_limited(sb, file, fn, ...)
   sb.count, sb.stopped, sb.budget = 0, nil, limits.instruction_budget
   collectgarbage("collect")
   sb.base_kb = collectgarbage("count")
   local saved_index = STRING_MT.__index
   STRING_MT.__index = sb.string
   sethook(sb.hook, "", STEP)
   local r = pack(xpcall(fn, sb.on_error, ...))
   sethook()
   STRING_MT.__index = saved_index
   if r[1] and not sb.stopped then
      return true, pack(unpack(r, 2, r.n))
   end
   return false, error_text(sb, file, r[2])
end

---------------------------------------------------------------------------
-- Requests
---------------------------------------------------------------------------

local IS_HOOK = { bottle = true, config = true, plan = true }
local HOOK_ORDER = { "bottle", "config", "plan" }
local state = {}

local function do_load(req)
   state.file = req.file
   -- The chunk name shows in messages as "token:LINE:", rewritten to the
   -- path; "=" keeps Lua from decorating it, and it must stay under
   -- LUA_IDSIZE (60) so that it is never truncated.
   local sb = new_sandbox(#req.name <= 50 and req.name or "policy")
   state.sb = sb
   local chunk, lerr = load(req.text, sb.chunkname, "t", sb.env)
   if not chunk then return { ok = false, error = error_text(sb, req.file, lerr) } end
   local ok, r = run_limited(sb, req.file, chunk)
   if not ok then return { ok = false, error = r } end
   local hooks = r[1]
   if type(hooks) ~= "table" then
      return { ok = false, error = format("policy %s: must return a table of hooks, e.g. "
         .. "return { bottle = function(b, ctx) ... end }; it returned %s",
         req.file, r.n == 0 and "nothing" or a_type(hooks)) }
   end
   local found = {}
   for k, v in next, hooks do
      if not IS_HOOK[k] then
         return { ok = false, error = format("policy %s: returned an unknown key %s; "
            .. "a policy returns only bottle, config and plan hooks", req.file, key_text(k)) }
      end
      if type(v) ~= "function" then
         return { ok = false, error = format("policy %s: hook %q must be a function, not %s", req.file, k, a_type(v)) }
      end
   end
   state.hooks = hooks
   for _, h in ipairs(HOOK_ORDER) do
      if rawget(hooks, h) then found[#found + 1] = h end
   end
   return { ok = true, hooks = found }
end

local function hook_ctx(req, sb, logs)
   local c = { agent = req.ctx.agent, bottle = req.ctx.bottle, backend = req.ctx.backend,
               cwd = req.ctx.cwd, env_names = req.ctx.env_names or {} }
   c.log = function(fmt, ...)
      local ok, line = pcall(format, fmt, ...)
      if sb.stopped then error(sb.stopped, 0) end
      if not ok then
         error("ctx.log: " .. (type(line) == "string" and line or "bad arguments"), 2)
      end
      if #logs <= limits.max_log_lines then
         logs[#logs + 1] = sub(line, 1, 2000)
      end
   end
   return c
end

local function do_call(req)
   local sb, file, which = state.sb, state.file, req.hook
   local logs = {}
   local ok, r = run_limited(sb, file, rawget(state.hooks, which), req.value, hook_ctx(req, sb, logs))
   if not ok then return { ok = false, error = r } end
   if which == "plan" then
      local v, reason = r[1], r[2]
      return { ok = true, logs = logs,
         verdict = v == true and "true" or v == false and "false" or v == nil and "nil" or a_type(v),
         reason = type(reason) == "string" and reason or nil,
         reason_type = a_type(reason) }
   end
   local v = r[1]
   if v == nil then v = req.value
   elseif type(v) ~= "table" then
      return { ok = false, error = format("policy %s: the %s hook returned %s; change %s in place or return the new table",
         file, which, a_type(v), which == "bottle" and "the bottle" or "the config") }
   end
   local data, err = M.encode(v, which)
   if not data then return { ok = false, error = format("policy %s: %s", file, err) } end
   return { ok = true, logs = logs }, data
end

local function mark_array(t) return setmetatable(t, ARRAY_MT) end

local function read_request()
   local n = tonumber(io.read("l"))
   if not n then return nil end
   local body = io.read(n)
   local f = assert(load("return " .. body, "=request", "t", { A = mark_array, N = NULL }))
   return f()
end

local function main()
   io.stdout:setvbuf("full")
   while true do
      local ok, req = pcall(read_request)
      if not ok or not req then return 0 end
      for k, v in pairs(req.limits or {}) do limits[k] = v end
      local done, reply, data = pcall(function()
         if req.op == "load" then return do_load(req) end
         if req.op == "call" and state.hooks and rawget(state.hooks, req.hook) then return do_call(req) end
         return { ok = false, error = "policy runner: unknown request" }
      end)
      if not done then
         collectgarbage("collect")
         local why = reply == OUT_OF_MEMORY
            and format("ran out of memory (its process may use %d MB)", limits.process_memory_mb)
            or tostring(reply)
         reply, data = { ok = false, error = format("policy %s: %s", state.file or "?", why) }, nil
      end
      local line_ok, line = pcall(encode_reply, reply, data)
      if not line_ok then
         data = nil -- luacheck: ignore 311 (dropped so that the collector can free it)
         collectgarbage("collect")
         line = encode_reply({ ok = false, error = format("policy %s: its answer could not be written", state.file or "?") })
      end
      io.stdout:write(line, "\n")
      io.stdout:flush()
   end
end

if select("#", ...) > 0 and (...) == "bottle.policy_child" then return M end
os.exit(main())
