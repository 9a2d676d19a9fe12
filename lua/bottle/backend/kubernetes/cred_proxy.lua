-- The credential proxy on Kubernetes: a Pod and a Service `cred-proxy` in the
-- bottle's namespace.  Its files are the ones the docker backend renders
-- (lua/bottle/cred_proxy.lua: the nginx config, the fixed entrypoint, the
-- values file with the same escaping and refusals), all in one Secret that
-- only this Pod mounts: the config and entrypoint under CONFIG_DIR, the
-- values file alone at CREDENTIALS_PATH inside a memory-backed emptyDir
-- where nginx keeps its pid and temp files.  Unlike Docker's stdin path the
-- value is stored in the cluster (etcd) while the bottle lives: SECURITY.md.
-- The agent reaches the proxy by the plan's name (hostAliases to the Service
-- IP); the values are in no other object.
local cred_proxy = require "bottle.cred_proxy"
local objects = require "bottle.backend.kubernetes.objects"

local M = {}

M.NAME = "cred-proxy"
M.ROLE = "cred-proxy"
M.SECRET = "cred-proxy-files"
M.UID = 65534

local MODE_READ = tonumber("440", 8)

--- Does this plan have a credential proxy?
function M.wanted(plan)
   return plan.credentials ~= nil and #plan.credentials > 0
end

--- The nginx config (no value in it): the Pod's resolver, from its /etc/resolv.conf.
function M.config(plan)
   return cred_proxy.config(plan.credentials, { resolver_file = cred_proxy.RESOLVER_PATH })
end

--- files(plan, values) → {["nginx.conf"], ["entrypoint.sh"], ["credentials.conf"]}
-- | nil, message, code (a value that could change the config's meaning is
-- refused, naming the credential only).  values = {ROUTE = value}.
function M.files(plan, values)
   local creds, msg, code = cred_proxy.credentials(plan.credentials, values or {})
   if not creds then return nil, msg, code end
   return {
      ["nginx.conf"] = M.config(plan),
      ["entrypoint.sh"] = cred_proxy.entrypoint_script(),
      ["credentials.conf"] = creds,
   }
end

function M.secret(plan, files)
   return { apiVersion = "v1", kind = "Secret", type = "Opaque",
            metadata = { name = M.SECRET, namespace = objects.namespace(plan), labels = objects.labels(plan, M.ROLE) },
            stringData = files }
end

function M.pod(plan)
   local c = {
      name = "cred-proxy", image = plan.images.cred_proxy or "claude-bottle-cred-proxy:latest",
      imagePullPolicy = "IfNotPresent",
      -- the image's own entrypoint is replaced: the proxy runs only what was rendered
      command = { "/bin/sh", cred_proxy.ENTRYPOINT, "--mounted" },
      ports = { { name = "http", containerPort = cred_proxy.PORT, protocol = "TCP" } },
      readinessProbe = { httpGet = { path = cred_proxy.HEALTH_PATH, port = cred_proxy.PORT }, periodSeconds = 2,
                         failureThreshold = 3 },
      securityContext = objects.container_security(M.UID),
      resources = objects.resources(plan, "cred-proxy"),
      volumeMounts = {
         { name = "config", mountPath = cred_proxy.CONFIG_DIR, readOnly = true },
         { name = "run", mountPath = cred_proxy.RUN_DIR },
         { name = "credentials", mountPath = cred_proxy.CREDENTIALS_PATH, subPath = "credentials.conf",
           readOnly = true },
      },
   }
   c.securityContext.readOnlyRootFilesystem = true
   local spec = objects.base_pod_spec(M.UID)
   spec.containers = { c }
   spec.volumes = {
      { name = "config", secret = { secretName = M.SECRET, defaultMode = MODE_READ,
                                    items = { { key = "nginx.conf", path = "nginx.conf" },
                                              { key = "entrypoint.sh", path = "entrypoint.sh" } } } },
      { name = "credentials", secret = { secretName = M.SECRET, defaultMode = MODE_READ,
                                         items = { { key = "credentials.conf", path = "credentials.conf" } } } },
      -- nginx's pid, temp files and the resolver line: in memory
      { name = "run", emptyDir = { medium = "Memory", sizeLimit = "16Mi" } },
   }
   return { apiVersion = "v1", kind = "Pod", spec = spec,
            metadata = { name = M.NAME, namespace = objects.namespace(plan), labels = objects.labels(plan, M.ROLE) } }
end

function M.service(plan)
   return objects.service(plan, M.NAME, M.ROLE, cred_proxy.PORT)
end

return M
