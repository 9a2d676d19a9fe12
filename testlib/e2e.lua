-- Helpers for the end-to-end specs, the reliability scripts and the demo: a
-- real dockerd, the locally built test images (images/test/build.sh), the
-- upstream test server, and a test bottle's plan. Nothing here is a fake: it
-- drives the docker backend and launch.lua.
local core = require "bottle.core"
local cjson = require "cjson"
local api_mod = require "bottle.backend.docker.api"

local E = {}

E.AGENT_IMAGE = "claude-bottle-test/agent:latest"
E.PIPELOCK_IMAGE = "claude-bottle-test/pipelock:2.3.0"
E.FIREWALL_IMAGE = "claude-bottle-test/firewall:latest"
E.CRED_PROXY_IMAGE = "claude-bottle-test/cred-proxy:latest"
-- The upstream test server's container and network.  CLAUDE_BOTTLE_TEST_UPSTREAM
-- names another pair, so that two e2e runs on one engine never share it.
E.UPSTREAM = os.getenv("CLAUDE_BOTTLE_TEST_UPSTREAM") or "claude-bottle-test-upstream"
E.UPSTREAM_NETWORK = E.UPSTREAM
E.TEST_LABEL = "claude-bottle-test"
E.CERT_DIR = "/usr/local/share/claude-bottle-test"
-- Docker's default address pools: the test policy lets pipelock reach the
-- upstream server there (its SSRF guard blocks private addresses otherwise).
-- The bottles' egress networks, where the upstream joins them, come from the
-- launcher's pool (bottle.subnets, 10.123.0.0/16 by default): inside 10/8.
E.DOCKER_POOLS = { "172.16.0.0/12", "192.168.0.0/16", "10.0.0.0/8" }

function E.api()
   return assert(api_mod.new())
end

-- A docker backend instance, as the launcher makes one.
function E.backend()
   return assert(require("bottle.backend").new("docker"))
end

-- The docker backend's names for a bottle's networks.
function E.internal_network(plan) return require("bottle.backend.docker.networks").internal(plan) end
function E.egress_network(plan) return require("bottle.backend.docker.networks").egress(plan) end

-- nil when the e2e specs can run, else why not (for pending()).
function E.unavailable()
   local c, msg = api_mod.new()
   if not c then return msg end
   local ok, err = c:ping()
   if not ok then return "no Docker Engine: " .. tostring(err) end
   for _, image in ipairs { E.AGENT_IMAGE, E.PIPELOCK_IMAGE, E.FIREWALL_IMAGE } do
      if not c:image_inspect(image) then
         return image .. " is not built: run images/test/build.sh (see its PIPELOCK_BIN note)"
      end
   end
   return nil
end

-- The test policy: pipelock trusts the upstream test server's name and
-- Docker's address pools, where the upstream lives (its SSRF guard, and the
-- firewall under it, refuse private addresses otherwise).
E.TEST_POLICY = ([[
return { config = function(cfg)
   cfg.trusted_domains = { "allowed.test" }
   cfg.ssrf = cfg.ssrf or {}
   cfg.ssrf.ip_allowlist = { "%s" }
end }
]]):format(table.concat(E.DOCKER_POOLS, '", "'))

-- A test bottle's plan, built the way `bottle plan` builds one: a manifest
-- and the test policy, through manifest.load, policy.load and plan.build.
-- opts: agent (name), tls (default true), dlp_action, hosts, passthrough,
-- ports, resources ({memory = bytes, cpus, pids}), env ({ {name, kind} }:
-- values reach launch.up separately), prompt ({text}), command (the session
-- in place of Claude Code, which the test image does not have), and the
-- images (pipelock_image, agent_image, firewall_image, git_gate_image);
-- workspace ({dir, explicit, mode}: bottle.workspace.plan_entry) and
-- agent_fields (more keys of the agent, e.g. workspace_push).
function E.plan(opts)
   opts = opts or {}
   local agent = opts.agent or "e2e"
   local egress = { allowlist = opts.hosts or { "allowed.test" }, dlp_action = opts.dlp_action or "block",
                    tls_interception = opts.tls ~= false }
   if opts.passthrough and #opts.passthrough > 0 then egress.passthrough = opts.passthrough end
   if opts.ports and #opts.ports > 0 then egress.ports = opts.ports end
   local bottle = { egress = egress }
   if opts.env and #opts.env > 0 then
      bottle.env = {}
      for _, e in ipairs(opts.env) do
         bottle.env[e.name] = e.kind == "prompt" and "?" or e.kind == "host" and ("${" .. e.name .. "}") or "set at launch"
      end
   end
   if opts.resources then bottle.resources = opts.resources end
   if opts.credentials then bottle.credentials = opts.credentials end
   local agent_entry = { bottle = "e2e" }
   if opts.prompt then agent_entry.prompt = opts.prompt.text end
   -- the agent's own keys (workspace_push, workspace_include...)
   for k, v in pairs(opts.agent_fields or {}) do agent_entry[k] = v end
   local dir = core.mkdtemp("/tmp/claude-bottle-e2e-plan.")
   local U = require "testlib.util"
   U.write(dir .. "/bottles.json", cjson.encode { bottles = { e2e = bottle }, agents = { [agent] = agent_entry } })
   U.write(dir .. "/test-network.lua", E.TEST_POLICY)
   local m, msg = require("bottle.manifest").load { manifest = dir .. "/bottles.json", env = { HOME = dir, cwd = dir } }
   local policies
   if m then policies, msg = require("bottle.policy").load { dir .. "/test-network.lua" } end
   local plan
   if policies then
      plan, msg = require("bottle.plan").build { manifest = m, agent = agent, policies = policies, options = {
         backend = "docker", cwd = dir, home = dir, env_names = {},
         pipelock_image = opts.pipelock_image or E.PIPELOCK_IMAGE, agent_image = opts.agent_image or E.AGENT_IMAGE,
         firewall_image = opts.firewall_image or E.FIREWALL_IMAGE, git_gate_image = opts.git_gate_image,
         cred_proxy_image = opts.cred_proxy_image or E.CRED_PROXY_IMAGE,
         workspace = opts.workspace,
      } }
   end
   core.rmtree(dir)
   assert(plan, msg)
   plan.command = opts.command or { "sh", "-c", "exit 0" }
   return plan
