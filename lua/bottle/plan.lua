-- The launch plan: a pure function from (manifest, agent, policies, options)
-- to a table that says exactly what would run.  It holds no secret value:
-- env entries appear by name and kind, identity files not at all.  Values
-- and host paths the launch needs travel beside it, in `extras`.
local core = require "bottle.core"
local policy = require "bottle.policy"
local limits = require "bottle.limits"

local M = {}

-- Pinned by tag.  The published image's full digest is not known to us (the
-- original tool recorded only part of it), so no digest is pinned yet.
M.PIPELOCK_IMAGE = "ghcr.io/luckypipewrench/pipelock:2.3.0"
M.AGENT_IMAGE = "claude-bottle:latest"
M.GIT_GATE_IMAGE = "claude-bottle-git-gate:latest"   -- built from Dockerfile.git-gate
M.FIREWALL_IMAGE = "claude-bottle-firewall:latest"   -- built from Dockerfile.firewall
-- The TCP ports pipelock may open; egress.ports adds to them.
M.DEFAULT_PORTS = { 80, 443 }
M.PROXY_PORT = 8888
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

local function names_for(slug)
   return {
      agent = "claude-bottle-" .. slug,
      pipelock = "claude-bottle-pipelock-" .. slug,
      git_gate = "claude-bottle-git-gate-" .. slug,
      internal_network = "claude-bottle-net-" .. slug,
      egress_network = "claude-bottle-egress-" .. slug,
   }
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
   return env
end

local function skills_for(agent, home)
   local out = {}
   for _, name in ipairs(agent.skills or {}) do
      local host_path = ("%s/.claude/skills/%s"):format(home, name)
      local st = core.stat(host_path)
      if not st or st.type ~= "dir" then
         return nil, ("agent %q: skill %q not found: expected a directory %s"):format(agent.name, name, host_path),
            "invalid_manifest"
      end
      out[#out + 1] = { name = name, host_path = host_path,
                        path = ("%s/.claude/skills/%s"):format(M.AGENT_HOME, name) }
   end
   return out
end

-- opts: manifest, agent (name or nil), policies (loaded, may be empty),
-- options = {backend, cwd, home, env_names, random_hex = fn, pipelock_image, agent_image}
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

   -- 1. policies shape the bottle
   local view, bottle_changes = policy.run_bottle(policies, policy.bottle_view(bottle), ctx)
   if not view then return nil, bottle_changes, "invalid_policy" end
   bottle = policy.apply_bottle_view(bottle, view)
   local tls = bottle.egress.tls_interception ~= false

   -- 2. the pipelock config, then the policies' config hooks, then the check
   local cfg, cerr, ccode = core.pipelock_config(bottle,
      tls and { ca_cert = M.CA.sidecar_cert, ca_key = M.CA.sidecar_key } or nil)
   if not cfg then return nil, ("bottle %q: %s"):format(bottle.name, cerr), ccode end
   local config_changes
   cfg, config_changes = policy.run_config(policies, cfg, ctx)
   if not cfg then return nil, config_changes, "invalid_policy" end
   local yaml, yerr, ycode = core.pipelock_yaml(cfg)
   if not yaml then return nil, yerr, ycode end

   local skills, serr, scode = skills_for(agent, o.home or os.getenv("HOME") or "/")
   if not skills then return nil, serr, scode end

   -- 3. names: the slug's random suffix keeps two launches of one agent apart
   local rand = o.random_hex or core.random_hex
   local slug = M.slug_base(agent.name) .. "-" .. rand(3)
   local names = names_for(slug)
   local proxy_url = ("http://%s:%d"):format(names.pipelock, M.PROXY_PORT)

   local env = {}
   for _, e in ipairs(bottle.env or {}) do env[#env + 1] = { name = e.name, kind = e.kind } end

   local git = {}
   for _, g in ipairs(bottle.git or {}) do
      -- host_key and extra_hosts are public; the identity stays in extras
      git[#git + 1] = { name = g.name, upstream = g.upstream, user = g.user, host = g.host, port = g.port,
                        path = g.path, gate_url = ("git://git-gate/%s.git"):format(g.name),
                        host_key = g.host_key, extra_hosts = g.extra_hosts,
                        push = g.push, user_name = g.user_name, user_email = g.user_email }
   end

   local changes = {}
   for _, c in ipairs(bottle_changes) do changes[#changes + 1] = c end
   for _, c in ipairs(config_changes) do changes[#changes + 1] = c end

   -- The order the docker backend runs them in: the agent is created before
   -- the sidecar so that its CA provisioning overlaps pipelock's start.
   local steps = { "networks" }
   if tls then steps[#steps + 1] = "ca" end
   steps[#steps + 1] = "agent"
   steps[#steps + 1] = "pipelock"
   if #git > 0 then steps[#steps + 1] = "git-gate" end
   steps[#steps + 1] = "firewall"
   for _, s in ipairs { "provision", "attach" } do steps[#steps + 1] = s end

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
      labels = { ["claude-bottle"] = "1", ["claude-bottle.slug"] = slug,
                 ["claude-bottle.agent"] = agent.name, ["claude-bottle.bottle"] = bottle.name },
      names = names,
      images = {
         pipelock = o.pipelock_image or M.PIPELOCK_IMAGE,
         agent = agent.image or o.agent_image or M.AGENT_IMAGE,
         git_gate = #git > 0 and (o.git_gate_image or M.GIT_GATE_IMAGE) or nil,
         firewall = o.firewall_image or M.FIREWALL_IMAGE,
      },
      resources = limits.for_plan(bottle.resources),
      proxy = { host = names.pipelock, port = M.PROXY_PORT, url = proxy_url },
      agent_env = agent_env(proxy_url, tls, cfg),
      env = env,
      ca = tls and { sidecar_cert = M.CA.sidecar_cert, sidecar_key = M.CA.sidecar_key,
                     agent_cert = M.CA.agent_cert } or nil,
      pipelock = { config_path = M.PIPELOCK_CONFIG_PATH, yaml = yaml, config = cfg },
      egress = { hosts = cfg.api_allowlist, tls_interception = tls,
                 passthrough = tls and cfg.tls_interception.passthrough_domains or {},
                 dlp_action = cfg.request_body_scanning.action,
                 ports = setmetatable(ports, core.array_mt), added_ports = setmetatable(added_ports, core.array_mt) },
      prompt = prompt,
      skills = skills,
      git = git,
      policy_changes = changes,
      steps = steps,
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
