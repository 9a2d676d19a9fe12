-- The objects of one bottle, built from the plan and the launch's facts:
-- pure functions, no API call.  Every object is labelled (claude-bottle=1,
-- the slug, the role) and lives in the bottle's own Namespace.
--
-- NetworkPolicy is additive: the first policy selects every pod and allows
-- nothing, and each later one opens one path, so no rule added here can
-- widen what another did not mean to.  The agent gets no DNS at all: it
-- reaches its sidecars by their Service IPs, written into /etc/hosts with
-- hostAliases, and its resolver points at its own loopback.
local schema = require "bottle.schema"
local firewall = require "bottle.firewall"
local cred_proxy = require "bottle.cred_proxy"

local M = {}

-- M.LABEL, M.SLUG, M.ROLE, M.AGENT, M.BOTTLE, M.DETACHED, M.LAUNCHER
for k, v in pairs(schema.LABELS) do M[k] = v end

M.PROXY_PORT = schema.PROXY_PORT
M.PIPELOCK_UID = 65534
M.AGENT_UID = 1000              -- the agent image's user (node)
M.KEEP_ALIVE = { "sleep", "infinity" }
M.SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
-- Claude Code's settings for the credential proxy (bottle.cred_proxy.claude_settings),
-- mounted from the agent's ConfigMap here and copied into ~/.claude.json at start.
M.CLAUDE_SETTINGS = "/etc/claude-bottle/claude.json"
-- Where the cluster's resolver is by convention (CoreDNS in kubeadm, kind, GKE, EKS...).
M.DNS_PEER = {
   namespaceSelector = { matchLabels = { ["kubernetes.io/metadata.name"] = "kube-system" } },
   podSelector = { matchLabels = { ["k8s-app"] = "kube-dns" } },
}

-- Names inside the bottle's namespace (one bottle per namespace, so short).
M.NAMES = {
   pipelock = "pipelock", agent = "agent", pipelock_config = "pipelock-config", pipelock_ca = "pipelock-ca",
   agent_files = "agent-files", agent_env = "agent-env", agent_secrets = "agent-secrets",
}

function M.namespace(plan)
   return "claude-bottle-" .. plan.slug
end

-- labels(plan, role): the selector labels (role and slug) plus claude-bottle=1.
function M.labels(plan, role)
   return { [M.LABEL] = "1", [M.SLUG] = plan.slug, [M.ROLE] = role }
end

local function meta(plan, name, role, extra)
   local m = { name = name, namespace = M.namespace(plan), labels = M.labels(plan, role) }
   for k, v in pairs(extra or {}) do m[k] = v end
   return m
end

