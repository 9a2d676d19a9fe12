-- The agent container: on the internal network only (no gateway, so a client
-- that ignores the proxy gets no route), with the proxy and CA environment, a
-- keep-alive command, and gVisor when the engine has it.
--
-- Secret hygiene: the container config holds only plan.agent_env (proxy URLs
-- and CA paths, no secrets). Literal values from the env-file and the prompted
-- or host secrets are handed to the session at `docker exec` time (attach:
-- `--env-file` and `-e NAME`), so no value of the bottle's env ever appears in
-- `docker inspect`.
local resources = require "bottle.backend.docker.resources"
local networks = require "bottle.backend.docker.networks"
local limits = require "bottle.backend.docker.limits"

local M = {}

M.KEEP_ALIVE = { "sleep", "infinity" }

local function env_list(map)
   local names = {}
   for k in pairs(map or {}) do names[#names + 1] = k end
   table.sort(names)
   local out = {}
   for i, k in ipairs(names) do out[i] = k .. "=" .. tostring(map[k]) end
   return out
end

-- The launcher's variables (no value of the bottle's env), and under gVisor
-- the switch Claude Code's Bun runtime needs there (its JIT crashes).
function M.env(state)
   local env = {}
   for k, v in pairs(state.plan.agent_env or {}) do env[k] = v end
   if state.runtime == "runsc" then env.BUN_JSC_useJIT = "0" end
   return env
end

function M.config(state)
   local plan = state.plan
   local config = {
      Image = plan.images.agent,
      -- The entrypoint is replaced so that an image's own entrypoint cannot
      -- start anything before provisioning.
      Entrypoint = M.KEEP_ALIVE,
      Env = env_list(M.env(state)),
      Labels = resources.labels(state, "agent", { [resources.DETACHED] = state.detach and "1" or "0" }),
      HostConfig = limits.host_config(state, "agent", {
         NetworkMode = networks.internal(plan),
         Init = true,
         Runtime = state.runtime ~= "runc" and state.runtime or nil,
         RestartPolicy = { Name = "no" },
      }),
      NetworkingConfig = { EndpointsConfig = { [networks.internal(plan)] = {} } },
   }
   if #config.Env == 0 then config.Env = nil end
   -- --workspace-mode mount: the user's project itself, read-write (the
   -- preflight says what that lets the agent do on the host).
   local ws = plan.workspace
   if ws and ws.mode == "mount" then
      config.HostConfig.Binds = { ws.host_dir .. ":" .. ws.path .. ":rw" }
   end
   return config
end

-- Registers the agent's removal (before it is made).
function M.push_teardown(api, state)
   local name = state.plan.names.agent
   resources.push_removal(api, state, "container", name)
end

-- create(api, state) → true once the agent container runs.
function M.create(api, state)
   local plan = state.plan
   local name = plan.names.agent
   local created, msg, code = api:container_create(name, M.config(state))
   if not created then return nil, msg, code end
   state.docker.agent_id = name      -- the engine takes names; messages read better
   return api:container_start(name)
end

M.env_list = env_list

return M
