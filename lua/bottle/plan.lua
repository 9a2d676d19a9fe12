-- The launch plan: a pure function from (manifest, agent, policies, options)
-- to a table that says exactly what would run.  It holds no secret value:
-- env entries appear by name and kind, identity files not at all.  Values
-- and host paths the launch needs travel beside it, in `extras`.
local core = require "bottle.core"
local schema = require "bottle.schema"
local policy = require "bottle.policy"
local limits = require "bottle.limits"
local egress_view = require "bottle.egress_view"
local cred_proxy = require "bottle.cred_proxy"

local M = {}

-- Pinned by tag.  The published image's full digest is not known to us (the
-- original tool recorded only part of it), so no digest is pinned yet.
M.PIPELOCK_IMAGE = "ghcr.io/luckypipewrench/pipelock:2.3.0"
M.AGENT_IMAGE = "claude-bottle:latest"
M.GIT_GATE_IMAGE = "claude-bottle-git-gate:latest"   -- built from Dockerfile.git-gate
M.FIREWALL_IMAGE = "claude-bottle-firewall:latest"   -- built from Dockerfile.firewall
M.CRED_PROXY_IMAGE = "claude-bottle-cred-proxy:latest" -- built from Dockerfile.cred-proxy
-- The TCP ports pipelock may open; egress.ports adds to them.
M.DEFAULT_PORTS = { 80, 443 }
M.PROXY_PORT = schema.PROXY_PORT
M.PIPELOCK_CONFIG_PATH = "/etc/pipelock.yaml"
M.CA = {
   sidecar_cert = "/etc/pipelock-ca.pem",
   sidecar_key = "/etc/pipelock-ca-key.pem",
   agent_cert = "/usr/local/share/ca-certificates/claude-bottle-ca.crt",
}
M.AGENT_HOME = "/home/node"
M.SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"   -- after update-ca-certificates
M.PROMPT_PATH = M.AGENT_HOME .. "/.claude-bottle/prompt.md"
M.NO_PROXY = "localhost,127.0.0.1"

-- "My Agent_2" -> "my-agent-2": container and DNS names want [a-z0-9-].
function M.slug_base(name)
   local s = name:lower():gsub("[^a-z0-9]+", "-"):gsub("^-+", ""):gsub("-+$", "")
   return s ~= "" and s or "agent"
end

-- The names of a bottle's parts, the same on every backend (a container on
-- Docker, a Pod and its Service on Kubernetes); how a backend names its
-- networks is its own business.
local function names_for(slug)
   return {
      agent = "claude-bottle-" .. slug,
      pipelock = "claude-bottle-pipelock-" .. slug,
      git_gate = "claude-bottle-git-gate-" .. slug,
      cred_proxy = "claude-bottle-cred-proxy-" .. slug,
   }
end

-- Where each image comes from: $BOTTLE_<ROLE>_IMAGE, else the default.
-- Resolved once, here, for the plan and for `doctor`; no backend reads the
-- environment for an image.  getenv defaults to os.getenv.
M.IMAGE_VARS = { pipelock = "BOTTLE_PIPELOCK_IMAGE", agent = "BOTTLE_AGENT_IMAGE",
                 git_gate = "BOTTLE_GIT_GATE_IMAGE", firewall = "BOTTLE_FIREWALL_IMAGE",
                 cred_proxy = "BOTTLE_CRED_PROXY_IMAGE" }
function M.images(getenv)
   getenv = getenv or os.getenv
   local defaults = { pipelock = M.PIPELOCK_IMAGE, agent = M.AGENT_IMAGE, git_gate = M.GIT_GATE_IMAGE,
                      firewall = M.FIREWALL_IMAGE, cred_proxy = M.CRED_PROXY_IMAGE }
   local out = {}
   for role, var in pairs(M.IMAGE_VARS) do
      local v = getenv(var)
      out[role] = (v and v ~= "") and v or defaults[role]
   end
   return out
end

