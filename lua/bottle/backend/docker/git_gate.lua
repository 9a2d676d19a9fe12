-- The git gate on Docker: claude-bottle-git-gate-<slug>, created on the
-- internal network with the alias git-gate (the agent's only git remote),
-- then connected to the egress network (its SSH leaves from there, not
-- through pipelock: it gets no proxy environment).  Its rendered files and the
-- entries' identities go in through the archive endpoint before the first
-- start, 0600/0700 and owned by the gate's user; nothing of them touches the
-- agent.  What the files do: lua/bottle/gitgate.lua.
local tar = require "bottle.tar"
local gitgate = require "bottle.gitgate"
local resources = require "bottle.backend.docker.resources"
local patience = require "bottle.backend.docker.patience"
local networks = require "bottle.backend.docker.networks"
local limits = require "bottle.backend.docker.limits"

local M = {}

M.ROLE = "git-gate"
M.DEFAULT_IMAGE = "claude-bottle-git-gate:latest"
M.READY_TIMEOUT = tonumber(os.getenv("BOTTLE_GIT_GATE_READY_TIMEOUT") or "") or 20
M.POLL_INTERVAL = 0.05

--- The gate's image: plan.images.git_gate (resolved by the launcher), else the default.
function M.image(plan)
   return (plan.images and plan.images.git_gate) or M.DEFAULT_IMAGE
end

function M.config(state)
   local plan = state.plan
   local internal = networks.internal(plan)
   local extra = gitgate.extra_hosts(plan.git)
   return {
      Image = M.image(plan),
      -- The image's own entrypoint is replaced: the gate runs only what we rendered.
      Entrypoint = { "/bin/sh", gitgate.ENTRYPOINT },
      User = ("%d:%d"):format(gitgate.UID, gitgate.GID),
      Labels = resources.labels(state, M.ROLE),
      HostConfig = limits.host_config(state, "git-gate", {
         NetworkMode = internal,
         ExtraHosts = #extra > 0 and extra or nil,
         RestartPolicy = { Name = "no" },
      }),
      NetworkingConfig = { EndpointsConfig = { [internal] = { Aliases = { gitgate.HOST } } } },
   }
end

--- `files(state)` → tar stream of the gate's files | nil, message, code.
-- Reads each entry's identity from state.identities (host paths).
function M.files(state)
   local entries = state.plan.git
   local keys = {}
   for _, e in ipairs(entries) do
      local key, msg, code = gitgate.read_identity(e.name, (state.identities or {})[e.name])
      if not key then return nil, msg, code end
      keys[e.name] = key
   end
   local ws = state.plan.workspace
   local files, msg, code = gitgate.files(entries, keys, {
      workspace = ws and ws.mode == "copy" and { name = ws.name, push = ws.push } or nil })
   if not files then return nil, msg, code end
   local list = {}
   for i, f in ipairs(files) do
      list[i] = { name = f.path:gsub("^/", ""), type = f.type, data = f.data, mode = f.mode,
                  uid = gitgate.UID, gid = gitgate.GID }
   end
   return tar.pack(list)
end

--- `wait_ready(api, id [, timeout])` → true once git daemon listens, or
-- nil, message (with the gate's last log lines), "not_ready".
function M.wait_ready(api, id, timeout)
   -- the budget counts the sidecar's own time, not the engine's late answers
   return patience.wait_exec(api, id, { argv = gitgate.READY_ARGV, timeout = timeout or M.READY_TIMEOUT,
                                        interval = M.POLL_INTERVAL, what = "the git gate",
                                        silent = ("is not listening on %d"):format(gitgate.PORT) })
end

--- Registers the gate's removal (docker.up calls it before anything is
-- made, so the teardown order stays agent, git gate, pipelock, networks).
function M.push_teardown(api, state)
   local plan = state.plan
   state.docker = state.docker or {}
   state.docker.git_gate_teardown = true
   resources.push_removal(api, state, "container", plan.names.git_gate)
end

--- `create(api, state)` → true | nil, message, code.  The removal is
-- registered before the create; state.docker.git_gate_id is set.
function M.create(api, state)
   local plan = state.plan
   if not gitgate.needed(plan) then return true end
   local ok, msg, code = gitgate.check(plan.git)
   if not ok then return nil, msg, code end
   local stream
   stream, msg, code = M.files(state)   -- before anything exists: a bad key makes nothing
   if not stream then return nil, msg, code end

   local name = plan.names.git_gate
   state.docker = state.docker or {}
   if not state.docker.git_gate_teardown then M.push_teardown(api, state) end
   local created
   created, msg, code = api:container_create(name, M.config(state))
   if not created then return nil, msg, code end
   local id = created.Id
   state.docker.git_gate_id = id
   ok, msg, code = api:archive_put(id, "/", stream)
   if not ok then return nil, msg, code end
   -- Only a gate with upstreams needs a way out; the workspace's needs none.
   if #plan.git > 0 then
      ok, msg, code = api:network_connect(networks.egress(plan), id)
      if not ok then return nil, msg, code end
   end
   ok, msg, code = api:container_start(id, name)
   if not ok then return nil, msg, code end
   return M.wait_ready(api, id)
end

--- `provision_agent(api, state)` → true | nil, message, code: the agent's
-- ~/.gitconfig gets url.<gate>.insteadOf for every upstream (and
-- user.name/email), written by `git config --global` as the agent's user.
function M.provision_agent(api, state)
   local plan = state.plan
   if type(plan.git) ~= "table" or #plan.git == 0 then return true end
   local id = state.docker and state.docker.agent_id or plan.names.agent
   local r, msg, code = api:exec(id, gitgate.agent_argv(plan.git), { timeout_ms = patience.CALL_MS })
   if not r then return nil, msg, code end
   if r.exit ~= 0 then
      return nil, ("git config in the agent exited with %d: %s"):format(r.exit,
         (r.stderr .. r.stdout):gsub("%s+$", "")), "provision"
   end
   return true
end

return M
