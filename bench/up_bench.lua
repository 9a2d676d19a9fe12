-- `make bench-up`: median wall time of `bottle up --detach --yes` (it returns
-- once the bottle is ready: pipelock healthy, agent provisioned) and of
-- `bottle down SLUG`, beside the same topology brought up and down by the
-- equivalent docker CLI sequence, interleaved in one run. Not a timed test:
-- it prints figures and the issue's targets (up and down at most 0.5x the CLI).
--
-- Images: $BOTTLE_PIPELOCK_IMAGE and $BOTTLE_AGENT_IMAGE, by default the ones
-- images/test/build.sh makes. Runs: $BENCH_RUNS (default 5), after one warm-up.
local ROOT = (arg and arg[0] or ""):match("^(.*)/bench/[^/]+$") or "."
if ROOT:sub(1, 1) ~= "/" then ROOT = (os.getenv("PWD") or ".") .. "/" .. ROOT end
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/build/?.so;" .. package.cpath
local core = require "bottle.core"
local firewall = require "bottle.firewall"
local RUNS = tonumber(os.getenv("BENCH_RUNS") or "") or 5
local PIPELOCK = os.getenv("BOTTLE_PIPELOCK_IMAGE") or "claude-bottle-test/pipelock:2.3.0"
local FIREWALL = os.getenv("BOTTLE_FIREWALL_IMAGE") or "claude-bottle-test/firewall:latest"
local AGENT = os.getenv("BOTTLE_AGENT_IMAGE") or "claude-bottle-test/agent:latest"

local q = require("testlib.util").q

local function run(cmd)
   local p = assert(io.popen(cmd .. " 2>&1"))
   local out = p:read("a")
   local ok = p:close()
   return ok, out
end

local function must(cmd)
   local ok, out = run(cmd)
   if not ok then error("bench: command failed: " .. cmd .. "\n" .. out, 0) end
   return out
end

local function timed(fn)
   local t = core.monotonic()
   local result = fn()
   return core.monotonic() - t, result
end

local function median(xs)
   local s = { table.unpack(xs) }
   table.sort(s)
   local n = #s
   if n == 0 then return 0 / 0 end
   return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

-- Preconditions: an engine and both images.
for _, image in ipairs { PIPELOCK, AGENT } do
   local ok = run("docker image inspect " .. q(image) .. " >/dev/null")
   if not ok then
      io.stderr:write("bench-up: image ", image, " is missing: run images/test/build.sh\n")
      os.exit(1)
   end
end

