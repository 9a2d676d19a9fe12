-- The kubernetes backend: carries out a plan on a cluster through its API
-- (core.http, JSON through lua-cjson), one Namespace per bottle, so that the
-- agent's only way out is its pipelock Pod: NetworkPolicies that deny
-- everything first, then allow the agent to pipelock's port and pipelock to
-- the allowed ports outside the cluster.  kubectl is used only for the
-- interactive terminal of `attach`, as the docker backend uses the docker
-- CLI for its own.  Interface: docs/backends.md.
local core = require "bottle.core"
local kubeconfig = require "bottle.backend.kubernetes.kubeconfig"
local client_mod = require "bottle.backend.kubernetes.client"
local objects = require "bottle.backend.kubernetes.objects"
local inventory = require "bottle.backend.kubernetes.inventory"
local pods = require "bottle.backend.kubernetes.pods"
local access = require "bottle.backend.kubernetes.access"
local ca = require "bottle.backend.kubernetes.ca"
local skills = require "bottle.backend.kubernetes.skills"
local doctor = require "bottle.backend.kubernetes.doctor"
local git_gate = require "bottle.backend.kubernetes.git_gate"
local cred_proxy = require "bottle.backend.kubernetes.cred_proxy"
local gitgate = require "bottle.gitgate"
local launcher = require "bottle.backend.docker.resources"   -- launcher_id/launcher_alive read /proc only

local M = {}

-- The RuntimeClass handler that means gVisor.
M.GVISOR_HANDLER = "runsc"

local Kube = {}
Kube.__index = Kube

--- M.new(opts) → a kubernetes backend instance.
-- opts.context: the kubeconfig context (else its current-context);
-- opts.conn: a connection (specs), read from the kubeconfig on first use
-- otherwise; opts.wait: wait for the Pods to be Ready (default true;
-- BOTTLE_KUBE_WAIT=0 turns it off: `up` then returns once the server has
-- accepted every object, which is all a control plane without nodes can do).
function M.new(opts)
   opts = opts or {}
   if type(opts) ~= "table" then error("kubernetes.new: opts must be a table", 2) end
   local wait = opts.wait
   if wait == nil then wait = os.getenv("BOTTLE_KUBE_WAIT") ~= "0" end
   return setmetatable({ context = opts.context, conn = opts.conn, images = opts.images or {},
                         wait = wait, ready_timeout = opts.ready_timeout }, Kube)
end

function Kube:client()
   if self.api then return self.api end
   local conn = self.conn
   if not conn then
      local err, code
      conn, err, code = kubeconfig.connection { context = self.context }
      if not conn then return nil, err, code end
      self.conn = conn
   end
   self.api = client_mod.new(conn)
   return self.api
end


-- The runtime and RuntimeClass for the plan's `runtime`.
local function resolve_runtime(c, plan)
   local wanted = plan.runtime or "auto"
   if wanted == "runc" then return "runc" end
   local list = c:get("/apis/node.k8s.io/v1/runtimeclasses")
   local gvisor
   for _, rc in ipairs(list and list.items or {}) do
      if rc.handler == M.GVISOR_HANDLER then gvisor = rc.metadata.name; break end
   end
   if gvisor then return "runsc", gvisor end
   if wanted == "runsc" then
      return nil, ("the cluster has no RuntimeClass whose handler is %s (gVisor): install one, or ask for runtime runc")
         :format(M.GVISOR_HANDLER), "not_ready"
   end
   return "runc"
end

---------------------------------------------------------------------------
-- prepare: checks only.

-- What this backend cannot run yet is refused before anything is made, with
-- the way out: the workspace is Docker's only (it needs exec and tar on a node).
local function unsupported(plan)
   if plan.workspace then
      return "the kubernetes backend cannot copy a workspace yet: pass --no-workspace (or run on Docker)"
   end
   return nil
end

