-- End to end, against the real dockerd and pipelock 2.3.0: the bottle's
-- containers hold no capability and no privilege to gain, their limits are in
-- force (a process count or a memory use over the limit fails inside the
-- agent, the host goes on), pipelock's namespace neither forwards nor has
-- IPv6, and a passthrough host is reachable on 443 but not on a port outside
-- egress.ports (pipelock 2.3.0 itself would relay any port of it unscanned).
-- Pending (with the reason) without dockerd or the test images.
local core = require "bottle.core"
local tar = require "bottle.tar"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

local OTHER_PORT = 8022
local PIDS, MEMORY = 64, 256 * 1024 * 1024
local unavailable = E.unavailable()

local LISTENER = [[
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"other-port-listener\n"); c.close()
]]

describe("#e2e limits and ports", function()
   local plan, root, c, helper

   setup(function()
      if unavailable then return end
      c = E.api()
      E.start_upstream()
      -- a listener on the upstream's other port: without the firewall,
      -- pipelock's tunnel to it would reach it
      assert(c:archive_put(E.UPSTREAM, "/", tar.pack {
         { name = "tmp/other-port.py", data = LISTENER, mode = tonumber("644", 8) } }))
      assert(c:exec_detached(E.UPSTREAM, { "python3", "/tmp/other-port.py", tostring(OTHER_PORT) },
                             { user = "0" }))
      plan = E.plan { agent = "e2e-limits", passthrough = { "allowed.test" },
                      resources = { pids = PIDS, memory = MEMORY } }
      root = E.stage_root()
      local res, msg = launch.up(plan, { backend = docker, detach = true, stage_root = root, literals = {},
                                         secrets = {}, progress = E.progress({}), log = function() end })
      assert(res, msg)
      E.connect_upstream(plan)
      -- a process in pipelock's namespace, to read its sysctls
      helper = "claude-bottle-test-limits-" .. core.random_hex(3)
      local h = assert(c:container_create(helper, {
         Image = E.AGENT_IMAGE, Cmd = { "sleep", "infinity" }, Labels = { [E.TEST_LABEL] = "1" },
         HostConfig = { NetworkMode = "container:" .. plan.names.pipelock, CapDrop = { "ALL" } } }))
      assert(c:container_start(h.Id))
   end)

   teardown(function()
      if c and helper then c:container_remove(helper) end
      if plan then launch.down({ slug = plan.slug }, { backend = docker, stage_root = root }) end
      if c then
         c:exec(E.UPSTREAM, { "sh", "-c", "pkill -f other-port.py || true" }, { user = "0" })
      end
      E.finish()
   end)

   local function skip()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return true end
      return false
   end

   local function status_field(text, name)
      return text:match(name .. ":%s*([^\n]+)")
   end

   it("gives the agent, as root too, no capability and no way to gain one", function()
      if skip() then return end
      for _, user in ipairs { "", "0" } do
         local r = E.exec(plan, { "cat", "/proc/self/status" }, { user = user ~= "" and user or nil })
         assert.are.equal("0000000000000000", status_field(r.stdout, "CapEff"), user)
         assert.are.equal("0000000000000000", status_field(r.stdout, "CapBnd"), user)
         assert.are.equal("1", status_field(r.stdout, "NoNewPrivs"), user)
      end
      for _, name in ipairs { plan.names.agent, plan.names.pipelock } do
         local info = assert(c:container_inspect(name))
         assert.are.same({ "ALL" }, info.HostConfig.CapDrop, name)
         assert.is_true(info.HostConfig.CapAdd == nil or info.HostConfig.CapAdd == core.null
                        or #info.HostConfig.CapAdd == 0, name)
         assert.are.same({ "no-new-privileges" }, info.HostConfig.SecurityOpt, name)
         assert.is_true(info.HostConfig.PidsLimit > 0 and info.HostConfig.Memory > 0, name)
      end
   end)

   it("has no IPv6 and no forwarding in the agent's and pipelock's namespaces", function()
      if skip() then return end
      local read = "cat /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/eth0/disable_ipv6 "
         .. "/proc/sys/net/ipv4/ip_forward"
      local agent = E.exec(plan, { "sh", "-c", read })
      assert.are.equal("1\n1\n0\n", agent.stdout)
      local pl = assert(c:exec(helper, { "sh", "-c", read .. " /proc/sys/net/ipv6/conf/eth1/disable_ipv6" }))
      assert.are.equal("1\n1\n0\n1\n", pl.stdout)
   end)

   it("refuses a fork past the process limit inside the agent, and the host goes on", function()
      if skip() then return end
      local r = E.exec(plan, { "python3", "-c", [[
import os, time
kids = []
try:
    for i in range(400):
        p = os.fork()
        if p == 0:
            time.sleep(20); os._exit(0)
        kids.append(p)
    print("forked", len(kids))
except OSError as e:
    print("refused after", len(kids), "errno", e.errno)
for p in kids:
    os.kill(p, 9)
]] }, { timeout_ms = 60000 })
      local n = tonumber(r.stdout:match("refused after (%d+) errno 11"))
      assert.is_truthy(n, "no fork was refused: " .. r.stdout .. r.stderr)
      assert.is_true(n < PIDS, "forked " .. n .. " with a limit of " .. PIDS)
      assert.is_true(os.execute("true"), "the host could not start a process")
   end)

   it("stops a memory use past the limit inside the agent, and small ones work", function()
      if skip() then return end
      local small = E.exec(plan, { "python3", "-c", "b = bytearray(32 * 1024 * 1024); print('ok')" })
      assert.are.equal("ok\n", small.stdout)
      local big = E.exec(plan, { "python3", "-c", "b = bytearray(512 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('allocated')" },
                         { timeout_ms = 60000 })
      assert.are_not.equal(0, big.exit)
      assert.is_nil(big.stdout:find("allocated", 1, true))
      assert.is_true(assert(c:container_inspect(plan.names.agent)).State.Running, "the agent itself died")
   end)

   it("reaches a passthrough host on 443, and not on a port outside egress.ports", function()
      if skip() then return end
      local ok = E.exec(plan, { "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                                "--cacert", E.CERT_DIR .. "/test-ca.pem", "https://allowed.test/" })
      assert.are.equal("200", ok.stdout, ok.stderr)
      -- the tunnel: pipelock relays it raw for a passthrough host, so only
      -- the firewall under pipelock can refuse it
      local other = E.exec(plan, { "curl", "-sS", "--max-time", "10", "-p", "-x", plan.proxy.url,
                                   "telnet://allowed.test:" .. OTHER_PORT })
      assert.are_not.equal(0, other.exit)
      assert.is_nil(other.stdout:find("other-port-listener", 1, true))
      assert.matches("502", other.stderr .. other.stdout)
      local plain = E.exec(plan, { "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                                   "http://allowed.test:" .. OTHER_PORT .. "/" })
      assert.are_not.equal("200", plain.stdout)
   end)
end)
