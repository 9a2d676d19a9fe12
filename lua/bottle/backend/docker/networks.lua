-- The two networks of a bottle: the internal one (`Internal: true`: no route
-- out, so the agent's only way out is the proxy) and the egress bridge (a
-- user-defined bridge, because Docker's default bridge has no DNS and pipelock
-- must resolve upstream names). Both are created at once.
local resources = require "bottle.backend.docker.resources"

local M = {}

--- The bottle's network names, from its slug (the plan names no network:
-- how a backend connects its parts is its own business).
function M.internal(plan) return "claude-bottle-net-" .. plan.slug end
function M.egress(plan) return "claude-bottle-egress-" .. plan.slug end

function M.specs(plan)
   return {
      { name = M.internal(plan), role = "network-internal", internal = true },
      { name = M.egress(plan), role = "network-egress", internal = false },
   }
end

-- Registers the removal of both networks (before they are made).
function M.push_teardown(api, state)
   for _, n in ipairs(M.specs(state.plan)) do
      resources.push_removal(api, state, "network", n.name)
   end
end

-- calls(state) → the two create calls for api:many.
function M.calls(state)
   local plan = state.plan
   local calls = {}
   for i, n in ipairs(M.specs(plan)) do
      calls[i] = { "create network " .. n.name, "POST", "/networks/create", { json = {
         Name = n.name, Driver = "bridge", Internal = n.internal, CheckDuplicate = true,
         Labels = resources.labels(state, n.role),
         -- Internal only keeps traffic from being forwarded: the host still
         -- holds the bridge's gateway address, and every service on the
         -- host listening on 0.0.0.0 would answer the agent there (INPUT,
         -- not FORWARD).  With no host address on the bridge the agent
         -- reaches pipelock and Docker's DNS, and nothing of the host.
         Options = n.internal and { ["com.docker.network.bridge.inhibit_ipv4"] = "true" } or nil,
      } } }
   end
   return calls
end

-- create(api, state) → true | nil, message, code
function M.create(api, state)
   local problems = {}
   for _, r in ipairs(api:many(M.calls(state))) do
      if not r[1] then problems[#problems + 1] = r[2] end
   end
   if #problems > 0 then return nil, table.concat(problems, "; "), "engine" end
   return true
end

return M
