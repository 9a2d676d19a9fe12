-- The subnet allocator: each bottle's networks get small IPv4 subnets carved
-- from a pool the launcher owns, instead of one of the engine's default
-- pools' /16s and /20s (about 30 networks: 15 bottles).  Pure: the engine
-- part (what exists, the create, the retry on a race) is
-- bottle.backend.docker.networks.
--
-- The default pool, 10.123.0.0/16, is chosen to stay clear of what a host
-- usually already routes:
--   * inside RFC 1918, so the sidecars' SSRF guard and the firewall treat a
--     bottle's networks as private (pipelock blocks 10/8, 172.16/12,
--     192.168/16, and also 100.64/10 CGNAT where Tailscale lives, and
--     198.18/15 where fake-IP VPN clients live; a public or shared range
--     would be neither private to the guard nor free of VPNs);
--   * not 192.168/16 nor 172.16/12: home routers, and Docker's own default
--     pools (172.17-172.31, 192.168/16 in /20s), AWS's default VPC
--     (172.31/16);
--   * in 10/8 away from the ranges that are taken in practice: 10.0-10.31
--     (routers, corporate LANs, OpenVPN's 10.8), 10.42-43 (k3s), 10.88-89
--     (podman), 10.96/12 (Kubernetes services), 10.244/16 (flannel),
--     10.128/9 (Google Cloud's auto-mode VPCs).
-- Whatever the pool, a subnet that overlaps a network the engine has, or a
-- route of this host (a VPN's tunnel, the LAN), is never chosen.
local M = {}

M.DEFAULT_POOL = { "10.123.0.0/16" }

-- The internal network: agent, pipelock, git gate, a credential proxy and a
-- spare behind the (unassigned) gateway address: a /29 has 5 host
-- addresses after the gateway.  The egress network: pipelock, git gate,
-- credential proxy and whatever joins it (the specs' upstream servers, one
-- or two per bottle): a /28 has 13.
M.INTERNAL_PREFIX = 29
M.EGRESS_PREFIX = 28
-- The smallest pool block that still holds one of each.
M.MAX_POOL_PREFIX = 24

local function octets_ok(s)
   local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
   if not a then return nil end
   local n = 0
   for _, p in ipairs { a, b, c, d } do
      if #p > 3 or (#p > 1 and p:sub(1, 1) == "0") or tonumber(p) > 255 then return nil end
      n = n * 256 + tonumber(p)
   end
   return n
end

--- parse("10.123.0.0/16") → {base = integer, bits = 16} | nil, why.
-- A bare address is a /32.  Host bits must be zero (canonical form).
function M.parse(cidr)
   if type(cidr) ~= "string" then return nil, "not a string" end
   local addr, bits = cidr:match("^([%d.]+)/(%d+)$")
   if not addr then addr, bits = cidr, "32" end
   local base = octets_ok(addr)
   if not base then return nil, ("%q is not an IPv4 address or CIDR"):format(cidr) end
   if #bits > 2 or tonumber(bits) > 32 then return nil, ("%q: the prefix length is from 0 to 32"):format(cidr) end
   bits = tonumber(bits)
   local size = 1 << (32 - bits)
   if base % size ~= 0 then
      return nil, ("%q has host bits set (did you mean %q?)"):format(cidr, M.format(base - base % size, bits))
   end
   return { base = base, bits = bits }
end

function M.format(base, bits)
   return ("%d.%d.%d.%d/%d"):format(base >> 24 & 255, base >> 16 & 255, base >> 8 & 255, base & 255, bits)
end

local function size_of(n) return 1 << (32 - n.bits) end

--- Do two parsed networks share an address?
function M.overlaps(a, b)
   return a.base < b.base + size_of(b) and b.base < a.base + size_of(a)
end

-- FNV-1a over the text, then murmur3's finaliser (FNV's low bits are weak,
-- and the pool is indexed by them): where a launcher starts looking, so
-- that parallel launches (different slugs) rarely try the same subnet first.
function M.hint(text)
   local h = 2166136261
   for i = 1, #text do h = ((h ~ text:byte(i)) * 16777619) & 0xffffffff end
   h = h ~ (h >> 16)
   h = (h * 0x85ebca6b) & 0xffffffff
   h = h ~ (h >> 13)
   h = (h * 0xc2b2ae35) & 0xffffffff
   return h ~ (h >> 16)
end

--- allocate(pools, prefix, taken, hint) → "a.b.c.d/prefix" | nil, message.
-- pools: parsed networks (M.parse) to carve from, in order; taken: parsed
-- networks that exist already (the engine's, the host's routes, the
-- subnets a race just lost); hint: an integer, where the search starts
-- (it wraps around, so every free block is found whatever the hint).
function M.allocate(pools, prefix, taken, hint)
   if math.type(prefix) ~= "integer" or prefix < 1 or prefix > 32 then
      error("subnets.allocate: prefix must be an integer from 1 to 32", 2)
   end
   local counts, total = {}, 0
   for i, p in ipairs(pools) do
      counts[i] = p.bits <= prefix and (1 << (prefix - p.bits)) or 0
      total = total + counts[i]
   end
   if total == 0 then
      return nil, ("no pool is large enough for a /%d"):format(prefix)
   end
   local start = (hint or 0) % total
   local block = 1 << (32 - prefix)
   for step = 0, total - 1 do
      local index = (start + step) % total
      local pool_i = 1
      while index >= counts[pool_i] do index = index - counts[pool_i]; pool_i = pool_i + 1 end
      local candidate = { base = pools[pool_i].base + index * block, bits = prefix }
      local free = true
      for _, t in ipairs(taken) do
         if M.overlaps(candidate, t) then free = false; break end
      end
      if free then return M.format(candidate.base, prefix) end
   end
   local names = {}
   for _, p in ipairs(pools) do names[#names + 1] = M.format(p.base, p.bits) end
   return nil, ("the network pool %s is exhausted: no free /%d (%d networks in it are taken); "
      .. "remove bottles you no longer need, or widen network_pool in the user config file")
      :format(table.concat(names, ", "), prefix, #taken)
end

--- check_pool(list) → parsed pools | nil, message (for the user config).
function M.check_pool(list)
   local out = {}
   for i, cidr in ipairs(list) do
      local p, why = M.parse(cidr)
      if not p then return nil, why, i end
      if p.bits > M.MAX_POOL_PREFIX then
         return nil, ("%q is smaller than a /%d: a bottle's two networks would barely fit"):format(
            cidr, M.MAX_POOL_PREFIX), i
      end
      if p.bits < 8 then return nil, ("%q is wider than a /8"):format(cidr), i end
      for j = 1, i - 1 do
         if M.overlaps(p, out[j]) then return nil, ("%q overlaps %q"):format(cidr, list[j]), i end
      end
      out[i] = p
   end
   if #out == 0 then return nil, "the pool is empty", 1 end
   return out
end

--- How many bottles the pool holds (both networks), for `doctor`.
function M.capacity(pools)
   local addresses = 0
   for _, p in ipairs(pools) do addresses = addresses + size_of(p) end
   return addresses // ((1 << (32 - M.INTERNAL_PREFIX)) + (1 << (32 - M.EGRESS_PREFIX)))
end

return M
