-- Containment: every way out of a bottle that users of comparable tools have
-- reported breaking (see /work/shared/reference/peers.md), tried from inside
-- a real bottle's agent (the real docker backend and pipelock 2.3.0, the test
-- images) against addresses of this machine only: the upstream test server's
-- container, a container port published on the host, and the host's own
-- addresses, where a listener of ours records whatever arrives.  Each direct
-- attempt runs as the agent's user and again as root, with frames forged on
-- a packet socket on top; and a process joined to pipelock's namespace (as
-- pipelock's user) tries the metadata address, the host and other ports.  Used by spec/containment_spec.lua (CI) and
-- reliability/containment.lua (the figure).
--
--   local C = require "reliability.probes.containment"
--   local ctx = C.setup()           -- a bottle, the upstream, the listeners
--   local results = C.run(ctx)      -- {id, what, category, escaped, known_limit, detail}
--   C.teardown(ctx)
--
-- `escaped` is true when the attempt got out: a connection was accepted, a
-- datagram or a name arrived where it should not, a forbidden host answered
-- through the proxy.  `known_limit` marks attempts that get through by design
-- (documented in SECURITY.md), which the spec asserts as documented.
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

local C = {}

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "reliability/probes"
C.OTHER_PORT = 8022        -- a second listener on the upstream (CONNECT to another port)
C.AGENT_PROBE = "/tmp/claude-bottle-agent-probe.py"

local read = require("testlib.util").read

local function sh(cmd)
   local p = assert(io.popen(cmd))
   local out = p:read("a")
   p:close()
   return out
end

local q = require("testlib.util").q

