-- The credential proxy on Docker: claude-bottle-cred-proxy-<slug>, created on
-- the internal network (the agent reaches it by name, outside pipelock),
-- then connected to the egress network (its upstreams).  Its config and
-- entrypoint go in through the archive endpoint before the first start; the
-- credentials go in through the container's stdin, over the engine's attach
-- stream (core.http_upgrade), and the entrypoint keeps them on a tmpfs.  So
-- no value is in the container's config (`docker inspect`), the image, a
-- command line or a host file.  What the config does: lua/bottle/cred_proxy.lua.
local core = require "bottle.core"
local tar = require "bottle.tar"
local cred_proxy = require "bottle.cred_proxy"
local resources = require "bottle.backend.docker.resources"
local patience = require "bottle.backend.docker.patience"
local networks = require "bottle.backend.docker.networks"
local limits = require "bottle.backend.docker.limits"

local M = {}

M.ROLE = "cred-proxy"
M.DEFAULT_IMAGE = "claude-bottle-cred-proxy:latest"
M.UID = 65534
M.READY_TIMEOUT = tonumber(os.getenv("BOTTLE_CRED_PROXY_READY_TIMEOUT") or "") or 20
M.POLL_INTERVAL = 0.05
M.RESOLVER = "127.0.0.11"       -- the engine's resolver inside the sidecar's namespace

local MODE_644, MODE_755 = tonumber("644", 8), tonumber("755", 8)

--- The sidecar's image: plan.images.cred_proxy (resolved by the launcher), else the default.
function M.image(plan)
   return (plan.images and plan.images.cred_proxy) or M.DEFAULT_IMAGE
end

--- Does this plan have a credential proxy?
function M.wanted(plan)
   return plan.credentials ~= nil and #plan.credentials > 0
end

function M.config(state)
   local plan = state.plan
   local internal = networks.internal(plan)
   return {
      Image = M.image(plan),
      -- The image's own entrypoint is replaced: the sidecar runs only ours.
      Entrypoint = { "/bin/sh" },
      Cmd = { cred_proxy.ENTRYPOINT },
      User = ("%d:%d"):format(M.UID, M.UID),
      -- stdin is open until the launcher has written the credentials once
      OpenStdin = true, StdinOnce = true, AttachStdin = true, Tty = false,
      Labels = resources.labels(state, M.ROLE),
      HostConfig = limits.host_config(state, M.ROLE, {
         NetworkMode = internal,
         RestartPolicy = { Name = "no" },
         Tmpfs = { [cred_proxy.RUN_DIR] = ("rw,nosuid,nodev,noexec,size=16m,mode=0700,uid=%d,gid=%d")
                      :format(M.UID, M.UID) },
      }),
      NetworkingConfig = { EndpointsConfig = { [internal] = {} } },
   }
end

--- The files copied in before the start: the rendered nginx.conf and the
-- entrypoint (no value in either).
function M.files(state)
   local dir = cred_proxy.CONFIG_DIR:gsub("^/", "")
   return tar.pack {
      { name = dir, type = "dir", mode = MODE_755, uid = 0, gid = 0 },
      { name = dir .. "/nginx.conf", mode = MODE_644, uid = 0, gid = 0,
        data = cred_proxy.config(state.plan.credentials, { resolver = M.RESOLVER }) },
      { name = dir .. "/entrypoint.sh", mode = MODE_644, uid = 0, gid = 0, data = cred_proxy.entrypoint_script() },
   }
end

--- `write_stdin(api, id, start, data)` → true | nil, message, code: the engine's
-- attach stream to the container's stdin (opened before the start, as
-- `docker run -i` does), `data` written, then closed so the entrypoint sees
-- end of file.  `start` is called between the attach and the write.
function M.write_stdin(api, id, start, data)
   local ep = api.endpoint
   local path = ("/v%s/containers/%s/attach?stdin=1&stream=1"):format(api.version, id)
   local conn, status = core.http_upgrade {
      url = (ep.base or "http://docker") .. path, unix_socket = ep.socket, timeout_ms = patience.CALL_MS,
      request = "POST " .. path .. " HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
         .. "Content-Length: 0\r\n\r\n",
   }
   if not conn then return nil, "attach to the credential proxy's stdin: " .. tostring(status), "engine" end
   if status ~= 101 and status ~= 200 then
      conn:close()
      return nil, ("attach to the credential proxy's stdin: the engine answered HTTP %d"):format(status), "engine"
   end
   local ok, msg, code = start()
   if ok then ok, msg, code = conn:send(data, patience.CALL_MS) end
   -- end of file for the entrypoint's `cat`.  Not waited for: with
   -- StdinOnce the engine may hold the stream until the container stops;
   -- the readiness check below shows that the file arrived.
   if ok then ok, msg, code = conn:close_write() end
   conn:close()
   if not ok then return nil, "writing the credentials to the proxy's stdin: " .. tostring(msg), code end
   return true
