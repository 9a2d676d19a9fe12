-- The subnet allocator (bottle.subnets, pure) and the engine side of it in
-- bottle.backend.docker.networks against a FAKE engine (a table of routes):
-- what is taken, what is chosen, the retry when a parallel launch wins the
-- race.  The real engine: spec/parallel_subnets_e2e_spec.lua.
local cjson = require "cjson"
local subnets = require "bottle.subnets"
local networks = require "bottle.backend.docker.networks"
local api_mod = require "bottle.backend.docker.api"

local function P(list)
   local out = {}
   for i, c in ipairs(list) do out[i] = assert(subnets.parse(c)) end
   return out
end

describe("subnets", function()
   it("parses canonical IPv4 CIDRs and refuses the rest with a fix", function()
      assert.are.same({ base = 10 << 24 | 123 << 16, bits = 16 }, subnets.parse("10.123.0.0/16"))
      assert.are.same({ base = 0x0a000001, bits = 32 }, subnets.parse("10.0.0.1"))
      local _, why = subnets.parse("10.123.0.1/16")
      assert.matches('did you mean "10.123.0.0/16"', why, 1, true)
      assert.is_nil(subnets.parse("10.0.0.0/33"))
      assert.is_nil(subnets.parse("010.0.0.0/8"))
      assert.is_nil(subnets.parse("fd00::/8"))
   end)

   it("tells overlapping networks apart from neighbours", function()
      local a, b, c = table.unpack(P { "10.123.0.0/28", "10.123.0.8/29", "10.123.0.16/29" })
      assert.is_true(subnets.overlaps(a, b))
      assert.is_true(subnets.overlaps(b, a))
      assert.is_false(subnets.overlaps(a, c))
      assert.is_true(subnets.overlaps(P { "10.0.0.0/8" }[1], c))
   end)

   it("carves aligned blocks of the asked size from the pool, starting at the hint and wrapping", function()
      local pools = P { "10.123.0.0/24" }
      assert.are.equal("10.123.0.0/29", subnets.allocate(pools, 29, {}, 0))
      assert.are.equal("10.123.0.8/29", subnets.allocate(pools, 29, {}, 1))
      assert.are.equal("10.123.0.248/29", subnets.allocate(pools, 29, {}, 31))
      assert.are.equal("10.123.0.0/29", subnets.allocate(pools, 29, {}, 32))   -- wraps
      assert.are.equal("10.123.0.240/28", subnets.allocate(pools, 28, {}, 15))
   end)

   it("never returns a subnet that overlaps one taken (the engine's networks, the host's routes)", function()
      local pools = P { "10.123.0.0/26" }
      local taken = P { "10.123.0.0/28", "10.123.0.24/29", "10.123.0.32/27" }
      local got = {}
      for hint = 0, 7 do got[subnets.allocate(pools, 29, taken, hint)] = true end
      assert.are.same({ ["10.123.0.16/29"] = true }, got)
      -- a wide route over the whole pool (a VPN's 10/8) leaves nothing
      local none, msg = subnets.allocate(pools, 29, P { "10.0.0.0/8" }, 0)
      assert.is_nil(none)
      assert.matches("network pool 10.123.0.0/26 is exhausted: no free /29", msg, 1, true)
      assert.matches("widen network_pool in the user config file", msg, 1, true)
   end)

   it("is exhausted exactly when every block is taken, and uses every pool of a list", function()
      local pools = P { "10.123.0.0/27", "10.124.0.0/28" }
      local taken, seen = {}, {}
      for _ = 1, 6 do
         local s = assert(subnets.allocate(pools, 29, taken, 3))
         assert.is_nil(seen[s])
         seen[s] = true
         taken[#taken + 1] = assert(subnets.parse(s))
      end
      assert.is_true(seen["10.124.0.0/29"] and seen["10.124.0.8/29"])
      assert.is_nil((subnets.allocate(pools, 29, taken, 3)))
      assert.is_nil((subnets.allocate(P { "10.123.0.0/29" }, 28, {}, 0)))
   end)

   it("spreads different names over the pool (so parallel launches rarely try the same block)", function()
      local pools = P(subnets.DEFAULT_POOL)
      local seen, clashes = {}, 0
      for i = 1, 100 do
         local s = subnets.allocate(pools, 29, {}, subnets.hint("claude-bottle-net-agent-" .. i))
         if seen[s] then clashes = clashes + 1 end
         seen[s] = true
      end
      assert.is_true(clashes <= 3, clashes .. " clashes")
   end)

   it("checks a configured pool: canonical, /8 to /24, not overlapping itself", function()
      assert.is_truthy(subnets.check_pool { "10.123.0.0/16", "10.124.0.0/24" })
      local _, why, at = subnets.check_pool { "10.123.0.0/16", "10.123.4.0/24" }
      assert.are.equal(2, at)
      assert.matches("overlaps", why)
      assert.matches("smaller than a /24", select(2, subnets.check_pool { "10.1.0.0/25" }))
      assert.matches("wider than a /8", select(2, subnets.check_pool { "0.0.0.0/4" }))
      assert.matches("empty", select(2, subnets.check_pool {}))
      assert.are.equal(2730, subnets.capacity(P(subnets.DEFAULT_POOL)))
   end)

   it("keeps the default pool out of what pipelock's guard leaves open and inside what it blocks as private", function()
      local pool = P(subnets.DEFAULT_POOL)[1]
      local firewall = require "bottle.firewall"
      local inside
      for _, blocked in ipairs(firewall.BLOCKED_V4) do
         if subnets.overlaps(pool, assert(subnets.parse(blocked))) then inside = blocked end
      end
      assert.are.equal("10.0.0.0/8", inside)
      -- and away from Docker's default pools' first blocks and common LANs
      for _, busy in ipairs { "172.16.0.0/12", "192.168.0.0/16", "10.0.0.0/12", "10.96.0.0/12", "10.244.0.0/16",
                              "10.128.0.0/9", "100.64.0.0/10" } do
         assert.is_false(subnets.overlaps(pool, assert(subnets.parse(busy))), busy)
      end
   end)
end)

-- A fake engine: GET /networks lists `existing` (plus what was created),
-- POST /networks/create answers from `answer(body)`.
local function fake(existing, answer)
   local created, seen = {}, {}
   local JSON = { ["content-type"] = "application/json" }
   local function http(req)
      local path = req.url:match("^http://docker/v1%.41([^?]*)")
      seen[#seen + 1] = req.method .. " " .. path
      if req.method == "GET" and path == "/networks" then
         local list = {}
         for _, n in ipairs(existing) do list[#list + 1] = n end
         for _, n in ipairs(created) do list[#list + 1] = n end
         return 200, JSON, cjson.encode(list)
      end
      if req.method == "POST" and path == "/networks/create" then
         local body = cjson.decode(req.body)
         local status, msg = answer(body)
         if status == 201 then
            created[#created + 1] = { Name = body.Name, IPAM = body.IPAM }
            return 201, JSON, cjson.encode { Id = "id-" .. body.Name }
         end
         return status, JSON, cjson.encode { message = msg }
      end
      return 404, JSON, cjson.encode { message = "no route " .. path }
   end
   local c = assert(api_mod.new { endpoint = { base = "http://fake:1", name = "tcp://fake:1" }, http = http })
   -- requests go to http://docker/..., and with no socket the host's own
   -- routes are not read (the engine is not on this host)
   c.endpoint.base = nil
   return c, created, seen
end

local function state_for(slug)
   return { plan = { slug = slug, labels = { ["claude-bottle.slug"] = slug } }, docker = {} }
end

local function subnet_of(n) return n.IPAM.Config[1].Subnet end

describe("docker networks on the launcher's subnets", function()
   local saved_routes
   before_each(function()
      saved_routes = networks.host_routes
      networks.host_routes = function() return {} end
   end)
   after_each(function() networks.host_routes = saved_routes end)

   it("creates both networks with explicit subnets from the pool, /29 internal and /28 egress", function()
      local c, created = fake({}, function() return 201 end)
      local st = state_for("a-1")
      assert.is_truthy(networks.create(c, st, P { "10.123.0.0/16" }))
      assert.are.equal(2, #created)
      local by = {}
      for _, n in ipairs(created) do by[n.Name] = subnet_of(n) end
      assert.matches("^10%.123%.%d+%.%d+/29$", by["claude-bottle-net-a-1"])
      assert.matches("^10%.123%.%d+%.%d+/28$", by["claude-bottle-egress-a-1"])
      assert.is_false(subnets.overlaps(assert(subnets.parse(by["claude-bottle-net-a-1"])),
                                       assert(subnets.parse(by["claude-bottle-egress-a-1"]))))
      assert.are.same(by, st.docker.subnets)
   end)

   it("avoids every subnet an existing network has (IPAM configs of all of them)", function()
      -- the whole pool but one /28 is in use by other networks
      local existing = {}
      for i = 0, 14 do
         existing[#existing + 1] = { Name = "other" .. i, IPAM = { Config = { { Subnet = ("10.9.0.%d/28"):format(i * 16) } } } }
      end
      existing[#existing + 1] = { Name = "v6", IPAM = { Config = { { Subnet = "fd00::/64" } } } }
      local c, created = fake(existing, function() return 201 end)
      local ok, msg = networks.create(c, state_for("b-1"), P { "10.9.0.0/24" })
      assert.is_nil(ok)   -- a /29 and a /28 do not both fit in one /28
      assert.matches("exhausted", msg)
      table.remove(existing, 1)
      table.remove(existing, 1)
      assert.is_truthy(networks.create(c, state_for("b-2"), P { "10.9.0.0/24" }))
      assert.are.equal(2, #created)
      for _, n in ipairs(created) do
         local mine = assert(subnets.parse(subnet_of(n)))
         for _, e in ipairs(existing) do
            local theirs = subnets.parse(e.IPAM.Config[1].Subnet)
            if theirs then assert.is_false(subnets.overlaps(mine, theirs), subnet_of(n)) end
         end
      end
   end)

   it("retries on the next free subnet when a parallel launch took the chosen one (Pool overlaps)", function()
      local lost = {}
      local c, created = fake({}, function(body)
         local s = body.IPAM.Config[1].Subnet
         -- another launcher creates its network on the same subnet just before
         if #lost < 3 then
            lost[#lost + 1] = s
            return 403, "Pool overlaps with other one on this address space"
         end
         return 201
      end)
      local st = state_for("c-1")
      assert.is_truthy(networks.create(c, st, P { "10.123.0.0/16" }))
      assert.are.equal(2, #created)
      for _, n in ipairs(created) do
         for _, l in ipairs(lost) do assert.are_not.equal(l, subnet_of(n)) end
      end
   end)

   it("gives up after its attempts, and says why, when every try loses", function()
      local c, created = fake({}, function() return 403, "Pool overlaps with other one on this address space" end)
      local ok, msg, code = networks.create(c, state_for("d-1"), P { "10.123.0.0/16" })
      assert.is_nil(ok)
      assert.are.equal("engine", code)
      assert.matches("no free subnet after " .. networks.ATTEMPTS .. " attempts", msg, 1, true)
      assert.are.equal(0, #created)
   end)

   it("passes any other engine error through at once, with the extra calls made in the first batch", function()
      local calls = 0
      local c = fake({}, function(body)
         calls = calls + 1
         if body.Internal then return 500, "the engine is unwell" end
         return 201
      end)
      local ok, msg = networks.create(c, state_for("e-1"), P { "10.123.0.0/16" })
      assert.is_nil(ok)
      assert.matches("the engine is unwell", msg)
      assert.are.equal(2, calls)
   end)

   it("reads the host's routes (not the default route) from /proc/net/route's format", function()
      networks.host_routes = saved_routes
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
              "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
              "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
              "tun0\t00007B0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
      f:close()
      local routes = networks.host_routes({ socket = "/x" }, path)
      os.remove(path)
      assert.are.same({ "192.168.0.0/24", "10.123.0.0/16" },
                      { subnets.format(routes[1].base, routes[1].bits), subnets.format(routes[2].base, routes[2].bits) })
      assert.are.same({}, networks.host_routes({ base = "http://x" }, path))
   end)
end)

describe("doctor's network pool check", function()
   it("says where the pool comes from, its room, the bottles' networks in it and anyone else's", function()
      local existing = {
         { Name = "claude-bottle-net-x", Labels = { ["claude-bottle.slug"] = "x" },
           IPAM = { Config = { { Subnet = "10.123.4.8/29" } } } },
         { Name = "someone-else", Labels = {}, IPAM = { Config = { { Subnet = "10.123.200.0/24" } } } },
         { Name = "bridge", Labels = {}, IPAM = { Config = { { Subnet = "172.17.0.0/16" } } } },
      }
      local JSON = { ["content-type"] = "application/json" }
      local function http(req)
         local query = req.url:match("%?(.*)$") or ""
         if query:find("label", 1, true) then
            return 200, JSON, cjson.encode { existing[1] }
         end
         return 200, JSON, cjson.encode(existing)
      end
      local c = assert(api_mod.new { endpoint = { base = "http://fake:1", name = "tcp://fake:1" }, http = http })
      local docker = require "bottle.backend.docker"
      local checks = {}
      local function add(check, ok, detail) checks[#checks + 1] = { check, ok, detail } end
      docker.new { client = c }:pool_check(c, add)
      assert.are.same({ "network pool", true,
         "10.123.0.0/16 (the default; set network_pool in ~/.config/claude-bottle/config.yaml): room for about 2730"
         .. " bottles, 1 bottle networks in it; skipped, in use by others: 10.123.200.0/24" }, checks[1])
      checks = {}
      docker.new { client = c, network_pool = { "10.50.0.0/24" }, network_pool_file = "/h/.config/claude-bottle/config.yaml" }
         :pool_check(c, add)
      assert.matches("^10%.50%.0%.0/24 %(network_pool in /h/%.config/claude%-bottle/config%.yaml%): room for about 10 bottles, 0",
                     checks[1][3])
   end)
end)