end

-- The upstream test server: one container from the agent image on its own
-- network, connected to each bottle's egress network as allowed.test and
-- denied.test. Returns its container id.
function E.start_upstream()
   local c = E.api()
   local name = E.UPSTREAM
   local info = c:container_inspect(name)
   if info and info.State and info.State.Running then return info.Id end
   if info then c:container_remove(info.Id) end
   if not c:network_inspect(E.UPSTREAM_NETWORK) then
      assert(c:network_create(E.UPSTREAM_NETWORK, { Driver = "bridge", Labels = { [E.TEST_LABEL] = "1" } }))
   end
   local created = assert(c:container_create(name, {
      Image = E.AGENT_IMAGE, User = "0", Cmd = { "python3", "/usr/local/bin/upstream.py" },
      Labels = { [E.TEST_LABEL] = "1" },
      HostConfig = { NetworkMode = E.UPSTREAM_NETWORK },
   }))
   assert(c:container_start(created.Id))
   return created.Id
end

function E.stop_upstream()
   local c = E.api()
   c:container_remove(E.UPSTREAM)
   c:network_remove(E.UPSTREAM_NETWORK)
end

-- Puts the upstream on a bottle's egress network under the test host names.
function E.connect_upstream(plan)
   local c = E.api()
   return assert(c:call("connect the upstream", "POST", "/networks/" .. E.egress_network(plan) .. "/connect",
      { json = { Container = E.UPSTREAM,
                 EndpointConfig = { Aliases = { "allowed.test", "denied.test" } } } }))
end

-- The upstream's address on a bottle's egress network.
function E.upstream_ip(plan)
   local info = assert(E.api():container_inspect(E.UPSTREAM))
   local ep = info.NetworkSettings.Networks[E.egress_network(plan)]
   return ep and ep.IPAddress
end

-- The TLS test upstream that records what reaches it (testlib/tls_recorder.py,
-- run in a container of the agent image, which has the test CA's
-- certificate for allowed.test), on a network of its own until a spec
-- connects it to a bottle's egress network.
E.RECORDER = E.UPSTREAM .. "-tls-recorder"

function E.start_recorder()
   local c = E.api()
   local name = E.RECORDER
   local info = c:container_inspect(name)
   if info then c:container_remove(info.Id) end
   if not c:network_inspect(name) then
      assert(c:network_create(name, { Driver = "bridge", Labels = { [E.TEST_LABEL] = "1" } }))
   end
   local created = assert(c:container_create(name, {
      Image = E.AGENT_IMAGE, User = "0", Cmd = { "python3", "/usr/local/bin/tls_recorder.py" },
      Labels = { [E.TEST_LABEL] = "1" }, HostConfig = { NetworkMode = name },
   }))
   local f = assert(io.open("testlib/tls_recorder.py", "rb"))
   local script = f:read("a")
   f:close()
   assert(c:archive_put(created.Id, "/", require("bottle.tar").pack {
      { name = "usr/local/bin/tls_recorder.py", data = script, mode = tonumber("755", 8), uid = 0, gid = 0 },
   }))
   assert(c:container_start(created.Id))
   return created.Id
end

function E.stop_recorder()
   local c = E.api()
   c:container_remove(E.RECORDER)
   c:network_remove(E.RECORDER)
end

-- Puts the recorder on a bottle's egress network as `alias`.
function E.connect_recorder(plan, alias)
   return assert(E.api():call("connect the recorder", "POST", "/networks/" .. E.egress_network(plan) .. "/connect",
      { json = { Container = E.RECORDER, EndpointConfig = { Aliases = { alias } } } }))
end

