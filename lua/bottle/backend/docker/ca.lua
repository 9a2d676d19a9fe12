-- The bottle's TLS interception CA: `pipelock tls init` in a throwaway pipelock
-- container (no network), its two files copied out through the archive
-- endpoint into the 0700 stage directory (key 0600), the container removed.
local core = require "bottle.core"
local tar = require "bottle.tar"
local resources = require "bottle.backend.docker.resources"
local patience = require "bottle.backend.docker.patience"

local M = {}

M.OUT_DIR = "/ca"        -- the scratch image has no /tmp; pipelock creates the dir
-- tls init takes a moment; the rest of the wait is the engine's queue under load
M.TIMEOUT_MS = patience.CALL_MS

local function tail(text, n)
   local lines = {}
   for line in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
   return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

function M.container_name(plan)
   return "claude-bottle-ca-" .. plan.slug
end

-- Registers the removal of the CA container (before it is made).
function M.push_teardown(api, state)
   local name = M.container_name(state.plan)
   resources.push_removal(api, state, "container", name)
end

-- The create call for api:many (so the CA container can be made alongside the
-- networks: it has no network).
function M.create_call(state)
   local plan = state.plan
   local name = M.container_name(plan)
   return { "create container " .. name, "POST", "/containers/create", { query = { name = name }, json = {
      Image = plan.images.pipelock,
      Cmd = { "tls", "init", "--out", M.OUT_DIR },
      Labels = resources.labels(state, "ca"),
      HostConfig = { NetworkMode = "none", CapDrop = { "ALL" }, SecurityOpt = { "no-new-privileges" } },
   } } }
end

-- start(api, state, created) → true: starts `pipelock tls init` (created is the
-- create call's result) without waiting for it.
function M.start(api, state, created)
   state.docker.ca_id = created.Id
   return api:container_start(created.Id, M.container_name(state.plan))
end

-- collect(api, state) → true: waits for tls init, copies the pair out into the
-- stage directory, removes the container. state.docker.ca = {cert_pem, key_pem,
-- cert_path, key_path}.
function M.collect(api, state)
   local id = state.docker.ca_id
   local status, msg, code = api:container_wait(id, M.TIMEOUT_MS)
   if status ~= 0 then
      local out, err = api:container_logs(id, { tail = 20 })
      api:container_remove(id)
      if status == nil then return nil, msg, code end
      return nil, ("pipelock tls init exited with %d: %s"):format(status, tail((out or "") .. (err or ""), 20)),
         "engine"
   end
   local stream
   stream, msg, code = api:archive_get(id, M.OUT_DIR)
   api:container_remove(id)
   if not stream then return nil, msg, code end
   local entries
   entries, msg, code = tar.unpack(stream)
   if not entries then return nil, "copying the CA out: " .. msg, code end
   local cert = tar.find(entries, "ca/ca.pem")
   local key = tar.find(entries, "ca/ca-key.pem")
   if not (cert and key and cert.data and key.data) then
      return nil, "pipelock tls init did not leave ca.pem and ca-key.pem in " .. M.OUT_DIR, "engine"
   end
   local dir = state.stage.dir
   local cert_path, key_path = dir .. "/ca.pem", dir .. "/ca-key.pem"
   local ok
   ok, msg, code = core.write_file(cert_path, cert.data, tonumber("644", 8))
   if not ok then return nil, msg, code end
   ok, msg, code = core.write_file(key_path, key.data, tonumber("600", 8))
   if not ok then return nil, msg, code end
   state.docker.ca = { cert_pem = cert.data, key_pem = key.data, cert_path = cert_path, key_path = key_path }
   return true
end

M.tail = tail

return M
