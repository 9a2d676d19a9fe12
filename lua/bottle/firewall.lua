-- The L3/L4 walls under pipelock: nftables rulesets, one per network
-- namespace of a bottle, rendered from data the plan and the backend supply.
-- A backend installs each one with a short-lived helper that joins the
-- namespace with NET_ADMIN (the bottle's own containers keep no capability),
-- and checks with `verify` that it took before the agent runs anything.
--
-- Every chain's policy is drop: what is not accepted below is dropped (or,
-- going out, refused) and counted.  Addresses are checked here before they reach nft's text, so
-- nothing from a plan can change the ruleset's meaning.
local shipped = require "bottle.shipped"

local M = {}

-- The helper's script is a shell file beside this module
-- (lua/bottle/firewall/apply.sh, installed with the rock and linted).
local function script(name) return shipped.read("bottle.firewall", name) end

M.TABLE = "claude_bottle"          -- inet family: one table for IPv4 and IPv6
M.DNS_STUB = "127.0.0.11"          -- Docker's embedded resolver inside a namespace

-- What pipelock may not reach unless a policy trusts it (ssrf.ip_allowlist):
-- this host and its neighbours, link-local (the cloud metadata address
-- 169.254.169.254 among them), private and shared ranges (where Docker's
-- networks and LANs live), and ranges that are never the public internet.
M.BLOCKED_V4 = {
   "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
   "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
}

local function octets_ok(a, b, c, d)
   for _, p in ipairs { a, b, c, d } do
      if #p > 3 or (#p > 1 and p:sub(1, 1) == "0") or tonumber(p) > 255 then return false end
   end
   return true
end

--- Is `s` a dotted-quad IPv4 address?
function M.is_ipv4(s)
   if type(s) ~= "string" then return false end
   local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
   return a ~= nil and octets_ok(a, b, c, d)
end

--- Is `s` an IPv4 address or an IPv4 CIDR (a.b.c.d/n, n from 0 to 32)?
function M.is_ipv4_cidr(s)
   if type(s) ~= "string" then return false end
   local addr, bits = s:match("^([%d.]+)/(%d+)$")
   if not addr then return M.is_ipv4(s) end
   return M.is_ipv4(addr) and #bits <= 2 and tonumber(bits) <= 32
end

local function port_ok(p)
   return math.type(p) == "integer" and p >= 1 and p <= 65535
end

local function check_addr(what, s)
   if not M.is_ipv4(s) then error(("firewall: %s must be an IPv4 address, not %q"):format(what, tostring(s)), 3) end
   return s
end

local function check_port(what, p)
   if not port_ok(p) then error(("firewall: %s must be a port from 1 to 65535, not %s"):format(what, tostring(p)), 3) end
   return p
end

-- "{ a, b }" of checked items, or nil when there are none.
local function set_of(items)
   if #items == 0 then return nil end
   return "{ " .. table.concat(items, ", ") .. " }"
end

