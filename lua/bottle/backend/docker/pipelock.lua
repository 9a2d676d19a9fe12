-- The pipelock sidecar: created on the internal network, its config and CA pair
-- copied in through the archive endpoint before it starts (no bind mounts; the
-- image is distroless, so the files go straight into /etc), connected to the
-- egress network, started, then waited for.
--
-- Readiness: the host may not reach container addresses (Docker Desktop), and
-- the scratch image has no shell or curl, so we exec `/pipelock healthcheck`
-- (GET /health, exit 0 on 200) inside the sidecar until it passes, then read
-- the startup banner pipelock writes to stderr, which states the same facts
-- /health reports: "Mode: strict" and "forward proxy enabled", and its JSON
-- startup event (mode, and the config's sha256 when core.sha256 exists). A
-- sidecar that exits, or is not ready in time, fails the step with its last
-- log lines.
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local schema = require "bottle.schema"
local resources = require "bottle.backend.docker.resources"
local networks = require "bottle.backend.docker.networks"
local limits = require "bottle.backend.docker.limits"
local patience = require "bottle.backend.docker.patience"
local tail = require("bottle.backend.docker.ca").tail

local M = {}

M.PORT = schema.PROXY_PORT
M.USER = "65534:65534"       -- nobody: the files below are owned by it, mode 0600
M.UID = 65534
M.READY_TIMEOUT = tonumber(os.getenv("BOTTLE_PIPELOCK_READY_TIMEOUT") or "") or 30
M.POLL_INTERVAL = 0.05

local MODE_600 = tonumber("600", 8)

-- The files copied into the sidecar, as tar entries relative to "/".
function M.files(state)
   local plan = state.plan
   local function entry(path, data)
      return { name = path:gsub("^/", ""), data = data, mode = MODE_600, uid = M.UID, gid = M.UID }
   end
   local entries = { entry(plan.pipelock.config_path, plan.pipelock.yaml) }
   if plan.ca then
      local ca = state.docker.ca
      if not ca then error("pipelock: plan.ca is set but the ca step has not run", 0) end
      entries[#entries + 1] = entry(plan.ca.sidecar_cert, ca.cert_pem)
      entries[#entries + 1] = entry(plan.ca.sidecar_key, ca.key_pem)
   end
   return entries
end

function M.config(state)
   local plan = state.plan
   return {
      Image = plan.images.pipelock,
      Cmd = { "run", "--config", plan.pipelock.config_path, "--listen", "0.0.0.0:" .. M.PORT },
      User = M.USER,
      Labels = resources.labels(state, "pipelock"),
      HostConfig = limits.host_config(state, "pipelock", {
         NetworkMode = networks.internal(plan),
         RestartPolicy = { Name = "no" },
      }),
      NetworkingConfig = { EndpointsConfig = { [networks.internal(plan)] = {} } },
   }
end

local function last_logs(api, id)
   local out, err = api:container_logs(id, { tail = 20 })
   if not out then return "(no logs: " .. tostring(err) .. ")" end
   local text = tail(err .. out, 20)
   return text ~= "" and text or "(no output)"
end

-- What the banner says about the loaded config, or nil and the problem.
function M.check_banner(stderr)
   if not stderr:match("Mode:%s+strict") then
      return nil, "pipelock is not in strict mode (its banner has no \"Mode: strict\")"
   end
   if not stderr:find("forward proxy enabled", 1, true) then
      return nil, "pipelock's forward proxy is not enabled (its banner does not say so)"
   end
   return true
end

-- The startup event of pipelock's JSON log: mode strict and, when the core
-- can hash, the sha256 of exactly the YAML we wrote (config_hash).
function M.check_startup(stdout, yaml)
   local event
   for line in stdout:gmatch("[^\n]+") do
      local ok, value = pcall(cjson.decode, line)
      if ok and type(value) == "table" and value.event == "startup" then event = value end
   end
   if not event then return nil, "pipelock logged no startup event" end
   if event.mode ~= "strict" then
      return nil, ("pipelock started in mode %s, not strict"):format(tostring(event.mode))
   end
   if yaml and core.sha256 and event.config_hash ~= core.sha256(yaml) then
      return nil, "pipelock loaded a config other than the one copied in (config_hash differs)"
   end
   return true
end

-- wait_ready(api, id [, timeout [, yaml]]) → true | nil, message, code
function M.wait_ready(api, id, timeout, yaml)
   -- the budget counts pipelock's own time, not the engine's late answers
   local clock = patience.clock(timeout or M.READY_TIMEOUT)
   local last
   while true do
      local r, msg, code, info = clock:probe(function()
         local res, m, c = api:exec(id, { "/pipelock", "healthcheck", "--addr", "127.0.0.1:" .. M.PORT },
                                    { timeout_ms = patience.CALL_MS })
         if res and res.exit == 0 then return res end
         return res, m, c, c ~= "interrupted" and api:container_inspect(id) or nil
      end)
      if r and r.exit == 0 then break end
      if code == "interrupted" then return nil, msg, code end
      last = r and (r.stderr .. r.stdout) or msg
      if info and info.State and not info.State.Running then
         return nil, ("pipelock exited (status %s) before it was ready:\n%s")
            :format(tostring(math.tointeger(info.State.ExitCode) or info.State.ExitCode), last_logs(api, id)),
            "not_ready"
      end
      if clock:expired() then
         return nil, ("pipelock not ready after %gs (healthcheck: %s); its last log lines:\n%s")
            :format(timeout or M.READY_TIMEOUT, tostring(last):gsub("%s+$", ""), last_logs(api, id)),
            "not_ready"
      end
      core.sleep(M.POLL_INTERVAL)
   end
   local out, err = api:container_logs(id)
   local ok, problem = M.check_banner(err or "")
   if ok then ok, problem = M.check_startup(out or "", yaml) end
   if not ok then return nil, problem .. "; its last log lines:\n" .. last_logs(api, id), "not_ready" end
   return true
end

-- Registers the sidecar's removal (before it is made).
function M.push_teardown(api, state)
   local name = state.plan.names.pipelock
   resources.push_removal(api, state, "container", name)
end

-- create(api, state) → true once the sidecar is ready.
function M.create(api, state)
   local plan = state.plan
   local name = plan.names.pipelock
   local created, msg, code = api:container_create(name, M.config(state))
   if not created then return nil, msg, code end
   -- Later calls use the name: the engine takes it, and messages read better.
   local id = name
   state.docker.pipelock_id = created.Id
   local ok
   ok, msg, code = api:archive_put(id, "/", tar.pack(M.files(state)))
   if not ok then return nil, msg, code end
   ok, msg, code = api:network_connect(networks.egress(plan), id)
   if not ok then return nil, msg, code end
   ok, msg, code = api:container_start(id, name)
   if not ok then return nil, msg, code end
   return M.wait_ready(api, id, nil, plan.pipelock.yaml)
end

return M
