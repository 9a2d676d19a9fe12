-- Users' launch policies: Lua files that return optional hooks
--   bottle(b, ctx)   change the resolved bottle before the pipelock config is built
--   config(cfg, ctx) change the pipelock config before it is checked and rendered
--   plan(p, ctx)     refuse the launch by returning nil, "reason"
-- Each file runs in its own sandbox (no io, no os.execute, no require, no
-- load, no debug) under an instruction budget and a check on heap growth,
-- and every change a policy makes is listed for the preflight.
--
-- What a bottle hook may change (checked after each policy, see check_bottle):
--   egress.allowlist, egress.passthrough: any valid hosts (core.host_check);
--     the defaults (core.DEFAULT_ALLOWLIST / DEFAULT_PASSTHROUGH) always apply
--     and are not listed, so a policy cannot remove them;
--   egress.dlp_action ("block" | "warn"), egress.tls_interception (boolean);
--   env: remove any name; add a name only with kind "host", meaning "forward
--     the launcher's own variable of that name"; an existing name keeps its kind;
--   git: remove remotes, narrow push.branches to a subset, turn push.force,
--     push.delete and push.tags off, set user_name / user_email.  A policy
--     cannot add a remote or change its upstream, identity or host key, nor
--     widen push rules: identity files and push rights come from the manifest
--     only, where they are validated and shown.
local core = require "bottle.core"

local M = {}

-- Limits, per run of a policy's chunk and per hook call (specs lower them).
M.instruction_budget = 10000000
M.memory_limit_kb = 64 * 1024           -- growth of the Lua heap during one call
M.max_string_bytes = 16 * 1024 * 1024   -- largest string.rep / table.move a policy may ask for
M.max_file_bytes = 1024 * 1024
M.max_log_lines = 200

local IS_HOOK = { bottle = true, config = true, plan = true }

-- Captured now: while a policy runs, the string metatable's __index is the
-- policy's own string table, so launcher code that runs meanwhile (the count
-- hook, the wrappers below, ctx.log) must not use method calls on strings.
local format, sub, gsub, find, match, rep = string.format, string.sub, string.gsub,
   string.find, string.match, string.rep
local concat, sort, pack, unpack = table.concat, table.sort, table.pack, table.unpack
local sethook, gethook, getinfo, getmetatable_raw = debug.sethook, debug.gethook,
   debug.getinfo, debug.getmetatable
local math_type, move = math.type, table.move
local STRING_MT = getmetatable_raw("")
local ARRAY_MT = core.array_mt

-- Instructions between two runs of the count hook.  Lua decrements the
-- count inside the hook too, so a step near the hook's own length (~15
-- instructions) makes the count meaningless; 1000 keeps it within ~2%.
local STEP = 1000
local BUDGET = setmetatable({}, { __tostring = function() return "instruction budget exceeded" end })
local MEMORY = setmetatable({}, { __tostring = function() return "memory limit exceeded" end })

-- Sandbox state per loaded policy, keyed weakly by the record M.load returns.
local sandboxes = setmetatable({}, { __mode = "k" })

---------------------------------------------------------------------------
-- Text helpers
---------------------------------------------------------------------------

-- A policy chooses the text of its errors, log lines and config values, and
-- they reach the terminal: no control characters, bounded length.
local function printable(s, limit)
   s = gsub(s, "[%c\127]", "?")
   limit = limit or 2000
   if #s > limit then s = sub(s, 1, limit) .. "..." end
   return s
end

local function basename(path)
   return match(path, "([^/]*)/*$")
end

local function a_type(v)
   local t = type(v)
   if t == "nil" then return "nil" end
   return (find(t, "^[aeiou]") and "an " or "a ") .. t
end

-- A value a policy wrote, for a message: a quoted string or its type.
local function quoted(v, limit)
   if type(v) == "string" then return format("%q", printable(v, limit)) end
   return a_type(v)
end

local function key_text(k)
   if type(k) == "string" then return format("%q", printable(k, 60)) end
   return a_type(k) .. " key"
end

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

-- Only tables reach a policy's getmetatable: the string metatable and
-- core.array_mt are the launcher's, shared by the whole process.
local function safe_getmetatable(v)
   local mt = getmetatable(v)
   if rawequal(mt, STRING_MT) or (ARRAY_MT and rawequal(mt, ARRAY_MT)) then return nil end
   return mt
end

