-- The nftables rulesets under pipelock (bottle.firewall): what each namespace
-- accepts, that hostile values cannot reach nft's text, and the check of the
-- listing nft prints back.  When `nft` and `ip netns` are on this machine
-- (root), each ruleset is also loaded by the real nft in a scratch namespace.
local firewall = require "bottle.firewall"

local function has(text, line)
   return text:find(line, 1, true) ~= nil
end

local function nft_available()
   if os.execute("[ \"$(id -u)\" = 0 ] && command -v nft >/dev/null && command -v ip >/dev/null") ~= true then
      return false
   end
   return true
end

-- Loads `rules` with the real nft in a namespace of its own → ok, output.
local function nft_load(rules)
   local ns = "cbfw" .. tostring(math.random(1e6))
   local file = os.tmpname()
   local f = assert(io.open(file, "w"))
   f:write(rules)
   f:close()
   local p = io.popen(("ip netns add %s && ip netns exec %s nft -f %s 2>&1 && ip netns exec %s nft list table inet %s 2>&1; echo \"rc=$?\"; ip netns del %s")
      :format(ns, ns, file, ns, firewall.TABLE, ns))
   local out = p:read("a")
   p:close()
   os.remove(file)
   return out:match("rc=0") ~= nil, out
end

describe("bottle.firewall", function()
   local agent = firewall.agent { allow = { { addr = "172.18.0.3", port = 8888 }, { addr = "172.18.0.4", port = 9418 } } }
   local pipelock = firewall.pipelock { listen_port = 8888, from = "172.18.0.0/16", ports = { 443, 80, 8443, 443 },
                                       trusted = { "172.16.0.0/12", "192.0.2.9/32" }, blocked = { "203.0.113.0/24" },
                                       host = { "172.17.0.1", "192.0.2.2", "192.0.2.9" } }
   local gate = firewall.git_gate { listen_port = 9418, from = "172.18.0.0/16" }

   it("drops by default in every chain of every namespace", function()
      for _, rules in ipairs { agent, pipelock, gate } do
         for _, hook in ipairs { "input", "forward", "output" } do
            assert.is_true(has(rules, "type filter hook " .. hook .. " priority 0; policy drop;"), hook)
         end
      end
   end)

   it("lets the agent reach its sidecars' ports only, and refuses Docker's resolver before loopback", function()
      assert.is_true(has(agent, "ip daddr 172.18.0.3 tcp dport 8888 accept"))
      assert.is_true(has(agent, "ip daddr 172.18.0.4 tcp dport 9418 accept"))
      local stub = agent:find("ip daddr 127.0.0.11 counter reject", 1, true)
      local lo = agent:find('oifname "lo" accept', 1, true)
      assert.is_truthy(stub)
      assert.is_true(stub < lo, "the resolver must be refused before loopback is accepted")
      assert.is_false(has(agent, "dport 53 accept"))
   end)

   it("lets pipelock open only the egress ports, never to blocked ranges unless trusted", function()
      assert.is_true(has(pipelock, "ip saddr 172.18.0.0/16 tcp dport 8888 accept"))
      assert.is_true(has(pipelock, "meta nfproto ipv4 tcp dport { 80, 443, 8443 } accept"))
      assert.is_true(has(pipelock, "ip daddr @trusted tcp dport { 80, 443, 8443 } accept"))
      for _, cidr in ipairs { "169.254.0.0/16", "127.0.0.0/8", "10.0.0.0/8", "203.0.113.0/24" } do
         assert.is_true(has(pipelock, cidr), cidr)
      end
      local blocked = pipelock:find("ip daddr @blocked", 1, true)
      local trusted = pipelock:find("ip daddr @trusted", 1, true)
      local any = pipelock:find("meta nfproto ipv4 tcp dport", 1, true)
      local host = pipelock:find("ip daddr @host", 1, true)
      assert.is_true(host < trusted and trusted < blocked and blocked < any,
                     "the host, then trusted, then blocked, then the open ports")
      -- a trusted range does not open the host's own address in it; the exact address does
      assert.is_true(has(pipelock, "set host { type ipv4_addr; elements = { 172.17.0.1, 192.0.2.2 } }"))
      -- DNS only from root's sockets (Docker's resolver), not pipelock's (65534)
      assert.is_true(has(pipelock, "meta skuid 0 udp dport 53 accept"))
   end)

   it("lets the gate reach the set of its upstreams only", function()
      assert.is_true(has(gate, "ip daddr . tcp dport @upstreams accept"))
      assert.is_true(has(gate, "ip saddr 172.18.0.0/16 tcp dport 9418 accept"))
      assert.are.equal("git.example.com 22\n10.1.2.3 2222\n",
         firewall.resolve_list { { host = "git.example.com", port = 22 }, { host = "10.1.2.3", port = 2222 },
                                 { host = "git.example.com", port = 22 } })
   end)

   it("refuses hostile values before they reach nft's text", function()
      local bad = {
         function() firewall.agent { allow = { { addr = "1.2.3.4; flush ruleset", port = 1 } } } end,
         function() firewall.agent { allow = { { addr = "1.2.3.4", port = 0 } } } end,
         function() firewall.agent { allow = { { addr = "1.2.3.4", port = 1.5 } } } end,
         function() firewall.agent { allow = { { addr = "01.2.3.4", port = 1 } } } end,
         function() firewall.pipelock { listen_port = 8888, from = "10.0.0.0/33", ports = { 443 } } end,
         function() firewall.pipelock { listen_port = 8888, from = "10.0.0.0/8", ports = {} } end,
         function() firewall.pipelock { listen_port = 8888, from = "10.0.0.0/8", ports = { 443 },
                                        trusted = { "0.0.0.0/0 } accept; #" } } end,
         function() firewall.resolve_list { { host = "a.com\nevil 1", port = 22 } } end,
         function() firewall.resolve_list { { host = "$(reboot)", port = 22 } } end,
      }
      for i, f in ipairs(bad) do
         assert.has_error(f, nil, "case " .. i)
      end
   end)

   it("verifies a listing: the table, each hook dropping, and the rules that must be there", function()
      local listing = [[
table inet claude_bottle {
	chain input {
		type filter hook input priority filter; policy drop;
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy drop;
		ip daddr 172.18.0.3 tcp dport 8888 accept
	}
}
]]
      assert.is_true(firewall.verify(listing, { "ip daddr 172.18.0.3 tcp dport 8888 accept" }))
      local ok, problem = firewall.verify(listing:gsub("hook output priority filter; policy drop", "hook output priority filter; policy accept"))
      assert.is_nil(ok)
      assert.matches("output chain does not drop", problem)
      ok, problem = firewall.verify("", {})
      assert.is_nil(ok)
      assert.matches("not in place", problem)
      ok, problem = firewall.verify(listing, { "tcp dport 9418 accept" })
      assert.is_nil(ok)
      assert.matches("lacks", problem)
   end)

   it("renders rulesets the real nft loads, and that verify accepts", function()
      if not nft_available() then pending("needs root, nft and ip netns on this machine") return end
      for name, rules in pairs { agent = agent, pipelock = pipelock, gate = gate } do
         local ok, out = nft_load(rules)
         assert.is_true(ok, name .. ": " .. out)
         assert.is_true(firewall.verify(out), name)
      end
   end)
end)
