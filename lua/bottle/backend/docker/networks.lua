-- The two networks of a bottle: the internal one (`Internal: true`: no route
-- out, so the agent's only way out is the proxy) and the egress bridge (a
-- user-defined bridge, because Docker's default bridge has no DNS and pipelock
-- must resolve upstream names). Both are created at once, each on a small
-- subnet the launcher chose from its own pool (bottle.subnets): the engine's
-- default pools hold about 15 bottles, the launcher's thousands.
local resources = require "bottle.backend.docker.resources"
local subnets = require "bottle.subnets"
local api_mod = require "bottle.backend.docker.api"

local M = {}

-- Attempts per network when parallel launches race for the same subnet.
M.ATTEMPTS = 12
-- The engine's words when an explicit subnet overlaps a network it has.
M.OVERLAP = "Pool overlaps"
-- The engine makes networks one at a time (libnetwork's lock, the iptables
-- rules): with a hundred launches at once a create waits minutes behind the
-- others and then succeeds, so it gets longer than the client's minute
-- (measured: make reliability-load BOTTLES=100, docs/reliability.md).
M.CREATE_TIMEOUT_MS = 5 * 60 * 1000

--- The bottle's network names, from its slug (the plan names no network:
-- how a backend connects its parts is its own business).
function M.internal(plan) return "claude-bottle-net-" .. plan.slug end
function M.egress(plan) return "claude-bottle-egress-" .. plan.slug end

function M.specs(plan)
   return {
      { name = M.internal(plan), role = "network-internal", internal = true, prefix = subnets.INTERNAL_PREFIX },
      { name = M.egress(plan), role = "network-egress", internal = false, prefix = subnets.EGRESS_PREFIX },
   }
end

-- Registers the removal of both networks (before they are made).
function M.push_teardown(api, state)
   for _, n in ipairs(M.specs(state.plan)) do
      resources.push_removal(api, state, "network", n.name)
   end
end

