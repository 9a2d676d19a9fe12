-- The firewall step on Docker: for each container of the bottle (pipelock,
-- the git gate, the agent), a short-lived helper container joins its network
-- namespace (NetworkMode container:NAME) with NET_ADMIN as its only
-- capability, applies the ruleset bottle.firewall rendered, prints it back
-- and exits; the launcher verifies the listing and removes the helper.  Any
-- failure fails the launch: nothing runs in the agent until every wall is up.
--
-- The rulesets live in the containers' own namespaces, so they hold whatever
-- the engine's version or the host's sysctls (br_netfilter, ip_forward).
-- The agent also gets the sidecars' addresses in /etc/hosts: its ruleset
-- drops Docker's resolver, so no name leaves the agent at all.
local tar = require "bottle.tar"
local schema = require "bottle.schema"
local firewall = require "bottle.firewall"
local gitgate = require "bottle.gitgate"
local cred_proxy = require "bottle.cred_proxy"
local resources = require "bottle.backend.docker.resources"
local networks = require "bottle.backend.docker.networks"
local api_mod = require "bottle.backend.docker.api"
local patience = require "bottle.backend.docker.patience"
local tail = require("bottle.backend.docker.ca").tail

local M = {}

M.ROLE = "firewall"
M.DEFAULT_IMAGE = "claude-bottle-firewall:latest"
-- The nft helpers run for a moment; on a loaded engine their start and wait
-- queue behind other launches (patience.lua).
M.TIMEOUT_MS = patience.CALL_MS
M.PROXY_PORT = schema.PROXY_PORT

local MODE_644 = tonumber("644", 8)

--- The helper's image: plan.images.firewall (resolved by the launcher), else the default.
function M.image(plan)
   return (plan.images and plan.images.firewall) or M.DEFAULT_IMAGE
end

function M.helper_name(plan, target_role)
   return ("claude-bottle-fw-%s-%s"):format(target_role, plan.slug)
end

function M.helper_config(state, target)
   local plan = state.plan
   return {
      Image = M.image(plan),
      Entrypoint = { "/bin/sh", firewall.HELPER_DIR .. "/apply.sh" },
      User = "0:0",
      Labels = resources.labels(state, M.ROLE),
      HostConfig = {
         NetworkMode = "container:" .. target,
         CapDrop = { "ALL" },
         CapAdd = { "NET_ADMIN" },
         SecurityOpt = { "no-new-privileges" },
         RestartPolicy = { Name = "no" },
         Memory = 64 * 1024 * 1024, MemorySwap = 64 * 1024 * 1024,
         PidsLimit = 64,
      },
   }
end