local function sorted_keys(t)
   local keys = {}
   for k in pairs(t or {}) do keys[#keys + 1] = k end
   table.sort(keys)
   return keys
end

--- The Namespace: labels to find it by, the agent's and bottle's names and
-- the launch's facts (detached, launcher) as annotations (free text), and
-- Pod Security "restricted" enforced by the server on everything in it.
function M.namespace_object(plan, launch)
   local labels = M.labels(plan, "bottle")
   labels["pod-security.kubernetes.io/enforce"] = "restricted"
   return {
      apiVersion = "v1", kind = "Namespace",
      metadata = {
         name = M.namespace(plan), labels = labels,
         annotations = { [M.AGENT] = plan.agent, [M.BOTTLE] = plan.bottle,
                         [M.DETACHED] = launch.detached and "1" or "0", [M.LAUNCHER] = launch.launcher or "" },
      },
   }
end

---------------------------------------------------------------------------
-- NetworkPolicies

local function role_peer(role)
   return { podSelector = { matchLabels = { [M.ROLE] = role } } }
end

local function tcp_ports(ports)
   local out = {}
   for _, p in ipairs(ports) do out[#out + 1] = { protocol = "TCP", port = p } end
   return out
end

local DNS_PORTS = { { protocol = "UDP", port = 53 }, { protocol = "TCP", port = 53 } }

local function policy(plan, name, selector_role, types, rules)
   local spec = { podSelector = selector_role and { matchLabels = { [M.ROLE] = selector_role } } or {},
                  policyTypes = types }
   for k, v in pairs(rules or {}) do spec[k] = v end
   return { apiVersion = "networking.k8s.io/v1", kind = "NetworkPolicy",
            metadata = meta(plan, name, "network-policy"), spec = spec }
end

-- ipv4 "a.b.c.d/n" → first address as a number, prefix length.
local function parse_cidr(c)
   local a, b, cc, d, n = tostring(c):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
   if not a then
      a, b, cc, d = tostring(c):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
      n = a and 32
   end
   if not a then return nil end
   n = tonumber(n)
   local ip = ((tonumber(a) << 24) | (tonumber(b) << 16) | (tonumber(cc) << 8) | tonumber(d))
   local mask = n == 0 and 0 or ((0xffffffff << (32 - n)) & 0xffffffff)
   return ip & mask, n
end

-- Is `inner` a strict part of `outer`?  (An ipBlock's except must be.)
function M.cidr_within(inner, outer)
   local i, ni = parse_cidr(inner)
   local o, no = parse_cidr(outer)
   if not i or not o or ni <= no then return false end
   local mask = no == 0 and 0 or ((0xffffffff << (32 - no)) & 0xffffffff)
   return (i & mask) == o
end

local function normal_cidr(c)
   local ip, n = parse_cidr(c)
   if not ip then return nil end
   return ("%d.%d.%d.%d/%d"):format(ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, n)
end

-- The ipBlocks pipelock (or the gate) may reach: the internet but the
-- blocked ranges and the cluster's own, plus what a policy trusts in
-- pipelock's SSRF guard (ssrf.ip_allowlist), minus the cluster's ranges.
function M.outside_blocks(blocked_extra, trusted)
   local except, seen = {}, {}
   local function add(c)
      local n = normal_cidr(c)
      if n and not seen[n] and M.cidr_within(n, "0.0.0.0/0") then seen[n] = true; except[#except + 1] = n end
   end
   for _, c in ipairs(firewall.BLOCKED_V4) do add(c) end
   for _, c in ipairs(blocked_extra or {}) do add(c) end
   table.sort(except)
   local peers = { { ipBlock = { cidr = "0.0.0.0/0", except = except } } }
   for _, t in ipairs(trusted or {}) do
      local n = normal_cidr(t)
      if n then
         local inner = {}
         for _, c in ipairs(blocked_extra or {}) do
            local nc = normal_cidr(c)
            if nc and M.cidr_within(nc, n) then inner[#inner + 1] = nc end
         end
         table.sort(inner)
         peers[#peers + 1] = { ipBlock = { cidr = n, except = #inner > 0 and inner or nil } }
      end
   end
   return peers
end

-- IPv4 entries of the final config's ssrf.ip_allowlist.
function M.trusted(plan)
   local out = {}
   local cfg = plan.pipelock and plan.pipelock.config or {}
   for _, c in ipairs((cfg.ssrf or {}).ip_allowlist or {}) do
      if normal_cidr(c) then out[#out + 1] = c end
   end
   return out
end

--- The policies, deny first.  facts.cluster_ranges: the cluster's pod,
-- service and node ranges (from the API) that no sidecar may reach.
function M.network_policies(plan, facts)
   local ports = plan.egress and plan.egress.ports or { 80, 443 }
   local agent_egress = { { to = { role_peer("pipelock") }, ports = tcp_ports { M.PROXY_PORT } } }
   local with_git = plan.git and #plan.git > 0
   if with_git then
      agent_egress[#agent_egress + 1] = { to = { role_peer("git-gate") }, ports = tcp_ports { schema.GATE_PORT } }
   end
   local with_creds = plan.credentials and #plan.credentials > 0
   if with_creds then
      agent_egress[#agent_egress + 1] = { to = { role_peer("cred-proxy") }, ports = tcp_ports { cred_proxy.PORT } }
   end
   local out = {
      policy(plan, "default-deny", nil, { "Ingress", "Egress" }),
      policy(plan, "agent-egress", "agent", { "Egress" }, { egress = agent_egress }),
      policy(plan, "pipelock-ingress", "pipelock", { "Ingress" }, {
         ingress = { { from = { role_peer("agent") }, ports = tcp_ports { M.PROXY_PORT } } },
      }),
      policy(plan, "pipelock-egress", "pipelock", { "Egress" }, {
         egress = {
            { to = M.outside_blocks(facts.cluster_ranges, M.trusted(plan)), ports = tcp_ports(ports) },
            { to = { M.DNS_PEER }, ports = DNS_PORTS },
         },
      }),
   }
   if with_git then
      -- the gate: from the agent on its port; out to its upstreams' ports
      -- (the addresses the entries pin as well, private or not), and DNS
      local to = M.outside_blocks(facts.cluster_ranges, nil)
      for _, ip in ipairs(facts.git_pinned or {}) do to[#to + 1] = { ipBlock = { cidr = ip } } end
      out[#out + 1] = policy(plan, "git-gate-ingress", "git-gate", { "Ingress" }, {
         ingress = { { from = { role_peer("agent") }, ports = tcp_ports { schema.GATE_PORT } } },
      })
      out[#out + 1] = policy(plan, "git-gate-egress", "git-gate", { "Egress" }, {
         egress = { { to = to, ports = tcp_ports(facts.git_ports or { 22 }) }, { to = { M.DNS_PEER }, ports = DNS_PORTS } },
      })
   end
   if with_creds then
      -- the credential proxy: from the agent on its port; out to its
      -- routes' ports outside the blocked and cluster ranges, and DNS
      out[#out + 1] = policy(plan, "cred-proxy-ingress", "cred-proxy", { "Ingress" }, {
         ingress = { { from = { role_peer("agent") }, ports = tcp_ports { cred_proxy.PORT } } },
      })
      out[#out + 1] = policy(plan, "cred-proxy-egress", "cred-proxy", { "Egress" }, {
         egress = { { to = M.outside_blocks(facts.cluster_ranges, nil), ports = tcp_ports(M.route_ports(plan)) },
                    { to = { M.DNS_PEER }, ports = DNS_PORTS } },
      })
   end
   return out
end

--- The TCP ports of the credential proxy's routes' upstreams.
function M.route_ports(plan)
   local seen, out = {}, {}
   for _, r in ipairs(plan.credentials or {}) do
      if not seen[r.port] then seen[r.port] = true; out[#out + 1] = r.port end
   end
   table.sort(out)
   return out
end

---------------------------------------------------------------------------
-- Pods and their hardening

function M.container_security(uid)
   return {
      runAsNonRoot = true, runAsUser = uid, runAsGroup = uid, allowPrivilegeEscalation = false,
      privileged = false, capabilities = { drop = { "ALL" } }, seccompProfile = { type = "RuntimeDefault" },
   }
end

local function pod_security(uid)
   return { runAsNonRoot = true, runAsUser = uid, runAsGroup = uid, fsGroup = uid,
            seccompProfile = { type = "RuntimeDefault" } }
end

-- plan.resources[role] → requests and limits (pids have no per-pod limit in
-- the API; the node's podPidsLimit applies).
function M.resources(plan, role)
   local r = plan.resources and plan.resources[role]
   if not r then return nil end
   local limits = {}
   if r.memory then limits.memory = tostring(math.tointeger(r.memory) or r.memory) end
   if r.cpus then limits.cpu = ("%dm"):format(math.max(1, math.floor(r.cpus * 1000 + 0.5))) end
   if r.disk then limits["ephemeral-storage"] = tostring(math.tointeger(r.disk) or r.disk) end
   return { limits = limits, requests = limits }
end

function M.base_pod_spec(uid)
   return {
      automountServiceAccountToken = false, enableServiceLinks = false, restartPolicy = "Always",
      terminationGracePeriodSeconds = 5, securityContext = pod_security(uid),
   }
end


--- pipelock's ConfigMap: the config exactly as rendered and checked.
function M.pipelock_config(plan)
   return { apiVersion = "v1", kind = "ConfigMap", metadata = meta(plan, M.NAMES.pipelock_config, "pipelock"),
            data = { ["pipelock.yaml"] = plan.pipelock.yaml } }
end

--- The CA pair, for pipelock's eyes only.
function M.pipelock_ca(plan, ca)
   return { apiVersion = "v1", kind = "Secret", type = "Opaque", metadata = meta(plan, M.NAMES.pipelock_ca, "pipelock"),
            stringData = { ["ca.pem"] = ca.cert_pem, ["ca-key.pem"] = ca.key_pem } }
end

function M.pipelock_pod(plan)
   local mounts = {
      { name = "config", mountPath = plan.pipelock.config_path, subPath = "pipelock.yaml", readOnly = true },
      { name = "tmp", mountPath = "/tmp" },
   }
   local volumes = {
      { name = "config", configMap = { name = M.NAMES.pipelock_config, defaultMode = tonumber("440", 8) } },
      { name = "tmp", emptyDir = { sizeLimit = "64Mi" } },
   }
   if plan.ca then
      mounts[#mounts + 1] = { name = "ca", mountPath = plan.ca.sidecar_cert, subPath = "ca.pem", readOnly = true }
      mounts[#mounts + 1] = { name = "ca", mountPath = plan.ca.sidecar_key, subPath = "ca-key.pem", readOnly = true }
      volumes[#volumes + 1] = { name = "ca", secret = { secretName = M.NAMES.pipelock_ca,
                                                        defaultMode = tonumber("440", 8) } }
   end
   local c = {
      name = "pipelock", image = plan.images.pipelock, imagePullPolicy = "IfNotPresent",
      args = { "run", "--config", plan.pipelock.config_path, "--listen", "0.0.0.0:" .. M.PROXY_PORT },
      ports = { { name = "proxy", containerPort = M.PROXY_PORT, protocol = "TCP" } },
      readinessProbe = { httpGet = { path = "/health", port = M.PROXY_PORT }, periodSeconds = 2, failureThreshold = 3 },
      securityContext = M.container_security(M.PIPELOCK_UID), resources = M.resources(plan, "pipelock"),
      volumeMounts = mounts,
   }
   c.securityContext.readOnlyRootFilesystem = true
   local spec = M.base_pod_spec(M.PIPELOCK_UID)
   spec.containers, spec.volumes = { c }, volumes
   return { apiVersion = "v1", kind = "Pod", metadata = meta(plan, M.NAMES.pipelock, "pipelock"), spec = spec }
end

function M.service(plan, name, role, port)
   return {
      apiVersion = "v1", kind = "Service", metadata = meta(plan, name, role),
      spec = { type = "ClusterIP", selector = { [M.ROLE] = role, [M.SLUG] = plan.slug },
               ports = { { name = "tcp", port = port, targetPort = port, protocol = "TCP" } } },
   }
end

--- The agent's env values: literals and secrets, each in a Secret that
-- only the agent's Pod names (envFrom); nil when there are none.
function M.env_secret(plan, name, values)
   if not next(values or {}) then return nil end
   local data = {}
   for _, k in ipairs(sorted_keys(values)) do data[k] = tostring(values[k]) end
   return { apiVersion = "v1", kind = "Secret", type = "Opaque", metadata = meta(plan, name, "agent"),
            stringData = data }
end

--- The agent's files: the CA certificate (public part only) and the prompt.
-- skills: {{key, path, data}} (files under the skills' directories).
function M.agent_files(plan, ca_cert_pem, skill_files, gitconfig)
   local data = {}
   if plan.ca then data["ca.crt"] = ca_cert_pem end
   if plan.prompt then data["prompt.md"] = plan.prompt.text end
   for _, f in ipairs(skill_files or {}) do data[f.key] = f.data end
   if gitconfig then data.gitconfig = gitconfig end
   local settings = cred_proxy.claude_settings(plan.credentials)
   if settings then data["claude.json"] = require("cjson").encode(settings) end
   return { apiVersion = "v1", kind = "ConfigMap", metadata = meta(plan, M.NAMES.agent_files, "agent"), data = data }
end

-- Claude Code rewrites ~/.claude.json as it runs, so the settings cannot be
-- a read-only mount there: the agent's keep-alive copies them in first, or
-- merges them (with node, which Claude Code's npm install brings) into a
-- file the image has, as the docker backend does; then it sleeps.
M.INSTALL_SETTINGS = table.concat({
   'f="$HOME/.claude.json"',
   'if [ ! -e "$f" ]; then cp "$1" "$f" && chmod 600 "$f"',
   'elif command -v node >/dev/null 2>&1; then node -e \'const fs = require("fs"); const [s, f] = '
      .. 'process.argv.slice(1); fs.writeFileSync(f, JSON.stringify(Object.assign(JSON.parse(fs.readFileSync(f, '
      .. '"utf8")), JSON.parse(fs.readFileSync(s, "utf8")))), { mode: 0o600 })\' "$1" "$f" || true',
   'fi',
   'exec sleep infinity',
}, "\n")

-- facts: service_ips = {pipelock = IP, git_gate = IP, cred_proxy = IP}, runtime_class,
-- env_secrets = {names of the Secrets made by env_secret}, skill_files.
function M.agent_pod(plan, facts)
   local env = {}
   for _, k in ipairs(sorted_keys(plan.agent_env)) do env[#env + 1] = { name = k, value = tostring(plan.agent_env[k]) } end
   local env_from = {}
   for _, name in ipairs(facts.env_secrets or {}) do env_from[#env_from + 1] = { secretRef = { name = name } } end
   local files = { name = "files", configMap = { name = M.NAMES.agent_files, defaultMode = tonumber("444", 8) } }
   local mounts, volumes, init = {}, { files }, nil
   if plan.ca then
      mounts[#mounts + 1] = { name = "files", mountPath = plan.ca.agent_cert, subPath = "ca.crt", readOnly = true }
      -- The system bundle with the CA appended, made by an init container
      -- from the image's own bundle (the agent runs as non-root: no
      -- update-ca-certificates), mounted over the image's file.
      volumes[#volumes + 1] = { name = "bundle", emptyDir = { sizeLimit = "16Mi" } }
      mounts[#mounts + 1] = { name = "bundle", mountPath = M.SYSTEM_BUNDLE, subPath = "ca-certificates.crt",
                              readOnly = true }
      init = { {
         name = "ca-bundle", image = plan.images.agent, imagePullPolicy = "IfNotPresent",
         command = { "sh", "-c", 'cat "$1" "$2" > "$3"', "sh", M.SYSTEM_BUNDLE, "/claude-bottle/ca.crt",
                     "/bundle/ca-certificates.crt" },
         securityContext = M.container_security(M.AGENT_UID), resources = M.resources(plan, "agent"),
         volumeMounts = { { name = "files", mountPath = "/claude-bottle", readOnly = true },
                          { name = "bundle", mountPath = "/bundle" } },
      } }
   end
   if plan.prompt then
      mounts[#mounts + 1] = { name = "files", mountPath = plan.prompt.path, subPath = "prompt.md", readOnly = true }
   end
   for _, f in ipairs(facts.skill_files or {}) do
      mounts[#mounts + 1] = { name = "files", mountPath = f.path, subPath = f.key, readOnly = true }
   end
   local aliases = {}
   if facts.service_ips and facts.service_ips.pipelock then
      aliases[#aliases + 1] = { ip = facts.service_ips.pipelock, hostnames = { plan.names.pipelock } }
   end
   if facts.service_ips and facts.service_ips.git_gate then
      aliases[#aliases + 1] = { ip = facts.service_ips.git_gate, hostnames = { schema.GATE_HOST, plan.names.git_gate } }
   end
   if facts.service_ips and facts.service_ips.cred_proxy then
      aliases[#aliases + 1] = { ip = facts.service_ips.cred_proxy, hostnames = { plan.names.cred_proxy } }
   end
   local command = M.KEEP_ALIVE
   if cred_proxy.claude_settings(plan.credentials) then
      mounts[#mounts + 1] = { name = "files", mountPath = M.CLAUDE_SETTINGS, subPath = "claude.json", readOnly = true }
      command = { "sh", "-c", M.INSTALL_SETTINGS, "sh", M.CLAUDE_SETTINGS }
   end
   if facts.gitconfig then
      mounts[#mounts + 1] = { name = "files", mountPath = "/etc/gitconfig", subPath = "gitconfig", readOnly = true }
   end
   local c = {
      name = "agent", image = plan.images.agent, imagePullPolicy = "IfNotPresent",
      -- the image's own entrypoint is replaced: nothing runs but the keep-alive
      command = command, env = #env > 0 and env or nil, envFrom = #env_from > 0 and env_from or nil,
      securityContext = M.container_security(M.AGENT_UID), resources = M.resources(plan, "agent"),
      volumeMounts = #mounts > 0 and mounts or nil,
   }
   local spec = M.base_pod_spec(M.AGENT_UID)
   spec.containers, spec.initContainers, spec.volumes = { c }, init, volumes
   spec.hostAliases = #aliases > 0 and aliases or nil
   -- no resolver: the sidecars' names are in /etc/hosts, nothing else resolves
   spec.dnsPolicy = "None"
   spec.dnsConfig = { nameservers = { "127.0.0.1" }, options = { { name = "ndots", value = "1" } } }
   spec.runtimeClassName = facts.runtime_class
   return { apiVersion = "v1", kind = "Pod", metadata = meta(plan, M.NAMES.agent, "agent"), spec = spec }
end

return M