end

M.READY_ARGV = { "curl", "-fsS", "-o", "/dev/null", "--max-time", "5",
                 "http://127.0.0.1:" .. cred_proxy.PORT .. cred_proxy.HEALTH_PATH }

--- `wait_ready(api, id [, timeout])` → true once nginx answers its health
-- path, or nil, message (with the sidecar's last log lines), "not_ready".
function M.wait_ready(api, id, timeout)
   -- the budget counts the sidecar's own time, not the engine's late answers
   return patience.wait_exec(api, id, { argv = M.READY_ARGV, timeout = timeout or M.READY_TIMEOUT,
                                        interval = M.POLL_INTERVAL, what = "the credential proxy",
                                        silent = ("does not answer on %d"):format(cred_proxy.PORT) })
end

--- Registers the sidecar's removal (docker.up calls it before anything is made).
function M.push_teardown(api, state)
   resources.push_removal(api, state, "container", state.plan.names.cred_proxy)
end

--- `create(api, state)` → true | nil, message, code; state.docker.cred_proxy_id is set.
-- state.credentials = {ROUTE = value} (resolved by the launcher, in memory).
function M.create(api, state)
   local plan = state.plan
   if not M.wanted(plan) then return true end
   -- rendered before anything exists: a bad value makes nothing
   local secrets, msg, code = cred_proxy.credentials(plan.credentials, state.credentials or {})
   if not secrets then return nil, msg, code end
   local files = M.files(state)
   local name = plan.names.cred_proxy
   local created
   created, msg, code = api:container_create(name, M.config(state))
   if not created then return nil, msg, code end
   state.docker.cred_proxy_id = created.Id
   local ok
   ok, msg, code = api:archive_put(name, "/", files)
   if not ok then return nil, msg, code end
   ok, msg, code = api:network_connect(networks.egress(plan), name)
   if not ok then return nil, msg, code end
   ok, msg, code = M.write_stdin(api, name, function() return api:container_start(name, name) end, secrets)
   if not ok then return nil, msg, code end
   ok, msg, code = M.wait_ready(api, name)
   if not ok then return nil, msg, code end
   -- nginx has read them: from now on the values live in its memory only
   local r
   r, msg, code = api:exec(name, { "rm", "-f", cred_proxy.CREDENTIALS_PATH },
                           { timeout_ms = patience.CALL_MS })
   if not r then return nil, msg, code end
   if r.exit ~= 0 then return nil, "removing the credentials file from the proxy's tmpfs failed", "engine" end
   return true
end

--- The agent's ~/.claude.json, so that Claude Code starts working at once
-- (bottle.cred_proxy.claude_settings): merged into the file the image has,
-- if any, and owned by the agent's user.
function M.provision_agent(api, state)
   local settings = cred_proxy.claude_settings(state.plan.credentials)
   if not settings then return true end
   local cjson = require "cjson"
   local id = state.docker.agent_id
   local r, msg, code = api:exec(id, { "sh", "-c", 'id -u; id -g; printf "%s\\n" "$HOME"' },
                                 { timeout_ms = patience.CALL_MS })
   if not r then return nil, msg, code end
   local uid, gid, home = r.stdout:match("^(%d+)\n(%d+)\n(/[^\n]*)\n")
   if not uid then return nil, "cannot read the agent's user and home", "provision" end
   local path = home:gsub("/+$", "") .. "/.claude.json"
   local current = {}
   local stream = api:archive_get(id, path)
   local entries = stream and tar.unpack(stream)
   if entries and entries[1] and entries[1].type == "file" then
      local okj, value = pcall(cjson.decode, entries[1].data)
      if okj and type(value) == "table" then current = value end
   end
   for k, v in pairs(settings) do current[k] = v end
   return api:archive_put(id, home, tar.pack {
      { name = ".claude.json", data = cjson.encode(current), mode = tonumber("600", 8),
        uid = tonumber(uid), gid = tonumber(gid) },
   })
end

return M