-- This machine's own IPv4 addresses (from the kernel's local routing table),
-- when the engine is on this machine: pipelock must not reach the host on
-- them.  An engine elsewhere (tcp://) gets the private ranges only.
function M.host_addresses(ep)
   ep = ep or api_mod.endpoint()
   if not ep or not ep.socket then return {} end
   local f = io.open("/proc/net/fib_trie", "r")
   if not f then return {} end
   local out, seen, last = {}, {}, nil
   for line in f:lines() do
      local addr = line:match("^%s*|%-%- (%d+%.%d+%.%d+%.%d+)%s*$")
      if addr then last = addr
      elseif line:match("/32 host LOCAL") and last and not seen[last] then
         seen[last] = true
         out[#out + 1] = last
      end
   end
   f:close()
   table.sort(out)
   return out
end

-- The IPv4 subnets of every network the engine has: Docker's networks are
-- not the internet, whatever pools the engine was given.
local function engine_subnets(api)
   local list = api:network_list() or {}
   local out = {}
   for _, n in ipairs(list) do
      for _, cfg in ipairs((n.IPAM or {}).Config or {}) do
         if firewall.is_ipv4_cidr(cfg.Subnet) then out[#out + 1] = cfg.Subnet end
      end
   end
   return out
end

-- An IPv4 list of the final config's ssrf.ip_allowlist: what a policy trusts
-- in pipelock's own guard is trusted at L3 too (pipelock's namespace has no
-- IPv6, so IPv6 entries have nothing to open).
local function trusted(plan)
   local cfg = plan.pipelock and plan.pipelock.config or {}
   local out = {}
   for _, c in ipairs((cfg.ssrf or {}).ip_allowlist or {}) do
      if firewall.is_ipv4_cidr(c) then out[#out + 1] = c end
   end
   return out
end

local function address_on(info, network)
   local nets = info and info.NetworkSettings and info.NetworkSettings.Networks or {}
   local n = nets[network]
   return n and n.IPAddress ~= "" and n.IPAddress or nil
end

-- What the rulesets need from the engine: the internal network's subnet and
-- the sidecars' addresses on it.
function M.facts(api, state)
   local plan = state.plan
   local net, msg, code = api:network_inspect(networks.internal(plan))
   if not net then return nil, msg, code end
   local subnet
   for _, cfg in ipairs((net.IPAM or {}).Config or {}) do
      if firewall.is_ipv4_cidr(cfg.Subnet) then subnet = cfg.Subnet end
   end
   if not subnet then return nil, "the internal network has no IPv4 subnet", "engine" end
   local facts = { subnet = subnet }
   local info
   info, msg, code = api:container_inspect(plan.names.pipelock)
   if not info then return nil, msg, code end
   facts.pipelock_ip = address_on(info, networks.internal(plan))
   if not facts.pipelock_ip then return nil, "pipelock has no address on the internal network", "engine" end
   if gitgate.needed(plan) then
      info, msg, code = api:container_inspect(plan.names.git_gate)
      if not info then return nil, msg, code end
      facts.gate_ip = address_on(info, networks.internal(plan))
      if not facts.gate_ip then return nil, "the git gate has no address on the internal network", "engine" end
   end
   if plan.credentials and #plan.credentials > 0 then
      info, msg, code = api:container_inspect(plan.names.cred_proxy)
      if not info then return nil, msg, code end
      facts.cred_proxy_ip = address_on(info, networks.internal(plan))
      if not facts.cred_proxy_ip then
         return nil, "the credential proxy has no address on the internal network", "engine"
      end
   end
   return facts
end

-- The rulesets of this bottle: { {role, target, rules, resolve, must} }.
function M.rulesets(api, state, facts)
   local plan = state.plan
   local host = M.host_addresses()
   local blocked = engine_subnets(api)
   local ports = plan.egress and plan.egress.ports or { 80, 443 }
   local list = {
      { role = "pipelock", target = plan.names.pipelock,
        rules = firewall.pipelock { listen_port = M.PROXY_PORT, from = facts.subnet, ports = ports,
                                    trusted = trusted(plan), blocked = blocked, host = host },
        must = { ("tcp dport %d accept"):format(M.PROXY_PORT) } },
   }
   local allow = { { addr = facts.pipelock_ip, port = M.PROXY_PORT } }
   if facts.gate_ip then
      local upstreams = {}
      for i, g in ipairs(plan.git) do upstreams[i] = { host = g.host, port = g.port } end
      list[#list + 1] = { role = "git-gate", target = plan.names.git_gate,
                          rules = firewall.git_gate { listen_port = gitgate.PORT, from = facts.subnet },
                          resolve = firewall.resolve_list(upstreams),
                          must = { ("tcp dport %d accept"):format(gitgate.PORT) } }
      allow[#allow + 1] = { addr = facts.gate_ip, port = gitgate.PORT }
   end
   if facts.cred_proxy_ip then
      local route_ports = {}
      for i, r in ipairs(plan.credentials) do route_ports[i] = r.port end
      list[#list + 1] = { role = "cred-proxy", target = plan.names.cred_proxy,
                          rules = firewall.cred_proxy { listen_port = cred_proxy.PORT, from = facts.subnet,
                                                        ports = route_ports, trusted = trusted(plan),
                                                        blocked = blocked, host = host },
                          must = { ("tcp dport %d accept"):format(cred_proxy.PORT) } }
      allow[#allow + 1] = { addr = facts.cred_proxy_ip, port = cred_proxy.PORT }
   end
   local must = {}
   for _, a in ipairs(allow) do must[#must + 1] = ("ip daddr %s tcp dport %d accept"):format(a.addr, a.port) end
   list[#list + 1] = { role = "agent", target = plan.names.agent, rules = firewall.agent { allow = allow },
                       must = must }
   return list
end

-- Registers the helpers' removal (before any is made).
function M.push_teardown(api, state)
   local roles = { "pipelock", "agent" }
   if gitgate.needed(state.plan) then table.insert(roles, 2, "git-gate") end
   if state.plan.credentials and #state.plan.credentials > 0 then table.insert(roles, 2, "cred-proxy") end
   for _, role in ipairs(roles) do
      resources.push_removal(api, state, "container", M.helper_name(state.plan, role))
   end
end

-- The helper's files: the fixed script, the ruleset, the names to resolve.
local function helper_files(set)
   local dir = firewall.HELPER_DIR:gsub("^/", "")
   return tar.pack {
      { name = dir, type = "dir", mode = tonumber("755", 8), uid = 0, gid = 0 },
      { name = dir .. "/apply.sh", data = firewall.HELPER_SCRIPT, mode = MODE_644, uid = 0, gid = 0 },
      { name = dir .. "/rules.nft", data = set.rules, mode = MODE_644, uid = 0, gid = 0 },
      { name = dir .. "/resolve", data = set.resolve or "", mode = MODE_644, uid = 0, gid = 0 },
   }
end

-- Each stage of the helpers' lives, all helpers at once → the results, or
-- nil and the first failure.
local function stage(api, calls)
   local results = api:many(calls)
   for _, r in ipairs(results) do
      if not r[1] then return nil, r[2], r[3] end
   end
   return results
end

--- Runs every helper to its end, concurrently → { listing, ... } in the
-- order of `sets` | nil, message, code.  The helpers are removed whatever
-- happens (their removal is also on the teardown stack).
function M.run_helpers(api, state, sets)
   local plan = state.plan
   local names, calls = {}, {}
   for i, set in ipairs(sets) do
      names[i] = M.helper_name(plan, set.role)
      calls[i] = { "create container " .. names[i], "POST", "/containers/create",
                   { query = { name = names[i] }, json = M.helper_config(state, set.target) } }
   end
   local function remove_all()
      local rm = {}
      for i, name in ipairs(names) do
         rm[i] = { "remove container " .. name, "DELETE", "/containers/" .. name, { query = { force = true } } }
      end
      api:many(rm)
   end
   local ok, msg, code = stage(api, calls)
   if ok then
      calls = {}
      for i, set in ipairs(sets) do
         calls[i] = { "copy the ruleset into " .. names[i], "PUT", "/containers/" .. names[i] .. "/archive",
                      { query = { path = "/" }, body = helper_files(set), content_type = "application/x-tar" } }
      end
      ok, msg, code = stage(api, calls)
   end
   if ok then
      calls = {}
      for i, name in ipairs(names) do calls[i] = { "start container " .. name, "POST", "/containers/" .. name .. "/start" } end
      ok, msg, code = stage(api, calls)
   end
   local waited
   if ok then
      calls = {}
      for i, name in ipairs(names) do
         calls[i] = { "wait for container " .. name, "POST", "/containers/" .. name .. "/wait",
                      { timeout_ms = M.TIMEOUT_MS } }
      end
      waited, msg, code = stage(api, calls)
   end
   if not waited then
      remove_all()
      return nil, msg, code
   end
   local listings = {}
   for i, set in ipairs(sets) do
      local status = math.tointeger(waited[i][1].StatusCode) or waited[i][1].StatusCode
      local out, err = api:container_logs(names[i])
      if status ~= 0 then
         remove_all()
         return nil, ("the %s ruleset did not apply (nft helper exited with %s): %s")
            :format(set.role, tostring(status), tail((err or "") .. (out or ""), 10)), "firewall"
      end
      listings[i] = out or ""
   end
   remove_all()
   return listings
end

--- apply(api, state) → true | nil, message, code: every ruleset applied and
-- verified, then the agent's /etc/hosts entries for its sidecars.
function M.apply(api, state)
   local plan = state.plan
   local facts, msg, code = M.facts(api, state)
   if not facts then return nil, msg, code end
   state.docker.firewall = facts
   local sets = M.rulesets(api, state, facts)
   local listings
   listings, msg, code = M.run_helpers(api, state, sets)
   if not listings then return nil, msg, code end
   for i, set in ipairs(sets) do
      local ok, problem = firewall.verify(listings[i], set.must)
      if not ok then return nil, ("the %s ruleset did not take: %s"):format(set.role, problem), "firewall" end
   end
   local hosts = { facts.pipelock_ip .. " " .. plan.names.pipelock }
   if facts.gate_ip then hosts[#hosts + 1] = facts.gate_ip .. " " .. gitgate.HOST .. " " .. plan.names.git_gate end
   if facts.cred_proxy_ip then hosts[#hosts + 1] = facts.cred_proxy_ip .. " " .. plan.names.cred_proxy end
   local argv = { "sh", "-c", 'printf "%s\\n" "$@" >> /etc/hosts', "sh" }
   for _, h in ipairs(hosts) do argv[#argv + 1] = h end
   local r
   r, msg, code = api:exec(plan.names.agent, argv, { user = "0", timeout_ms = patience.CALL_MS })
   if not r then return nil, msg, code end
   if r.exit ~= 0 then
      return nil, ("writing the sidecars' names into the agent's /etc/hosts exited with %d: %s")
         :format(r.exit, (r.stderr .. r.stdout):gsub("%s+$", "")), "firewall"
   end
   return true
end


return M
