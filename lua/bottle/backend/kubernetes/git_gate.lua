-- The git gate on Kubernetes: a Pod and a Service `git-gate` in the bottle's
-- namespace, its rendered files (lua/bottle/gitgate.lua: the entrypoint,
-- the hooks, ssh's config, the pinned known_hosts and the identities) in a
-- Secret mounted into the gate only, its repositories in an emptyDir.  The
-- agent reaches it as `git-gate` (hostAliases to the Service IP) and its
-- git rewrites each upstream to the gate through /etc/gitconfig (mounted
-- from the agent's ConfigMap; the agent's own ~/.gitconfig stays its own).
local gitgate = require "bottle.gitgate"
local objects = require "bottle.backend.kubernetes.objects"

local M = {}

M.NAME = "git-gate"
M.ROLE = "git-gate"
M.SECRET = "git-gate-files"
M.AGENT_GITCONFIG = "/etc/gitconfig"

local MODE_EXEC, MODE_READ = tonumber("550", 8), tonumber("440", 8)

--- files(plan, identities) → the gate's files (gitgate.files) | nil, message, code.
-- Reads each entry's identity from its host path.
function M.files(plan, identities)
   local keys = {}
   for _, e in ipairs(plan.git) do
      local key, msg, code = gitgate.read_identity(e.name, (identities or {})[e.name])
      if not key then return nil, msg, code end
      keys[e.name] = key
   end
   return gitgate.files(plan.git, keys)
end

-- The files under CONF_DIR as Secret keys and volume items.
local function items(files)
   local data, list = {}, {}
   local prefix = gitgate.CONF_DIR .. "/"
   for _, f in ipairs(files) do
      if f.type == "file" then
         if f.path:sub(1, #prefix) ~= prefix then
            error("git gate: " .. f.path .. " is outside " .. gitgate.CONF_DIR, 0)
         end
         local key = ("f%d"):format(#list + 1)
         data[key] = f.data
         local exec = f.mode & tonumber("100", 8) ~= 0
         list[#list + 1] = { key = key, path = f.path:sub(#prefix + 1), mode = exec and MODE_EXEC or MODE_READ }
      end
   end
   return data, list
end

function M.secret(plan, files)
   local data = items(files)
   return { apiVersion = "v1", kind = "Secret", type = "Opaque",
            metadata = { name = M.SECRET, namespace = objects.namespace(plan), labels = objects.labels(plan, M.ROLE) },
            stringData = data }
end

function M.pod(plan, files)
   local _, list = items(files)
   local aliases, by_ip = {}, {}
   for _, hostport in ipairs(gitgate.extra_hosts(plan.git)) do
      local host, ip = hostport:match("^(.*):([^:]+)$")
      if not by_ip[ip] then
         by_ip[ip] = { ip = ip, hostnames = {} }
         aliases[#aliases + 1] = by_ip[ip]
      end
      table.insert(by_ip[ip].hostnames, host)
   end
   local c = {
      name = "git-gate", image = plan.images.git_gate or "claude-bottle-git-gate:latest",
      imagePullPolicy = "IfNotPresent",
      -- the image's own entrypoint is replaced: the gate runs only what was rendered
      command = { "/bin/sh", gitgate.ENTRYPOINT },
      ports = { { name = "git", containerPort = gitgate.PORT, protocol = "TCP" } },
      readinessProbe = { tcpSocket = { port = gitgate.PORT }, periodSeconds = 2 },
      securityContext = objects.container_security(gitgate.UID),
      resources = objects.resources(plan, "git-gate"),
      volumeMounts = { { name = "files", mountPath = gitgate.CONF_DIR, readOnly = true },
                       { name = "repos", mountPath = gitgate.REPO_DIR } },
   }
   local spec = objects.base_pod_spec(gitgate.UID)
   spec.containers = { c }
   spec.hostAliases = #aliases > 0 and aliases or nil
   spec.volumes = {
      { name = "files", secret = { secretName = M.SECRET, items = list, defaultMode = MODE_READ } },
      { name = "repos", emptyDir = {} },
   }
   return { apiVersion = "v1", kind = "Pod", spec = spec,
            metadata = { name = M.NAME, namespace = objects.namespace(plan), labels = objects.labels(plan, M.ROLE) } }
end

function M.service(plan)
   return objects.service(plan, M.NAME, M.ROLE, gitgate.PORT)
end

-- A git config value or subsection name, quoted for git's config format.
local function quoted(s)
   return '"' .. tostring(s):gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

--- The agent's /etc/gitconfig: url.<gate>.insteadOf per upstream spelling,
-- user.name and user.email (gitgate.agent_settings).
function M.gitconfig(plan)
   local lines = { "# Rendered by claude-bottle: every upstream goes through the git gate." }
   for _, kv in ipairs(gitgate.agent_settings(plan.git)) do
      local url = kv[1]:match("^url%.(.*)%.insteadOf$")
      if url then
         lines[#lines + 1] = ("[url %s]\n\tinsteadOf = %s"):format(quoted(url), quoted(kv[2]))
      else
         local section, key = kv[1]:match("^(%w+)%.(%w+)$")
         lines[#lines + 1] = ("[%s]\n\t%s = %s"):format(section, key, quoted(kv[2]))
      end
   end
   return table.concat(lines, "\n") .. "\n"
end

--- The TCP ports the gate forwards to.
function M.upstream_ports(plan)
   local seen, out = {}, {}
   for _, e in ipairs(plan.git or {}) do
      if not seen[e.port] then seen[e.port] = true; out[#out + 1] = e.port end
   end
   table.sort(out)
   return out
end

--- The addresses the entries pin (extra_hosts), as /32 ranges: the gate may
-- reach them even inside the private ranges, as the user named them.
function M.pinned(plan)
   local out = {}
   for _, hostport in ipairs(gitgate.extra_hosts(plan.git or {})) do
      out[#out + 1] = hostport:match(":([^:]+)$") .. "/32"
   end
   return out
end

return M