function Kube:prepare(plan, state)
   local why = unsupported(plan)
   if why then return nil, why, "unsupported" end
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local v
   v, msg, code = c:get("/version")
   if not v then return nil, msg, code end
   if plan.git and #plan.git > 0 then
      -- the gate's entries and identity keys, read before anything exists
      local ok, gerr, gcode = gitgate.check(plan.git)
      if not ok then return nil, gerr, gcode end
      local files, ferr, fcode = git_gate.files(plan, state.identities)
      if not files then return nil, ferr, fcode end
   end
   -- the proxy's config is rendered (its routes checked) here; the values
   -- are checked in up, before anything is made (the preflight has none yet)
   if cred_proxy.wanted(plan) then cred_proxy.config(plan) end
   local ns = objects.namespace(plan)
   if #ns > 63 then
      return nil, ("the namespace name %s is longer than 63 characters: give the agent a shorter name"):format(ns),
         "invalid_manifest"
   end
   local reviews
   reviews, msg, code = access.check(c, ns)
   if not reviews then return nil, msg, code end
   local denied = access.denied(reviews)
   if denied then
      return nil, ("the cluster's RBAC does not let you: %s (see the README's Kubernetes section)"):format(denied),
         "not_ready"
   end
   local existing, gerr, gcode = c:get(client_mod.path("v1", "namespaces", nil, ns))
   if existing then
      return nil, ("a namespace named %s already exists: run `bottle cleanup --backend kubernetes` (or `bottle down %s`)")
         :format(ns, plan.slug), "not_ready"
   elseif gcode ~= "not_found" then
      return nil, gerr, gcode
   end
   local runtime, class_or_err, rcode = resolve_runtime(c, plan)
   if not runtime then return nil, class_or_err, rcode end
   state.kube = state.kube or {}
   state.kube.runtime_class = class_or_err
   local files, serr, scode = skills.files(plan)
   if not files then return nil, serr, scode end
   return { runtime = runtime }
end

---------------------------------------------------------------------------
-- up: namespace, policies, CA, pipelock, agent, ready.