-- The host's own addresses (never anything outside this machine).
local function host_addresses()
   local v4, v6 = {}, {}
   for addr in sh("ip -o -4 addr show 2>/dev/null"):gmatch("inet (%d+%.%d+%.%d+%.%d+)/") do
      if not addr:match("^127%.") then v4[#v4 + 1] = addr end
   end
   for dev, addr in sh("ip -o -6 addr show 2>/dev/null"):gmatch("%d+: (%S+)%s+inet6 ([%x:]+)/") do
      if addr ~= "::1" then v6[#v6 + 1] = { addr = addr, dev = dev } end
   end
   return v4, v6
end

local function start_bg(cmd)
   local p = assert(io.popen(cmd .. " & echo $!"))
   local pid = tonumber(p:read("l"))
   p:close()
   return pid
end

local function wait_for(path, text, seconds)
   local deadline = core.monotonic() + (seconds or 10)
   while core.monotonic() < deadline do
      if (read(path) or ""):find(text, 1, true) then return true end
      core.sleep(0.05)
   end
   return false
end

function C.setup(opts)
   opts = opts or {}
   local ctx = { c = E.api() }
   local c = ctx.c
   local info = c:container_inspect(E.UPSTREAM)
   ctx.upstream_was_running = info and info.State and info.State.Running
   E.start_upstream()
   -- The host listener's port is one pipelock may open (egress.ports), so
   -- only the address rule stands between pipelock's namespace and the host.
   ctx.port = 40000 + tonumber(core.random_hex(2), 16) % 20000
   ctx.plan = E.plan { agent = opts.agent or "contain", ports = { 80, 443, ctx.port } }
   ctx.root = core.mkdtemp("/tmp/claude-bottle-containment.")
   local res, msg = launch.up(ctx.plan, { backend = docker, detach = true, stage_root = ctx.root, literals = {},
      secrets = {}, progress = E.progress({}), log = function() end })
   assert(res, msg)
   E.connect_upstream(ctx.plan)
   local plan = ctx.plan

   -- addresses
   local agent = c:container_inspect(plan.names.agent)
   ctx.agent_ip = agent.NetworkSettings.Networks[E.internal_network(plan)].IPAddress
   ctx.agent_inspect = agent
   local pl = c:container_inspect(plan.names.pipelock)
   ctx.pipelock_ip = pl.NetworkSettings.Networks[E.internal_network(plan)].IPAddress
   ctx.pipelock_egress_ip = pl.NetworkSettings.Networks[E.egress_network(plan)].IPAddress
   local net = c:network_inspect(E.internal_network(plan))
   ctx.internal_gateway = net.IPAM and net.IPAM.Config and net.IPAM.Config[1] and net.IPAM.Config[1].Gateway
   ctx.upstream_ip = E.upstream_ip(plan)
   local up = c:container_inspect(E.UPSTREAM)
   ctx.upstream_own_ip = up.NetworkSettings.Networks[E.UPSTREAM_NETWORK].IPAddress
   ctx.host_v4, ctx.host_v6 = host_addresses()

   -- the probe script in the agent
   assert(c:archive_put(plan.names.agent, "/", tar.pack {
      { name = C.AGENT_PROBE:sub(2), data = assert(read(HERE .. "/agent_probe.py")), mode = tonumber("644", 8) } }))

   -- a listener on every host address, and one on the upstream's other port
   ctx.listener_log = ctx.root .. "/host-listener.log"
   ctx.listener_pid = start_bg(("python3 %s %d %s >/dev/null 2>&1"):format(q(HERE .. "/host_listener.py"), ctx.port,
                                                                            q(ctx.listener_log)))
   assert(wait_for(ctx.listener_log, "ready"), "the host listener did not start")
   assert(c:archive_put(E.UPSTREAM, "/", tar.pack {
      { name = "tmp/claude-bottle-listener.py", data = read(HERE .. "/host_listener.py"), mode = tonumber("644", 8) } }))
   ctx.upstream_log = "/tmp/claude-bottle-listener-" .. core.random_hex(4) .. ".log"
   ctx.upstream_pidfile = ctx.upstream_log .. ".pid"
   assert(c:exec_detached(E.UPSTREAM, { "sh", "-c",
      ("echo $$ > %s; exec python3 /tmp/claude-bottle-listener.py %d %s"):format(ctx.upstream_pidfile, C.OTHER_PORT,
                                                                               ctx.upstream_log) }, { user = "0" }))
   local deadline = core.monotonic() + 10
   repeat
      core.sleep(0.1)
      local r = c:exec(E.UPSTREAM, { "cat", ctx.upstream_log })
   until (r and r.stdout:find("ready", 1, true)) or core.monotonic() > deadline

   -- a container port published the default way (0.0.0.0 and [::] on the host)
   ctx.published = "claude-bottle-test-published-" .. core.random_hex(3)
   local pub = assert(c:container_create(ctx.published, {
      Image = E.AGENT_IMAGE, User = "0", Cmd = { "python3", "-m", "http.server", "80" },
      Labels = { [E.TEST_LABEL] = "1" }, ExposedPorts = { ["80/tcp"] = {} },
      HostConfig = { PortBindings = { ["80/tcp"] = { { HostPort = "" } } } },   -- a free port, chosen by the engine
   }))
   assert(c:container_start(pub.Id))
   local bound = assert(c:container_inspect(pub.Id)).NetworkSettings.Ports["80/tcp"]
   ctx.published_port = assert(tonumber(bound and bound[1] and bound[1].HostPort), "no published port")

   -- a process in pipelock's own namespace, as pipelock's user: what the
   -- firewall there lets pipelock reach, whatever pipelock itself decides
   ctx.in_pipelock = "claude-bottle-test-in-pipelock-" .. core.random_hex(3)
   local inp = assert(c:container_create(ctx.in_pipelock, {
      Image = E.AGENT_IMAGE, User = "65534:65534", Cmd = { "sleep", "infinity" },
      Labels = { [E.TEST_LABEL] = "1" },
      HostConfig = { NetworkMode = "container:" .. plan.names.pipelock, CapDrop = { "ALL" } },
   }))
   assert(c:archive_put(inp.Id, "/", tar.pack {
      { name = C.AGENT_PROBE:sub(2), data = assert(read(HERE .. "/agent_probe.py")), mode = tonumber("644", 8) } }))
   assert(c:container_start(inp.Id))
   return ctx
end

function C.teardown(ctx)
   if not ctx then return end
   for _, name in ipairs { ctx.published, ctx.in_pipelock } do
      if name then ctx.c:container_remove(name) end
   end
   if ctx.listener_pid then os.execute("kill " .. ctx.listener_pid .. " 2>/dev/null") end
   if ctx.plan then launch.down({ slug = ctx.plan.slug }, { backend = docker, stage_root = ctx.root }) end
   if ctx.c and ctx.upstream_pidfile then
      ctx.c:exec(E.UPSTREAM, { "sh", "-c", "kill $(cat " .. ctx.upstream_pidfile .. ")" }, { user = "0" })
   end
   if not ctx.upstream_was_running then E.stop_upstream() end
   if ctx.root then core.rmtree(ctx.root) end
end

-- Runs a list of attempts in the agent (as `user`; in `container` when
-- given) → {id = {ok, detail}}.
local function probe(ctx, attempts, user, container)
   local script = ("python3 %s <<'EOF'\n%s\nEOF\n"):format(C.AGENT_PROBE, cjson.encode(attempts))
   local r = assert(ctx.c:exec(container or ctx.plan.names.agent, { "sh", "-c", script },
                               { user = user, timeout_ms = 180000 }))
   local ok, out = pcall(cjson.decode, r.stdout)
   if not ok then error("agent probe failed: " .. r.stdout .. r.stderr) end
   return out
end

-- Lines the host listener (or the upstream's) logged from the agent's address.
local function arrivals(ctx, text)
   local got = {}
   for line in (text or ""):gmatch("[^\n]+") do
      local kind, peer = line:match("^(%a+) (%S+)")
      local from_bottle = peer == ctx.agent_ip or peer == ctx.pipelock_ip or peer == ctx.pipelock_egress_ip
      if (kind == "tcp" or kind == "udp") and from_bottle then got[#got + 1] = line end
   end
   return got
end

function C.run(ctx)
   local plan, results = ctx.plan, {}
   local function add(id, category, what, escaped, detail, known_limit)
      results[#results + 1] = { id = id, category = category, what = what, escaped = escaped and true or false,
                                detail = detail, known_limit = known_limit }
   end
   local label = "rel" .. core.random_hex(6)
   local sniffer_out = ctx.root .. "/sniffer.out"
   local sniffer = start_bg(("python3 %s %s 12 > %s 2>&1"):format(q(HERE .. "/dns_sniffer.py"), label, q(sniffer_out)))
   wait_for(sniffer_out, "ready", 5)

   -- 1. direct TCP, UDP, DNS, IPv6 from the agent's user, proxy ignored
   local attempts, meta = {}, {}
   local function try(id, category, what, a)
      a.id = id
      attempts[#attempts + 1] = a
      meta[id] = { category = category, what = what, kind = a.kind }
   end
   for _, port in ipairs { 80, 443 } do
      try("tcp-upstream-" .. port, "direct TCP", ("upstream %s:%d (egress network)"):format(ctx.upstream_ip, port),
          { kind = "tcp", addr = ctx.upstream_ip, port = port })
   end
   try("tcp-upstream-own", "direct TCP", ("upstream %s:80 (its own network)"):format(ctx.upstream_own_ip),
       { kind = "tcp", addr = ctx.upstream_own_ip, port = 80 })
   try("tcp-upstream-other", "direct TCP", ("upstream %s:%d"):format(ctx.upstream_ip, C.OTHER_PORT),
       { kind = "tcp", addr = ctx.upstream_ip, port = C.OTHER_PORT })
   try("tcp-pipelock-egress", "direct TCP", ("pipelock's egress address %s:8888"):format(ctx.pipelock_egress_ip),
       { kind = "tcp", addr = ctx.pipelock_egress_ip, port = 8888 })
   try("udp-upstream-other", "UDP", ("upstream %s:%d"):format(ctx.upstream_ip, C.OTHER_PORT),
       { kind = "udp", addr = ctx.upstream_ip, port = C.OTHER_PORT, data = "from-the-agent" })
   for _, addr in ipairs(ctx.host_v4) do
      local gw = addr == ctx.internal_gateway and " (the internal network's gateway)" or ""
      try("tcp-host-" .. addr, "host addresses", ("host %s:%d%s"):format(addr, ctx.port, gw),
          { kind = "tcp", addr = addr, port = ctx.port })
      try("udp-host-" .. addr, "host addresses", ("UDP to host %s:%d%s"):format(addr, ctx.port, gw),
          { kind = "udp", addr = addr, port = ctx.port, data = "to " .. addr })
   end
   for _, a in ipairs(ctx.host_v6) do
      local addr = a.addr:match("^fe80") and (a.addr .. "%eth0") or a.addr
      try("tcp6-host-" .. a.addr, "IPv6", ("host [%s]:%d (%s)"):format(addr, ctx.port, a.dev),
          { kind = "tcp", addr = addr, port = ctx.port })
   end
   try("ipv6-config", "IPv6", "an IPv6 address or default route in the agent", { kind = "ipv6" })
   for _, name in ipairs { "example.com", "deb.debian.org", label .. ".example.com", "allowed.test", "denied.test",
                           "host.docker.internal" } do
      try("dns-" .. name, "DNS", "resolve " .. name, { kind = "dns", name = name })
   end
   try("scan-pipelock", "the sidecar", ("TCP ports 1-65535 of pipelock %s other than 8888"):format(ctx.pipelock_ip),
       { kind = "scan", addr = ctx.pipelock_ip, first = 1, last = 65535 })
   for _, addr in ipairs(ctx.host_v4) do
      try("tcp-published-" .. addr, "published port", ("a container port published on host %s:%d")
          :format(addr, ctx.published_port), { kind = "tcp", addr = addr, port = ctx.published_port })
   end
   for _, a in ipairs(ctx.host_v6) do
      local addr = a.addr:match("^fe80") and (a.addr .. "%eth0") or a.addr
      try("tcp6-published-" .. a.addr, "published port", ("a container port published on host [%s]:%d")
          :format(addr, ctx.published_port), { kind = "tcp", addr = addr, port = ctx.published_port })
   end
   local out = probe(ctx, attempts)

   -- 2. as root in the agent (one local exploit away): every attempt above
   -- again, ICMP, and frames forged on a packet socket, which need no route
   local root_attempts = {}
   local function as_root(id, category, what, a)
      a.id = id
      root_attempts[#root_attempts + 1] = a
      meta[id] = { category = category, what = what, kind = a.kind }
   end
   for _, a in ipairs(attempts) do
      local copy = {}
      for k, v in pairs(a) do copy[k] = v end
      as_root("root-" .. a.id, meta[a.id].category .. " (root)", meta[a.id].what, copy)
   end
   as_root("icmp-upstream", "ICMP (root)", "echo to upstream " .. ctx.upstream_ip,
           { kind = "icmp", addr = ctx.upstream_ip })
   for _, addr in ipairs(ctx.host_v4) do
      as_root("icmp-host-" .. addr, "ICMP (root)", "echo to host " .. addr, { kind = "icmp", addr = addr })
      for _, port in ipairs { ctx.port, ctx.published_port } do
         as_root(("forge4-%s-%d"):format(addr, port), "forged frames (root)",
                 ("a hand-made IPv4 UDP frame to host %s:%d"):format(addr, port),
                 { kind = "forge", family = 4, addr = addr, port = port, src = ctx.agent_ip,
                   data = "to " .. addr })
      end
   end
   as_root("forge4-upstream", "forged frames (root)",
           ("a hand-made IPv4 UDP frame to upstream %s:%d"):format(ctx.upstream_ip, C.OTHER_PORT),
           { kind = "forge", family = 4, addr = ctx.upstream_ip, port = C.OTHER_PORT, src = ctx.agent_ip,
             data = "to " .. ctx.upstream_ip })
   for _, a in ipairs(ctx.host_v6) do
      as_root("forge6-" .. a.addr, "forged frames (root)",
              ("a hand-made IPv6 TCP SYN to host [%s]:%d"):format(a.addr, ctx.published_port),
              { kind = "forge", family = 6, addr = a.addr, port = ctx.published_port })
   end
   for k, v in pairs(probe(ctx, root_attempts, "0")) do out[k] = v end

   -- 2b. from inside pipelock's namespace, as pipelock's user: the metadata
   -- address, the host, the upstream on a port outside egress.ports, DNS
   -- to an outside server; and the upstream on 443 (trusted, allowed)
   local pl_attempts = {}
   local function in_pl(id, what, a)
      a.id = id
      pl_attempts[#pl_attempts + 1] = a
      meta[id] = { category = "from pipelock's namespace", what = what, kind = a.kind }
   end
   in_pl("pl-metadata", "the metadata address 169.254.169.254:80", { kind = "tcp", addr = "169.254.169.254", port = 80 })
   for _, addr in ipairs(ctx.host_v4) do
      in_pl("pl-host-" .. addr, ("host %s:%d (a port in egress.ports)"):format(addr, ctx.port),
            { kind = "tcp", addr = addr, port = ctx.port })
      in_pl("pl-udp-host-" .. addr, ("UDP to host %s:%d"):format(addr, ctx.port),
            { kind = "udp", addr = addr, port = ctx.port, data = "to " .. addr })
      in_pl("pl-published-" .. addr, ("a published port on host %s:%d"):format(addr, ctx.published_port),
            { kind = "tcp", addr = addr, port = ctx.published_port })
   end
   in_pl("pl-upstream-other", ("upstream %s:%d (not in egress.ports)"):format(ctx.upstream_ip, C.OTHER_PORT),
         { kind = "tcp", addr = ctx.upstream_ip, port = C.OTHER_PORT })
   in_pl("pl-upstream-udp", ("UDP to upstream %s:%d (any UDP, DNS to a server of its own included)")
            :format(ctx.upstream_ip, C.OTHER_PORT),
         { kind = "udp", addr = ctx.upstream_ip, port = C.OTHER_PORT, data = "to " .. ctx.upstream_ip })
   local pl_out = probe(ctx, pl_attempts, nil, ctx.in_pipelock)
   local pl_sanity = probe(ctx, { { id = "pl-upstream-443", kind = "tcp", addr = ctx.upstream_ip, port = 443 } },
                           nil, ctx.in_pipelock)
   for k, v in pairs(pl_out) do out[k] = v end

   -- 3. through the proxy: CONNECT and plain HTTP to what is not allowed
   local proxy_attempts = {}
   local function via(id, what, target, limit)
      proxy_attempts[#proxy_attempts + 1] = { id = id, kind = "connect", proxy = plan.names.pipelock, port = 8888,
                                              target = target }
      meta[id] = { category = "through the proxy", what = what, known_limit = limit }
   end
   via("connect-denied", "CONNECT denied.test:443", "denied.test:443")
   via("connect-upstream-ip", "CONNECT " .. ctx.upstream_ip .. ":443 (an address, not a name)", ctx.upstream_ip .. ":443")
   via("connect-host", ("CONNECT %s:%d (the host)"):format(ctx.host_v4[1] or "127.0.0.1", ctx.port),
       ("%s:%d"):format(ctx.host_v4[1] or "127.0.0.1", ctx.port))
   via("connect-localhost", "CONNECT localhost:8888 (pipelock itself)", "localhost:8888")
   via("connect-other-port", ("CONNECT allowed.test:%d (an allowed host, another port)"):format(C.OTHER_PORT),
       "allowed.test:" .. C.OTHER_PORT)
   for k, v in pairs(probe(ctx, proxy_attempts)) do out[k] = v end
   local sanity = probe(ctx, { { id = "allowed", kind = "connect", proxy = plan.names.pipelock, port = 8888,
                                 target = "allowed.test:443" },
                               { id = "proxy-name", kind = "dns", name = plan.names.pipelock } })

   -- what arrived at the listeners
   core.sleep(0.5)
   local host_got = arrivals(ctx, read(ctx.listener_log))
   local r = ctx.c:exec(E.UPSTREAM, { "cat", ctx.upstream_log })
   local upstream_got = arrivals(ctx, r and r.stdout)
   -- (a TCP line ends with the local address, a UDP line holds "to ADDR")
   local function arrived(list, addr, kind)
      for _, line in ipairs(list) do
         local to = line:sub(-#addr - 1) == " " .. addr or line:find("to " .. addr .. "'", 1, true)
         if line:match("^" .. kind .. " ") and to then
            return line
         end
      end
   end

   local function judge(list)
      for _, a in ipairs(list) do
         local m, o = meta[a.id], out[a.id] or { ok = false, detail = "no result" }
         local escaped, detail = o.ok, o.detail
         if a.kind == "udp" or (a.kind == "forge" and a.family == 4) then
            local line = a.addr == ctx.upstream_ip and arrived(upstream_got, ctx.upstream_ip, "udp")
                         or arrived(host_got, a.addr, "udp")
            -- a forged frame that was sent is an escape even if nothing was seen
            escaped = line ~= nil or (a.kind == "forge" and o.ok)
            detail = line and ("arrived: " .. line) or (o.ok and "sent; " or "") .. tostring(o.detail)
         elseif a.kind == "scan" then
            local open = (o.detail or ""):match("^open: (.*)$") or ""
            escaped = open ~= "8888"
            detail = o.detail
         end
         add(a.id, m.category, m.what, escaped, detail)
      end
   end
   judge(attempts)
   judge(root_attempts)
   judge(pl_attempts)
   for _, a in ipairs(proxy_attempts) do
      local o, m = out[a.id] or {}, meta[a.id]
      add(a.id, m.category, m.what, o.ok, o.detail, m.known_limit)
   end
   if #upstream_got > 0 and not out["connect-other-port"].ok then
      add("upstream-arrivals", "direct TCP", "anything at the upstream's listener", true, table.concat(upstream_got, "; "))
   end

   -- 4. the same request with the proxy environment removed
   local env_r = E.exec(plan, { "env", "-u", "HTTPS_PROXY", "-u", "https_proxy", "-u", "HTTP_PROXY", "-u", "http_proxy",
                                "curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                "https://allowed.test/" })
   add("no-proxy-env", "proxy env unset", "curl https://allowed.test/ without the proxy variables", env_r.exit == 0,
       ("exit %d %s"):format(env_r.exit, env_r.stderr:gsub("%s+$", "")))
   local http_denied = E.curl(plan, { "http://denied.test/" })
   add("http-denied", "through the proxy", "GET http://denied.test/ (plain HTTP)", http_denied.status ~= 403,
       ("HTTP %d"):format(http_denied.status))

   -- 5. the Docker socket and the container's privileges
   local sock = E.exec(plan, { "sh", "-c", "ls -la /var/run/docker.sock /run/docker.sock 2>&1; "
      .. "find / -xdev -type s 2>/dev/null | grep -v '^/proc' | head -5" })
   local sockets = sock.stdout:gsub("ls: cannot access[^\n]*\n?", "")
   add("docker-socket", "Docker socket", "a Docker socket (or any unix socket) in the agent", sockets:find("%S") ~= nil,
       sockets:find("%S") and sockets or "none")
   local hc = ctx.agent_inspect.HostConfig or {}
   local mounts = ctx.agent_inspect.Mounts or {}
   local why = {}
   if #mounts > 0 then why[#why + 1] = #mounts .. " mounts" end
   if hc.Privileged then why[#why + 1] = "privileged" end
   if type(hc.CapAdd) == "table" and #hc.CapAdd > 0 then why[#why + 1] = "CapAdd " .. table.concat(hc.CapAdd, ",") end
   if type(hc.Devices) == "table" and #hc.Devices > 0 then why[#why + 1] = "devices" end
   if hc.NetworkMode == "host" or hc.PidMode == "host" then why[#why + 1] = "host namespaces" end
   add("agent-config", "Docker socket", "mounts, privileged, added capabilities, devices, host namespaces",
       #why > 0, #why > 0 and table.concat(why, ", ") or "none")

   -- 6. was the unique name seen leaving on any interface of this machine?
   wait_for(sniffer_out, "frames", 20)
   os.execute("kill " .. sniffer .. " 2>/dev/null")
   -- Seen on a Docker bridge or veth only, the query reached the host's side
   -- of the bottle's network and was dropped there; seen on any other
   -- interface (eth0...), it left for the outside.
   local sniffed = (read(sniffer_out) or ""):match("({.*})")
   local seen = sniffed and cjson.decode(sniffed)
   local outward = {}
   for dev in pairs(seen and seen.interfaces or {}) do
      if not (dev:match("^br%-") or dev:match("^veth") or dev == "docker0") then outward[#outward + 1] = dev end
   end
   add("dns-leak", "DNS", ("the query for %s.example.com leaving on an outward interface of this machine"):format(label),
       #outward > 0,
       seen and cjson.encode(seen) or ("not measured: the sniffer failed: " .. (read(sniffer_out) or "")))
   if not seen then results[#results].unmeasured = true end

   sanity["pl-upstream-443"] = pl_sanity["pl-upstream-443"]
   ctx.sanity = sanity
   return results
end

-- {attempts, escapes, known_limits, unmeasured} of a result list.
function C.count(results)
   local n = { attempts = #results, escapes = 0, known_limits = 0, unmeasured = 0 }
   for _, r in ipairs(results) do
      if r.unmeasured then n.unmeasured = n.unmeasured + 1
      elseif r.escaped and r.known_limit then n.known_limits = n.known_limits + 1
      elseif r.escaped then n.escapes = n.escapes + 1 end
   end
   return n
end

return C
