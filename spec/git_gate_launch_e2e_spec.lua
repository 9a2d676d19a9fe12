-- The git gate through the real launch, against the real dockerd: a manifest
-- file (manifest.load) with a git entry, the plan built from it (plan.build),
-- and launch.up driving the docker backend with the manifest's identities;
-- then everything is checked from inside the agent, the upstream or the
-- engine.  Real parts only: the test images of images/test/ (pipelock 2.3.0,
-- the agent, the gate with gitleaks, an sshd upstream with bare repositories
-- and a host key fixed at build time).  Pending (with the reason) without
-- dockerd or the images.
--
-- Where the upstream sits: on a test network of its own, with its port 22
-- published on that network's gateway address (a host address, not exposed
-- on the host's outside interfaces).  The manifest names it the way a real
-- bottle names a server outside the machine: upstream.test on that port,
-- pinned to the address with extra_hosts.  The gate reaches it from the
-- bottle's egress network through the host, as it would reach any outside
-- host; the agent, on the internal network only, has no route to it.  (A
-- container's address on another bridge would not do: Docker isolates
-- bridges from each other, and the egress network's address is not known
-- before the launch makes it.)
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local E = require "testlib.e2e"
local manifest = require "bottle.manifest"
local planner = require "bottle.plan"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

local IMAGES = {
   gate = "claude-bottle-test/git-gate:latest",
   sshd = "claude-bottle-test/sshd-upstream:latest",
   agent = E.AGENT_IMAGE,
   pipelock = E.PIPELOCK_IMAGE,
}
local BUILD_HINT = {
   gate = "images/test/git-gate.sh", sshd = "images/test/sshd-upstream.sh",
   agent = "images/test/build.sh", pipelock = "images/test/build.sh",
}
local HOST_KEY_LABEL = "claude-bottle.test.host-key"
local UPSTREAM_HOST = "upstream.test"
local AGENT = "gate-launch"
local MODE_600 = tonumber("600", 8)

local function unavailable()
   local why = E.unavailable()
   if why then return why end
   local c = E.api()
   for role, image in pairs(IMAGES) do
      if not c:image_inspect(image) then return image .. " is not built: run " .. BUILD_HINT[role] end
   end
   return nil
end

local why_not = unavailable()
local function skip()
   if why_not then pending("the git gate launch e2e needs dockerd and the test images: " .. why_not) return true end
   return false
end

-- A random AWS-key-shaped string (random, so no allowlisted example value).
local function random_aws_key()
   local alphabet, hex, out = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", core.random_hex(16), {}
   for i = 1, 16 do
      local k = tonumber(hex:sub(2 * i - 1, 2 * i), 16) % #alphabet + 1
      out[i] = alphabet:sub(k, k)
   end
   return "AKIA" .. table.concat(out)
end

local read = require("testlib.util").read

local c                 -- the engine client
local keydir            -- identity key and manifest (0700)
local upstream          -- {network, id, ip, port, url}
local roots = {}        -- stage roots made here (removed in the end)

-- Runs argv in a container: {exit, stdout, stderr, out = stdout .. stderr}.
local function run(id, argv, user)
   local r = assert(c:exec(id, argv, { user = user, timeout_ms = 120000 }))
   r.out = r.stdout .. r.stderr
   return r
end

-- The upstream's view, read inside the sshd container (never through the gate).
local function upstream_rev(ref)
   local r = run(upstream.id, { "git", "--git-dir=/srv/git/app.git", "rev-parse", "-q", "--verify", ref }, "git")
   return r.exit == 0 and r.stdout:gsub("%s+$", "") or nil
end