local function choose_agent(manifest, name)
   if name then
      local a = manifest.agents[name]
      if a then return a end
      local known = {}
      for n in pairs(manifest.agents) do known[#known + 1] = n end
      table.sort(known)
      return nil, ("no agent named %q (agents: %s)"):format(name, table.concat(known, ", ")), "usage"
   end
   if manifest.agents.claude then return manifest.agents.claude end
   return nil, "no agent given and no agent named claude; name one", "usage"
end

-- The agent's environment set by the launcher (no user value in it).
local function agent_env(proxy_url, tls, cfg)
   local env = {
      HTTPS_PROXY = proxy_url, HTTP_PROXY = proxy_url, https_proxy = proxy_url, http_proxy = proxy_url,
      NO_PROXY = M.NO_PROXY, no_proxy = M.NO_PROXY,
   }
   -- The scanned WebSocket path (a socket through HTTPS_PROXY gets no 101):
   -- append the target, ws://... or wss://...
   if cfg.websocket_proxy and cfg.websocket_proxy.enabled then
      env.CLAUDE_BOTTLE_WEBSOCKET_PROXY = proxy_url:gsub("^http:", "ws:") .. "/ws?url="
   end
   if tls then
      -- Node (Claude Code) reads only its own variable; the others use the
      -- system bundle that update-ca-certificates rebuilds with our CA.
      env.NODE_EXTRA_CA_CERTS = M.CA.agent_cert
      env.SSL_CERT_FILE = M.SYSTEM_BUNDLE
      env.REQUESTS_CA_BUNDLE = M.SYSTEM_BUNDLE
      env.GIT_SSL_CAINFO = M.SYSTEM_BUNDLE
   end
   -- a manifest or policy must not be able to set what the launcher sets
   for name in pairs(env) do
      assert(schema.RESERVED_ENV[name], "plan: " .. name .. " is missing from schema.RESERVED_ENV")
   end
   return env
end

local function skills_for(agent, home)
   local out = {}
   for i, name in ipairs(agent.skills or {}) do
      local host_path = ("%s/.claude/skills/%s"):format(home, name)
      local st = core.stat(host_path)
      if not st or st.type ~= "dir" then
         local at = agent.skill_at and agent.skill_at[i] or agent.source
         local where = at and ("%s:%d:%d: "):format(at.file, at.line, at.col) or ""
         return nil, ("%sagent %q: skills[%d]: skill %q not found: expected a directory %s; "
            .. "create it or remove the skill"):format(where, agent.name, i, name, host_path),
            "invalid_manifest"
      end
      out[#out + 1] = { name = name, host_path = host_path,
                        path = ("%s/.claude/skills/%s"):format(M.AGENT_HOME, name) }
   end
   return out
end

-- What the egress will do, from the final config, with the policies that
-- changed each part (egress_view.lua).  A config hook may turn TLS
-- interception on only with the CA paths the launcher provisions.
local function final_egress(view0, bottle_steps, cfg0, config_steps, cfg)
   local steps, cfg_steps = {}, {}
   for i, s in ipairs(bottle_steps) do steps[i] = { policy = s.policy, facts = egress_view.view_facts(s.view) } end
   for i, s in ipairs(config_steps) do cfg_steps[i] = { policy = s.policy, facts = egress_view.facts(s.config) } end
   local changed = egress_view.changed_by(egress_view.view_facts(view0), steps)
   for field, names in pairs(egress_view.changed_by(egress_view.facts(cfg0), cfg_steps)) do
      local all = changed[field] or {}
      for _, n in ipairs(names) do
         if all[#all] ~= n then all[#all + 1] = n end
      end
      changed[field] = all
   end
   local egress = egress_view.facts(cfg)
   egress.changed_by = changed
   local tls = cfg.tls_interception or {}
   if egress.tls_interception and (tls.ca_cert ~= M.CA.sidecar_cert or tls.ca_key ~= M.CA.sidecar_key) then
      return nil, ("policy %s: tls_interception.ca_cert and ca_key must stay %s and %s: the launcher makes "
         .. "that CA for each launch"):format(table.concat(changed.tls_interception or { "?" }, ", "),
         M.CA.sidecar_cert, M.CA.sidecar_key)
   end
   return egress
end

-- The embedded default bottle gets the anthropic route from the first
-- Claude credential the launcher's environment has (cred_proxy.DEFAULT_SOURCES)
-- → the bottle (a copy when a route was added), and the variable's name or false.
local function default_credentials(bottle, set_names)
   if not (bottle.source and bottle.source.file == "<built-in>") or #(bottle.credentials or {}) > 0 then
      return bottle, nil
   end
   for _, src in ipairs(cred_proxy.DEFAULT_SOURCES) do
      if set_names[src.var] then
         local copy = {}
         for k, v in pairs(bottle) do copy[k] = v end
         local api_key = src.auth == "api_key"
         copy.credentials = setmetatable({ {
            name = cred_proxy.ANTHROPIC, upstream = cred_proxy.ANTHROPIC_UPSTREAM, host = "api.anthropic.com",
            port = 443, source = { kind = "host", from = src.var }, auth = src.auth,
            header = api_key and "x-api-key" or "Authorization", scheme = not api_key and "Bearer" or nil,
            oauth_beta = not api_key or nil,
         } }, core.array_mt)
         return copy, src.var
      end
   end
   return bottle, false
end

-- A routed host leaves pipelock's allowlist and passthrough: the agent's only
-- way to it is the credential proxy, with the user's own key.
local function without_routed_hosts(cfg, routes)
   local routed = {}
   for _, r in ipairs(routes) do routed[r.host] = true end
   local function strip(list)
      if type(list) ~= "table" then return list end
      local out = setmetatable({}, getmetatable(list) or core.array_mt)
      for _, h in ipairs(list) do if not routed[h] then out[#out + 1] = h end end
      return out
   end
   cfg.api_allowlist = strip(cfg.api_allowlist)
   if type(cfg.tls_interception) == "table" then
      cfg.tls_interception.passthrough_domains = strip(cfg.tls_interception.passthrough_domains)
   end
   return cfg
end

-- The plan's routes: names, upstreams and where each value comes from (a
-- variable's name or a prompt), never a value.
local function plan_routes(routes, base_url, set_names)
   local out = {}
   for i, r in ipairs(routes) do
      out[i] = { name = r.name, upstream = r.upstream, host = r.host, port = r.port, header = r.header,
                 scheme = r.scheme, env = r.env, auth = r.auth, oauth_beta = r.oauth_beta,
                 url = base_url .. "/" .. r.name,
                 source = { kind = r.source.kind, from = r.source.from, prompt = r.source.prompt },
                 unset = r.source.kind == "host" and not set_names[r.source.from] or nil }
   end
   return setmetatable(out, core.array_mt)
end

-- The egress part of a plan, from a resolved bottle: the policies' bottle
-- hooks, the pipelock config, their config hooks, the check and the YAML.
-- `up` records what it needs (plan.egress_inputs) so that a live change
-- (bottle.egress_change) goes through exactly this again.
-- → {view0, bottle, cfg, yaml, egress, bottle_changes, config_changes} | nil, message, code
function M.egress_config(bottle, policies, ctx)
   -- 1. policies shape the bottle
   local view0 = policy.bottle_view(bottle)
   local view, bottle_changes, bottle_steps = policy.run_bottle(policies, view0, ctx)
   if not view then return nil, bottle_changes, "invalid_policy" end
   bottle = policy.apply_bottle_view(bottle, view)
   local tls = bottle.egress.tls_interception ~= false

   -- 2. the pipelock config, then the policies' config hooks, then the check
   local cfg, cerr, ccode = core.pipelock_config(bottle,
      tls and { ca_cert = M.CA.sidecar_cert, ca_key = M.CA.sidecar_key } or nil)
   if not cfg then return nil, ("bottle %q: %s"):format(bottle.name, cerr), ccode end
   cfg = without_routed_hosts(cfg, bottle.credentials or {})
   local cfg0 = cfg
   local config_changes, config_steps
   cfg, config_changes, config_steps = policy.run_config(policies, cfg, ctx)
   if not cfg then return nil, config_changes, "invalid_policy" end
   local egress, eerr = final_egress(view0, bottle_steps, cfg0, config_steps, cfg)
   if not egress then return nil, eerr, "invalid_policy" end
   local yaml, yerr, ycode = core.pipelock_yaml(cfg)
   if not yaml then return nil, yerr, ycode end
   return { view0 = view0, bottle = bottle, cfg = cfg, yaml = yaml, egress = egress,
            bottle_changes = bottle_changes, config_changes = config_changes }
end

-- What a live egress change rebuilds the config from: the bottle as the
-- policies first saw it (its egress as resolved from the manifest, env names
-- and kinds, the git remotes' policy fields; no value, no identity) and the
-- context they ran in.  Plain data: `up` keeps it in the stage directory.
-- The credential routes go in as names and hosts only, so that a rebuilt
-- config keeps their hosts out of pipelock's allowlist too.
function M.egress_inputs(bottle, view0, ctx)
   local env = {}
   for name, kind in pairs(view0.env or {}) do env[#env + 1] = { name = name, kind = kind } end
   table.sort(env, function(a, b) return a.name < b.name end)
   local routes = setmetatable({}, core.array_mt)
   for i, r in ipairs(bottle.credentials or {}) do
      routes[i] = { name = r.name, upstream = r.upstream, host = r.host, port = r.port }
   end
   -- the git entries as the policies saw them, minus the identity file's
   -- path, which the plan never holds (a rebuilt view simply lacks it)
   local git = setmetatable({}, core.array_mt)
   for i, g in ipairs(view0.git or {}) do
      local e = {}
      for k, v in pairs(g) do if k ~= "identity" then e[k] = v end end
      git[i] = e
   end
   return {
      bottle = { name = bottle.name, egress = bottle.egress, env = env, git = git, credentials = routes },
      ctx = { agent = ctx.agent, bottle = ctx.bottle, backend = ctx.backend, cwd = ctx.cwd },
   }
end

-- opts: manifest, agent (name or nil), policies (loaded, may be empty),
-- options = {backend, cwd, home, env_names, random_hex = fn, pipelock_image, agent_image,
--            workspace = {dir, explicit, mode} (bottle.workspace.plan_entry)}
-- -> plan, extras | nil, message, code
function M.build(opts)
   local manifest = assert(opts.manifest, "plan.build: manifest required")
   local o = opts.options or {}
   local policies = opts.policies or {}
   local backend = o.backend or "docker"

   local agent, err, code = choose_agent(manifest, opts.agent)
   if not agent then return nil, err, code end
   local bottle = manifest.bottles[agent.bottle]
   if not bottle then
      return nil, ("agent %q names bottle %q, which does not exist"):format(agent.name, agent.bottle), "invalid_manifest"
   end

   local logs = {}
   local ctx = { agent = agent.name, bottle = bottle.name, backend = backend, cwd = o.cwd,
                 env_names = o.env_names, logs = logs }

   -- a host variable that is not set is shown now (up refuses it later)
   local set_names = {}
   for _, n in ipairs(o.env_names or core.env_names()) do set_names[n] = true end
   local default_credential
   bottle, default_credential = default_credentials(bottle, set_names)

   -- 1-2. the policies, the pipelock config, the check
   local eg, eerr, ecode = M.egress_config(bottle, policies, ctx)
   if not eg then return nil, eerr, ecode end
   local inputs = M.egress_inputs(bottle, eg.view0, ctx)
   local cfg, yaml, egress = eg.cfg, eg.yaml, eg.egress
   bottle = eg.bottle
   local routes = bottle.credentials or {}
   local tls = egress.tls_interception
   local bottle_changes, config_changes = eg.bottle_changes, eg.config_changes

   local skills, serr, scode = skills_for(agent, o.home or os.getenv("HOME") or "/")
   if not skills then return nil, serr, scode end

   -- 3. names: the slug's random suffix keeps two launches of one agent apart
   local rand = o.random_hex or core.random_hex
   local slug = M.slug_base(agent.name) .. "-" .. rand(3)
   local names = names_for(slug)
   local proxy_url = ("http://%s:%d"):format(names.pipelock, M.PROXY_PORT)

   local env = {}
   for _, e in ipairs(bottle.env or {}) do
      env[#env + 1] = { name = e.name, kind = e.kind, from = e.kind == "host" and e.from or nil,
                        unset = e.kind == "host" and not set_names[e.from or e.name] or nil }
   end

   local git = {}
   for _, g in ipairs(bottle.git or {}) do
      -- host_key and extra_hosts are public; the identity stays in extras
      git[#git + 1] = { name = g.name, upstream = g.upstream, user = g.user, host = g.host, port = g.port,
                        path = g.path, gate_url = schema.gate_url(g.name),
                        host_key = g.host_key, extra_hosts = g.extra_hosts,
                        push = g.push, user_name = g.user_name, user_email = g.user_email }
   end

   -- the user's project (bottle.workspace): copied in, or mounted, or none
   local workspace, werr, wcode = require("bottle.workspace").plan_entry(agent, o.workspace)
   if werr then return nil, werr, wcode end
   if workspace and workspace.mode == "copy" then
      for _, g in ipairs(git) do
         if g.name == workspace.name then
            return nil, ("bottle %q: git entry %q: the name is the workspace's repository in the gate; rename "
               .. "the entry, or pass --no-workspace"):format(bottle.name, g.name), "invalid_manifest"
         end
      end
   end
   local gate = #git > 0 or (workspace ~= nil and workspace.mode == "copy")

   local changes = {}
   for _, c in ipairs(bottle_changes) do changes[#changes + 1] = c end
   for _, c in ipairs(config_changes) do changes[#changes + 1] = c end

   local ports, added_ports, seen_port = {}, {}, {}
   for _, p in ipairs(M.DEFAULT_PORTS) do ports[#ports + 1] = p; seen_port[p] = true end
   for _, p in ipairs(bottle.egress.ports or {}) do
      if not seen_port[p] then
         seen_port[p] = true
         ports[#ports + 1] = p
         added_ports[#added_ports + 1] = p
      end
   end
   table.sort(ports)
   table.sort(added_ports)
   -- the ports are the bottle's (no policy changes them), beside the
   -- egress facts read from the final config
   egress.ports = setmetatable(ports, core.array_mt)
   egress.added_ports = setmetatable(added_ports, core.array_mt)

   -- the credential proxy: its routes, and the agent's variables for them
   local env_of_agent = agent_env(proxy_url, tls, cfg)
   local cred, cred_routes
   if #routes > 0 then
      cred = { host = names.cred_proxy, port = cred_proxy.PORT,
               url = ("http://%s:%d"):format(names.cred_proxy, cred_proxy.PORT) }
      cred_routes = plan_routes(routes, cred.url, set_names)
      env_of_agent.NO_PROXY = M.NO_PROXY .. "," .. names.cred_proxy
      env_of_agent.no_proxy = env_of_agent.NO_PROXY
      for name, value in pairs(cred_proxy.agent_env(routes, cred.url)) do
         for _, e in ipairs(env) do
            if e.name == name then
               return nil, ("bottle %q: env %s is set by the launcher for the credential proxy's routes; "
                  .. "remove it from env"):format(bottle.name, name), "invalid_manifest"
            end
         end
         env_of_agent[name] = value
      end
   end

   local command = { "claude", "--dangerously-skip-permissions" }
   local prompt
   if agent.prompt then
      prompt = { text = agent.prompt, path = M.PROMPT_PATH }
      command[#command + 1] = "--append-system-prompt-file"
      command[#command + 1] = M.PROMPT_PATH
   end

   local plan = {
      version = 1,
      slug = slug,
      agent = agent.name,
      bottle = bottle.name,
      backend = backend,
      runtime = "auto",
      labels = { [schema.LABELS.LABEL] = "1", [schema.LABELS.SLUG] = slug,
                 [schema.LABELS.AGENT] = agent.name, [schema.LABELS.BOTTLE] = bottle.name },
      names = names,
      images = {
         pipelock = o.pipelock_image or M.PIPELOCK_IMAGE,
         agent = agent.image or o.agent_image or M.AGENT_IMAGE,
         git_gate = gate and (o.git_gate_image or M.GIT_GATE_IMAGE) or nil,
         firewall = o.firewall_image or M.FIREWALL_IMAGE,
         cred_proxy = cred and (o.cred_proxy_image or M.CRED_PROXY_IMAGE) or nil,
      },
      resources = limits.for_plan(bottle.resources),
      proxy = { host = names.pipelock, port = M.PROXY_PORT, url = proxy_url },
      agent_env = env_of_agent,
      cred_proxy = cred,
      credentials = cred_routes or setmetatable({}, core.array_mt),
      default_credential = default_credential,
      env = env,
      ca = tls and { sidecar_cert = M.CA.sidecar_cert, sidecar_key = M.CA.sidecar_key,
                     agent_cert = M.CA.agent_cert } or nil,
      pipelock = { config_path = M.PIPELOCK_CONFIG_PATH, yaml = yaml, config = cfg },
      egress = egress,
      egress_inputs = inputs,
      prompt = prompt,
      skills = skills,
      git = git,
      workspace = workspace,
      policy_changes = changes,
      command = command,
   }

   -- 4. the policies' last word
   local ok, perr, pcode = policy.run_plan(policies, plan, ctx)
   if not ok then return nil, perr, pcode end

   local identities = {}
   for _, g in ipairs(bottle.git or {}) do identities[g.name] = g.identity end
   return plan, { bottle = bottle, identities = identities, policy_logs = logs }
end

return M
