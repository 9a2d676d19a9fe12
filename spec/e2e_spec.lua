-- End to end, against the real dockerd and the real pipelock 2.3.0 (the images
-- images/test/build.sh makes): launch.lua drives the docker backend, and every
-- claim is checked from inside the agent container or through the engine.
-- Each spec is pending (with the reason) when dockerd or the images are absent.
local core = require "bottle.core"
local cjson = require "cjson"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

local GITHUB_TOKEN_SHAPED = "ghp_" .. "Zq3xVb7Nw2Lk9Hd4Rt6Yp8Ms1Jc5Fg0AeUoI"   -- a fake, GitHub-token-shaped string
local unavailable = E.unavailable()

local function skip_if_unavailable()
   if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return true end
   return false
end

local function up(plan, opts)
   opts = opts or {}
   local lines = {}
   local root = opts.stage_root or E.stage_root()
   local res, msg, code = launch.up(plan, {
      backend = opts.backend or docker, detach = opts.detach ~= false, stage_root = root,
      literals = opts.literals or {}, secrets = opts.secrets or {},
      progress = E.progress(lines), log = function(line) lines[#lines + 1] = line end,
   })
   return res, msg, code, root, lines
end

local function down(plan, root)
   return launch.down({ slug = plan.slug }, { backend = docker, stage_root = root })
end

local read = require("testlib.util").read

describe("#e2e", function()
   teardown(function() E.finish() end)

   describe("docker backend, TLS interception on", function()
      local plan, root

      setup(function()
         if unavailable then return end
         E.start_upstream()
         plan = E.plan { agent = "e2e" }
         local res, msg, _
         res, msg, _, root = up(plan)
         assert(res, msg)
         E.connect_upstream(plan)
      end)

      teardown(function()
         if plan and root then down(plan, root) end
      end)

      it("reaches the allowed host through the proxy, over HTTP and HTTPS", function()
         if skip_if_unavailable() then return end
         local r = E.curl(plan, { "http://allowed.test/hello" })
         assert.are.equal(200, r.status, r.stderr .. r.body)
         local echo = cjson.decode(r.body)
         assert.are.same({ "http", "GET", "/hello" }, { echo.scheme, echo.method, echo.path })
         r = E.curl(plan, { "https://allowed.test/secure" })
         assert.are.equal(200, r.status, r.stderr .. r.body)
         assert.are.equal("https", cjson.decode(r.body).scheme)
      end)

      it("gets pipelock's 403 for the denied host", function()
         if skip_if_unavailable() then return end
         local r = E.curl(plan, { "http://denied.test/" })
         assert.are.equal(403, r.status)
         assert.matches("blocked: domain not in allowlist: denied.test", r.body, 1, true)
         r = E.curl(plan, { "https://denied.test/" })
         assert.are_not.equal(0, r.exit)
         assert.matches("CONNECT tunnel failed, response 403", r.stderr, 1, true)
      end)

      it("has no route out for a client that ignores the proxy", function()
         if skip_if_unavailable() then return end
         local ip = assert(E.upstream_ip(plan), "the upstream has no address on the egress network")
         -- The upstream answers this address from pipelock's side...
         local direct = E.api():exec(plan.names.pipelock, { "/pipelock", "healthcheck", "--addr", ip .. ":80" })
         assert.are.equal(0, direct.exit, "the upstream is not reachable from the egress side: " .. direct.stderr)
         -- ...but not from the agent's.
         local r = E.curl(plan, { "--noproxy", "*", "--connect-timeout", "3", "http://" .. ip .. "/" })
         assert.are_not.equal(0, r.exit)
         assert.are.equal(0, r.status)
         -- By name it does not even resolve (the test names live on the egress network only).
         r = E.curl(plan, { "--noproxy", "*", "--connect-timeout", "3", "http://allowed.test/" })
         assert.are_not.equal(0, r.exit)
         assert.is_truthy(r.stderr:find("Could not resolve host", 1, true) or r.stderr:find("Resolving timed out", 1, true),
                          r.stderr)
      end)

      it("cannot resolve an outside name", function()
         if skip_if_unavailable() then return end
         -- The engine's resolver has no upstream on an internal network: the
         -- lookup fails or times out (bounded here to keep the spec short).
         for _, name in ipairs { "example.com", "deb.debian.org" } do
            local r = E.exec(plan, { "timeout", "5", "getent", "ahosts", name })
            assert.are_not.equal(0, r.exit, name .. " resolved: " .. r.stdout)
            assert.are.equal("", r.stdout)
         end
         -- The proxy's name does resolve: DNS itself works on the internal network.
         assert.are.equal(0, E.exec(plan, { "getent", "hosts", plan.names.pipelock }).exit)
      end)

      it("blocks an HTTPS POST carrying a GitHub token, and the agent trusts the interception CA", function()
         if skip_if_unavailable() then return end
         local ok = E.curl(plan, { "-X", "POST", "--data", "harmless=1", "https://allowed.test/upload" })
         assert.are.equal(200, ok.status, ok.stderr .. ok.body)
         assert.are.equal(10, cjson.decode(ok.body).body_length)
         local r = E.curl(plan, { "-X", "POST", "--data", "token=" .. GITHUB_TOKEN_SHAPED, "https://allowed.test/upload" })
         assert.are.equal(403, r.status, r.stderr .. r.body)
         assert.matches("blocked: request body contains secret", r.body, 1, true)
         -- The certificate the agent accepted was forged by the bottle's CA.
         local v = E.exec(plan, { "curl", "-sv", "-o", "/dev/null", "https://allowed.test/" })
         assert.are.equal(0, v.exit, v.stderr)
         assert.matches("issuer: [^\n]*CN=Pipelock CA", v.stderr)
         assert.matches("SSL certificate verify ok", v.stderr, 1, true)
      end)

      it("keeps the CA private key out of the agent", function()
         if skip_if_unavailable() then return end
         local key = assert(read(root .. "/" .. plan.slug .. "/ca-key.pem"), "no CA key in the stage dir")
         local cert = assert(read(root .. "/" .. plan.slug .. "/ca.pem"))
         local function needle(pem)   -- a line from the middle of the base64 body
            local lines = {}
            for line in pem:gmatch("[^\n]+") do if not line:find("-----", 1, true) then lines[#lines + 1] = line end end
            return lines[math.max(1, #lines // 2)]
         end
         local function search(text)
            return E.exec(plan, { "grep", "-rlF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
                                  text, "/" }, { user = "0" })
         end
         -- The search works: it finds the public certificate where provisioning put it.
         local found = search(needle(cert))
         assert.are.equal(0, found.exit, found.stderr)
         assert.matches(plan.ca.agent_cert, found.stdout, 1, true)
         local r = search(needle(key))
         assert.are.equal(1, r.exit, "the CA key was found in the agent: " .. r.stdout)
         assert.are.equal("", r.stdout)
      end)

      it("names its resources by label and lists the bottle", function()
         if skip_if_unavailable() then return end
         local n = E.count(plan.slug)
         assert.are.same({ 2, 2 }, { n.containers, n.networks }, table.concat(n.names, ", "))
         local listed
         for _, b in ipairs(assert(docker:list())) do if b.slug == plan.slug then listed = b end end
         assert.is_truthy(listed)
         assert.are.same({ "running", "e2e", "e2e" }, { listed.state, listed.agent, listed.bottle })
         assert.are.same({ agent = plan.names.agent, pipelock = plan.names.pipelock }, listed.containers)
         -- A running detached bottle is not a leftover.
         local report = assert(docker:cleanup {})
         for _, s in ipairs(report.slugs) do assert.are_not.equal(plan.slug, s) end
      end)

      it("streams pipelock's decision log", function()
         if skip_if_unavailable() then return end
         E.curl(plan, { "http://denied.test/logged" })
         local events = {}
         assert(docker:logs(plan.slug, { on_line = function(line)
            local ok, ev = pcall(cjson.decode, line)
            if ok and type(ev) == "table" then events[#events + 1] = ev end
         end }))
         local saw_block = false
         for _, ev in ipairs(events) do
            if tostring(ev.url or ev.target or ev.host or ""):find("denied.test", 1, true) then saw_block = true end
         end
         assert.is_true(#events > 0)
         assert.is_true(saw_block, "no log event mentions denied.test")
         -- Following stops when the reader says so (here at the first line).
         local first
         assert(docker:logs(plan.slug, { follow = true, on_line = function(line) first = line; return false end }))
         assert.is_truthy(first)
      end)
   end)

   describe("docker backend, secrets and teardown", function()
      it("keeps secret and literal values out of docker inspect and the stage dir, but hands them to the session",
         function()
         if skip_if_unavailable() then return end
         E.start_upstream()
         local secret = "s3cret-" .. core.random_hex(12)
         local literal = "lit-" .. core.random_hex(12)
         local plan = E.plan {
            agent = "e2e-env",
            env = { { name = "API_TOKEN", kind = "prompt" }, { name = "MODE", kind = "literal" } },
            prompt = { text = "be careful\n", path = "/home/node/.claude-bottle/prompt.md" },
         }
         local res, msg, _, root = up(plan, { secrets = { API_TOKEN = secret },
                                                literals = { { name = "MODE", value = literal } } })
         assert(res, msg)
         local ok, err = pcall(function()
            local c = E.api()
            local dumps = {}
            for _, name in ipairs { plan.names.agent, plan.names.pipelock } do
               local status, _, body = core.http(c:build("GET", "/containers/" .. name .. "/json"))
               assert.are.equal(200, status)
               dumps[#dumps + 1] = body
            end
            for _, name in ipairs { E.internal_network(plan), E.egress_network(plan) } do
               local _, _, body = core.http(c:build("GET", "/networks/" .. name))
               dumps[#dumps + 1] = body
            end
            for _, body in ipairs(dumps) do
               assert.is_nil(body:find(secret, 1, true), "secret value in docker inspect")
               assert.is_nil(body:find(literal, 1, true), "literal value in docker inspect")
            end
            local dir = root .. "/" .. plan.slug
            local env_file
            for _, name in ipairs(assert(core.readdir and core.readdir(dir) or { "agent.env", "ca.pem", "ca-key.pem" })) do
               local data = read(dir .. "/" .. name) or ""
               assert.is_nil(data:find(secret, 1, true), "secret value in stage file " .. name)
               if name == "agent.env" then env_file = data
               else assert.is_nil(data:find(literal, 1, true), "literal value in stage file " .. name) end
            end
            assert.matches("MODE=" .. literal, env_file, 1, true)
            assert.are.equal(tonumber("600", 8), core.stat(dir .. "/agent.env").mode)
            -- The prompt file is the agent user's, 0600.
            local p = E.exec(plan, { "stat", "-c", "%a %U", plan.prompt.path })
            assert.are.equal("600 node\n", p.stdout)
            -- attach hands both to the session (env-file and -e NAME), not to the container.
            local state = { plan = plan, stage = { dir = dir, env_file = dir .. "/agent.env" },
                            secrets = { API_TOKEN = secret } }
            for _, word in ipairs(docker.attach_argv(state)) do
               assert.is_nil(word:find(secret, 1, true), "secret on the docker exec command line")
            end
            plan.command = { "sh", "-c", 'printf "%s %s" "$API_TOKEN" "$MODE" > /tmp/session-env' }
            assert.are.equal(0, docker:attach(state))
            local seen = E.exec(plan, { "cat", "/tmp/session-env" })
            assert.are.equal(secret .. " " .. literal, seen.stdout)
         end)
         local gone = down(plan, root)
         assert(ok, err)
         assert.is_truthy(gone)
         assert.are.same({ 0, 0 }, { E.count(plan.slug).containers, E.count(plan.slug).networks })
         assert.is_nil(core.stat(root .. "/" .. plan.slug))
      end)

      it("down removes every container, network and the stage dir", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-down", tls = false }
         local res, msg, _, root = up(plan)
         assert(res, msg)
         E.connect_upstream(plan)   -- a foreign container on the egress network must not block removal
         local before = E.count(plan.slug)
         assert.are.same({ 2, 2 }, { before.containers, before.networks })
         assert(down(plan, root))
         local after = E.count(plan.slug)
         assert.are.same({ 0, 0 }, { after.containers, after.networks }, table.concat(after.names, ", "))
         assert.is_nil(core.stat(root .. "/" .. plan.slug))
      end)
   end)

   local function assert_nothing_left(plan, root)
      local n = E.count(plan.slug)
      assert.are.same({ 0, 0 }, { n.containers, n.networks }, table.concat(n.names, ", "))
      assert.is_nil(core.stat(root .. "/" .. plan.slug), "stage dir left behind")
   end

   describe("docker backend, a failure at any step leaves nothing behind", function()
      for _, step in ipairs { "networks", "ca", "pipelock", "agent", "firewall", "provision" } do
         it("when " .. step .. " fails", function()
            if skip_if_unavailable() then return end
            local plan = E.plan { agent = "e2e-fail" }
            local res, msg, code, root = up(plan, { backend = E.failing_at(docker, step) })
            assert.is_nil(res)
            assert.are.equal("injected", code)
            assert.matches(step .. ": injected failure", msg, 1, true)
            assert_nothing_left(plan, root)
         end)
      end

      it("with a bad pipelock image (TLS on: its CA container fails to start)", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-badimg", pipelock_image = E.AGENT_IMAGE }
         local res, msg, _, root = up(plan)
         assert.is_nil(res)
         -- The CA container starts alongside the networks, so that step reports it.
         assert.matches("networks: start container claude-bottle-ca-" .. plan.slug .. ": ", msg, 1, true)
         assert.matches("executable file not found", msg, 1, true)
         assert_nothing_left(plan, root)
      end)

      -- The walls are not optional: a helper that cannot apply its ruleset
      -- (here, an image without nft) fails the launch, closed.
      it("with a firewall helper that cannot apply its ruleset (no nft in its image)", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-nofw", firewall_image = E.AGENT_IMAGE }
         local res, msg, _, root = up(plan)
         assert.is_nil(res)
         assert.matches("firewall: the pipelock ruleset did not apply", msg, 1, true)
         assert.matches("nft", msg, 1, true)
         assert_nothing_left(plan, root)
      end)

      it("with a bad pipelock image (TLS off: the pipelock step fails)", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-badimg", tls = false, pipelock_image = E.AGENT_IMAGE }
         local res, msg, _, root = up(plan)
         assert.is_nil(res)
         assert.matches("pipelock: start container " .. plan.names.pipelock .. ": ", msg, 1, true)
         assert.matches("executable file not found", msg, 1, true)
         assert_nothing_left(plan, root)
      end)

      it("with a sidecar that dies (a config pipelock refuses), quoting its log", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-dies" }
         plan.pipelock.yaml = plan.pipelock.yaml .. "\nno_such_key: 1\n"
         local res, msg, _, root = up(plan)
         assert.is_nil(res)
         assert.matches("^pipelock: pipelock exited", msg)
         assert.matches("no_such_key", msg, 1, true)
         assert_nothing_left(plan, root)
      end)

      it("with a name taken by someone else, which it leaves alone", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-conflict" }
         local c = E.api()
         local squatter = assert(c:container_create(plan.names.agent, { Image = E.AGENT_IMAGE,
            Labels = { [E.TEST_LABEL] = "1" } }))
         local ok, err = pcall(function()
            -- Caught by prepare, before anything is made.
            local res, msg, _, root = up(plan)
            assert.is_nil(res)
            assert.matches("already exists: run `bottle cleanup`", msg, 1, true)
            assert_nothing_left(plan, root)
            -- Taken between prepare and the agent step: the agent step fails.
            c:container_remove(squatter.Id)
            local b = setmetatable({}, { __index = docker })
            b.up = function(_, state, progress)
               return docker:up(state, function(name, fn, ...)
                  if name == "agent" then
                     squatter = assert(c:container_create(plan.names.agent, { Image = E.AGENT_IMAGE,
                        Labels = { [E.TEST_LABEL] = "1" } }))
                  end
                  return progress(name, fn, ...)
               end)
            end
            res, msg, _, root = up(plan, { backend = b })
            assert.is_nil(res)
            assert.are.equal(1, msg:find("agent: create container " .. plan.names.agent .. ": Conflict", 1, true), msg)
            assert_nothing_left(plan, root)
            assert.is_truthy(c:container_inspect(squatter.Id), "the other container was removed")
         end)
         c:container_remove(squatter.Id)
         assert(ok, err)
      end)
   end)

   describe("docker backend, side by side and after a crash", function()
      it("runs two launches of one agent side by side", function()
         if skip_if_unavailable() then return end
         E.start_upstream()
         local a, b = E.plan { agent = "e2e-twin" }, E.plan { agent = "e2e-twin" }
         local ra, msg, _, root_a = up(a)
         assert(ra, msg)
         local rb, root_b
         rb, msg, _, root_b = up(b)
         local ok, err = pcall(function()
            assert(rb, msg)
            E.connect_upstream(a)
            E.connect_upstream(b)
            for _, p in ipairs { a, b } do
               local r = E.curl(p, { "https://allowed.test/" .. p.slug })
               assert.are.equal(200, r.status, r.stderr)
               assert.are.equal("/" .. p.slug, cjson.decode(r.body).path)
            end
            assert(down(a, root_a))
            assert.are.same({ 2, 2 }, { E.count(b.slug).containers, E.count(b.slug).networks })
            assert.are.equal(200, E.curl(b, { "http://allowed.test/" }).status)
         end)
         down(a, root_a)
         if rb then down(b, root_b) end
         assert(ok, err)
      end)

      it("cleanup finds and removes what a SIGKILLed up left", function()
         if skip_if_unavailable() then return end
         local plan = E.plan { agent = "e2e-killed" }
         local root = E.stage_root()
         local plan_file = root .. "/plan.json"
         assert(core.write_file(plan_file, cjson.encode(plan), tonumber("600", 8)))
         -- A child `up` (attached, so its launcher pid is recorded), killed with
         -- SIGKILL once its pipelock sidecar exists.
         local script = ([[
   package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
   package.cpath = "build/?.so;" .. package.cpath
   local plan = require("cjson").decode(io.open(%q):read("a"))
   require("bottle.launch").up(plan, { backend = require("bottle.backend").new("docker"), stage_root = %q,
      literals = {}, secrets = {}, detach = false })
   ]]):format(plan_file, root)
         local script_file = root .. "/child.lua"
         assert(core.write_file(script_file, script, tonumber("600", 8)))
         local p = assert(io.popen("lua5.4 " .. script_file .. " >/dev/null 2>&1 & echo $!"))
         local pid = p:read("l"); p:close()
         local deadline = core.monotonic() + 30
         repeat
            core.sleep(0.05)
            local info = E.api():container_inspect(plan.names.pipelock)
         until (info and info.State and info.State.Running) or core.monotonic() > deadline
         os.execute("kill -KILL " .. pid)
         -- SIGKILL is delivered asynchronously: wait until the kernel says the
         -- launcher is gone (or a zombie) before asking cleanup about it.
         local gone_by = core.monotonic() + 10
         repeat
            local f = io.open("/proc/" .. pid .. "/stat")
            local st = f and f:read("l")
            if f then f:close() end
            if not st or st:match(".*%) (%a)") == "Z" then break end
            core.sleep(0.05)
         until core.monotonic() > gone_by
         local ok, err = pcall(function()
            local left = E.count(plan.slug)
            assert.is_true(left.containers + left.networks > 0, "the killed up left nothing to find")
            local report = assert(docker:cleanup {})
            local listed = {}
            for _, ctr in ipairs(report.containers) do if ctr.slug == plan.slug then listed[#listed + 1] = ctr.name end end
            for _, n in ipairs(report.networks) do if n.slug == plan.slug then listed[#listed + 1] = n.name end end
            assert.are.equal(left.containers + left.networks, #listed, table.concat(left.names, ", "))
            local applied = assert(launch.cleanup { backend = docker, stage_root = root, apply = true })
            assert_nothing_left(plan, root)
            local dirs = table.concat(applied.stage_dirs, " ")
            assert.matches(plan.slug, dirs, 1, true)
         end)
         if not ok then docker:down { slug = plan.slug } end
         assert(ok, err)
      end)
   end)

   describe("docker backend, TLS interception off", function()
      it("passes HTTPS through untouched: the upstream's own certificate, and no body scanning", function()
         if skip_if_unavailable() then return end
         E.start_upstream()
         local plan = E.plan { agent = "e2e-notls", tls = false }
         local res, msg, _, root = up(plan)
         assert(res, msg)
         local ok, err = pcall(function()
            E.connect_upstream(plan)
            local cacert = E.CERT_DIR .. "/test-ca.pem"
            local r = E.curl(plan, { "--cacert", cacert, "-X", "POST", "--data", "token=" .. GITHUB_TOKEN_SHAPED,
                                     "https://allowed.test/opaque" })
            assert.are.equal(200, r.status, r.stderr .. r.body)
            -- No interception CA in the agent at all.
            local ls = E.exec(plan, { "ls", "/usr/local/share/ca-certificates" })
            assert.are.equal("", ls.stdout)
            assert.are.equal(403, E.curl(plan, { "http://denied.test/" }).status)
         end)
         down(plan, root)
         assert(ok, err)
      end)
   end)
end)
