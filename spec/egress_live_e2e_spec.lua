-- Live egress changes against the real dockerd and the real pipelock 2.3.0:
-- a refused host becomes reachable without a restart while the agent's open
-- connections to another host carry on (a passthrough CONNECT tunnel with
-- TLS inside, as Claude's API traffic goes, and a plain keep-alive); a deny takes effect; a config pipelock refuses
-- leaves the old one in force.  The allow goes through bottle.egress_change
-- as the CLI calls it; the deny, `egress` and `list` through the CLI itself.
local core = require "bottle.core"
local E = require "testlib.e2e"
local U = require "testlib.util"
local launch = require "bottle.launch"
local egress_change = require "bottle.egress_change"

local unavailable = E.unavailable()
local ROOT = (os.getenv("PWD") or ".")

-- Two connections through the proxy to allowed.test, each used once before
-- /tmp/go appears and once after, on the same socket.
local CONN_PY = [[
import os, socket, ssl, time, urllib.parse
proxy = urllib.parse.urlparse(os.environ["HTTPS_PROXY"])
out = open("/tmp/conn.out", "w", buffering=1)

def head(sock):
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        ch = sock.recv(1)
        if not ch:
            raise EOFError("closed")
        data += ch
    return data.decode()

def ask(sock, path, target):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: allowed.test\r\n\r\n" % target).encode())
    h = head(sock)
    length = 0
    for line in h.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.lower() == "content-length":
            length = int(v)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise EOFError("closed")
        body += chunk
    return h.split()[1], path in body.decode()

tunnel = socket.create_connection((proxy.hostname, proxy.port))
tunnel.sendall(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
out.write("connect %s\n" % head(tunnel).split()[1])
# a raw relay: the upstream's own certificate, from the test CA
tls = ssl.create_default_context(cafile="/usr/local/share/claude-bottle-test/test-ca.pem").wrap_socket(
    tunnel, server_hostname="allowed.test")
plain = socket.create_connection((proxy.hostname, proxy.port))
out.write("tunnel-1 %s %s\n" % ask(tls, "/tunnel-1", "/tunnel-1"))
out.write("plain-1 %s %s\n" % ask(plain, "/plain-1", "http://allowed.test/plain-1"))
out.write("ready\n")
for _ in range(1200):
    if os.path.exists("/tmp/go"):
        break
    time.sleep(0.05)
for name, sock, target in (("tunnel-2", tls, "/tunnel-2"), ("plain-2", plain, "http://allowed.test/plain-2")):
    try:
        out.write("%s %s %s\n" % ((name,) + ask(sock, "/" + name, target)))
    except Exception as e:
        out.write("%s error %s\n" % (name, e))
out.write("done\n")
]]

local function started_at(name)
   local info = assert(E.api():container_inspect(name))
   return info.State.StartedAt
end

-- Polls a file in the agent until it holds `word` (10 s at most).
local function wait_for(plan, path, word)
   local text = ""
   for _ = 1, 200 do
      text = E.exec(plan, { "cat", path }).stdout
      if text:find(word, 1, true) then return text end
      core.sleep(0.05)
   end
   return text
end

describe("live egress changes #e2e", function()
   local plan, state_home, root, policy_file, docker

   -- `bottle ...` as a user runs it, with this bottle's stage root.
   local function bottle(args)
      local cmd = table.concat({
         "env", "LUA_PATH=" .. U.q(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"),
         "LUA_CPATH=" .. U.q(ROOT .. "/build/?.so;;"), "XDG_STATE_HOME=" .. U.q(state_home),
         "NO_COLOR=1", "lua5.4", U.q(ROOT .. "/bin/bottle"), args, "</dev/null 2>&1; echo \"exit=$?\"",
      }, " ")
      local out = E.read_command(cmd)
      return out, tonumber(out:match("exit=(%d+)%s*$"))
   end

   local function policies()
      return assert(require("bottle.policy").load { policy_file })
   end

   setup(function()
      if unavailable then return end
      docker = E.backend()
      E.start_upstream()
      -- allowed.test passes through: its tunnel is a raw relay, like api.anthropic.com's
      plan = E.plan { agent = "e2elive", passthrough = { "allowed.test" } }
      state_home = E.stage_root()
      root = state_home .. "/claude-bottle"
      policy_file = U.write(state_home .. "/test-network.lua", E.TEST_POLICY)
      local lines = {}
      local res, msg = launch.up(plan, { backend = docker, detach = true, stage_root = root,
                                         literals = {}, secrets = {}, progress = E.progress(lines),
                                         log = function(l) lines[#lines + 1] = l end })
      assert(res, msg)
      E.connect_upstream(plan)
   end)

   teardown(function()
      if plan and root then launch.down({ slug = plan.slug }, { backend = docker, stage_root = root }) end
      E.finish()
   end)

   it("up recorded the egress inputs in a 0600 file of the stage directory, with no value", function()
      if unavailable then return pending(unavailable) end
      local path = root .. "/" .. plan.slug .. "/" .. egress_change.RECORD
      local st = assert(core.stat(path))
      assert.equals(tonumber("600", 8), st.mode & tonumber("777", 8))
      local rec = assert(egress_change.load(root .. "/" .. plan.slug))
      assert.same({}, rec.live.allowed)
      assert.equals(plan.slug, rec.slug)
   end)

   it("allows a refused host without a restart, while open connections to another host carry on", function()
      if unavailable then return pending(unavailable) end
      assert.equals(403, E.curl(plan, { "http://denied.test/" }).status)
      local before = { pipelock = started_at(plan.names.pipelock), agent = started_at(plan.names.agent) }

      -- the open connections, made before the change
      assert(E.api():archive_put(plan.names.agent, "/tmp", require("bottle.tar").pack {
         { name = "conn.py", data = CONN_PY, mode = tonumber("644", 8), uid = 0, gid = 0 } }))
      assert(E.api():exec_detached(plan.names.agent, { "python3", "/tmp/conn.py" }))
      local first = wait_for(plan, "/tmp/conn.out", "ready")
      assert.matches("connect 200", first, 1, true)
      assert.matches("tunnel-1 200 True", first, 1, true)
      assert.matches("plain-1 200 True", first, 1, true)

      local dir = root .. "/" .. plan.slug
      local rec = assert(egress_change.load(dir))
      local ps = policies()
      local proposal, msg = egress_change.build(rec, { allow = { "denied.test" } }, { policies = ps, env_names = {} })
      require("bottle.policy").close(ps)
      assert(proposal, msg)
      assert.same({ "denied.test" }, proposal.diff.added)
      assert.same({}, proposal.diff.removed)
      local done, aerr = egress_change.apply(docker, plan.slug, dir, rec, proposal)
      assert(done, aerr)
      assert.is_true(done.seconds < 10)

      local r = E.curl(plan, { "http://denied.test/now" })
      assert.equals(200, r.status, r.body)
      assert.equals(200, E.curl(plan, { "https://denied.test/now" }).status)
      assert.equals(200, E.curl(plan, { "http://allowed.test/still" }).status)
      -- nothing restarted
      assert.equals(before.pipelock, started_at(plan.names.pipelock))
      assert.equals(before.agent, started_at(plan.names.agent))

      E.exec(plan, { "touch", "/tmp/go" })
      local second = wait_for(plan, "/tmp/conn.out", "done")
      assert.matches("tunnel-2 200 True", second, 1, true)
      assert.matches("plain-2 200 True", second, 1, true)

      -- shown by the CLI, and recorded
      local out, status = bottle("egress " .. plan.slug)
      assert.equals(0, status, out)
      assert.matches("denied.test  (added live)", out, 1, true)
      out, status = bottle("list")
      assert.equals(0, status, out)
      assert.matches("egress changed live: +1 -0", out, 1, true)
      out = bottle("logs " .. plan.slug)
      assert.matches("denied.test[^\n]*%[allowed live%]", out)
   end)

   it("denies a host live: it is refused at once", function()
      if unavailable then return pending(unavailable) end
      local out, status = bottle("deny " .. plan.slug .. " denied.test --yes --policy " .. U.q(policy_file))
      assert.equals(0, status, out)
      assert.matches("- allow       denied.test", out, 1, true)
      assert.matches("pipelock logged that it loaded the new config", out, 1, true)
      local r = E.curl(plan, { "http://denied.test/after-deny" })
      assert.equals(403, r.status)
      assert.matches("denied.test", r.body, 1, true)
      assert.equals(200, E.curl(plan, { "http://allowed.test/" }).status)
      out = bottle("egress " .. plan.slug)
      assert.matches("denied live: denied.test", out, 1, true)
      assert.is_nil(out:find("denied.test  (added live)", 1, true))
   end)

   it("refuses hostile hosts before anything is written", function()
      if unavailable then return pending(unavailable) end
      local before = assert(docker:egress_read(plan.slug))
      for _, host in ipairs { "'a b'", "allowed.test:80", "'http://x.test/'", "''" } do
         local out, status = bottle("allow " .. plan.slug .. " " .. host .. " --yes --policy " .. U.q(policy_file))
         assert.equals(2, status, out)
      end
      assert.equals(before.sha256, assert(docker:egress_read(plan.slug)).sha256)
   end)

   it("leaves the old config in force when pipelock refuses the new one", function()
      if unavailable then return pending(unavailable) end
      local dir = root .. "/" .. plan.slug
      local rec = assert(egress_change.load(dir))
      local before = assert(docker:egress_read(plan.slug))
      -- a config the core's check accepts and pipelock refuses on a reload
      -- in strict mode: a new passthrough domain
      local cfg = assert(core.yaml_decode(before.yaml))
      table.insert(cfg.api_allowlist, "denied.test")
      table.insert(cfg.tls_interception.passthrough_domains, "denied.test")
      assert(core.pipelock_check(cfg))
      local yaml = assert(core.pipelock_yaml(cfg))
      local proposal = { kind = "allow", hosts = {}, cfg = cfg, yaml = yaml, live = rec.live,
                         diff = egress_change.diff(rec.config, cfg) }
      local done, msg, code = egress_change.apply(docker, plan.slug, dir, rec, proposal)
      assert.is_nil(done)
      assert.equals("reload_refused", code)
      assert.matches("pipelock refused the new config", msg, 1, true)
      assert.matches("the old config is in force again", msg, 1, true)
      -- the old bytes (under a fresh stamp line) are what runs, and act so
      local now = assert(docker:egress_read(plan.slug))
      local function unstamped(y) return (y:gsub("# claude%-bottle live egress write %x+\n$", "")) end
      assert.equals(unstamped(before.yaml), unstamped(now.yaml))
      assert.equals(403, E.curl(plan, { "http://denied.test/" }).status)
      assert.are_not.equals(200, E.curl(plan, { "https://denied.test/" }).status)
      local out = bottle("egress " .. plan.slug)
      assert.is_nil(out:match("passthrough[^\n]*\n[^\n]*denied%.test"))
      local after = assert(egress_change.load(dir))
      assert.same(rec.live, after.live)
      assert.equals(#rec.changes, #after.changes)
   end)
end)
