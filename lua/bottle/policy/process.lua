-- A policy's process: the runner (bottle/policy_child.lua) started through
-- core.child with kernel limits, and one request/answer exchange per load
-- or hook call.  The limits are read from bottle.policy.settings at each
-- request, so a spec that lowers one on bottle.policy lowers it here.
local core = require "bottle.core"
local settings = require "bottle.policy.settings"
local data = require "bottle.policy.data"
local printable, basename, a_type, to_lua =
   data.printable, data.basename, data.a_type, data.to_lua
local format, sub = string.format, string.sub
local concat = table.concat

local M = {}

-- Process and hook names per loaded policy, keyed weakly by the record policy.load returns.
M.runners = setmetatable({}, { __mode = "k" })
local runners = M.runners

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
      settings.cpu_seconds, settings.process_memory_mb, settings.timeout_seconds)
end

-- One request to a policy's process. → decoded answer | nil, message
local function request(r, req)
   req.limits = { instruction_budget = settings.instruction_budget, memory_limit_kb = settings.memory_limit_kb,
                  max_string_bytes = settings.max_string_bytes, max_log_lines = settings.max_log_lines,
                  process_memory_mb = settings.process_memory_mb }
   local text = concat(to_lua(req, {}, 0))
   local line, err, code = r.child:request(#text .. "\n" .. text, settings.timeout_seconds, settings.max_reply_bytes)
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

-- → policy source text | nil, message
local function read_source(path)
   local f, err = io.open(path, "rb")
   if not f then return nil, format("policy %s: cannot read it: %s", path, err) end
   local text, rerr = f:read(settings.max_file_bytes + 1)
   f:close()
   if not text and rerr then return nil, format("policy %s: cannot read it: %s", path, rerr) end
   text = text or ""
   if #text > settings.max_file_bytes then
      return nil, format("policy %s: is larger than %d bytes; a policy is a short script", path, settings.max_file_bytes)
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
   local child, cerr = core.child({ settings.interpreter, "-E", "-e", script }, {
      limits = { cpu = settings.cpu_seconds, memory = settings.process_memory_mb * 1024 * 1024, files = 16 },
      drop_root = true,
   })
   if not child then return nil, format("policy %s: cannot start its process: %s", path, cerr), "policy_runner" end
   return { file = path, name = basename(path), text = text, child = child }
end

-- Ends every policy's process (they also end when the records are

-- Calls one hook of one policy in its process; its ctx.log lines join
-- ctx.logs (at most settings.max_log_lines in all).  → answer | nil, message
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
      if n < settings.max_log_lines then
         logs[n + 1] = "policy " .. p.name .. ": " .. printable(tostring(line), 500)
      elseif n == settings.max_log_lines then
         logs[n + 1] = "policy " .. p.name .. ": (further log lines dropped)"
      end
   end
   return answer
end

M.runner_script = runner_script
M.request = request
M.start = start
M.call_hook = call_hook

return M