-- The sshd upstream: its own network, port 22 published on the network's
-- gateway address, the gate's identity authorised, one seeded commit on main.
local function start_upstream()
   local tag = core.random_hex(3)
   local net_name = "claude-bottle-test-gate-launch-" .. tag
   local name = "claude-bottle-test-sshd-" .. tag
   upstream = { network = net_name, name = name }
   assert(c:network_create(net_name, { Driver = "bridge", CheckDuplicate = true,
                                       Labels = { [E.TEST_LABEL] = "1" } }))
   local net = assert(c:network_inspect(net_name))
   local gateway = net.IPAM and net.IPAM.Config and net.IPAM.Config[1] and net.IPAM.Config[1].Gateway
   assert(gateway, "the upstream's network has no gateway address")
   local created = assert(c:container_create(name, {
      Image = IMAGES.sshd, Env = { "UPSTREAM_REPOS=app" },
      Labels = { [E.TEST_LABEL] = "1" },
      ExposedPorts = { ["22/tcp"] = {} },
      HostConfig = { NetworkMode = net_name,
                     PortBindings = { ["22/tcp"] = { { HostIp = gateway, HostPort = "" } } } },
   }))
   upstream.id = created.Id
   assert(c:archive_put(upstream.id, "/home/git/.ssh", tar.pack {
      { name = "authorized_keys", data = read(keydir .. "/id_app.pub"), mode = MODE_600, uid = 1000, gid = 1000 },
   }))
   assert(c:container_start(upstream.id, name))
   local deadline = core.monotonic() + 20
   while run(upstream.id, { "sh", "-c", "grep -q ':0016 [0-9A-F]*:0000 0A' /proc/net/tcp && test -d /srv/git/app.git" }).exit ~= 0 do
      assert(core.monotonic() < deadline, "the sshd upstream did not come up in 20s")
      core.sleep(0.1)
   end
   local ports = assert(c:container_inspect(upstream.id)).NetworkSettings.Ports["22/tcp"]
   upstream.ip, upstream.port = gateway, assert(tonumber(ports and ports[1] and ports[1].HostPort), "no published port")
   upstream.url = ("ssh://git@%s:%d/srv/git/app.git"):format(UPSTREAM_HOST, upstream.port)
   local seeded = run(upstream.id, { "sh", "-c", [[
      set -e
      d=$(mktemp -d)
      git clone -q /srv/git/app.git "$d" 2>/dev/null
      cd "$d"
      git symbolic-ref HEAD refs/heads/main
      printf 'hello from upstream\n' > README.md
      git add -A
      git -c user.name=Upstream -c user.email=upstream@example.test commit -q -m seed
      git push -q origin HEAD:refs/heads/main
      rm -rf "$d"]] }, "git")
   assert(seeded.exit == 0, seeded.out)
end

local function stop_upstream()
   if not upstream then return end
   if upstream.id then c:container_remove(upstream.id) end
   c:network_remove(upstream.network)
   upstream = nil
end

-- The manifest file, as a user writes it.
local function write_manifest()
   local host_key = assert(c:image_inspect(IMAGES.sshd)).Config.Labels[HOST_KEY_LABEL]
   local text = ([[
bottles:
  gated:
    git:
      - name: app
        upstream: %s
        identity: %s
        host_key: "%s"
        extra_hosts:
          %s: %s
        push:
          branches: [main, "agent/*"]
        user_name: Gate Launch
        user_email: gate-launch@example.test
agents:
  %s:
    bottle: gated
]]):format(upstream.url, keydir .. "/id_app", host_key, UPSTREAM_HOST, upstream.ip, AGENT)
   local path = keydir .. "/bottles.yaml"
   assert(core.write_file(path, text, MODE_600))
   return path
end

-- manifest.load + plan.build, with the test images: plan, extras.
local function build(opts)
   opts = opts or {}
   local m, msg = manifest.load { manifest = keydir .. "/bottles.yaml",
                                  env = { HOME = keydir, cwd = keydir } }
   assert(m, msg)
   local plan, extras = planner.build { manifest = m, agent = AGENT, options = {
      backend = "docker", home = keydir, cwd = keydir,
      pipelock_image = IMAGES.pipelock, agent_image = IMAGES.agent,
      git_gate_image = opts.git_gate_image or IMAGES.gate, firewall_image = E.FIREWALL_IMAGE,
   } }
   assert(plan, extras)
   return plan, extras
end

