-- The state `list` reports for one bottle, from its containers' states as
-- the engine's container list gives them (State, and Status for the exit
-- code).  An agent that runs while a sidecar does not is "degraded": its
-- egress (pipelock) or git (the gate) fails closed, and the reason says which
-- sidecar and why.  Only fixed words and digits come out of here, never the
-- engine's own text, so the result is safe on a terminal.
local S = {}

-- Docker's container states (the API's State enum).
local KNOWN = { created = true, running = true, paused = true, restarting = true, removing = true,
                exited = true, dead = true }

S.SIDECARS = { "pipelock", "git-gate", "cred-proxy" }

local function state_of(c)
   return KNOWN[c.state] and c.state or "unknown"
end

-- "pipelock exited (status 2)", "git-gate is paused", ...
function S.describe(role, c)
   local state = state_of(c)
   if state == "exited" then
      local status = tostring(c.status or ""):match("^Exited %((%-?%d+)%)")
      return status and ("%s exited (status %s)"):format(role, status) or role .. " exited"
   elseif state == "created" then
      return role .. " was created but never started"
   elseif state == "unknown" then
      return role .. " is in a state the engine did not name"
   end
   return role .. " is " .. state
end

--- S.of(roles) → state, reason.  roles = {role = {state = ..., status = ...}}
-- for the bottle's containers.  state is "incomplete" (no agent), the
-- agent's own state when it does not run, "degraded" (with the reason) when
-- it runs and a sidecar does not, else "running".
function S.of(roles)
   local a = roles.agent
   if not a then return "incomplete" end
   local state = state_of(a)
   if state ~= "running" then return state end
   local reasons = {}
   -- every bottle has a pipelock sidecar; a git gate only with git remotes
   if not roles.pipelock then reasons[1] = "pipelock container missing" end
   for _, role in ipairs(S.SIDECARS) do
      local c = roles[role]
      if c and state_of(c) ~= "running" then reasons[#reasons + 1] = S.describe(role, c) end
   end
   if #reasons > 0 then return "degraded", table.concat(reasons, "; ") end
   return "running"
end

return S
