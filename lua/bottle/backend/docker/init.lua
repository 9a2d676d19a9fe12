-- The docker backend: carries out a plan against a Docker Engine through its
-- HTTP API over the unix socket (bottle.backend.docker.api), so that the
-- agent's only way out is its pipelock sidecar. The docker CLI is used only
-- for the interactive terminal of `attach`. Interface: docs/backends.md.
local core = require "bottle.core"
local cjson = require "cjson"
local api_mod = require "bottle.backend.docker.api"
local resources = require "bottle.backend.docker.resources"
local networks = require "bottle.backend.docker.networks"
local patience = require "bottle.backend.docker.patience"
local subnets = require "bottle.subnets"
local images = require "bottle.images"
local docker_images = require "bottle.backend.docker.images"
local ca = require "bottle.backend.docker.ca"
local pipelock = require "bottle.backend.docker.pipelock"
local agent = require "bottle.backend.docker.agent"
local provision = require "bottle.backend.docker.provision"
local stream = require "bottle.backend.docker.stream"
local firewall = require "bottle.backend.docker.firewall"
local limits = require "bottle.backend.docker.limits"
local bottle_state = require "bottle.backend.docker.bottle_state"
local dns_probe = require "bottle.backend.docker.dns_probe"
local env_file = require "bottle.backend.docker.env_file"
local cred_proxy = require "bottle.backend.docker.cred_proxy"
local copy = require "bottle.backend.docker.copy"

local M = {}

M.MIN_API_VERSION = "1.41"
-- The images a plan names by default (for doctor, which has no plan).
local planner = require "bottle.plan"
M.DEFAULT_IMAGES = { pipelock = planner.PIPELOCK_IMAGE, agent = planner.AGENT_IMAGE,
                     git_gate = planner.GIT_GATE_IMAGE, firewall = firewall.DEFAULT_IMAGE,
                     cred_proxy = planner.CRED_PROXY_IMAGE }

local function version_at_least(v, min)
   local a1, a2 = tostring(v):match("^(%d+)%.(%d+)")
   local b1, b2 = min:match("^(%d+)%.(%d+)")
   if not a1 then return false end
   a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1), tonumber(b2)
   return a1 > b1 or (a1 == b1 and a2 >= b2)
end

-- An instance: its own engine client and the images `doctor` checks; no
-- state outside it, so two instances (two engines) never share anything.
local Docker = {}
Docker.__index = Docker

