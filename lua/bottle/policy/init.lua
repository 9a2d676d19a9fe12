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
-- What a bottle hook may change (checked after each policy, bottle.policy.bottle; the keys: bottle.schema):
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
local process = require "bottle.policy.process"
local load = require "bottle.policy.load"
local diff = require "bottle.policy.diff"
local bottle = require "bottle.policy.bottle"
local data = require "bottle.policy.data"
local printable, copy_in, clean_value =
   data.printable, data.copy_in, data.clean_value
local format = string.format

local M = require "bottle.policy.settings"

M.discover = load.discover
M.load = load.load
M.close = load.close
M.bottle_view = bottle.bottle_view
M.apply_bottle_view = bottle.apply_bottle_view

local function prepare(fname, policies, ctx)
   if type(policies) ~= "table" then error(fname .. ": policies must be an array", 3) end
   if type(ctx) ~= "table" then error(fname .. ": ctx must be a table", 3) end
   for i, p in ipairs(policies) do
      if not process.runners[p] then error(format("%s: policies[%d] was not loaded by policy.load", fname, i), 3) end
   end
   ctx.logs = ctx.logs or {}
   local names = ctx.env_names
   if names == nil then names = core.env_names() end
   return names
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
         local r, err = process.call_hook(p, "bottle", given, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local out = r.value
         local clean, serr = clean_value(out, current, "bottle", 0, {})
         if clean == nil then return nil, format("policy %s: %s", p.file, serr), "invalid_policy" end
         local checked, cerr = bottle.check(clean, current)
         if not checked then return nil, format("policy %s: %s", p.file, cerr), "invalid_policy" end
         changes[#changes + 1] = diff.change_line(p, current, checked, diff.BOTTLE_ORDER, diff.bottle_label)
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
         local r, err = process.call_hook(p, "config", given, ctx, env_names)
         if not r then return nil, err, "invalid_policy" end
         local out = r.value
         local clean, serr = clean_value(out, current, "config", 0, {})
         if clean == nil then return nil, format("policy %s: %s", p.file, serr), "invalid_policy" end
         local ok, msg = core.pipelock_check(clean)
         if not ok then
            return nil, format("policy %s: config rejected: %s", p.file, msg), "invalid_policy"
         end
         changes[#changes + 1] = diff.change_line(p, current, clean, {}, diff.config_label)
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
         local r, err = process.call_hook(p, "plan", plan, ctx, env_names)
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