-- What the recorder received: an array of {method, path, headers = {name = {values}}}.
function E.recorded()
   local r = assert(E.api():exec(E.RECORDER, { "sh", "-c", "cat /tmp/record.jsonl 2>/dev/null || true" }))
   local out = {}
   for line in r.stdout:gmatch("[^\n]+") do out[#out + 1] = cjson.decode(line) end
   return out
end

-- Runs argv in the bottle's agent (as its user, with the container's env).
function E.exec(plan, argv, opts)
   return assert(E.api():exec(plan.names.agent, argv, opts))
end

-- curl from inside the agent → {exit, status (HTTP code or 0), body, stderr}.
function E.curl(plan, args)
   local argv = { "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}" }
   for _, a in ipairs(args) do argv[#argv + 1] = a end
   local r = E.exec(plan, argv)
   local body, code = r.stdout:match("^(.*)\n(%d+)$")
   return { exit = r.exit, status = tonumber(code) or 0, body = body or r.stdout, stderr = r.stderr }
end

-- Resources labelled with this slug: {containers = n, networks = n, names = {...}}.
function E.count(slug)
   local c = E.api()
   local filters = { label = { "claude-bottle.slug=" .. slug } }
   local ctrs = assert(c:container_list(filters))
   local nets = assert(c:network_list(filters))
   local names = {}
   for _, x in ipairs(ctrs) do names[#names + 1] = x.Names[1] end
   for _, x in ipairs(nets) do names[#names + 1] = x.Name end
   return { containers = #ctrs, networks = #nets, names = names }
end

local roots = {}

-- A fresh stage root for one launch; E.finish() removes them all.
function E.stage_root()
   local dir = core.mkdtemp("/tmp/claude-bottle-e2e.")
   roots[#roots + 1] = dir
   return dir
end

-- Removes the stage roots and the upstream server (after every spec ran).
function E.finish()
   for _, dir in ipairs(roots) do core.rmtree(dir) end
   roots = {}
   if not E.unavailable() then E.stop_upstream() end
end

-- `backend` (the real docker backend) failing `step` on purpose after the
-- real step ran, so that the step's resources exist when the failure comes.
-- `step` is an up sub-step ("networks", "git-gate", ...) or "provision".
function E.failing_at(backend, step)
   local b = setmetatable({}, { __index = backend })
   b.up = function(_, state, progress)
      return backend:up(state, function(name, fn, ...)
         if name ~= step then return progress(name, fn, ...) end
         return progress(name, function(...)
            local ok, msg, code = fn(...)
            if not ok then return nil, msg, code end
            return nil, "injected failure", "injected"
         end, ...)
      end)
   end
   -- "copy_in:agent", "copy_in:git_gate" (the workspace's copy), "copy_out"
   b.copy_in = function(_, state, role, dir, entries)
      local ok, msg, code = backend:copy_in(state, role, dir, entries)
      if not ok or step ~= "copy_in:" .. role then return ok, msg, code end
      return nil, "injected failure", "injected"
   end
   b.copy_out = function(_, target, role, path)
      if step == "copy_out" then return nil, "injected failure", "injected" end
      return backend:copy_out(target, role, path)
   end
   b.provision = function(_, state)
      if step ~= "provision" then return backend:provision(state) end
      local ok, msg, code = backend:provision(state)
      if not ok then return nil, msg, code end
      return nil, "injected failure", "injected"
   end
   return b
end

-- The agent test image with `files` ({ {name = "usr/local/bin/claude",
-- data = ..., mode = ...} }) added, committed from a container under a fresh
-- tag → the tag.  E.remove_image(tag) removes it.
function E.agent_image_with(files)
   local c = E.api()
   local tar = require "bottle.tar"
   local tag = "claude-bottle-test/agent-shim:" .. core.random_hex(4)
   local ctr = assert(c:container_create("claude-bottle-test-shim-" .. core.random_hex(4),
      { Image = E.AGENT_IMAGE, Labels = { [E.TEST_LABEL] = "1" } }))
   local entries = {}
   for i, f in ipairs(files) do
      entries[i] = { name = f.name, data = f.data, mode = f.mode or tonumber("644", 8), uid = 0, gid = 0 }
   end
   assert(c:archive_put(ctr.Id, "/", tar.pack(entries)))
   local repo, t = tag:match("^(.*):(.*)$")
   assert(c:call("commit the shim image", "POST", "/commit", { query = { container = ctr.Id, repo = repo, tag = t } }))
   c:container_remove(ctr.Id)
   return tag
end

function E.remove_image(tag)
   return E.api():call("remove image " .. tag, "DELETE", "/images/" .. tag, { query = { force = true } })
end

-- The stdout of a shell command.
E.read_command = require("testlib.util").command

-- A quiet progress function (launch's own, writing to a buffer).
function E.progress(lines)
   local out = { write = function(_, ...) for _, s in ipairs { ... } do lines[#lines + 1] = s end end }
   return require("bottle.progress").new(out)
end

return E