-- The cluster's own ranges, which no sidecar may reach: the Service CIDRs
-- and each node's pod CIDRs and addresses (what this user may read of
-- them; the reserved and private ranges are refused in any case).
local function cluster_ranges(c)
   local out = {}
   local cidrs = c:get("/apis/networking.k8s.io/v1/servicecidrs")
   for _, s in ipairs(cidrs and cidrs.items or {}) do
      for _, cidr in ipairs(s.spec and s.spec.cidrs or {}) do out[#out + 1] = cidr end
   end
   local nodes = c:get("/api/v1/nodes")
   for _, n in ipairs(nodes and nodes.items or {}) do
      for _, cidr in ipairs(n.spec and n.spec.podCIDRs or {}) do out[#out + 1] = cidr end
      for _, a in ipairs(n.status and n.status.addresses or {}) do
         if a.type == "InternalIP" or a.type == "ExternalIP" then out[#out + 1] = a.address end
      end
   end
   return out
end

local function create_all(c, list)
   for _, obj in ipairs(list) do
      local made, msg, code = c:create(client_mod.collection(obj), obj)
      if not made then return nil, msg, code end
   end
   return true
end

-- The env values: literals ({ {name, value} }) and secrets ({NAME = value}).
local function env_values(state)
   local literals = {}
   for _, l in ipairs(state.literals or {}) do literals[l.name] = l.value end
   return literals, state.secrets or {}
end

-- The git gate's facts: its files (identities read from the host), the
-- agent's gitconfig, the upstream ports and pinned addresses.
local function git_facts(plan, identities, facts)
   if not (plan.git and #plan.git > 0) then return true end
   local files, msg, code = git_gate.files(plan, identities)
   if not files then return nil, msg, code end
   facts.git_files, facts.gitconfig = files, git_gate.gitconfig(plan)
   facts.git_ports, facts.git_pinned = git_gate.upstream_ports(plan), git_gate.pinned(plan)
   return true
end
M.git_facts = git_facts

-- The agent's env Secrets (literals, secrets; either may be absent) and their names.
function M.env_secrets(plan, literals, secrets)
   local list, names = {}, {}
   for _, pair in ipairs { { objects.NAMES.agent_env, literals }, { objects.NAMES.agent_secrets, secrets } } do
      local s = objects.env_secret(plan, pair[1], pair[2])
      if s then list[#list + 1] = s; names[#names + 1] = s.metadata.name end
   end
   return list, names
end

--- M.objects(plan, facts) → every object of the bottle in creation order
-- (for `up`, the dry run and the specs).
function M.objects(plan, facts)
   local list = { objects.namespace_object(plan, facts.launch or {}) }
   for _, p in ipairs(objects.network_policies(plan, facts)) do list[#list + 1] = p end
   if plan.ca then list[#list + 1] = objects.pipelock_ca(plan, facts.ca) end
   list[#list + 1] = objects.pipelock_config(plan)
   list[#list + 1] = objects.pipelock_pod(plan)
   list[#list + 1] = objects.service(plan, objects.NAMES.pipelock, "pipelock", objects.PROXY_PORT)
   if facts.git_files then
      list[#list + 1] = git_gate.secret(plan, facts.git_files)
      list[#list + 1] = git_gate.pod(plan, facts.git_files)
      list[#list + 1] = git_gate.service(plan)
   end
   if facts.cred_files then
      list[#list + 1] = cred_proxy.secret(plan, facts.cred_files)
      list[#list + 1] = cred_proxy.pod(plan)
      list[#list + 1] = cred_proxy.service(plan)
   end
   local secrets, env_secrets = M.env_secrets(plan, facts.literals, facts.secrets)
   for _, s in ipairs(secrets) do list[#list + 1] = s end
   list[#list + 1] = objects.agent_files(plan, facts.ca and facts.ca.cert_pem, facts.skill_files, facts.gitconfig)
   facts.env_secrets = env_secrets
   list[#list + 1] = objects.agent_pod(plan, facts)
   return list
end

function Kube:up(state, progress)
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local plan = state.plan
   state.kube = state.kube or {}
   local ns = objects.namespace(plan)

   -- Both removals are pushed before anything is made: the Namespace (and
   -- a wait until it is gone) runs last, the agent's Pod first.
   state.teardown:push("namespace " .. ns, function() return inventory.remove(c, { ns }) end)
   state.teardown:push("pod " .. ns .. "/agent", function() return inventory.delete_agent(c, ns) end)

   local literals, secrets = env_values(state)
   local facts = { launch = { detached = state.detach, launcher = launcher.launcher_id() },
                   literals = literals, secrets = secrets, runtime_class = state.kube.runtime_class,
                   service_ips = {} }
   local files, ferr, fcode = skills.files(plan)
   if not files then return nil, ferr, fcode end
   facts.skill_files = files
   local gok, gerr, gcode = git_facts(plan, state.identities, facts)
   if not gok then return nil, gerr, gcode end
   if cred_proxy.wanted(plan) then
      -- rendered before anything exists: a bad value makes nothing
      local cfiles, cerr, ccode = cred_proxy.files(plan, state.credentials)
      if not cfiles then return nil, cerr, ccode end
      facts.cred_files = cfiles
   end
   -- The config goes in exactly as rendered and checked: checked again here
   -- before it is written, as the docker backend's plan was.
   local ok, perr = core.pipelock_check(plan.pipelock.config)
   if not ok then return nil, "pipelock config rejected: " .. tostring(perr), "invalid_config" end

   ok, msg, code = progress("namespace", function()
      local done, err, ecode = create_all(c, { objects.namespace_object(plan, facts.launch) })
      if not done then return nil, err, ecode end
      -- the server refuses Pods until the namespace's `default`
      -- ServiceAccount exists (its admission looks it up), which the
      -- cluster's serviceaccount controller makes a moment later
      return inventory.wait_service_account(c, ns)
   end)
   if not ok then return nil, msg, code end
   ok, msg, code = progress("policies", function()
      facts.cluster_ranges = cluster_ranges(c)
      return create_all(c, objects.network_policies(plan, facts))
   end)
   if not ok then return nil, msg, code end
   if plan.ca then
      ok, msg, code = progress("ca", function()
         local pair, cerr, ccode = ca.make(state)
         if not pair then return nil, cerr, ccode end
         facts.ca = pair
         return create_all(c, { objects.pipelock_ca(plan, pair) })
      end)
      if not ok then return nil, msg, code end
   end
   ok, msg, code = progress("pipelock", function()
      local done, err, ecode = create_all(c, { objects.pipelock_config(plan), objects.pipelock_pod(plan) })
      if not done then return nil, err, ecode end
      local svc
      svc, err, ecode = c:create(client_mod.path("v1", "services", ns),
                                 objects.service(plan, objects.NAMES.pipelock, "pipelock", objects.PROXY_PORT))
      if not svc then return nil, err, ecode end
      facts.service_ips.pipelock = svc.spec and svc.spec.clusterIP
      if not facts.service_ips.pipelock or facts.service_ips.pipelock == "None" then
         return nil, "the server gave pipelock's Service no cluster IP", "api"
      end
      return true
   end)
   if not ok then return nil, msg, code end
   if facts.git_files then
      ok, msg, code = progress("git-gate", function()
         local done, err, ecode = create_all(c, { git_gate.secret(plan, facts.git_files),
                                                 git_gate.pod(plan, facts.git_files) })
         if not done then return nil, err, ecode end
         local svc
         svc, err, ecode = c:create(client_mod.path("v1", "services", ns), git_gate.service(plan))
         if not svc then return nil, err, ecode end
         facts.service_ips.git_gate = svc.spec and svc.spec.clusterIP
         return true
      end)
      if not ok then return nil, msg, code end
   end
   if facts.cred_files then
      ok, msg, code = progress("cred-proxy", function()
         local done, err, ecode = create_all(c, { cred_proxy.secret(plan, facts.cred_files), cred_proxy.pod(plan) })
         if not done then return nil, err, ecode end
         local svc
         svc, err, ecode = c:create(client_mod.path("v1", "services", ns), cred_proxy.service(plan))
         if not svc then return nil, err, ecode end
         facts.service_ips.cred_proxy = svc.spec and svc.spec.clusterIP
         if not facts.service_ips.cred_proxy or facts.service_ips.cred_proxy == "None" then
            return nil, "the server gave the credential proxy's Service no cluster IP", "api"
         end
         return true
      end)
      if not ok then return nil, msg, code end
   end
   ok, msg, code = progress("agent", function()
      local list, env_secrets = M.env_secrets(plan, literals, secrets)
      facts.env_secrets = env_secrets
      list[#list + 1] = objects.agent_files(plan, facts.ca and facts.ca.cert_pem, facts.skill_files, facts.gitconfig)
      list[#list + 1] = objects.agent_pod(plan, facts)
      return create_all(c, list)
   end)
   if not ok then return nil, msg, code end
   if not self.wait then
      state.kube.ready = false
      return progress("ready (not waited for: BOTTLE_KUBE_WAIT=0)", function() return true end)
   end
   return progress("ready", function()
      local names = { objects.NAMES.pipelock, objects.NAMES.agent }
      if facts.git_files then table.insert(names, 2, git_gate.NAME) end
      if facts.cred_files then table.insert(names, #names, cred_proxy.NAME) end
      local done, err, ecode = pods.wait_ready(c, ns, names, self.ready_timeout)
      if not done then return nil, err, ecode end
      state.kube.ready = true
      return pods.check_pipelock(c, ns, objects.NAMES.pipelock, plan.pipelock.yaml)
   end)
end

-- Everything the agent needs is mounted from its ConfigMap (the CA
-- certificate, the bundle with it, the prompt, the skills): nothing to copy.
function Kube:provision(state)
   if not (state.kube and state.kube.ready ~= nil) then
      return nil, "provision: the agent's Pod has not been created", "usage"
   end
   return true
end

---------------------------------------------------------------------------
-- attach: kubectl exec -it (the ecosystem's own terminal client).

function Kube:attach_argv(state)
   local plan = state.plan
   local argv = { "kubectl" }
   if self.context then argv[#argv + 1] = "--context=" .. self.context end
   argv[#argv + 1] = "--namespace=" .. objects.namespace(plan)
   argv[#argv + 1] = "exec"
   argv[#argv + 1] = "-i"
   if core.isatty(0) and core.isatty(1) then argv[#argv + 1] = "-t" end
   argv[#argv + 1] = objects.NAMES.agent
   argv[#argv + 1] = "--"
   for _, word in ipairs(plan.command) do argv[#argv + 1] = word end
   return argv
end

M.ATTACH_GRACE = 2

function Kube:attach(state)
   -- the env values are in the Pod's environment already (its Secrets)
   return core.spawn(self:attach_argv(state), { signal_grace = M.ATTACH_GRACE })
end

---------------------------------------------------------------------------
-- down, list, cleanup: by label.

local function slug_of(ns) return ns.metadata.labels[objects.SLUG] end

function Kube:down(target)
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local found
   found, msg, code = inventory.find(c, not target.all and target.slug or nil)
   if not found then return nil, msg, code end
   if #found == 0 then
      if target.slug then return nil, ("no bottle %q (see `bottle list`)"):format(target.slug), "not_found" end
      return {}
   end
   local names, slugs = {}, {}
   for _, ns in ipairs(found) do
      names[#names + 1] = ns.metadata.name
      slugs[#slugs + 1] = slug_of(ns)
   end
   local ok
   ok, msg, code = inventory.remove(c, names)
   if not ok then return nil, msg, code end
   table.sort(slugs)
   return slugs
end

-- The bottle's state from its Pods: fixed words only.
local function bottle_state(ns, by_role)
   if ns.metadata.deletionTimestamp then return "terminating" end
   local a, p = by_role.agent, by_role.pipelock
   if not a then return "incomplete", "no agent pod" end
   local ast, awhy = pods.state_of(a)
   if ast ~= "ready" then return "pending", "agent " .. awhy end
   if not p then return "degraded", "no pipelock pod" end
   local pst, pwhy = pods.state_of(p)
   if pst ~= "ready" then return "degraded", "pipelock " .. pwhy end
   return "running"
end

local function epoch(ts)
   local y, mo, d, h, mi, s = tostring(ts or ""):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
   if not y then return nil end
   -- UTC: os.time takes local time, so correct by the offset at that time
   local t = os.time { year = y, month = mo, day = d, hour = h, min = mi, sec = s }
   local utc = os.date("!*t", t)
   utc.isdst = false
   return t + (t - os.time(utc))
end

local function describe(c)
   local found, msg, code = inventory.find(c)
   if not found then return nil, msg, code end
   local out = {}
   for _, ns in ipairs(found) do
      local by_role = inventory.pods(c, ns.metadata.name) or {}
      local state, reason = bottle_state(ns, by_role)
      local ann = ns.metadata.annotations or {}
      local containers = {}
      for role, p in pairs(by_role) do containers[role] = ns.metadata.name .. "/" .. p.metadata.name end
      out[#out + 1] = { slug = slug_of(ns), agent = ann[objects.AGENT], bottle = ann[objects.BOTTLE], state = state,
                        reason = reason, created = epoch(ns.metadata.creationTimestamp), containers = containers,
                        namespace = ns.metadata.name, annotations = ann }
   end
   return out
end

function Kube:list()
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local out
   out, msg, code = describe(c)
   if not out then return nil, msg, code end
   for _, b in ipairs(out) do b.annotations = nil end
   return out
end

-- Alive (not a leftover): its launcher runs (or cannot be checked from
-- here), or it was launched detached, finished, and its Pods are ready.
local function alive(b, unfinished)
   local id = b.annotations[objects.LAUNCHER]
   if id and id ~= "" and launcher.launcher_alive(id) ~= false then return true end
   if b.state ~= "running" then return false end
   if b.annotations[objects.DETACHED] == "1" then return not (unfinished and unfinished[b.slug]) end
   return not (id and id ~= "")
end

function Kube:cleanup(opts)
   opts = opts or {}
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local bottles
   bottles, msg, code = describe(c)
   if not bottles then return nil, msg, code end
   local report = { containers = {}, networks = {}, namespaces = {}, slugs = {} }
   local names = {}
   for _, b in ipairs(bottles) do
      if not alive(b, opts.unfinished) then
         report.slugs[#report.slugs + 1] = b.slug
         report.namespaces[#report.namespaces + 1] = { slug = b.slug, name = b.namespace, role = "namespace" }
         -- launch.cleanup counts `containers`: the namespace is what goes
         report.containers[#report.containers + 1] = { slug = b.slug, name = b.namespace, role = "namespace",
                                                       state = b.state }
         names[#names + 1] = b.namespace
      end
   end
   if opts.apply and #names > 0 then
      local ok
      ok, msg, code = inventory.remove(c, names)
      if not ok then return nil, msg, code end
   end
   return report
end

---------------------------------------------------------------------------
-- doctor, logs, check

function Kube:doctor()
   local c, msg = self:client()
   if not c then return { { check = "kubeconfig", ok = false, detail = msg } } end
   return doctor.run(c, self.conn)
end

function Kube:logs(slug, opts)
   opts = opts or {}
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local found
   found, msg, code = inventory.find(c, slug)
   if not found then return nil, msg, code end
   if #found == 0 then return nil, ("no bottle %q (see `bottle list`)"):format(slug), "not_found" end
   local ns = found[1].metadata.name
   local pod
   pod, msg, code = c:get(client_mod.path("v1", "pods", ns, objects.NAMES.pipelock))
   if not pod then return nil, msg, code end
   if not (pod.spec and pod.spec.nodeName) then
      local _, why = pods.state_of(pod)
      return nil, ("pipelock's Pod has not started, so it has no log yet: %s"):format(why), "not_ready"
   end
   local on_line = opts.on_line or function(line) io.stdout:write(line, "\n") end
   local stopped, partial = false, ""
   local query = { container = "pipelock" }
   if opts.follow then query.follow = "true" end
   if opts.tail then query.tailLines = tostring(opts.tail) end
   local ok
   ok, msg, code = c:request("GET", client_mod.path("v1", "pods", ns, objects.NAMES.pipelock)
                                .. "/log", {
      query = query, accept = "*/*", timeout_ms = opts.follow and 0 or nil,
      on_data = function(chunk)
         if stopped then return false end
         partial = partial .. chunk
         local rest = 1
         for line, next_at in partial:gmatch("([^\n]*)\n()") do
            rest = next_at
            if on_line(line) == false then stopped = true; return false end
         end
         partial = partial:sub(rest)
      end,
   })
   if not ok and not stopped then return nil, msg, code end
   return true
end

--- check(plan) → {{kind, name, ok, detail}}: every object of the plan
-- sent with dryRun=All, so that the server's own schema, defaulting,
-- admission and validation judge them; nothing is stored.  Values the
-- launch makes later (the CA, env values) are placeholders.  The
-- namespaced objects are sent to the namespace `default` (a dry-run
-- Namespace is not stored, so objects cannot go into it).
function Kube:check(plan)
   local c, msg, code = self:client()
   if not c then return nil, msg, code end
   local names = {}
   for _, e in ipairs(plan.env or {}) do names[e.name] = "(set at up)" end
   local files, ferr, fcode = skills.files(plan)
   if not files then return nil, ferr, fcode end
   local facts = {
      launch = { detached = false, launcher = "" }, literals = names, secrets = {},
      ca = plan.ca and { cert_pem = "(made at up)", key_pem = "(made at up)" } or nil,
      cluster_ranges = cluster_ranges(c), service_ips = { pipelock = "10.0.0.10" }, skill_files = files,
   }
   if plan.git and #plan.git > 0 then
      -- the identities are read at up: the dry run carries placeholders
      local keys = {}
      for _, e in ipairs(plan.git) do keys[e.name] = "(read at up)" end
      local gfiles, gerr, gcode = gitgate.files(plan.git, keys)
      if not gfiles then return nil, gerr, gcode end
      facts.git_files, facts.gitconfig = gfiles, git_gate.gitconfig(plan)
      facts.git_ports, facts.git_pinned = git_gate.upstream_ports(plan), git_gate.pinned(plan)
      facts.service_ips.git_gate = "10.0.0.11"
   end
   if cred_proxy.wanted(plan) then
      -- the values are read at up: the dry run carries placeholders
      local values = {}
      for _, r in ipairs(plan.credentials) do values[r.name] = "(set at up)" end
      local cfiles, cerr, ccode = cred_proxy.files(plan, values)
      if not cfiles then return nil, cerr, ccode end
      facts.cred_files = cfiles
      facts.service_ips.cred_proxy = "10.0.0.12"
   end
   local runtime, class = resolve_runtime(c, plan)
   if runtime then facts.runtime_class = class end
   local results = {}
   for _, obj in ipairs(M.objects(plan, facts)) do
      local path
      if obj.kind == "Namespace" then
         path = client_mod.collection(obj)
      else
         obj.metadata.namespace = "default"
         path = client_mod.collection(obj)
      end
      local done, err = c:create(path, obj, { query = { dryRun = "All" } })
      results[#results + 1] = { kind = obj.kind, name = obj.metadata.name, ok = done ~= nil, detail = err }
   end
   return results
end

M.Kube = Kube
M.epoch = epoch

return M