-- launch.up, detached: res, msg, code, stage root, progress lines.
local function up(plan, extras, backend)
   local lines = {}
   local root = core.mkdtemp("/tmp/claude-bottle-gate-launch.")
   roots[#roots + 1] = root
   local res, msg, code = launch.up(plan, {
      backend = backend or docker, detach = true, stage_root = root,
      identities = extras.identities, literals = {}, secrets = {},
      progress = E.progress(lines), log = function(line) lines[#lines + 1] = line end,
   })
   return res, msg, code, root, lines
end

local function assert_nothing_left(plan, root)
   local n = E.count(plan.slug)
   assert.are.same({ 0, 0 }, { n.containers, n.networks }, table.concat(n.names, ", "))
   assert.is_nil(core.stat(root .. "/" .. plan.slug), "stage dir left behind")
end

describe("#e2e git gate through the real launch", function()
   setup(function()
      if why_not then return end
      c = E.api()
      keydir = core.mkdtemp("/tmp/claude-bottle-gate-launch-keys.")
      local status = core.spawn({ "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gate-launch identity",
                                  "-f", keydir .. "/id_app" }, {})
      assert(status == 0, "ssh-keygen failed")
      local ok, err = pcall(function()
         start_upstream()
         write_manifest()
      end)
      if not ok then stop_upstream(); error(err, 0) end
   end)

   teardown(function()
      if why_not then return end
      stop_upstream()
      if keydir then core.rmtree(keydir) end
      for _, root in ipairs(roots) do core.rmtree(root) end
   end)

   describe("a launched bottle with a git entry", function()
      local plan, extras, root, lines, down_done

      setup(function()
         if why_not then return end
         plan, extras = build()
         local res, msg, _
         res, msg, _, root, lines = up(plan, extras)
         assert(res, msg)
      end)

      teardown(function()
         if plan and root and not down_done then launch.down({ slug = plan.slug }, { backend = docker, stage_root = root }) end
      end)

      local function agent(argv, user) return run(plan.names.agent, argv, user) end
      local function agit(...) return agent({ "git", "-C", "/home/node/app", ... }) end
      local function agent_commit(file, content, message)
         local r = agent({ "sh", "-c", 'printf "%s" "$2" > "$1"', "sh", "/home/node/app/" .. file, content })
         assert(r.exit == 0, r.out)
         r = agit("add", "-A")
         assert(r.exit == 0, r.out)
         r = agit("commit", "-q", "-m", message)
         assert(r.exit == 0, r.out)
         return (agit("rev-parse", "HEAD").stdout:gsub("%s+$", ""))
      end

      it("was planned from the manifest and brought up step by step, the gate after pipelock", function()
         if skip() then return end
         local e = plan.git[1]
         assert.are.same({ "app", upstream.url, UPSTREAM_HOST, upstream.port, { [UPSTREAM_HOST] = upstream.ip } },
                         { e.name, e.upstream, e.host, e.port, e.extra_hosts })
         assert.are.equal(IMAGES.gate, plan.images.git_gate)
         assert.are.same({ app = keydir .. "/id_app" }, extras.identities)
         -- the identity stays out of the plan: neither its path nor its key
         local encoded = cjson.encode(plan):gsub("\\/", "/")
         assert.is_nil(encoded:find("id_app", 1, true))
         local key_lines = {}   -- the 4th base64 line holds private bytes
         for l in read(keydir .. "/id_app"):gmatch("[^\n]+") do key_lines[#key_lines + 1] = l end
         local key_line = assert(key_lines[5])
         assert.is_nil(encoded:find(key_line, 1, true))
         -- prepare, then every step of the plan but attach (detached), in the plan's order
         local ran = {}
         for _, l in ipairs(lines) do
            local step = l:match("step (%S+) %.%.%. ok")
            if step then ran[#ran + 1] = step end
         end
         assert.are.same({ "prepare", "networks", "ca", "agent", "pipelock", "git-gate", "firewall", "provision" }, ran)
      end)

      it("points the agent's git at the gate for the upstream as written in the manifest", function()
         if skip() then return end
         local r = agent({ "git", "config", "--global", "--get-all", "url.git://git-gate/app.git.insteadOf" })
         assert.are.equal(0, r.exit, r.out)
         assert.matches("^" .. upstream.url:gsub("%p", "%%%0") .. "\n", r.stdout)
         assert.are.equal("Gate Launch\n", agent({ "git", "config", "--global", "user.name" }).stdout)
      end)

      it("clones the upstream, as the manifest writes it, through the gate", function()
         if skip() then return end
         local r = agent({ "git", "clone", "-q", upstream.url, "/home/node/app" })
         assert.are.equal(0, r.exit, r.out)
         assert.are.equal("hello from upstream\n", agent({ "cat", "/home/node/app/README.md" }).stdout)
         assert.are.equal(upstream_rev("main"), agit("rev-parse", "HEAD").stdout:gsub("%s+$", ""))
         -- the clone's remote is the upstream's URL, which git rewrites to the gate
         assert.are.equal(upstream.url .. "\n", agit("config", "remote.origin.url").stdout)
         assert.are.equal("git://git-gate/app.git\n", agit("remote", "get-url", "origin").stdout)
      end)

      it("lands a clean push to an allowed branch upstream", function()
         if skip() then return end
         local sha = agent_commit("clean.txt", "nothing secret here\n", "clean change")
         local r = agit("push", "origin", "main")
         assert.are.equal(0, r.exit, r.out)
         assert.matches(("git-gate: forwarded refs/heads/main to %s:%d"):format(UPSTREAM_HOST, upstream.port),
                        r.out, 1, true)
         assert.are.equal(sha, upstream_rev("main"))
         local author = run(upstream.id, { "git", "--git-dir=/srv/git/app.git", "log", "-1", "--format=%an", "main" },
                            "git")
         assert.are.equal("Gate Launch\n", author.stdout)
      end)

      it("refuses a push carrying a secret, and nothing reaches the upstream", function()
         if skip() then return end
         local key = random_aws_key()
         local before = upstream_rev("main")
         local sha = agent_commit("config.py", "region = 'eu'\naws_key = '" .. key .. "'\n", "add config")
         local r = agit("push", "origin", "main")
         assert.are_not.equal(0, r.exit)
         assert.matches("git-gate: push refused: gitleaks found secrets", r.out, 1, true)
         assert.matches("rule aws-access-token, file config.py, line 2, commit " .. sha:sub(1, 12), r.out, 1, true)
         assert.is_nil(r.out:find(key, 1, true))
         assert.are.equal(before, upstream_rev("main"))
         assert.are_not.equal(0, run(upstream.id, { "git", "--git-dir=/srv/git/app.git", "cat-file", "-e", sha },
                                     "git").exit)
         assert.are.equal(0, agit("reset", "-q", "--hard", "HEAD~1").exit)
      end)

      -- The gate's own wall: out only to its upstream's address and port. A
      -- listener of ours on the same host address, another port, is what
      -- the gate could reach without it (the host does not filter INPUT).
      it("keeps the gate's namespace to its upstream's address and port", function()
         if skip() then return end
         local port = 30000 + tonumber(core.random_hex(2), 16) % 20000
         local listener = io.popen(("exec python3 -c 'import socket\ns=socket.socket()\n"
            .. "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind((\"0.0.0.0\", %d))\n"
            .. "s.listen(4)\nprint(\"ready\", flush=True)\nc, _ = s.accept()' & echo $!"):format(port))
         local pid = listener:read("l")
         listener:close()
         core.sleep(0.3)
         local probe = "claude-bottle-test-in-gate-" .. core.random_hex(3)
         local made = assert(c:container_create(probe, {
            Image = IMAGES.agent, User = "10001:10001", Cmd = { "sleep", "infinity" },
            Labels = { [E.TEST_LABEL] = "1" },
            HostConfig = { NetworkMode = "container:" .. plan.names.git_gate, CapDrop = { "ALL" } } }))
         assert(c:container_start(made.Id))
         local function connects(ip, p)
            local r = run(made.Id, { "python3", "-c", ("import socket\nsocket.create_connection(('%s', %d), timeout=3)")
                                                    :format(ip, p) })
            return r.exit == 0, r.out
         end
         local up_ok, up_out = connects(upstream.ip, upstream.port)
         local other_ok, other_out = connects(upstream.ip, port)
         local meta_ok = connects("169.254.169.254", 80)
         c:container_remove(made.Id)
         os.execute("kill " .. pid .. " 2>/dev/null")
         assert.is_true(up_ok, "the gate's namespace cannot reach its upstream: " .. up_out)
         assert.is_false(other_ok, "the gate's namespace reached the host on another port")
         assert.matches("refused", other_out)
         assert.is_false(meta_ok)
      end)

      it("gives the agent no route to the upstream but the gate", function()
         if skip() then return end
         local r = agent({ "python3", "-c", ([[
import socket, sys
try:
    socket.create_connection(("%s", %d), timeout=3)
except OSError as e:
    print("unreachable:", e); sys.exit(0)
sys.exit(1)]]):format(upstream.ip, upstream.port) })
         assert.are.equal(0, r.exit, r.out)
         -- the gate: pinned address, both networks, the alias on the internal one, no proxy
         local gate = assert(c:container_inspect(plan.names.git_gate))
         assert.are.same({ UPSTREAM_HOST .. ":" .. upstream.ip }, gate.HostConfig.ExtraHosts)
         local nets = gate.NetworkSettings.Networks
         assert.is_truthy(nets[E.egress_network(plan)])
         assert.is_truthy(nets[E.internal_network(plan)])
         local aliases = nets[E.internal_network(plan)].Aliases or {}
         assert.is_truthy(table.concat(aliases, " "):find("git-gate", 1, true))
         for _, var in ipairs(gate.Config.Env or {}) do
            assert.is_nil(var:lower():match("^https?_proxy="), "the gate has a proxy variable: " .. var)
         end
      end)

      it("lists the gate among the bottle's containers, and cleanup leaves the live bottle alone", function()
         if skip() then return end
         local listed
         for _, b in ipairs(assert(docker:list())) do if b.slug == plan.slug then listed = b end end
         assert.is_truthy(listed)
         assert.are.same({ agent = plan.names.agent, pipelock = plan.names.pipelock,
                           ["git-gate"] = plan.names.git_gate }, listed.containers)
         assert.are.same({ "running", AGENT, "gated" }, { listed.state, listed.agent, listed.bottle })
         local report = assert(docker:cleanup {})   -- a report only: nothing is removed
         for _, s in ipairs(report.slugs) do assert.are_not.equal(plan.slug, s) end
      end)

      it("is taken down whole by launch.down: agent, gate, pipelock, networks, stage dir", function()
         if skip() then return end
         local before = E.count(plan.slug)
         assert.are.same({ 3, 2 }, { before.containers, before.networks }, table.concat(before.names, ", "))
         local gone = assert(launch.down({ slug = plan.slug }, { backend = docker, stage_root = root }))
         down_done = true
         assert.are.same({ plan.slug }, gone.slugs)
         assert.are.same({ root .. "/" .. plan.slug }, gone.stage_dirs)
         assert_nothing_left(plan, root)
         -- the upstream, not part of the bottle, is untouched
         assert.is_true(assert(c:container_inspect(upstream.id)).State.Running)
      end)
   end)

   describe("a failure around the git-gate step leaves nothing behind", function()
      it("when the git-gate step fails after making the gate", function()
         if skip() then return end
         local plan, extras = build()
         local res, msg, code, root, lines = up(plan, extras, E.failing_at(docker, "git-gate"))
         assert.is_nil(res)
         assert.are.equal("injected", code)
         assert.are.equal("git-gate: injected failure", msg)
         assert.matches("step git-gate ... FAILED", table.concat(lines), 1, true)
         assert_nothing_left(plan, root)
      end)

      it("when the gate's image cannot run (no /bin/sh in it)", function()
         if skip() then return end
         local plan, extras = build { git_gate_image = IMAGES.pipelock }
         local res, msg, _, root = up(plan, extras)
         assert.is_nil(res)
         assert.are.equal(1, msg:find("git-gate: start container ", 1, true), msg)
         assert.matches('exec: "/bin/sh"', msg, 1, true)
         assert_nothing_left(plan, root)
      end)

      it("when the gate's image is missing: prepare refuses before anything is made", function()
         if skip() then return end
         local missing = "claude-bottle-test/no-such-gate:" .. core.random_hex(3)
         local plan, extras = build { git_gate_image = missing }
         local res, msg, code, root = up(plan, extras)
         assert.is_nil(res)
         assert.are.equal("not_ready", code)
         assert.are.equal(1, msg:find("prepare: the git_gate image " .. missing .. " is not present", 1, true), msg)
         assert_nothing_left(plan, root)
      end)

      it("when the identity file is gone by launch time: prepare names the entry", function()
         if skip() then return end
         local plan, extras = build()
         extras.identities.app = keydir .. "/no-such-key"
         local res, msg, _, root = up(plan, extras)
         assert.is_nil(res)
         assert.are.equal(1, msg:find("prepare: ", 1, true), msg)
         assert.matches("app", msg, 1, true)
         assert_nothing_left(plan, root)
      end)
   end)
end)