local function ports_set(ports, what)
   local seen, out = {}, {}
   for i, p in ipairs(ports) do
      check_port(("%s[%d]"):format(what, i), p)
      if not seen[p] then seen[p] = true; out[#out + 1] = tostring(p) end
   end
   table.sort(out, function(a, b) return tonumber(a) < tonumber(b) end)
   return set_of(out)
end

local function cidrs(list, what)
   local out = {}
   for i, c in ipairs(list or {}) do
      if not M.is_ipv4_cidr(c) then
         error(("firewall: %s[%d] must be an IPv4 address or CIDR, not %q"):format(what, i, tostring(c)), 3)
      end
      out[#out + 1] = c
   end
   return out
end

-- Counted refusals of what `match` selects (everything when nil): TCP by a
-- reset, the rest by an ICMP error.  (ICMP errors are rate-limited by the
-- kernel, which would make a burst of refused connections slow.)
local function refuse(match)
   local m = match and (match .. " ") or ""
   return { m .. "meta l4proto tcp counter reject with tcp reset", m .. "counter reject" }
end

-- The three base chains, each `policy drop`, around the rules given.
local function ruleset(input, output, sets)
   local lines = {
      -- Recreated from scratch: `add` then `delete` works whether or not the
      -- table exists, and the file is applied by nft in one transaction.
      "table inet " .. M.TABLE .. " {}",
      "delete table inet " .. M.TABLE,
      "table inet " .. M.TABLE .. " {",
   }
   for _, s in ipairs(sets or {}) do lines[#lines + 1] = s end
   -- One base chain: its hook, its rules, what ends it.
   local function chain(hook, rules, last)
      lines[#lines + 1] = "  chain " .. hook .. " {"
      lines[#lines + 1] = "    type filter hook " .. hook .. " priority 0; policy drop;"
      for _, r in ipairs(rules) do lines[#lines + 1] = "    " .. r end
      for _, r in ipairs(last) do lines[#lines + 1] = "    " .. r end
      lines[#lines + 1] = "  }"
   end
   local first_in = { 'iifname "lo" accept', "ct state established,related accept" }
   for _, r in ipairs(input) do first_in[#first_in + 1] = r end
   chain("input", first_in, { "counter drop" })
   chain("forward", {}, { "counter drop" })
   -- Refused rather than dropped: a local client gets "connection refused"
   -- at once instead of hanging in SYN retries, and it is still counted.
   chain("output", output, refuse(nil))
   lines[#lines + 1] = "}"
   return table.concat(lines, "\n") .. "\n"
end

--- The agent's namespace: out only to its sidecars' ports, no DNS at all
-- (Docker's resolver at 127.0.0.11 is dropped: the sidecars' names come from
-- /etc/hosts), loopback otherwise free, nothing in.
-- opts.allow: { {addr = IPv4, port = n}, ... }
function M.agent(opts)
   if type(opts) ~= "table" or type(opts.allow) ~= "table" then error("firewall.agent: opts.allow required", 2) end
   local out = {
      "ip daddr " .. M.DNS_STUB .. " counter reject",
      'oifname "lo" accept',
      "ct state established,related accept",
   }
   for i, a in ipairs(opts.allow) do
      out[#out + 1] = ("ip daddr %s tcp dport %d accept"):format(check_addr(("allow[%d].addr"):format(i), a.addr),
                                                                check_port(("allow[%d].port"):format(i), a.port))
   end
   return ruleset({}, out)
end

-- A sidecar's first output rules: loopback, replies, and DNS from root's
-- sockets only (Docker's resolver forwards from inside the namespace as
-- root; the sidecars' own processes never run as root).
local function sidecar_output()
   return {
      'oifname "lo" accept',
      "ct state established,related accept",
      "meta skuid 0 udp dport 53 accept",
      "meta skuid 0 tcp dport 53 accept",
   }
end

--- pipelock's namespace: in, the proxy port from the bottle's internal
-- network; out, TCP to `ports` only, to trusted CIDRs or to any address
-- outside the blocked ranges; DNS only from root-owned sockets (Docker's
-- resolver forwarding from inside the namespace; pipelock runs as 65534).
-- The host's own addresses are refused first: trusting a range (a LAN, a
-- Docker pool) does not open the host inside it; only trusting the exact
-- address (a.b.c.d or a.b.c.d/32) does.
-- opts: listen_port, from (CIDR of the internal network), ports {n},
--       trusted {CIDR}, blocked {CIDR} (added to BLOCKED_V4), host {IPv4}
function M.pipelock(opts)
   if type(opts) ~= "table" then error("firewall.pipelock: opts must be a table", 2) end
   local listen = check_port("listen_port", opts.listen_port)
   local from = cidrs({ opts.from }, "from")[1] or error("firewall.pipelock: opts.from required", 2)
   local ports = ports_set(opts.ports or {}, "ports") or error("firewall.pipelock: opts.ports must not be empty", 2)
   local blocked = cidrs(M.BLOCKED_V4, "BLOCKED_V4")
   for _, c in ipairs(cidrs(opts.blocked, "blocked")) do blocked[#blocked + 1] = c end
   local trusted = cidrs(opts.trusted, "trusted")
   local exact = {}
   for _, c in ipairs(trusted) do exact[(c:gsub("/32$", ""))] = true end
   local host = {}
   for i, a in ipairs(opts.host or {}) do
      check_addr(("host[%d]"):format(i), a)
      if not exact[a] then host[#host + 1] = a end
   end
   local sets = {
      "  set blocked { type ipv4_addr; flags interval; auto-merge; elements = " .. set_of(blocked) .. " }",
   }
   local out = sidecar_output()
   if #host > 0 then
      sets[#sets + 1] = "  set host { type ipv4_addr; elements = " .. set_of(host) .. " }"
      for _, r in ipairs(refuse("ip daddr @host")) do out[#out + 1] = r end
   end
   if #trusted > 0 then
      sets[#sets + 1] = "  set trusted { type ipv4_addr; flags interval; auto-merge; elements = "
         .. set_of(trusted) .. " }"
      out[#out + 1] = "ip daddr @trusted tcp dport " .. ports .. " accept"
   end
   for _, r in ipairs(refuse("ip daddr @blocked")) do out[#out + 1] = r end
   out[#out + 1] = "meta nfproto ipv4 tcp dport " .. ports .. " accept"
   return ruleset({ ("ip saddr %s tcp dport %d accept"):format(from, listen) }, out, sets)
end

--- The credential proxy's namespace: the same walls as pipelock's (in, its
-- port from the internal network; out, the blocked ranges, the host's own
-- addresses and the engine's subnets refused unless trusted exactly as for
-- pipelock), with `ports` the routes' upstream ports only.
-- opts: as for M.pipelock.
function M.cred_proxy(opts)
   if type(opts) ~= "table" then error("firewall.cred_proxy: opts must be a table", 2) end
   return M.pipelock(opts)
end

--- The git gate's namespace: in, git daemon's port from the internal
-- network; out, TCP to its upstreams' address and port only (the set is
-- filled by the helper after it resolves the names inside the namespace),
-- DNS only from root-owned sockets as for pipelock.
-- opts: listen_port, from (CIDR)
function M.git_gate(opts)
   if type(opts) ~= "table" then error("firewall.git_gate: opts must be a table", 2) end
   local listen = check_port("listen_port", opts.listen_port)
   local from = cidrs({ opts.from }, "from")[1] or error("firewall.git_gate: opts.from required", 2)
   local sets = { "  set upstreams { type ipv4_addr . inet_service; }" }
   local out = sidecar_output()
   out[#out + 1] = "ip daddr . tcp dport @upstreams accept"
   return ruleset({ ("ip saddr %s tcp dport %d accept"):format(from, listen) }, out, sets)
end

--- The lines the helper reads to fill the gate's `upstreams` set: "HOST PORT"
-- per upstream, HOST checked to be a plain host name or IPv4 address.
-- upstreams: { {host =, port =} }
function M.resolve_list(upstreams)
   local lines, seen = {}, {}
   for i, u in ipairs(upstreams or {}) do
      local host = u.host
      if type(host) ~= "string" or not (M.is_ipv4(host) or host:match("^[A-Za-z0-9][A-Za-z0-9.-]*$")) or #host > 253 then
         error(("firewall.resolve_list: upstreams[%d].host is not a host name: %q"):format(i, tostring(host)), 2)
      end
      check_port(("upstreams[%d].port"):format(i), u.port)
      local line = host .. " " .. u.port
      if not seen[line] then seen[line] = true; lines[#lines + 1] = line end
   end
   return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

-- The helper's script: apply the ruleset, fill the upstream set from names
-- resolved inside the namespace (getent: the namespace's own resolver and
-- /etc/hosts, as the gate sees them), then print the table for `verify`.
-- Fixed text: every variable part arrives in the two files beside it.
M.HELPER_DIR = "/run/claude-bottle-firewall"
M.HELPER_SCRIPT = script("apply.sh")

--- Does `listing` (the output of `nft list table inet claude_bottle`) show
-- the table with all three hooks dropping by default, and, when given, the
-- rules whose text must appear (e.g. the proxy's accept line)?
-- → true | nil, problem
function M.verify(listing, must_contain)
   if type(listing) ~= "string" or not listing:find("table inet " .. M.TABLE .. " {", 1, true) then
      return nil, "the ruleset is not in place (nft listed no table inet " .. M.TABLE .. ")"
   end
   for _, hook in ipairs { "input", "forward", "output" } do
      if not listing:find("type filter hook " .. hook .. " priority filter; policy drop;", 1, true) then
         return nil, "the " .. hook .. " chain does not drop by default"
      end
   end
   for _, text in ipairs(must_contain or {}) do
      if not listing:find(text, 1, true) then return nil, "the ruleset lacks " .. text end
   end
   return true
end

return M