--- M.new(opts) → a docker backend instance.
-- opts.client: an engine client (bottle.backend.docker.api; specs pass one
-- with fakes), made from DOCKER_HOST on first use otherwise.
-- opts.images: {pipelock, agent, git_gate, firewall} for `doctor`, which has
-- no plan (the launcher resolves them once, above the backend).
-- opts.network_pool: CIDR strings the bottles' subnets are carved from
-- (the user config's network_pool; bottle.subnets.DEFAULT_POOL otherwise).
function M.new(opts)
   opts = opts or {}
   if type(opts) ~= "table" then error("docker.new: opts must be a table", 2) end
   return setmetatable({ client = opts.client, images = opts.images or {},
                         network_pool = opts.network_pool, network_pool_file = opts.network_pool_file,
                         dockerfiles = opts.dockerfiles }, Docker)
end

-- The pool the bottles' subnets come from: opts.network_pool (the user
-- config's network_pool, CIDR strings) or bottle.subnets' default.
function Docker:network_pools()
   local list = self.network_pool or subnets.DEFAULT_POOL
   local pools, msg = subnets.check_pool(list)
   if not pools then error("docker: network_pool: " .. msg, 2) end
   return pools, list
end

function Docker:api()
   if self.client then return self.client end
   local c, msg, code = api_mod.new()
   if not c then return nil, msg, code end
   self.client = c
   return c
end

-- The client a launch, its provisioning and a `down` use: each engine call
-- may take patience.CALL_MS on a loaded engine (a fake client in a unit
-- spec may have no patient()).
local function patient(c)
   return c.patient and c:patient(patience.CALL_MS) or c
end

local function unreachable(msg, code)
   local ep = api_mod.endpoint()
   return nil, ("cannot reach the Docker Engine at %s: %s (is dockerd running? set DOCKER_HOST)")
      :format(ep and ep.name or tostring(os.getenv("DOCKER_HOST")), msg), code
end

-- How to get an image that is missing: `up` fetches it itself (unless
-- --no-pull), or the exact command.
local function image_hint(role, image, dir)
   local src = images.source(role, image, dir)
   if not src then return "it is not an image reference" end
   if src.how == "make" then return "build it with `make test-images`" end
   return ("`bottle up` %s it (or run `%s`)"):format(src.how == "build" and "builds" or "pulls",
      images.command(image, src))
end

-- The engine's version record, checked: reachable, API new enough.  Not the
-- version against CVE-2024-29018: distributions backport its fix, so
-- `doctor` tests the behaviour instead (dns_probe.lua).
local function check_engine(c)
   local v, msg, code = c:engine_version()
   if not v then return unreachable(msg, code) end
   if not version_at_least(v.ApiVersion, M.MIN_API_VERSION) then
      return nil, ("the Docker Engine's API is %s; claude-bottle needs %s or later (Engine 20.10+)")
         :format(tostring(v.ApiVersion), M.MIN_API_VERSION), "engine_version"
   end
   return v
end

---------------------------------------------------------------------------
-- prepare: checks only, all at once.

function Docker:prepare(plan, state)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local v
   v, msg, code = check_engine(c)
   if not v then return nil, msg, code end

   local calls, kinds = {}, {}
   local function add(kind, call) calls[#calls + 1] = call; kinds[#kinds + 1] = kind end
   add({ "info" }, { "engine info", "GET", "/info" })
   local with_git = require("bottle.gitgate").needed(plan)   -- git entries, or a copied workspace
   local with_creds = cred_proxy.wanted(plan)
   for _, e in ipairs(self:plan_images(plan)) do
      add({ "image", e.role, e.image }, { "inspect image " .. e.image, "GET",
                                          "/images/" .. api_mod.urlencode(e.image) .. "/json" })
   end
   if with_git then
      -- the gate's entries and identity keys, read before anything exists
      local gitgate = require "bottle.gitgate"
      local ok, gerr, gcode = gitgate.check(plan.git)
      if not ok then return nil, gerr, gcode end
      for _, e in ipairs(plan.git) do
         local key, kerr, kcode = gitgate.read_identity(e.name, (state.identities or {})[e.name])
         if not key then return nil, kerr, kcode end
      end
   end
   local container_names = { plan.names.agent, plan.names.pipelock, ca.container_name(plan),
                             firewall.helper_name(plan, "agent"), firewall.helper_name(plan, "pipelock") }
   if with_git then
      container_names[#container_names + 1] = plan.names.git_gate
      container_names[#container_names + 1] = firewall.helper_name(plan, "git-gate")
   end
   if with_creds then
      container_names[#container_names + 1] = plan.names.cred_proxy
      container_names[#container_names + 1] = firewall.helper_name(plan, "cred-proxy")
   end
   for _, name in ipairs(container_names) do
      add({ "name", "container", name }, { "inspect container " .. name, "GET", "/containers/" .. name .. "/json" })
   end
   for _, name in ipairs { networks.internal(plan), networks.egress(plan) } do
      add({ "name", "network", name }, { "inspect network " .. name, "GET", "/networks/" .. name })
   end

   local problems = {}
   local info
   for i, r in ipairs(c:many(calls)) do
      local kind = kinds[i]
      if kind[1] == "info" then
         if not r[1] then return unreachable(r[2], r[3]) end
         info = r[1]
      elseif kind[1] == "image" then
         -- an image `up` is about to fetch (state.fetching) is no problem
         if not r[1] and not (r[3] == "not_found" and (state.fetching or {})[kind[3]]) then
            if r[3] == "not_found" then
               problems[#problems + 1] = ("the %s image %s is not present: %s"):format(kind[2], kind[3],
                  image_hint(kind[2], kind[3], self.dockerfiles))
            else
               problems[#problems + 1] = r[2]
            end
         end
      else
         if r[1] then
            problems[#problems + 1] = ("a %s named %s already exists: run `bottle cleanup` (or `bottle down %s`)")
               :format(kind[2], kind[3], plan.slug)
         elseif r[3] ~= "not_found" then
            problems[#problems + 1] = r[2]
         end
      end
   end
   if #problems > 0 then return nil, table.concat(problems, "; "), "not_ready" end

   state.docker = state.docker or {}
   state.docker.ncpu = math.tointeger(info.NCPU) or info.NCPU
   local agent_limits = limits.of(plan, "agent")
   if agent_limits.set and agent_limits.set.cpus and state.docker.ncpu and agent_limits.cpus > state.docker.ncpu then
      return nil, ("resources.cpus is %g but the engine has %d CPUs: lower it to %d or less")
         :format(agent_limits.cpus, state.docker.ncpu, state.docker.ncpu), "invalid_manifest"
   end
   if agent_limits.disk and not limits.disk_limit_supported(info) then
      return nil, ("resources.disk: the engine's storage driver %s cannot limit a container's disk use"
         .. " (overlay2 on xfs with pquota, btrfs, zfs or devicemapper can); remove resources.disk")
         :format(tostring(info.Driver)), "not_ready"
   end

   -- What prepare found, for launch to keep in the state: the plan is not
   -- changed (it says what was asked for, "auto" included).
   local runtimes = info.Runtimes or {}
   local runtime = plan.runtime or "auto"
   if runtime == "auto" then
      runtime = runtimes.runsc and "runsc" or "runc"
   elseif not runtimes[runtime] then
      local have = {}
      for name in pairs(runtimes) do have[#have + 1] = name end
      table.sort(have)
      return nil, ("the engine has no %s runtime (it has: %s)"):format(runtime, table.concat(have, ", ")),
         "not_ready"
   end
   return { runtime = runtime }
end

---------------------------------------------------------------------------
-- images: what a plan runs, present or missing, and fetching the missing.

--- plan_images(plan) → { {role, image} }: the images a launch of `plan`
-- runs (the git gate's only with git remotes); with no plan, every role's
-- configured image.
function Docker:plan_images(plan)
   local out = {}
   if not plan then
      for _, role in ipairs(images.ROLES) do
         out[#out + 1] = { role = role, image = self.images[role] or M.DEFAULT_IMAGES[role] }
      end
      return out
   end
   local with_git = require("bottle.gitgate").needed(plan)   -- git entries, or a copied workspace
   local roles = { "pipelock", "agent", "firewall" }
   if with_git then roles[#roles + 1] = "git_gate" end
   if cred_proxy.wanted(plan) then roles[#roles + 1] = "cred_proxy" end
   for _, role in ipairs(roles) do
      -- the gate's and the helpers' images fall back like their modules do
      local image = role == "git_gate" and require("bottle.backend.docker.git_gate").image(plan)
         or role == "firewall" and firewall.image(plan) or role == "cred_proxy" and cred_proxy.image(plan)
         or plan.images[role]
      out[#out + 1] = { role = role, image = image }
   end
   return out
end

--- image_status(plan) → entries {role, image, present, id, digests, source} |
-- nil, message, code.  source says how a missing one is got
-- (bottle.images.source).
function Docker:image_status(plan)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local list
   list, msg, code = docker_images.status(c, self:plan_images(plan))
   if not list then return unreachable(msg, code) end
   for _, e in ipairs(list) do e.source = images.source(e.role, e.image, self.dockerfiles) end
   return list
end

--- fetch_image(entry, opts) → {how, digest} | nil, message, code: pulls or
-- builds one missing image (opts: records, on_event; see docker/images.lua).
function Docker:fetch_image(entry, opts)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   return docker_images.fetch(c, entry, opts)
end

---------------------------------------------------------------------------
-- up: networks (+ CA container), CA, agent, pipelock, git gate.

function Docker:up(state, progress)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   c = patient(c)
   local plan = state.plan
   state.docker = state.docker or {}
   local with_git = require("bottle.gitgate").needed(plan)   -- git entries, or a copied workspace

   -- Every removal is registered before anything is made, in the order the
   -- teardown must undo them backwards (agent, git gate, pipelock, CA
   -- container, networks). A remover checks the slug label, so one whose
   -- resource was never made, or belongs to someone else, removes nothing.
   state.docker.launch_labels = resources.launch_labels(state.detach)
   local ok
   ok, msg, code = env_file.write(state)
   if not ok then return nil, msg, code end
   local git_gate
   if with_git then
      local loaded, mod = pcall(require, "bottle.backend.docker.git_gate")
      if not loaded then return nil, "git gate: " .. tostring(mod), "unsupported" end
      git_gate = mod
   end
   networks.push_teardown(c, state)
   if plan.ca then ca.push_teardown(c, state) end
   pipelock.push_teardown(c, state)
   if git_gate then git_gate.push_teardown(c, state) end
   if cred_proxy.wanted(plan) then cred_proxy.push_teardown(c, state) end
   agent.push_teardown(c, state)
   firewall.push_teardown(c, state)

   -- The CA container needs no network: it is created and started alongside
   -- the networks, and the ca step collects what it made.
   ok, msg, code = progress("networks", function()
      local extra, err, ecode = networks.create(c, state, self:network_pools(),
                                                plan.ca and { ca.create_call(state) } or nil)
      if not extra then return nil, err, ecode end
      if plan.ca then return ca.start(c, state, extra[1][1]) end
      return true
   end)
   if not ok then return nil, msg, code end
   if plan.ca then
      ok, msg, code = progress("ca", ca.collect, c, state)
      if not ok then return nil, msg, code end
   end
   -- The agent comes before the sidecar so that update-ca-certificates (slow:
   -- it forks per certificate) runs while pipelock starts. Nothing runs in the
   -- agent but its keep-alive until provisioning is done and pipelock ready.
   ok, msg, code = progress("agent", function()
      local done, err, ecode = agent.create(c, state)
      if not done then return nil, err, ecode end
      if plan.ca then return provision.start_ca(c, state) end
      return true
   end)
   if not ok then return nil, msg, code end
   ok, msg, code = progress("pipelock", pipelock.create, c, state)
   if not ok then return nil, msg, code end
   if git_gate then
      ok, msg, code = progress("git-gate", git_gate.create, c, state)
      if not ok then return nil, msg, code end
   end
   if cred_proxy.wanted(plan) then
      ok, msg, code = progress("cred-proxy", cred_proxy.create, c, state)
      if not ok then return nil, msg, code end
   end
   -- The walls under pipelock, in every namespace, before the agent runs
   -- anything but its keep-alive and update-ca-certificates.
   return progress("firewall", firewall.apply, c, state)
end

---------------------------------------------------------------------------
-- copy_in, copy_out: files through the archive endpoint (bottle.workspace).

function Docker:copy_in(state, role, dir, entries)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   return copy.put(c, state, role, dir, entries)
end

function Docker:copy_out(target, role, path)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local found
   found, msg, code = resources.find(c, target.slug)
   if not found then return unreachable(msg, code) end
   return copy.get(c, found, role, path)
end

function Docker:provision(state)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   c = patient(c)
   state.docker = state.docker or {}
   if not state.docker.agent_id then
      return nil, "provision: the agent container has not been created", "usage"
   end
   local ok
   ok, msg, code = provision.run(c, state)
   if not ok then return nil, msg, code end
   ok, msg, code = cred_proxy.provision_agent(c, state)
   if not ok then return nil, "claude settings: " .. tostring(msg), code end
   return true
end

---------------------------------------------------------------------------
-- attach: the one place the docker CLI is used (an interactive terminal).

-- The argv for `docker exec`: literals through the 0600 env-file, secrets
-- by name only (their values travel in the child's environment).
function Docker.attach_argv(state)
   local plan = state.plan
   local argv = { "docker", "exec", "-i" }
   if core.isatty(0) and core.isatty(1) then argv[#argv + 1] = "-t" end
   if state.stage and state.stage.env_file then
      argv[#argv + 1] = "--env-file"
      argv[#argv + 1] = state.stage.env_file
   end
   local names = {}
   for name in pairs(state.secrets or {}) do names[#names + 1] = name end
   table.sort(names)
   for _, name in ipairs(names) do
      argv[#argv + 1] = "-e"
      argv[#argv + 1] = name
   end
   if plan.workspace and plan.workspace.path then   -- Claude Code starts in the project
      argv[#argv + 1] = "-w"
      argv[#argv + 1] = plan.workspace.path
   end
   argv[#argv + 1] = plan.names.agent
   for _, word in ipairs(plan.command) do argv[#argv + 1] = word end
   return argv
end

-- Seconds a signalled session gets to end on SIGTERM before SIGKILL.
M.ATTACH_GRACE = 2

function Docker:attach(state)
   return core.spawn(Docker.attach_argv(state), { env = state.secrets or {}, signal_grace = M.ATTACH_GRACE })
end

---------------------------------------------------------------------------
-- down, list, cleanup: found by label.

-- → slugs, timings ({find, containers, networks} in seconds)
function Docker:down(target)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   c = patient(c)
   local found
   local t0 = core.monotonic()
   found, msg, code = resources.find(c, not target.all and target.slug or nil)
   local timings = { find = core.monotonic() - t0 }
   if not found then return unreachable(msg, code) end
   local slugs, seen = {}, {}
   for _, kind in ipairs { "containers", "networks" } do
      for _, r in ipairs(found[kind]) do
         if r.slug and not seen[r.slug] then seen[r.slug] = true; slugs[#slugs + 1] = r.slug end
      end
   end
   table.sort(slugs)
   if #slugs == 0 and target.slug then
      return nil, ("no bottle %q (see `bottle list`)"):format(target.slug), "not_found"
   end
   local ok
   ok, msg, code = resources.remove(c, found, timings)
   if not ok then return nil, msg, code end
   return slugs, timings
end

-- Groups found resources by slug.
local function by_slug(found)
   local bottles, order = {}, {}
   local function get(slug)
      if not bottles[slug] then
         bottles[slug] = { slug = slug, containers = {}, networks = {}, roles = {} }
         order[#order + 1] = slug
      end
      return bottles[slug]
   end
   for _, ctr in ipairs(found.containers) do
      local b = get(ctr.slug or "?")
      b.containers[#b.containers + 1] = ctr
      if ctr.role then b.roles[ctr.role] = ctr end
   end
   for _, n in ipairs(found.networks) do
      local b = get(n.slug or "?")
      b.networks[#b.networks + 1] = n
   end
   table.sort(order)
   return bottles, order
end

function Docker:list()
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local found
   found, msg, code = resources.find(c)
   if not found then return unreachable(msg, code) end
   local bottles, order = by_slug(found)
   local out = {}
   for _, slug in ipairs(order) do
      local b = bottles[slug]
      local a = b.roles.agent
      local any = a or b.containers[1]
      local labels = any and any.labels or (b.networks[1] and b.networks[1].labels) or {}
      local containers, created = {}, nil
      for _, ctr in ipairs(b.containers) do
         containers[ctr.role or ctr.name] = ctr.name
         if ctr.created and (not created or ctr.created < created) then created = ctr.created end
      end
      local state, reason = bottle_state.of(b.roles)
      out[#out + 1] = {
         slug = slug, agent = labels[resources.AGENT], bottle = labels[resources.BOTTLE],
         state = state, reason = reason, created = created, containers = containers,
      }
   end
   return out
end

-- Is this bottle alive (so not a leftover)? Its launcher process still runs
-- (a launch in progress, an attached session) or cannot be checked from here;
-- or it was launched detached and its agent and pipelock run.
-- unfinished: {slug = true} for launches whose stage directory lacks the
-- launched mark (launch.lua): a detached bottle among them whose launcher
-- is dead was killed half way, not left running on purpose.
local function alive(b, unfinished)
   local checked = false
   for _, kind in ipairs { "containers", "networks" } do
      for _, r in ipairs(b[kind]) do
         local launcher = r.labels[resources.LAUNCHER]
         if launcher and launcher ~= "" then
            checked = true
            if resources.launcher_alive(launcher) ~= false then return true end
         end
      end
   end
   local a, p = b.roles.agent, b.roles.pipelock
   local running = a and p and a.state == "running" and p.state == "running"
   if not running then return false end
   if a.labels[resources.DETACHED] == "1" then return not (unfinished and unfinished[b.slug]) end
   return not checked   -- attached: alive only if nobody can say its launcher died
end

function Docker:cleanup(opts)
   opts = opts or {}
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local found
   found, msg, code = resources.find(c)
   if not found then return unreachable(msg, code) end
   local bottles, order = by_slug(found)
   local doomed = { containers = {}, networks = {} }
   local report = { containers = {}, networks = {}, slugs = {} }
   for _, slug in ipairs(order) do
      local b = bottles[slug]
      -- kept: bottles whose session ended with pushes not yet home (launch.lua)
      if not alive(b, opts.unfinished) and not (opts.kept and opts.kept[slug]) then
         report.slugs[#report.slugs + 1] = slug
         for _, ctr in ipairs(b.containers) do
            doomed.containers[#doomed.containers + 1] = ctr
            report.containers[#report.containers + 1] = { slug = slug, name = ctr.name, role = ctr.role,
                                                          state = ctr.state }
         end
         for _, n in ipairs(b.networks) do
            doomed.networks[#doomed.networks + 1] = n
            report.networks[#report.networks + 1] = { slug = slug, name = n.name, role = n.role }
         end
      end
   end
   if opts.apply then
      local ok
      ok, msg, code = resources.remove(c, doomed)
      if not ok then return nil, msg, code end
   end
   return report
end

---------------------------------------------------------------------------
-- doctor, logs

-- The engine's version string, for the terminal: nothing but what versions
-- are made of.
local function printable_version(v)
   return (tostring(v):sub(1, 64):gsub("[^%w%.%+%-~_]", "?"))
end

-- CVE-2024-29018: the probe's finding, then the version against the
-- advisory's ranges (a warning only: a distribution may carry the fix).
local function dns_checks(c, version, image, add)
   local r, msg = dns_probe.run(c, image)
   -- A leaking engine is a warning, not a failure: a bottle's agent cannot
   -- reach the engine's resolver at all (its firewall refuses 127.0.0.11
   -- and the sidecars' names are in its /etc/hosts).
   if r then
      add("internal DNS (probe)", not r.leaks,
          (r.leaks and "LEAKS (CVE-2024-29018): " or "") .. r.detail, { optional = true })
   else
      add("internal DNS (probe)", false, "the probe could not run: "
          .. tostring(msg):gsub("[%c\128-\255]", function(ch) return ("\\x%02x"):format(ch:byte()) end))
   end
   add("bottle DNS", true, "closed in each agent's own firewall whatever the engine does: "
       .. "Docker's resolver is refused and the sidecars' names come from /etc/hosts")
   local affected = dns_probe.version_affected(version)
   local shown = printable_version(version)
   add("CVE-2024-29018 by version", affected == false,
       affected == nil and ("cannot read Engine version %s; the probe above tests the behaviour"):format(shown)
       or ("Engine %s is %s the advisory's affected ranges (%s)%s"):format(shown, affected and "in" or "outside",
          dns_probe.RANGES, affected and "; a distribution may have backported the fix: the probe above decides" or ""),
       { optional = true })
end

-- The network pool: where it comes from, how full it is, and whether a
-- network that is not a bottle's (or a route of this host) sits in it.
function Docker:pool_check(c, add)
   local pools, list = self:network_pools()
   local taken = networks.taken(c) or {}
   local inside, foreign = 0, {}
   local ours = {}
   for _, n in ipairs(c:network_list { label = { resources.SLUG } } or {}) do
      for _, cfg in ipairs((n.IPAM or {}).Config or {}) do ours[cfg.Subnet or ""] = true end
   end
   for _, t in ipairs(taken) do
      for _, p in ipairs(pools) do
         if subnets.overlaps(t, p) then
            local name = subnets.format(t.base, t.bits)
            if ours[name] then inside = inside + 1 else foreign[#foreign + 1] = name end
            break
         end
      end
   end
   add("network pool", true, ("%s (%s): room for about %d bottles, %d bottle networks in it%s"):format(
      table.concat(list, ", "), self.network_pool and ("network_pool in " .. (self.network_pool_file or "the config"))
         or "the default; set network_pool in ~/.config/claude-bottle/config.yaml",
      subnets.capacity(pools), inside,
      #foreign > 0 and ("; skipped, in use by others: " .. table.concat(foreign, ", ")) or ""))
end

function Docker:doctor()
   local checks = {}
   local function add(check, ok, detail, extra)
      local entry = { check = check, ok = ok and true or false, detail = detail }
      for k, v in pairs(extra or {}) do entry[k] = v end
      checks[#checks + 1] = entry
   end
   local ep, emsg = api_mod.endpoint()
   if not ep then
      add("engine reachable", false, emsg)
      return checks
   end
   local c = self:api()
   local v, msg = c:engine_version()
   if not v then
      add("engine reachable", false, ep.name .. ": " .. tostring(msg))
      return checks
   end
   add("engine reachable", true, ("%s: Docker Engine %s"):format(ep.name, printable_version(v.Version)))
   add("API version", version_at_least(v.ApiVersion, M.MIN_API_VERSION),
       ("%s (needs %s or later)"):format(tostring(v.ApiVersion), M.MIN_API_VERSION))
   local configured = {}
   for role, default in pairs(M.DEFAULT_IMAGES) do configured[role] = self.images[role] or default end
   for _, role in ipairs(images.ROLES) do
      local image = configured[role]
      local img, _, icode = c:image_inspect(image)
      local src = images.source(role, image, self.dockerfiles)
      add(role:gsub("_", " ") .. " image present", img ~= nil,
          img and image
             or (image .. (icode == "not_found" and (" is missing: " .. image_hint(role, image, self.dockerfiles)) or "")),
          -- only bottles with git remotes need the gate; one `up` fetches
          -- itself is a warning
          (role == "git_gate" or (src and src.how ~= "make")) and { optional = true } or nil)
   end
   self:pool_check(c, add)
   dns_checks(c, v.Version, configured.agent, add)
   local info = c:info()
   local runsc = info and info.Runtimes and info.Runtimes.runsc ~= nil
   add("gVisor runtime (runsc)", runsc,
       runsc and "available: agents run under gVisor" or "not installed: agents run with runc (optional)",
       { optional = true })
   return checks
end

-- logs(slug, opts): pipelock's decision log (its JSON lines on stdout), and
-- beside it the credential proxy's access log when the bottle has one.
-- opts.on_line(line) hears each line; opts.follow keeps streaming until the
-- sidecars stop or on_line returns false.
function Docker:logs(slug, opts)
   opts = opts or {}
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local found
   found, msg, code = resources.find(c, slug)
   if not found then return unreachable(msg, code) end
   local sidecar, proxy
   for _, ctr in ipairs(found.containers) do
      if ctr.role == "pipelock" then sidecar = ctr end
      if ctr.role == cred_proxy.ROLE then proxy = ctr end
   end
   if not sidecar then return nil, ("no pipelock sidecar for bottle %q (see `bottle list`)"):format(slug), "not_found" end
   local on_line = opts.on_line or function(line) io.stdout:write(line, "\n") end
   if proxy then return M.merged_logs(c, { sidecar, proxy }, opts, on_line) end
   local stopped = false
   local feed = stream.line_splitter(function(line)
      if stopped then return end
      if on_line(line) == false then stopped = true end
   end)
   local ok
   ok, msg, code = c:container_logs(sidecar.id, {
      stdout = true, stderr = false, follow = opts.follow or false, tail = opts.tail,
      on_frame = function(_, payload)
         feed(payload)
         if stopped then return false end
      end,
   })
   if not ok then return nil, msg, code end
   return true
end

---------------------------------------------------------------------------
-- live egress changes (egress_live.lua)

-- egress_read(slug) → {yaml, sha256}: the config the running sidecar has.
function Docker:egress_read(slug)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local found
   found, msg, code = resources.find(c, slug)
   if not found then return unreachable(msg, code) end
   return require("bottle.backend.docker.egress_live").read(c, slug, found)
end

-- egress_apply(slug, yaml, opts) → {sha256, seconds} once pipelock logged
-- that it loaded these bytes; nil, message, "reload_refused" | "timeout"...
function Docker:egress_apply(slug, yaml, opts)
   local c, msg, code = self:api()
   if not c then return nil, msg, code end
   local found
   found, msg, code = resources.find(c, slug)
   if not found then return unreachable(msg, code) end
   return require("bottle.backend.docker.egress_live").apply(c, slug, yaml, opts, found)
end

-- Several sidecars' stdout lines, each read with the engine's timestamps
-- (fixed-width RFC 3339, so they sort as text): merged in time order, or,
-- following, as they come; the timestamp is cut off before on_line.
function M.merged_logs(c, containers, opts, on_line)
   local stopped = false
   local function deliver(line)
      if stopped then return end
      if on_line(line:gsub("^%S+ ", "", 1)) == false then stopped = true end
   end
   local calls, collected = {}, {}
   for i, ctr in ipairs(containers) do
      collected[i] = {}
      local call_opts = { query = { stdout = true, stderr = false, timestamps = true,
                                    follow = opts.follow or false, tail = opts.tail or "all" },
                          raw = true, timeout_ms = opts.follow and 0 or nil }
      if opts.follow then
         local lines = stream.line_splitter(deliver)
         call_opts.on_data = stream.demuxer(function(_, payload)
            lines(payload)
            if stopped then return false end
         end)
      end
      calls[i] = { "logs of " .. ctr.name, "GET", "/containers/" .. ctr.id .. "/logs", call_opts }
   end
   local results = c:many(calls)
   for i, r in ipairs(results) do
      if r[1] == nil and not (stopped and r[3] == "callback") then return nil, r[2], r[3] end
      if not opts.follow then
         local out = stream.split(r[1])
         for line in out:gmatch("[^\n]+") do collected[i][#collected[i] + 1] = line end
      end
   end
   if not opts.follow then
      local all = {}
      for _, lines in ipairs(collected) do
         for _, line in ipairs(lines) do all[#all + 1] = line end
      end
      table.sort(all, function(a, b) return a:match("^%S+") < b:match("^%S+") end)
      for _, line in ipairs(all) do deliver(line) end
   end
   return true
end

M.version_at_least = version_at_least
M.attach_argv = Docker.attach_argv
M._json = cjson

return M