-- A __gc metamethod would run later, in the launcher, outside the budget.
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
      local cap, count = M.max_string_bytes, tonumber(n)
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
      if first and last and last - first > M.max_string_bytes then
         error(format("table.move: more than %d elements", M.max_string_bytes), 0)
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

local function new_sandbox(name)
   -- The chunk name shows in messages as "token:LINE:", rewritten to the
   -- path; "=" keeps Lua from decorating it, and it must stay under
   -- LUA_IDSIZE (60) so that it is never truncated.
   local token = #name <= 50 and name or "policy"
   local sb = { token = token, chunkname = "=" .. token, count = 0, budget = 0, base_kb = 0 }
   local env = {}
   for _, g in ipairs(SAFE_GLOBALS) do env[g] = _G[g] end
   env.getmetatable = safe_getmetatable
   env.setmetatable = safe_setmetatable
   env.pcall = function(f, ...) return settle(sb, pcall(f, ...)) end
   env.xpcall = function(f, h, ...) return settle(sb, xpcall(f, h, ...)) end
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

   -- Counts instructions and watches the heap.  Once a limit is hit it
   -- raises at every firing, anywhere under the protected call (policy code,
   -- and the launcher functions a policy calls, such as ctx.log); never in
   -- run_limited itself, between the end of the call and the hook's removal.
   sb.hook = function()
      sb.count = sb.count + STEP
      if not sb.stopped then
         if sb.count > sb.budget then
            sb.stopped = BUDGET
         elseif collectgarbage("count") - sb.base_kb > M.memory_limit_kb then
            collectgarbage("collect")
            if collectgarbage("count") - sb.base_kb > M.memory_limit_kb then sb.stopped = MEMORY end
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
local function error_text(sb, file, e)
   if sb.stopped == BUDGET then
      return format("policy %s: exceeded its instruction budget (%d instructions): an endless loop?",
         file, sb.budget)
   elseif sb.stopped == MEMORY then
      return format("policy %s: used more than %d MB of memory", file, M.memory_limit_kb // 1024)
   end
   if type(e) ~= "string" then e = format("(error object is %s value)", a_type(e)) end
   local prefix = sb.token .. ":"
   if sub(e, 1, #prefix) == prefix then
      local line, rest = match(sub(e, #prefix + 1), "^(%d+):%s*(.*)$")
      if line then return format("policy %s:%s: %s", file, line, printable(rest)) end
   end
   return format("policy %s: %s", file, printable(e))
end

-- Runs fn(...) inside the policy's sandbox.  → true, packed results | false, message
function run_limited(sb, file, fn, ...)
   sb.count, sb.stopped, sb.budget = 0, nil, M.instruction_budget
   sb.base_kb = collectgarbage("count")
   local saved_hook, saved_mask, saved_count = gethook()
   local saved_index = STRING_MT.__index
   STRING_MT.__index = sb.string
   sethook(sb.hook, "", STEP)
   local r = pack(xpcall(fn, sb.on_error, ...))
   if type(saved_hook) == "function" then sethook(saved_hook, saved_mask, saved_count) else sethook() end
   STRING_MT.__index = saved_index
   if r[1] and not sb.stopped then
      return true, pack(unpack(r, 2, r.n))
   end
   return false, error_text(sb, file, r[2])
end

---------------------------------------------------------------------------
-- Finding and loading policies
---------------------------------------------------------------------------

-- env = {XDG_CONFIG_HOME = ..., HOME = ...} → sorted array of policy paths.
function M.discover(env)
   if type(env) ~= "table" then error("policy.discover: env must be a table", 2) end
   local base = env.XDG_CONFIG_HOME
   -- The XDG spec: an unset, empty or relative value is ignored.
   if type(base) ~= "string" or sub(base, 1, 1) ~= "/" then
      if type(env.HOME) ~= "string" or env.HOME == "" then return {} end
      base = env.HOME .. "/.config"
   end
   local dir = base .. "/claude-bottle/policies"
   local names, msg, code = core.listdir(dir)
   if not names then
      if code == "ENOENT" then return {} end
      return nil, format("policy directory %s: %s", dir, msg), code
   end
   local found = {}
   for _, n in ipairs(names) do
      if sub(n, 1, 1) ~= "." and #n > 4 and sub(n, -4) == ".lua" then found[#found + 1] = n end
   end
   sort(found)
   for i, n in ipairs(found) do found[i] = dir .. "/" .. n end
   return found
end

local function check_hooks(file, r)
   local hooks = r[1]
   if type(hooks) ~= "table" then
      return nil, format("policy %s: must return a table of hooks, e.g. "
         .. "return { bottle = function(b, ctx) ... end }; it returned %s",
         file, r.n == 0 and "nothing" or a_type(hooks))
   end
   local out = {}
   for k, v in next, hooks do
      if not IS_HOOK[k] then
         return nil, format("policy %s: returned an unknown key %s; "
            .. "a policy returns only bottle, config and plan hooks", file, key_text(k))
      end
      if type(v) ~= "function" then
         return nil, format("policy %s: hook %q must be a function, not %s", file, k, a_type(v))
      end
      out[k] = v
   end
   return out
end

local function load_one(path)
   local name = basename(path)
   local f, err = io.open(path, "rb")
   if not f then return nil, format("policy %s: cannot read it: %s", path, err) end
   local text, rerr = f:read(M.max_file_bytes + 1)
   f:close()
   if not text and rerr then return nil, format("policy %s: cannot read it: %s", path, rerr) end
   text = text or ""
   if #text > M.max_file_bytes then
      return nil, format("policy %s: is larger than %d bytes; a policy is a short script", path, M.max_file_bytes)
   end
   if sub(text, 1, 1) == "\27" then
      return nil, format("policy %s: is precompiled Lua bytecode; a policy must be Lua source text", path)
   end
   -- As lua's own loadfile: skip a UTF-8 BOM and a "#!" first line (kept as
   -- a comment so that line numbers stay right).
   if sub(text, 1, 3) == "\239\187\191" then text = sub(text, 4) end
   if sub(text, 1, 1) == "#" then text = "--" .. text end

   local sb = new_sandbox(name)
   local chunk, lerr = load(text, sb.chunkname, "t", sb.env)
   if not chunk then return nil, error_text(sb, path, lerr) end
   local ok, r = run_limited(sb, path, chunk)
   if not ok then return nil, r end
   local hooks, herr = check_hooks(path, r)
   if not hooks then return nil, herr end
   local p = { file = path, name = name, hooks = hooks }
   sandboxes[p] = sb
   return p
end

-- paths → array of {file, name, hooks = {bottle=, config=, plan=}} | nil, message, "invalid_policy"
function M.load(paths)
   if type(paths) ~= "table" then error("policy.load: paths must be an array of file names", 2) end
   local out = {}
   for i, path in ipairs(paths) do
      if type(path) ~= "string" then error(format("policy.load: paths[%d] is %s", i, a_type(path)), 2) end
      local p, msg = load_one(path)
      if not p then return nil, msg, "invalid_policy" end
      out[#out + 1] = p
   end
   return out
end

---------------------------------------------------------------------------
-- Data in and out of the sandbox
---------------------------------------------------------------------------

local function is_sequence(t)
   local n = 0
   for k in next, t do
      if math_type(k) ~= "integer" or k < 1 then return false end
      n = n + 1
   end
   for i = 1, n do if rawget(t, i) == nil then return false end end
   return true
end

local function is_array_marked(t)
   return ARRAY_MT ~= nil and rawequal(getmetatable_raw(t), ARRAY_MT)
end

-- The launcher's data, copied for a policy: plain tables (sequences keep
-- core.array_mt), no functions or userdata other than core.null.
local function copy_in(v)
   local t = type(v)
   if t == "table" then
      local c = {}
      for k, x in next, v do
         local cx = copy_in(x)
         if cx ~= nil then c[k] = cx end
      end
      if is_array_marked(v) then setmetatable(c, ARRAY_MT) end
      return c
   elseif t == "function" or t == "thread" then
      return nil
   elseif t == "userdata" and not rawequal(v, core.null) then
      return nil
   end
   return v
end

local function join(path, k)
   if type(k) == "string" then
      return path == "" and k or path .. "." .. k
   end
   return path .. "[" .. tostring(k) .. "]"
end

-- What a policy produced, copied into plain launcher data: only raw access
-- (no metamethod, so no policy code runs after its call), no functions, no
-- cycles.  `like` is the value at the same place before the hook: a sequence
-- marked there stays marked, so an emptied list is still written as [].
local function sanitize(v, like, path, depth, seen)
   local t = type(v)
   if t == "string" or t == "number" or t == "boolean" or rawequal(v, core.null) then return v end
   if t ~= "table" then return nil, format("%s: %s is not data", path, a_type(v)) end
   if seen[v] then return nil, format("%s: a table that contains itself", path) end
   if depth > 32 then return nil, format("%s: nested more than 32 levels deep", path) end
   seen[v] = true
   local out = {}
   for k, x in next, v do
      if type(k) ~= "string" and math_type(k) ~= "integer" then
         return nil, format("%s: %s (keys are names or list positions)", path, key_text(k))
      end
      local c, err = sanitize(x, type(like) == "table" and rawget(like, k) or nil,
         join(path, k), depth + 1, seen)
      if c == nil then return nil, err end
      out[k] = c
   end
   seen[v] = nil
   if ARRAY_MT and is_sequence(out)
      and (next(out) ~= nil or is_array_marked(v) or (type(like) == "table" and is_array_marked(like))) then
      setmetatable(out, ARRAY_MT)
   end
   return out
end

-- Each hook call gets its own ctx, so one policy cannot change the next one's.
local function hook_ctx(ctx, p, sb, env_names)
   local logs = ctx.logs
   local c = {
      agent = ctx.agent, bottle = ctx.bottle, backend = ctx.backend or "docker", cwd = ctx.cwd,
      env_names = {},
   }
   for i, n in ipairs(env_names) do c.env_names[i] = n end
   c.log = function(fmt, ...)
      local ok, line = pcall(format, fmt, ...)
      if sb.stopped then error(sb.stopped, 0) end
      if not ok then
         error("ctx.log: " .. (type(line) == "string" and line or "bad arguments"), 2)
      end
      local n = #logs
      if n < M.max_log_lines then
         logs[n + 1] = "policy " .. p.name .. ": " .. printable(line, 500)
      elseif n == M.max_log_lines then
         logs[n + 1] = "policy " .. p.name .. ": (further log lines dropped)"
      end
   end
   return c
end

local function prepare(fname, policies, ctx)
   if type(policies) ~= "table" then error(fname .. ": policies must be an array", 3) end
   if type(ctx) ~= "table" then error(fname .. ": ctx must be a table", 3) end
   for i, p in ipairs(policies) do
      if not sandboxes[p] then error(format("%s: policies[%d] was not loaded by policy.load", fname, i), 3) end
   end
   ctx.logs = ctx.logs or {}
   local names = ctx.env_names
   if names == nil then names = core.env_names() end
   return names
end

-- Calls one hook of one policy. → packed results | nil, message
local function call_hook(p, which, value, ctx, env_names)
   local sb = sandboxes[p]
   local ok, r = run_limited(sb, p.file, p.hooks[which], value, hook_ctx(ctx, p, sb, env_names))
   if not ok then return nil, r end
   return r
end

-- nil → the (possibly mutated) copy the hook was given; a table → that table.
local function hook_result(p, which, r, given, what)
   local v = r[1]
   if v == nil then return given end
   if type(v) == "table" then return v end
   return nil, format("policy %s: the %s hook returned %s; change %s in place or return the new table",
      p.file, which, a_type(v), what)
end

---------------------------------------------------------------------------
-- Changes: a small deep diff and a one-line summary per policy
---------------------------------------------------------------------------

local function is_scalar(v) return type(v) ~= "table" end

local function all(t, pred)
   for _, v in ipairs(t) do if not pred(v) then return false end end
   return true
end

local function named(v) return type(v) == "table" and type(v.name) == "string" end

local function key_less(order)
   return function(a, b)
      local oa, ob = order[a] or math.huge, order[b] or math.huge
      if oa ~= ob then return oa < ob end
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      return a < b
   end
end

-- Appends {op = "list"|"add"|"remove"|"change", path, ...} entries to out.
local function diff(old, new, path, out, order)
   if type(old) == "table" and type(new) == "table" then
      if is_sequence(old) and is_sequence(new) then
         if next(old) == nil and next(new) == nil then return end
         if all(old, is_scalar) and all(new, is_scalar) then
            local had, has = {}, {}
            for _, v in ipairs(old) do had[v] = true end
            for _, v in ipairs(new) do has[v] = true end
            local added, removed = {}, {}
            for _, v in ipairs(new) do if not had[v] then added[#added + 1] = v; had[v] = true end end
            for _, v in ipairs(old) do if not has[v] then removed[#removed + 1] = v; has[v] = true end end
            if #added > 0 or #removed > 0 then
               out[#out + 1] = { op = "list", path = path, added = added, removed = removed }
            end
            return
         end
         if all(old, named) and all(new, named) then
            local by_old, by_new = {}, {}
            for _, v in ipairs(old) do by_old[v.name] = v end
            for _, v in ipairs(new) do by_new[v.name] = v end
            for _, v in ipairs(old) do
               local p = path .. "[" .. v.name .. "]"
               if by_new[v.name] then diff(v, by_new[v.name], p, out, order)
               else out[#out + 1] = { op = "remove", path = p } end
            end
            for _, v in ipairs(new) do
               if not by_old[v.name] then
                  out[#out + 1] = { op = "add", path = path .. "[" .. v.name .. "]", value = v }
               end
            end
            return
         end
      end
      local keys, seen = {}, {}
      for k in next, old do keys[#keys + 1] = k; seen[k] = true end
      for k in next, new do if not seen[k] then keys[#keys + 1] = k end end
      sort(keys, key_less(order or {}))
      for _, k in ipairs(keys) do
         local a, b, p = rawget(old, k), rawget(new, k), join(path, k)
         if a == nil then out[#out + 1] = { op = "add", path = p, value = b }
         elseif b == nil then out[#out + 1] = { op = "remove", path = p }
         else diff(a, b, p, out, order) end
      end
      return
   end
   if old ~= new or type(old) ~= type(new) then
      out[#out + 1] = { op = "change", path = path, old = old, new = new }
   end
end

local function show(v)
   if type(v) == "string" then
      if v == "" then return '""' end
      return printable(v, 40)
   elseif type(v) == "table" then
      return is_sequence(v) and next(v) ~= nil and format("[%d]", #v) or "{...}"
   elseif rawequal(v, core.null) then
      return "null"
   end
   return tostring(v)
end

local function some(list)
   local shown = {}
   for i = 1, math.min(#list, 2) do shown[i] = show(list[i]) end
   if #list > 2 then shown[#shown + 1] = format("+%d more", #list - 2) end
   return concat(shown, ", ")
end

-- entries → "part; part" (or nil when nothing changed)
local function summarise(entries, label)
   local parts = {}
   for _, e in ipairs(entries) do
      if e.op == "list" then
         if #e.added > 0 then
            parts[#parts + 1] = format("+%d %s (%s)", #e.added, label(e.path, #e.added), some(e.added))
         end
         if #e.removed > 0 then
            parts[#parts + 1] = format("-%d %s (%s)", #e.removed, label(e.path, #e.removed), some(e.removed))
         end
      elseif e.op == "add" then
         local v = e.value
         if type(v) == "table" then
            local n = 0
            for _ in next, v do n = n + 1 end
            parts[#parts + 1] = is_sequence(v) and n > 0 and format("+%s (%d)", label(e.path), n)
               or "+" .. label(e.path)
         else
            parts[#parts + 1] = format("+%s=%s", label(e.path), show(v))
         end
      elseif e.op == "remove" then
         parts[#parts + 1] = "-" .. label(e.path)
      else
         parts[#parts + 1] = format("%s %s→%s", label(e.path), show(e.old), show(e.new))
      end
   end
   if #parts == 0 then return nil end
   return concat(parts, "; ")
end

local BOTTLE_ORDER = { name = 1, egress = 2, env = 3, git = 4,
   allowlist = 1, passthrough = 2, dlp_action = 3, tls_interception = 4 }

local function bottle_label(path, n)
   if path == "egress.allowlist" then return n == 1 and "host" or "hosts" end
   return (gsub(path, "^egress%.", ""))
end

local function config_label(path) return path end

local function change_line(p, old, new, order, label)
   local entries = {}
   diff(old, new, "", entries, order)
   local s = summarise(entries, label)
   return s and "policy " .. p.name .. ": " .. s or nil
end

---------------------------------------------------------------------------
-- The bottle hook
---------------------------------------------------------------------------

-- The part of a resolved bottle (see manifest.lua) a bottle hook sees.
-- Env values and prompt texts are left out: a policy sees names and kinds.
function M.bottle_view(bottle)
   if type(bottle) ~= "table" then error("policy.bottle_view: bottle must be a table", 2) end
   local eg = bottle.egress or {}
   local function list(t)
      local c = {}
      for i, v in ipairs(t or {}) do c[i] = v end
      return c
   end
   local view = {
      name = bottle.name,
      egress = { allowlist = list(eg.allowlist), passthrough = list(eg.passthrough),
                 dlp_action = eg.dlp_action or "block", tls_interception = eg.tls_interception ~= false },
      env = {}, git = {},
   }
   for _, e in ipairs(bottle.env or {}) do view.env[e.name] = e.kind end
   for i, g in ipairs(bottle.git or {}) do
      local push = g.push or {}
      view.git[i] = {
         name = g.name, upstream = g.upstream, identity = g.identity, host_key = g.host_key,
         user_name = g.user_name, user_email = g.user_email,
         push = { branches = list(push.branches), force = push.force == true,
                  delete = push.delete == true, tags = push.tags == true },
      }
   end
   return view
end

-- The resolved bottle with a (checked) view applied: a new table; entries
-- the policy kept keep all their manifest fields.
function M.apply_bottle_view(bottle, view)
   if type(bottle) ~= "table" or type(view) ~= "table" then
      error("policy.apply_bottle_view: bottle and view must be tables", 2)
   end
   local out = {}
   for k, v in pairs(bottle) do out[k] = v end
   out.egress = {}
   for k, v in pairs(bottle.egress or {}) do out.egress[k] = v end
   out.egress.allowlist = copy_in(view.egress.allowlist)
   out.egress.passthrough = copy_in(view.egress.passthrough)
   out.egress.dlp_action = view.egress.dlp_action
   out.egress.tls_interception = view.egress.tls_interception

   out.env = {}
   local had = {}
   for _, e in ipairs(bottle.env or {}) do
      had[e.name] = true
      if view.env[e.name] then out.env[#out.env + 1] = e end
   end
   for name, kind in pairs(view.env) do
      if not had[name] then out.env[#out.env + 1] = { name = name, kind = kind, from = name } end
   end
   sort(out.env, function(a, b) return a.name < b.name end)

   out.git = {}
   local by_name = {}
   for _, g in ipairs(bottle.git or {}) do by_name[g.name] = g end
   for _, vg in ipairs(view.git) do
      local g = copy_in(by_name[vg.name])
      g.push = copy_in(vg.push)
      g.user_name, g.user_email = vg.user_name, vg.user_email
      out.git[#out.git + 1] = g
   end
   return out
end

local BOTTLE_KEYS = { name = true, egress = true, env = true, git = true }
local EGRESS_KEYS = { allowlist = true, passthrough = true, dlp_action = true, tls_interception = true }
local GIT_KEYS = { name = true, upstream = true, identity = true, host_key = true, push = true,
   user_name = true, user_email = true }
local PUSH_KEYS = { branches = true, force = true, delete = true, tags = true }

local function only_keys(t, known, where)
   for k in next, t do
      if not known[k] then
         local names = {}
         for n in pairs(known) do names[#names + 1] = n end
         sort(names)
         return format("%s: unknown key %s (known: %s)", where, key_text(k), concat(names, ", "))
      end
   end
end

local function default_set(list)
   local s = {}
   for _, h in ipairs(list or {}) do s[h] = true end
   return s
end

-- A list of hosts → normalised, deduplicated, defaults dropped | nil, message
local function check_hosts(list, where, defaults)
   if type(list) ~= "table" or not is_sequence(list) then
      return nil, format("%s: must be a list of hosts (use {} for none), not %s", where,
         type(list) == "table" and "a table with other keys" or a_type(list))
   end
   local out, seen = {}, {}
   for i, h in ipairs(list) do
      if type(h) ~= "string" then
         return nil, format("%s[%d]: must be a host name, not %s", where, i, a_type(h))
      end
      local norm, msg = core.host_check(h)
      if not norm then return nil, format("%s[%d] %q: %s", where, i, printable(h, 100), msg) end
      if not seen[norm] and not defaults[norm] then out[#out + 1] = norm end
      seen[norm] = true
   end
   return out
end

local function check_env(env, before)
   if type(env) ~= "table" then
      return nil, format("env: must be a table of NAME = kind (use {} for none), not %s", a_type(env))
   end
   local out = {}
   for name, kind in next, env do
      if type(name) ~= "string" or not match(name, "^[A-Za-z_][A-Za-z0-9_]*$") then
         return nil, format("env: %s is not a variable name", key_text(name))
      end
      local had = before[name]
      if had then
         if kind ~= had then
            return nil, format("env.%s: kind is %q and a policy cannot change it "
               .. "(remove the variable or leave it)", name, had)
         end
      elseif kind ~= "host" then
         return nil, format('env.%s: a policy may add a variable only as "host" '
            .. "(forwarded from the launcher's environment by the same name), not %s",
            name, quoted(kind, 40))
      end
      out[name] = kind
   end
   return out
end

local function check_push(push, before, where)
   if type(push) ~= "table" then return nil, format("%s.push: must be a table, not %s", where, a_type(push)) end
   local err = only_keys(push, PUSH_KEYS, where .. ".push")
   if err then return nil, err end
   local out = { branches = {} }
   local b = push.branches
   if type(b) ~= "table" or not is_sequence(b) then
      return nil, format("%s.push.branches: must be a list of branch patterns (use {} for none)", where)
   end
   local allowed = {}
   for _, pat in ipairs(before.branches) do allowed[pat] = true end
   for i, pat in ipairs(b) do
      if not allowed[pat] then
         return nil, format("%s.push.branches[%d] %s: a policy may only remove branch patterns, "
            .. "not add them (the manifest allows: %s)", where, i, quoted(pat, 80),
            #before.branches > 0 and concat(before.branches, ", ") or "none")
      end
      out.branches[#out.branches + 1] = pat
   end
   for _, k in ipairs({ "force", "delete", "tags" }) do
      local v = push[k]
      if type(v) ~= "boolean" then
         return nil, format("%s.push.%s: must be true or false, not %s", where, k, a_type(v))
      end
      if v and not before[k] then
         return nil, format("%s.push.%s: a policy may tighten push rules, not widen them "
            .. "(the manifest has %s = false)", where, k, k)
      end
      out[k] = v
   end
   return out
end

local function check_git(git, before)
   if type(git) ~= "table" or not is_sequence(git) then
      return nil, "git: must be a list of remotes (use {} for none)"
   end
   local by_name = {}
   for _, g in ipairs(before) do by_name[g.name] = g end
   local out, seen = {}, {}
   for i, g in ipairs(git) do
      local where = format("git[%d]", i)
      if type(g) ~= "table" then return nil, format("%s: must be a table, not %s", where, a_type(g)) end
      local old = type(g.name) == "string" and by_name[g.name]
      if not old then
         return nil, format("%s: a policy cannot add a git remote (%s is not in the manifest); "
            .. "add it to the bottle's git list",
            where, type(g.name) == "string" and quoted(g.name, 60) or "it has no name")
      end
      if seen[g.name] then return nil, format("%s: remote %q is listed twice", where, g.name) end
      seen[g.name] = true
      where = format("git[%d] %q", i, g.name)
      local err = only_keys(g, GIT_KEYS, where)
      if err then return nil, err end
      for _, k in ipairs({ "upstream", "identity", "host_key" }) do
         if g[k] ~= old[k] then
            return nil, format("%s.%s: is read-only in a policy (set it in the manifest)", where, k)
         end
      end
      for _, k in ipairs({ "user_name", "user_email" }) do
         local v = g[k]
         if v ~= nil and (type(v) ~= "string" or find(v, "[%c\127]")) then
            return nil, format("%s.%s: must be a string without control characters, not %s", where, k, a_type(v))
         end
      end
      local push, perr = check_push(g.push, old.push, where)
      if not push then return nil, perr end
      out[#out + 1] = { name = g.name, upstream = old.upstream, identity = old.identity,
         host_key = old.host_key, user_name = g.user_name, user_email = g.user_email, push = push }
   end
   return out
end

-- b: what the hook produced (sanitised); before: the view it was given.
local function check_bottle(b, before)
   local err = only_keys(b, BOTTLE_KEYS, "bottle")
   if err then return nil, err end
   if b.name ~= before.name then
      return nil, format("name: a policy cannot rename the bottle (%q)", before.name)
   end
   local eg = b.egress
   if type(eg) ~= "table" then return nil, format("egress: must be a table, not %s", a_type(eg)) end
   err = only_keys(eg, EGRESS_KEYS, "egress")
   if err then return nil, err end
   local out = { name = before.name, egress = {} }
   local msg
   out.egress.allowlist, msg = check_hosts(eg.allowlist, "egress.allowlist",
      default_set(core.DEFAULT_ALLOWLIST))
   if not out.egress.allowlist then return nil, msg end
   out.egress.passthrough, msg = check_hosts(eg.passthrough, "egress.passthrough",
      default_set(core.DEFAULT_PASSTHROUGH))
   if not out.egress.passthrough then return nil, msg end
   if eg.dlp_action ~= "block" and eg.dlp_action ~= "warn" then
      return nil, format('egress.dlp_action: must be "block" or "warn", not %s',
         quoted(eg.dlp_action, 40))
   end
   out.egress.dlp_action = eg.dlp_action
   if type(eg.tls_interception) ~= "boolean" then
      return nil, format("egress.tls_interception: must be true or false, not %s", a_type(eg.tls_interception))
   end
   out.egress.tls_interception = eg.tls_interception
   out.env, msg = check_env(b.env, before.env)
   if not out.env then return nil, msg end
   out.git, msg = check_git(b.git, before.git)
   if not out.git then return nil, msg end
   return out
end

-- → new_view, changes | nil, message, "invalid_policy"
-- ctx = {agent, bottle, backend, cwd, env_names = nil | sorted names, logs = nil | array};
-- lines a policy logs with ctx.log are appended to ctx.logs.
function M.run_bottle(policies, view, ctx)
   local env_names = prepare("policy.run_bottle", policies, ctx)
   if type(view) ~= "table" then error("policy.run_bottle: view must be a table", 2) end
   local current = copy_in(view)
   current.egress = current.egress or {}
   current.egress.allowlist = current.egress.allowlist or {}
   current.egress.passthrough = current.egress.passthrough or {}
   current.env, current.git = current.env or {}, current.git or {}
   local changes = {}
   for _, p in ipairs(policies) do
      if p.hooks.bottle then
         local given = copy_in(current)
         local r, err = call_hook(p, "bottle", given, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local out, rerr = hook_result(p, "bottle", r, given, "the bottle")
         if not out then return nil, rerr, "invalid_policy" end
         local clean, serr = sanitize(out, current, "bottle", 0, {})
         if clean == nil then return nil, format("policy %s: %s", p.file, serr), "invalid_policy" end
         local checked, cerr = check_bottle(clean, current)
         if not checked then return nil, format("policy %s: %s", p.file, cerr), "invalid_policy" end
         changes[#changes + 1] = change_line(p, current, checked, BOTTLE_ORDER, bottle_label)
         current = checked
      end
   end
   return current, changes
end

---------------------------------------------------------------------------
-- The config and plan hooks
---------------------------------------------------------------------------

-- → new_cfg, changes | nil, message, "invalid_policy"
function M.run_config(policies, cfg, ctx)
   local env_names = prepare("policy.run_config", policies, ctx)
   if type(cfg) ~= "table" then error("policy.run_config: cfg must be a table", 2) end
   local current = copy_in(cfg)
   local changes = {}
   for _, p in ipairs(policies) do
      if p.hooks.config then
         local given = copy_in(current)
         local r, err = call_hook(p, "config", given, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local out, rerr = hook_result(p, "config", r, given, "the config")
         if not out then return nil, rerr, "invalid_policy" end
         local clean, serr = sanitize(out, current, "config", 0, {})
         if clean == nil then return nil, format("policy %s: %s", p.file, serr), "invalid_policy" end
         local ok, msg = core.pipelock_check(clean)
         if not ok then
            return nil, format("policy %s: config rejected: %s", p.file, msg), "invalid_policy"
         end
         changes[#changes + 1] = change_line(p, current, clean, {}, config_label)
         current = clean
      end
   end
   return current, changes
end

-- → true | nil, "policy FILE: refused the launch: reason", "policy_refused"
--        | nil, message, "invalid_policy"
-- A plan hook returns true or nothing to allow, nil (or false) and a reason to refuse.
function M.run_plan(policies, plan, ctx)
   local env_names = prepare("policy.run_plan", policies, ctx)
   if type(plan) ~= "table" then error("policy.run_plan: plan must be a table", 2) end
   for _, p in ipairs(policies) do
      if p.hooks.plan then
         local r, err = call_hook(p, "plan", copy_in(plan), ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local v, reason = r[1], r[2]
         if v == true or (v == nil and reason == nil) then -- luacheck: ignore 542
            -- allowed
         elseif (v == nil or v == false) and type(reason) == "string" then
            return nil, format("policy %s: refused the launch: %s", p.file, printable(reason, 500)),
               "policy_refused"
         elseif v == false and reason == nil then
            return nil, format("policy %s: refused the launch (no reason given)", p.file), "policy_refused"
         elseif v == nil or v == false then
            return nil, format("policy %s: the plan hook's reason must be a string, not %s",
               p.file, a_type(reason)), "invalid_policy"
         else
            return nil, format("policy %s: the plan hook returned %s; "
               .. 'return true to allow or nil, "reason" to refuse', p.file, a_type(v)), "invalid_policy"
         end
      end
   end
   return true
end

return M