-- The create call of one network on `subnet` (nil: the engine's pools).
local function create_call(state, n, subnet)
   return { "create network " .. n.name, "POST", "/networks/create", { timeout_ms = M.CREATE_TIMEOUT_MS, json = {
      Name = n.name, Driver = "bridge", Internal = n.internal, CheckDuplicate = true,
      Labels = resources.labels(state, n.role),
      IPAM = subnet and { Driver = "default", Config = { { Subnet = subnet } } } or nil,
      -- Internal only keeps traffic from being forwarded: the host still
      -- holds the bridge's gateway address, and every service on the
      -- host listening on 0.0.0.0 would answer the agent there (INPUT,
      -- not FORWARD).  With no host address on the bridge the agent
      -- reaches pipelock and Docker's DNS, and nothing of the host.
      Options = n.internal and { ["com.docker.network.bridge.inhibit_ipv4"] = "true" } or nil,
   } } }
end

-- calls(state, chosen) → the two create calls for api:many; chosen maps a
-- network's name to its subnet.
function M.calls(state, chosen)
   local calls = {}
   for i, n in ipairs(M.specs(state.plan)) do calls[i] = create_call(state, n, chosen and chosen[n.name]) end
   return calls
end

-- This host's IPv4 routes (the LAN, a VPN's tunnel), parsed, when the engine
-- is on this host: the engine does not check an explicit subnet against
-- them.  /proc/net/route holds little-endian hex destination and mask.
function M.host_routes(ep, path)
   ep = ep or api_mod.endpoint()
   if not ep or not ep.socket then return {} end
   local f = io.open(path or "/proc/net/route", "r")
   if not f then return {} end
   local out = {}
   for line in f:lines() do
      local dest, mask = line:match("^%S+%s+(%x+)%s+%x+%s+%x+%s+%d+%s+%d+%s+%d+%s+(%x+)")
      if dest and #dest == 8 and #mask == 8 then
         local function host_order(hex)
            local n = tonumber(hex, 16)
            return (n & 255) << 24 | (n >> 8 & 255) << 16 | (n >> 16 & 255) << 8 | n >> 24
         end
         local m, bits = host_order(mask), 0
         while bits < 32 and (m >> (31 - bits)) & 1 == 1 do bits = bits + 1 end
         -- the default route (0/0) covers everything and takes nothing
         if bits > 0 then out[#out + 1] = { base = host_order(dest) & m, bits = bits } end
      end
   end
   f:close()
   return out
end

--- taken(api) → parsed networks the engine has (every IPAM config's IPv4
-- subnet) plus this host's routes | nil, message, code.
function M.taken(api)
   local list, msg, code = api:network_list()
   if not list then return nil, msg, code end
   local out = M.host_routes(api.endpoint)
   for _, n in ipairs(list) do
      for _, cfg in ipairs((n.IPAM or {}).Config or {}) do
         local p = type(cfg.Subnet) == "string" and subnets.parse(cfg.Subnet)
         if p then out[#out + 1] = p end
      end
   end
   return out
end

-- choose(state, pools, taken, names) → {name = subnet} for the networks in
-- `names` (each one's subnet is taken before the next is chosen).
local function choose(state, pools, taken, names)
   local chosen = {}
   for _, n in ipairs(M.specs(state.plan)) do
      if names[n.name] then
         local subnet, msg = subnets.allocate(pools, n.prefix, taken, subnets.hint(n.name))
         if not subnet then return nil, msg end
         chosen[n.name] = subnet
         taken[#taken + 1] = assert(subnets.parse(subnet))
      end
   end
   return chosen
end

--- create(api, state, pools, extra) → extra_results | nil, message, code.
-- pools: parsed (subnets.check_pool).  extra: more calls for the first
-- batch (the CA container is made alongside the networks); their results
-- come back as api:many gives them.  A network that loses a race with a
-- parallel launch (the engine answers "Pool overlaps ...") is tried again
-- on the next free subnet, the lost one counted as taken.
function M.create(api, state, pools, extra)
   local specs = M.specs(state.plan)
   local wanted = {}
   for _, n in ipairs(specs) do wanted[n.name] = true end
   local lost = {}
   local extra_results
   for attempt = 1, M.ATTEMPTS do
      local taken, msg, code = M.taken(api)
      if not taken then return nil, msg, code end
      for _, l in ipairs(lost) do taken[#taken + 1] = l end
      local chosen
      chosen, msg = choose(state, pools, taken, wanted)
      if not chosen then return nil, msg, "network_pool" end
      local calls, order = {}, {}
      for _, n in ipairs(specs) do
         if wanted[n.name] then
            calls[#calls + 1] = create_call(state, n, chosen[n.name])
            order[#order + 1] = n.name
         end
      end
      local first_extra = #calls + 1
      if attempt == 1 then for _, x in ipairs(extra or {}) do calls[#calls + 1] = x end end
      local results = api:many(calls)
      if attempt == 1 then extra_results = table.move(results, first_extra, #results, 1, {}) end
      local problems = {}
      for i, name in ipairs(order) do
         local r = results[i]
         if r[1] then
            wanted[name] = nil
            state.docker = state.docker or {}
            state.docker.subnets = state.docker.subnets or {}
            state.docker.subnets[name] = chosen[name]
         elseif tostring(r[2]):find(M.OVERLAP, 1, true) then
            lost[#lost + 1] = assert(subnets.parse(chosen[name]))
         else
            problems[#problems + 1] = r[2]
         end
      end
      for _, r in ipairs(extra_results) do
         if attempt == 1 and not r[1] then problems[#problems + 1] = r[2] end
      end
      if #problems > 0 then return nil, table.concat(problems, "; "), "engine" end
      if next(wanted) == nil then return extra_results end
   end
   return nil, ("no free subnet after %d attempts: parallel launches took every one tried"):format(M.ATTEMPTS),
      "engine"
end

return M
