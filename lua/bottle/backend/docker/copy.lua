-- copy_in and copy_out on Docker: tar streams through the Engine's archive
-- endpoint (PUT and GET /containers/{id}/archive).  The entries come from
-- bottle.workspace without owners; here they get the user of the container
-- they go to (the agent's, read with `id`; the gate's fixed one), so that
-- the agent owns its /workspace and the gate its repositories.
local tar = require "bottle.tar"
local gitgate = require "bottle.gitgate"
local provision = require "bottle.backend.docker.provision"

local M = {}

-- A workspace may be hundreds of MiB: a minute, plus a second per 4 MiB,
-- at most ten minutes.  Copying out gets five.
function M.timeout_ms(bytes)
   return math.min(600000, 60000 + (bytes // (4 * 1024 * 1024)) * 1000)
end
M.GET_TIMEOUT_MS = 300000

-- The interface's role names (plan.names' keys) → the containers' role labels.
M.LABEL_ROLE = { agent = "agent", git_gate = "git-gate" }

local function owner(api, state, role, id)
   if role == "git_gate" then return { uid = gitgate.UID, gid = gitgate.GID } end
   state.docker = state.docker or {}
   if not state.docker.agent_owner then
      local who, msg, code = provision.agent_user(api, id)
      if not who then return nil, msg, code end
      state.docker.agent_owner = who
   end
   return state.docker.agent_owner
end

--- `put(api, state, role, dir, entries)` → true | nil, message, code.
function M.put(api, state, role, dir, entries)
   if not M.LABEL_ROLE[role] then error("copy_in: unknown role " .. tostring(role), 2) end
   local plan = state.plan
   local id = role == "agent" and (state.docker and state.docker.agent_id or plan.names.agent) or plan.names[role]
   local who, msg, code = owner(api, state, role, id)
   if not who then return nil, msg, code end
   for _, e in ipairs(entries) do e.uid, e.gid = who.uid, who.gid end
   local stream = tar.pack(entries)
   return api:archive_put(id, dir, stream, M.timeout_ms(#stream))
end

--- `get(api, found, role, path)` → tar stream | nil, message, code; found:
-- the bottle's resources (resources.find), so the container is found by label.
function M.get(api, found, role, path)
   local label = M.LABEL_ROLE[role]
   if not label then error("copy_out: unknown role " .. tostring(role), 2) end
   for _, ctr in ipairs(found.containers or {}) do
      if ctr.role == label then return api:archive_get(ctr.id, path, M.GET_TIMEOUT_MS) end
   end
   return nil, ("the bottle has no %s container"):format(label), "not_found"
end

return M