local work = core.mkdtemp("/tmp/claude-bottle-bench.")
local state = work .. "/state"
local ENV = table.concat({
   "env",
   "LUA_PATH=" .. q(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"),
   "LUA_CPATH=" .. q(ROOT .. "/build/?.so;;"),
   "BOTTLE_PIPELOCK_IMAGE=" .. q(PIPELOCK), "BOTTLE_AGENT_IMAGE=" .. q(AGENT),
   "BOTTLE_FIREWALL_IMAGE=" .. q(FIREWALL),
   "XDG_STATE_HOME=" .. q(state),
}, " ")
-- An empty working directory: the embedded default bottle and agent.
local BOTTLE = "cd " .. q(work) .. " && " .. ENV .. " lua5.4 " .. q(ROOT .. "/bin/bottle")

local function ours_up()
   local out = must(BOTTLE .. " up --detach --yes 2>/dev/null")
   return out:match("([%w-]+)%s*$")
end

-- → {find, containers, networks, stage}: where `down` says its time went
local function ours_down(slug)
   local out = must((BOTTLE:gsub("&& env ", "&& env BOTTLE_TIMINGS=1 ", 1)) .. " down " .. q(slug))
   local t = {}
   for k, v in out:gmatch("(%a+)=([%d.]+)") do t[k] = tonumber(v) end
   return t
end

-- The docker CLI sequence for the same topology and walls: network create
-- twice, run tls init, create, cp three times, network connect, start, run
-- the agent, cp, exec; then, as `up` does since the walls under pipelock,
-- the same hardening flags on both containers, a firewall helper run in
-- each namespace (nft -f - with the same rulesets) and the agent's hosts
-- entry.
local yaml_file = work .. "/pipelock.yaml"
assert(core.write_file(yaml_file, must(BOTTLE .. " render 2>/dev/null"), tonumber("600", 8)))

-- What `up` gives every container: no capability, no privilege to gain,
-- no IPv6 or forwarding, and limits.
local HARDEN = " --cap-drop ALL --security-opt no-new-privileges --sysctl net.ipv6.conf.all.disable_ipv6=1"
   .. " --sysctl net.ipv4.ip_forward=0 --memory 1g --pids-limit 512 "

local function cli_up(n)
   local s = "bench-cli-" .. n .. "-" .. core.random_hex(3)
   local net, egress, pl, ag = "cb-net-" .. s, "cb-egress-" .. s, "cb-pipelock-" .. s, "cb-agent-" .. s
   local ca = work .. "/ca-" .. s
   local proxy = "http://" .. pl .. ":8888"
   local bundle = "/etc/ssl/certs/ca-certificates.crt"
   local cmds = {
      "docker network create --internal --label cb-bench=1 " .. net,
      "docker network create --label cb-bench=1 " .. egress,
      "mkdir -m 700 " .. q(ca) .. " && docker run --rm -v " .. q(ca) .. ":/ca " .. PIPELOCK .. " tls init --out /ca",
      "docker create --name " .. pl .. " --label cb-bench=1 --network " .. net .. HARDEN .. PIPELOCK
         .. " run --config /etc/pipelock.yaml --listen 0.0.0.0:8888",
      "docker cp " .. q(yaml_file) .. " " .. pl .. ":/etc/pipelock.yaml",
      "docker cp " .. q(ca .. "/ca.pem") .. " " .. pl .. ":/etc/pipelock-ca.pem",
      "docker cp " .. q(ca .. "/ca-key.pem") .. " " .. pl .. ":/etc/pipelock-ca-key.pem",
      "docker network connect " .. egress .. " " .. pl,
      "docker start " .. pl,
      "docker run -d --name " .. ag .. " --label cb-bench=1 --network " .. net .. HARDEN
         .. " -e HTTPS_PROXY=" .. proxy .. " -e HTTP_PROXY=" .. proxy
         .. " -e NO_PROXY=localhost,127.0.0.1 -e NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/claude-bottle-ca.crt"
         .. " -e SSL_CERT_FILE=" .. bundle .. " " .. AGENT .. " sleep infinity",
      "docker cp " .. q(ca .. "/ca.pem") .. " " .. ag .. ":/usr/local/share/ca-certificates/claude-bottle-ca.crt",
      "docker exec -u 0 " .. ag .. " update-ca-certificates",
   }
   for _, c in ipairs(cmds) do must(c .. " >/dev/null") end
   -- the walls: addresses from inspect, the rulesets piped into a helper
   local function ip(name)
      return (must(("docker inspect -f '{{(index .NetworkSettings.Networks %q).IPAddress}}' %s"):format(net, name))
                 :gsub("%s+$", ""))
   end
   local subnet = (must(("docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' %s"):format(net))
                      :gsub("%s+$", ""))
   local pl_ip = ip(pl)
   local rules = {
      [pl] = firewall.pipelock { listen_port = 8888, from = subnet, ports = { 80, 443 } },
      [ag] = firewall.agent { allow = { { addr = pl_ip, port = 8888 } } },
   }
   for _, target in ipairs { pl, ag } do
      local f = work .. "/rules-" .. target .. ".nft"
      assert(core.write_file(f, rules[target], tonumber("600", 8)))
      must(("docker run --rm -i --network container:%s --cap-drop ALL --cap-add NET_ADMIN %s nft -f - < %s >/dev/null")
         :format(target, FIREWALL, q(f)))
   end
   must(("docker exec -u 0 %s sh -c 'echo %s %s >> /etc/hosts'"):format(ag, pl_ip, pl))
   return { net = net, egress = egress, pl = pl, ag = ag, ca = ca }
end

-- → {containers, networks, stage}: the seconds of each command
local function cli_down(t)
   return {
      containers = timed(function() must("docker rm -f " .. t.ag .. " " .. t.pl .. " >/dev/null") end),
      networks = timed(function() must("docker network rm " .. t.net .. " " .. t.egress .. " >/dev/null") end),
      stage = timed(function() must("rm -rf " .. q(t.ca)) end),
   }
end

local results = { ours_up = {}, ours_down = {}, cli_up = {}, cli_down = {} }
-- the breakdowns of `down`, per part
local parts = { ours = {}, cli = {} }
local function keep(side, t)
   for k, v in pairs(t) do
      parts[side][k] = parts[side][k] or {}
      table.insert(parts[side][k], v)
   end
end
local ok, err = pcall(function()
   for i = 0, RUNS do
      local t_up, slug = timed(ours_up)
      local t_down, ours_parts = timed(function() return ours_down(slug) end)
      local c_up, topo = timed(function() return cli_up(i) end)
      local c_down, cli_parts = timed(function() return cli_down(topo) end)
      if i > 0 then   -- run 0 warms caches
         table.insert(results.ours_up, t_up); table.insert(results.ours_down, t_down)
         table.insert(results.cli_up, c_up); table.insert(results.cli_down, c_down)
         -- the rest of the wall time: process start, the label queries' client side
         ours_parts.overhead = t_down - (ours_parts.find or 0) - (ours_parts.containers or 0)
            - (ours_parts.networks or 0) - (ours_parts.stage or 0)
         ours_parts.engine = (ours_parts.containers or 0) + (ours_parts.networks or 0)
         cli_parts.engine = cli_parts.containers + cli_parts.networks
         keep("ours", ours_parts); keep("cli", cli_parts)
      end
      io.stderr:write(("run %d%s: up %.2fs down %.2fs | cli up %.2fs down %.2fs\n")
         :format(i, i == 0 and " (warm-up)" or "", t_up, t_down, c_up, c_down))
   end
end)
-- Whatever a failed run left: ours by label, the CLI's by its own label.
run(BOTTLE .. " down --all >/dev/null 2>&1")
run("docker rm -f $(docker ps -aq --filter label=cb-bench=1) >/dev/null 2>&1")
run("docker network rm $(docker network ls -q --filter label=cb-bench=1) >/dev/null 2>&1")
core.rmtree(work)
if not ok then io.stderr:write(tostring(err), "\n") os.exit(1) end

local mu, md = median(results.ours_up), median(results.ours_down)
local cu, cd = median(results.cli_up), median(results.cli_down)
print(("bench-up: %d runs, images %s + %s"):format(RUNS, PIPELOCK, AGENT))
print(("%-22s %10s %10s %8s %8s"):format("", "bottle", "docker CLI", "ratio", "target"))
print(("%-22s %9.2fs %9.2fs %7.2fx %7s"):format("up (median, to ready)", mu, cu, mu / cu, "<=0.50x"))
print(("%-22s %9.2fs %9.2fs %7.2fx %7s"):format("down (median)", md, cd, md / cd, "<=0.50x"))
-- Where `down`'s time goes.  "engine" is the removal calls alone (all
-- containers at once with force, then all networks at once): the floor no
-- client can go under on this engine.
print("")
print(("%-34s %10s %10s"):format("down, median seconds per part", "bottle", "docker CLI"))
local function m(side, k) return parts[side][k] and median(parts[side][k]) end
local function cell(v) return v and ("%9.3fs"):format(v) or ("%10s"):format("-") end
for _, k in ipairs { "find", "containers", "networks", "stage", "overhead", "engine" } do
   local label = ({ find = "find by label", containers = "containers (rm -f)", networks = "networks (rm)",
                    stage = "stage directory", overhead = "process, client", engine = "engine: containers + networks" })[k]
   print(("%-34s %s %s"):format(label, cell(m("ours", k)), cell(m("cli", k))))
end
local floor = m("ours", "engine")
if floor then
   print(("%-34s %9.2fx (engine floor / CLI down; the target 0.50x is below it when this exceeds 0.50)")
      :format("floor ratio", floor / cd))
end

