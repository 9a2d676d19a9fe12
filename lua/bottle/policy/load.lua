-- Finding the user's policies and starting one process per policy.
local core = require "bottle.core"
local schema = require "bottle.schema"
local process = require "bottle.policy.process"
local data = require "bottle.policy.data"
local a_type = data.a_type
local format, sub = string.format, string.sub
local sort = table.sort

local M = {}

---------------------------------------------------------------------------
-- Finding and loading policies
---------------------------------------------------------------------------

-- env = {XDG_CONFIG_HOME = ..., HOME = ...} → sorted array of policy paths.
function M.discover(env)
   if type(env) ~= "table" then error("policy.discover: env must be a table", 2) end
   local base = schema.config_home(env)
   if not base then return {} end
   local dir = base .. "/" .. schema.POLICY_DIR
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

-- collected, and with the launcher).
function M.close(policies)
   for _, p in ipairs(policies or {}) do
      local r = process.runners[p]
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
   local script, serr = process.runner_script()
   if not script and #paths > 0 then return nil, "policy: " .. serr, "policy_runner" end
   -- All processes start first, so that their interpreters start side by side.
   local started = {}
   local function fail(...)
      for _, r in ipairs(started) do r.child:close() end
      return nil, ...
   end
   for _, path in ipairs(paths) do
      local r, err, code = process.start(path, script)
      if not r then return fail(err, code) end
      started[#started + 1] = r
   end
   local out = {}
   for _, r in ipairs(started) do
      local answer, err = process.request(r, { op = "load", file = r.file, name = r.name, text = r.text })
      if not answer then return fail(err, "invalid_policy") end
      r.text = nil
      local hooks = {}
      for _, h in ipairs(answer.hooks or {}) do hooks[h] = true end
      local p = { file = r.file, name = r.name, hooks = hooks }
      process.runners[p] = r
      out[#out + 1] = p
   end
   return out
end

return M
