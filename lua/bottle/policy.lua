-- Users' launch policies: Lua files that return optional hooks
--   bottle(b, ctx)   change the resolved bottle before the pipelock config is built
--   config(cfg, ctx) change the pipelock config before it is checked and rendered
--   plan(p, ctx)     refuse the launch by returning nil, "reason"
-- The launcher never runs policy code: each file runs in its own process
-- (bottle/policy_child.lua, started through core.child with kernel limits
-- on CPU time, memory and open files, and a wall-clock deadline), inside a
-- sandbox there (no io, no os.execute, no require, no load, no debug, an
-- instruction budget, a check on heap growth).  Results come back as data
-- and are checked here again; every change a policy makes is listed for the
-- preflight.  A process serves one policy from load to the last hook, so a
-- policy's locals live from one hook to the next.
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
local sanitize = require "bottle.sanitize"

local M = {}

-- In the policy's process, per run of its chunk and per hook call (specs lower them).
M.instruction_budget = 10000000
M.memory_limit_kb = 64 * 1024           -- growth of the Lua heap during one call
M.max_string_bytes = 16 * 1024 * 1024   -- largest string.rep / table.move a policy may ask for
M.max_log_lines = 200
-- Kernel limits of the policy's process, for its whole life (load and hooks).
M.cpu_seconds = 5
M.process_memory_mb = 256               -- address space (RLIMIT_AS)
M.timeout_seconds = 10                  -- wall clock, per request; then SIGKILL
M.max_reply_bytes = 64 * 1024 * 1024
-- Read here, before anything runs.
M.max_file_bytes = 1024 * 1024
-- The Lua interpreter that runs this launcher, whatever it is called
-- (lua5.4 from a checkout, the rock's wrapper, busted).
M.interpreter = "/proc/self/exe"

local format, sub, gsub, find, match = string.format, string.sub, string.gsub, string.find, string.match
local concat, sort = table.concat, table.sort
local math_type, getmetatable_raw = math.type, debug.getmetatable
local ARRAY_MT = core.array_mt

-- Process and hook names per loaded policy, keyed weakly by the record M.load returns.
local runners = setmetatable({}, { __mode = "k" })

---------------------------------------------------------------------------
-- Text helpers
---------------------------------------------------------------------------

-- A policy chooses the text of its errors, log lines and config values, and
-- they reach the terminal: escaped (bottle.sanitize), bounded length.
local function printable(s, limit)
   limit = limit or 2000
   if #s > limit then s = sub(s, 1, limit) .. "..." end
   return sanitize.line(s)
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
   if type(v) == "string" then return '"' .. printable((gsub(v, '["\\]', "\\%0")), limit) .. '"' end
   return a_type(v)
end

local function key_text(k)
   if type(k) == "string" then return quoted(k, 60) end
   return a_type(k) .. " key"
end

---------------------------------------------------------------------------
-- The policy's process
---------------------------------------------------------------------------

local function is_array_marked(t)
   return ARRAY_MT ~= nil and rawequal(getmetatable_raw(t), ARRAY_MT)
end

-- The launcher's data as a Lua table constructor for the runner, which
-- loads it (it is ours, so loading it is safe; the way back is JSON, read
-- as data).  %q writes every string, integer and float exactly.  A for
-- lists (marked with core.array_mt), N for core.null.
local function to_lua(v, out, depth)
   local t = type(v)
   if t == "string" or t == "number" or t == "boolean" then
      out[#out + 1] = format("%q", v)
   elseif rawequal(v, core.null) then
      out[#out + 1] = "N"
   elseif t == "table" then
      if depth > 64 then error("policy: data nested more than 64 levels deep", 0) end
      out[#out + 1] = is_array_marked(v) and "A{" or "{"
      for k, x in next, v do
         if (type(k) == "string" or type(k) == "number") and type(x) ~= "function"
            and type(x) ~= "thread" and (type(x) ~= "userdata" or rawequal(x, core.null)) then
            out[#out + 1] = "["
            out[#out + 1] = format("%q", k)
            out[#out + 1] = "]="
            to_lua(x, out, depth + 1)
            out[#out + 1] = ","
         end
      end
      out[#out + 1] = "}"
   else
      out[#out + 1] = "nil"
   end
   return out
end

-- The runner's source, given to the interpreter with -e: the process opens
-- no file at all (and, as nobody when the launcher is root, could not).
local runner_source
local function runner_script()
   if runner_source then return runner_source end
   local path = package.searchpath("bottle.policy_child", package.path)
   if not path then return nil, "cannot find the module bottle.policy_child on package.path" end
   local f, err = io.open(path, "rb")
   if not f then return nil, err end
   -- lua.c takes an -e argument that starts with "-" for an option
   runner_source = "\n" .. f:read("a")
   f:close()
   return runner_source
end

local function limits_text()
   return format("a policy's process has at most %d s of CPU time, %d MB of memory and %g s per call",
      M.cpu_seconds, M.process_memory_mb, M.timeout_seconds)
end

-- One request to a policy's process. → decoded answer | nil, message
local function request(r, req)
   req.limits = { instruction_budget = M.instruction_budget, memory_limit_kb = M.memory_limit_kb,
                  max_string_bytes = M.max_string_bytes, max_log_lines = M.max_log_lines,
                  process_memory_mb = M.process_memory_mb }
   local text = concat(to_lua(req, {}, 0))
   local line, err, code = r.child:request(#text .. "\n" .. text, M.timeout_seconds, M.max_reply_bytes)
   if not line then
      if code == "timeout" or code == "exited" or code == "too_large" then
         return nil, format("policy %s: %s (%s)", r.file, err, limits_text())
      end
      return nil, format("policy %s: %s", r.file, err)
   end
   local answer, derr = core.yaml_decode(line, { name = "answer" })
   if type(answer) ~= "table" or type(answer.ok) ~= "boolean" then
      return nil, format("policy %s: its process gave an answer that cannot be read (%s)", r.file,
         printable(tostring(derr or a_type(answer)), 200))
   end
   if not answer.ok then
      return nil, printable(type(answer.error) == "string" and answer.error
         or format("policy %s: failed", r.file))
   end
   return answer
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

-- → policy source text | nil, message
local function read_source(path)
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
   return text
end

-- Starts the process for one policy; the load request follows in M.load.
local function start(path, script)
   local text, err = read_source(path)
   if not text then return nil, err, "invalid_policy" end
   local child, cerr = core.child({ M.interpreter, "-E", "-e", script }, {
      limits = { cpu = M.cpu_seconds, memory = M.process_memory_mb * 1024 * 1024, files = 16 },
      drop_root = true,
   })
   if not child then return nil, format("policy %s: cannot start its process: %s", path, cerr), "policy_runner" end
   return { file = path, name = basename(path), text = text, child = child }
end

-- Ends every policy's process (they also end when the records are
-- collected, and with the launcher).
function M.close(policies)
   for _, p in ipairs(policies or {}) do
      local r = runners[p]
      if r then r.child:close() end
   end
end

-- paths → array of {file, name, hooks = {bottle=true, config=, plan=}} | nil, message, code
-- ("invalid_policy", or "policy_runner" when a process cannot be started)
function M.load(paths)
   if type(paths) ~= "table" then error("policy.load: paths must be an array of file names", 2) end
   for i, path in ipairs(paths) do
      if type(path) ~= "string" then error(format("policy.load: paths[%d] is %s", i, a_type(path)), 2) end
   end
   local script, serr = runner_script()
   if not script and #paths > 0 then return nil, "policy: " .. serr, "policy_runner" end
   -- All processes start first, so that their interpreters start side by side.
   local started = {}
   local function fail(...)
      for _, r in ipairs(started) do r.child:close() end
      return nil, ...
   end
   for _, path in ipairs(paths) do
      local r, err, code = start(path, script)
      if not r then return fail(err, code) end
      started[#started + 1] = r
   end
   local out = {}
   for _, r in ipairs(started) do
      local answer, err = request(r, { op = "load", file = r.file, name = r.name, text = r.text })
      if not answer then return fail(err, "invalid_policy") end
      r.text = nil
      local hooks = {}
      for _, h in ipairs(answer.hooks or {}) do hooks[h] = true end
      local p = { file = r.file, name = r.name, hooks = hooks }
      runners[p] = r
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
local function clean_value(v, like, path, depth, seen)
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
      local c, err = clean_value(x, type(like) == "table" and rawget(like, k) or nil,
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

local function prepare(fname, policies, ctx)
   if type(policies) ~= "table" then error(fname .. ": policies must be an array", 3) end
   if type(ctx) ~= "table" then error(fname .. ": ctx must be a table", 3) end
   for i, p in ipairs(policies) do
      if not runners[p] then error(format("%s: policies[%d] was not loaded by policy.load", fname, i), 3) end
   end
   ctx.logs = ctx.logs or {}
   local names = ctx.env_names
   if names == nil then names = core.env_names() end
   return names
end

-- Calls one hook of one policy in its process; its ctx.log lines join
-- ctx.logs (at most M.max_log_lines in all).  → answer | nil, message
local function call_hook(p, which, value, ctx, env_names)
   local answer, err = request(runners[p], {
      op = "call", hook = which, value = value,
      ctx = { agent = ctx.agent, bottle = ctx.bottle, backend = ctx.backend or "docker", cwd = ctx.cwd,
              env_names = env_names },
   })
   if not answer then return nil, err end
   local logs = ctx.logs
   for _, line in ipairs(type(answer.logs) == "table" and answer.logs or {}) do
      local n = #logs
      if n < M.max_log_lines then
         logs[n + 1] = "policy " .. p.name .. ": " .. printable(tostring(line), 500)
      elseif n == M.max_log_lines then
         logs[n + 1] = "policy " .. p.name .. ": (further log lines dropped)"
      end
   end
   return answer
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
      -- kept only with its kind: a name one policy removed and another
      -- added back is the launcher's variable of that name ("host")
      if view.env[e.name] == e.kind then
         had[e.name] = true
         out.env[#out.env + 1] = e
      end
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

-- The launcher's own variables in every agent (manifest.RESERVED_ENV).
local RESERVED_ENV = require("bottle.manifest").RESERVED_ENV

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
      if RESERVED_ENV[name] then
         return nil, format("env.%s: is set by the launcher (proxy and CA settings), "
            .. "so a policy cannot forward it", name)
      end
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
         if v ~= nil and type(v) ~= "string" then
            return nil, format("%s.%s: must be a string, not %s", where, k, a_type(v))
         elseif v ~= nil and find(v, "[%c\127]") then
            return nil, format("%s.%s: %s contains a control character; write it without one",
               where, k, quoted(v, 60))
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

-- → new_view, changes, steps | nil, message, "invalid_policy"
-- steps: {policy = NAME, view = the view after it}, per policy with a bottle hook.
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
   local changes, steps = {}, {}
   for _, p in ipairs(policies) do
      if p.hooks.bottle then
         local given = copy_in(current)
         local r, err = call_hook(p, "bottle", given, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local out = r.value
         local clean, serr = clean_value(out, current, "bottle", 0, {})
         if clean == nil then return nil, format("policy %s: %s", p.file, serr), "invalid_policy" end
         local checked, cerr = check_bottle(clean, current)
         if not checked then return nil, format("policy %s: %s", p.file, cerr), "invalid_policy" end
         changes[#changes + 1] = change_line(p, current, checked, BOTTLE_ORDER, bottle_label)
         current = checked
         steps[#steps + 1] = { policy = p.name, view = current }
      end
   end
   return current, changes, steps
end

---------------------------------------------------------------------------
-- The config and plan hooks
---------------------------------------------------------------------------

-- → new_cfg, changes, steps | nil, message, "invalid_policy"
-- steps: {policy = NAME, config = the config after it}, per policy with a config hook.
function M.run_config(policies, cfg, ctx)
   local env_names = prepare("policy.run_config", policies, ctx)
   if type(cfg) ~= "table" then error("policy.run_config: cfg must be a table", 2) end
   local current = copy_in(cfg)
   local changes, steps = {}, {}
   for _, p in ipairs(policies) do
      if p.hooks.config then
         local given = copy_in(current)
         local r, err = call_hook(p, "config", given, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local out = r.value
         local clean, serr = clean_value(out, current, "config", 0, {})
         if clean == nil then return nil, format("policy %s: %s", p.file, serr), "invalid_policy" end
         local ok, msg = core.pipelock_check(clean)
         if not ok then
            return nil, format("policy %s: config rejected: %s", p.file, msg), "invalid_policy"
         end
         changes[#changes + 1] = change_line(p, current, clean, {}, config_label)
         current = clean
         steps[#steps + 1] = { policy = p.name, config = current }
      end
   end
   return current, changes, steps
end

-- → true | nil, "policy FILE: refused the launch: reason", "policy_refused"
--        | nil, message, "invalid_policy"
-- A plan hook returns true or nothing to allow, nil (or false) and a reason to refuse.
function M.run_plan(policies, plan, ctx)
   local env_names = prepare("policy.run_plan", policies, ctx)
   if type(plan) ~= "table" then error("policy.run_plan: plan must be a table", 2) end
   for _, p in ipairs(policies) do
      if p.hooks.plan then
         local r, err = call_hook(p, "plan", plan, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         -- the process says what the hook returned: verdict "true", "nil",
         -- "false" or the type of the value; reason when it is a string
         local v, reason = r.verdict, r.reason
         if v == "true" or (v == "nil" and r.reason_type == "nil") then -- luacheck: ignore 542
            -- allowed
         elseif (v == "nil" or v == "false") and type(reason) == "string" then
            return nil, format("policy %s: refused the launch: %s", p.file, printable(reason, 500)),
               "policy_refused"
         elseif v == "false" and r.reason_type == "nil" then
            return nil, format("policy %s: refused the launch (no reason given)", p.file), "policy_refused"
         elseif v == "nil" or v == "false" then
            return nil, format("policy %s: the plan hook's reason must be a string, not %s",
               p.file, printable(tostring(r.reason_type), 40)), "invalid_policy"
         else
            return nil, format("policy %s: the plan hook returned %s; "
               .. 'return true to allow or nil, "reason" to refuse', p.file, printable(tostring(v), 40)),
               "invalid_policy"
         end
      end
   end
   return true
end

return M
