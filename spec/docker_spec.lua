-- Unit specs of the docker backend's parts. The engine here is a FAKE (a
-- table of routes answering core.http-shaped requests, recording them): these
-- specs check what the backend asks the engine for and how it reads the
-- answers. The real engine and the real pipelock are in spec/e2e_spec.lua.
local cjson = require "cjson"
local core = require "bottle.core"
local api_mod = require "bottle.backend.docker.api"
local stream = require "bottle.backend.docker.stream"
local resources = require "bottle.backend.docker.resources"
local pipelock = require "bottle.backend.docker.pipelock"
local agent = require "bottle.backend.docker.agent"
local docker = require "bottle.backend.docker"
local tar = require "bottle.tar"

local JSON = { ["content-type"] = "application/json" }

-- A fake engine: routes["GET /containers/x/json"] = function(req) → status, headers, body.
local function fake_engine(routes)
   local seen = {}
   local function http(req)
      local path = req.url:match("^http://docker/v1%.41([^?]*)")
      local query = req.url:match("%?(.*)$")
      seen[#seen + 1] = { method = req.method, path = path, query = query, body = req.body, req = req }
      local route = routes[req.method .. " " .. path]
      if not route then
         return 404, JSON, cjson.encode { message = "no such object: " .. path }
      end
      if type(route) == "table" then return route[1], route[2] or JSON, route[3] end
      return route(req)
   end
   local client = assert(api_mod.new { endpoint = { socket = "/fake.sock", name = "unix:///fake.sock" }, http = http })
   return client, seen
end

local function ok_json(value) return { 200, JSON, cjson.encode(value) } end

local function sample_plan(over)
   local slug = "claude-abc123"
   local plan = {
      version = 1, slug = slug, agent = "claude", bottle = "default", backend = "docker", runtime = "auto",
      labels = { ["claude-bottle"] = "1", ["claude-bottle.slug"] = slug, ["claude-bottle.agent"] = "claude",
                 ["claude-bottle.bottle"] = "default" },
      names = { agent = "claude-bottle-" .. slug, pipelock = "claude-bottle-pipelock-" .. slug,
                git_gate = "claude-bottle-git-gate-" .. slug },
      images = { pipelock = "claude-bottle-test/pipelock:2.3.0", agent = "claude-bottle:latest" },
      agent_env = { HTTPS_PROXY = "http://claude-bottle-pipelock-" .. slug .. ":8888", NO_PROXY = "localhost" },
      env = { { name = "API_TOKEN", kind = "prompt" } },
      ca = { sidecar_cert = "/etc/pipelock-ca.pem", sidecar_key = "/etc/pipelock-ca-key.pem",
             agent_cert = "/usr/local/share/ca-certificates/claude-bottle-ca.crt" },
      pipelock = { config_path = "/etc/pipelock.yaml", yaml = "mode: strict\n" },
      git = {}, skills = {},
      command = { "claude", "--dangerously-skip-permissions" },
   }
   for k, v in pairs(over or {}) do plan[k] = v end
   return plan
end

describe("docker api client", function()
   it("reads DOCKER_HOST", function()
      local function env(v) return function(name) return name == "DOCKER_HOST" and v or nil end end
      assert.are.same({ socket = "/var/run/docker.sock", name = "unix:///var/run/docker.sock" }, api_mod.endpoint(env(nil)))
      assert.are.equal("/run/user/1000/docker.sock", api_mod.endpoint(env("unix:///run/user/1000/docker.sock")).socket)
      assert.are.equal("http://10.0.0.2:2375", api_mod.endpoint(env("tcp://10.0.0.2:2375")).base)
      local ok, msg, code = api_mod.endpoint(env("ssh://me@host"))
      assert.is_nil(ok)
      assert.are.equal("usage", code)
      assert.matches("DOCKER_HOST=ssh://me@host is not supported", msg, 1, true)
   end)

   it("builds requests: versioned path, JSON query values, unix socket, JSON body", function()
      local c, seen = fake_engine { ["POST /containers/create"] = ok_json { Id = "abc" } }
      local r = assert(c:container_create("n1", { Image = "x" }))
      assert.are.equal("abc", r.Id)
      assert.are.equal("name=n1", seen[1].query)
      assert.are.equal("/fake.sock", seen[1].req.unix_socket)
      assert.are.equal("application/json", seen[1].req.headers["Content-Type"])
      assert.are.same({ Image = "x" }, cjson.decode(seen[1].body))
      c:container_list { label = { "claude-bottle=1" } }
      assert.are.equal("all=1&filters=" .. api_mod.urlencode('{"label":["claude-bottle=1"]}'), seen[2].query)
   end)

   it("turns engine errors into nil, message, code, quoting the engine", function()
      local c = fake_engine {
         ["POST /containers/create"] = { 409, JSON, cjson.encode { message = 'Conflict. The container name "/n1" is already in use' } },
         ["POST /networks/create"] = { 500, JSON, cjson.encode { message = "pool overlaps" } },
         ["GET /_ping"] = function() return nil, "Could not connect to server", "COULDNT_CONNECT" end,
      }
      local ok, msg, code = c:container_create("n1", {})
      assert.is_nil(ok)
      assert.are.equal("conflict", code)
      assert.are.equal('create container n1: Conflict. The container name "/n1" is already in use (HTTP 409)', msg)
      local _
      _, msg, code = c:network_create("net", {})
      assert.are.same({ "engine", "create network net: pool overlaps (HTTP 500)" }, { code, msg })
      _, _, code = c:image_inspect("nope:1")
      assert.are.equal("not_found", code)
      _, msg, code = c:ping()
      assert.are.same({ "COULDNT_CONNECT", "ping the engine: Could not connect to server" }, { code, msg })
   end)

   it("treats removing what is already gone as done", function()
      local c = fake_engine {}
      assert.is_true(c:container_remove("gone"))
      assert.is_true(c:network_remove("gone"))
   end)

   it("runs an exec: create, start, demultiplexed output, exit code", function()
      local frame = function(k, p) return string.pack(">B xxx I4", k, #p) .. p end
      local c, seen = fake_engine {
         ["POST /containers/box/exec"] = ok_json { Id = "e1" },
         ["POST /exec/e1/start"] = { 200, { ["content-type"] = "application/vnd.docker.raw-stream" },
                                      frame(1, "out\n") .. frame(2, "err\n") .. frame(1, "more\n") },
         ["GET /exec/e1/json"] = ok_json { ExitCode = 3, Running = false },
      }
      local r = assert(c:exec("box", { "sh", "-c", "x" }, { user = "0" }))
      assert.are.same({ exit = 3, stdout = "out\nmore\n", stderr = "err\n" }, r)
      assert.is_true(math.type(r.exit) == "integer")
      local created = cjson.decode(seen[1].body)
      assert.are.same({ "sh", "-c", "x" }, created.Cmd)
      assert.are.equal("0", created.User)
   end)
end)

describe("docker stream demultiplexing", function()
   local frame = function(k, p) return string.pack(">B xxx I4", k, #p) .. p end

   it("reassembles frames split anywhere", function()
      local data = frame(1, "hello ") .. frame(2, "oops") .. frame(1, string.rep("x", 300))
      local got = {}
      local feed = stream.demuxer(function(name, payload) got[#got + 1] = name .. ":" .. #payload end)
      for i = 1, #data, 7 do feed(data:sub(i, i + 6)) end
      assert.are.same({ "stdout:6", "stderr:4", "stdout:300" }, got)
   end)

   it("stops when the frame handler returns false", function()
      local n = 0
      local feed = stream.demuxer(function() n = n + 1; return false end)
      assert.is_false(feed(frame(1, "a") .. frame(1, "b")))
      assert.are.equal(1, n)
   end)

   it("splits lines across chunks", function()
      local lines = {}
      local feed = stream.line_splitter(function(l) lines[#lines + 1] = l end)
      feed("{\"a\":1}\n{\"b\"")
      feed(":2}\n\nlast")
      assert.are.same({ '{"a":1}', '{"b":2}', "" }, lines)
   end)
end)

describe("docker backend pieces", function()
   it("labels every resource with the plan's labels, the slug and its role", function()
      local l = resources.labels({ plan = sample_plan() }, "pipelock")
      assert.are.same({ ["claude-bottle"] = "1", ["claude-bottle.slug"] = "claude-abc123",
                        ["claude-bottle.agent"] = "claude", ["claude-bottle.bottle"] = "default",
                        ["claude-bottle.role"] = "pipelock" }, l)
   end)

   it("gives pipelock its config and CA pair as files of uid 65534, mode 0600", function()
      local state = { plan = sample_plan(), docker = { ca = { cert_pem = "CERT", key_pem = "KEY" } } }
      local entries = assert(tar.unpack(tar.pack(pipelock.files(state))))
      local got = {}
      for _, e in ipairs(entries) do got[e.name] = { e.data, e.mode, e.uid, e.gid } end
      assert.are.same({
         ["etc/pipelock.yaml"] = { "mode: strict\n", tonumber("600", 8), 65534, 65534 },
         ["etc/pipelock-ca.pem"] = { "CERT", tonumber("600", 8), 65534, 65534 },
         ["etc/pipelock-ca-key.pem"] = { "KEY", tonumber("600", 8), 65534, 65534 },
      }, got)
      local cfg = pipelock.config(state)
      assert.are.same({ "run", "--config", "/etc/pipelock.yaml", "--listen", "0.0.0.0:8888" }, cfg.Cmd)
      assert.are.equal("65534:65534", cfg.User)
      assert.are.equal("claude-bottle-net-claude-abc123", cfg.HostConfig.NetworkMode)
   end)

   it("reads pipelock's banner for strict mode and the forward proxy", function()
      local good = "Pipelock v2.3.0 starting\n  Mode:   strict\n  Proxy:  HTTP/HTTPS forward proxy enabled (CONNECT + absolute-URI)\n"
      assert.is_true(pipelock.check_banner(good))
      assert.matches("strict", select(2, pipelock.check_banner(good:gsub("strict", "balanced"))))
      assert.matches("forward proxy", select(2, pipelock.check_banner("  Mode:   strict\n")))
   end)

   it("reads pipelock's JSON startup event", function()
      local line = cjson.encode { event = "startup", mode = "strict", config_hash = "x" }
      assert.is_true(pipelock.check_startup('{"event":"anomaly"}\n' .. line .. "\n"))
      assert.matches("mode audit", select(2, pipelock.check_startup(cjson.encode { event = "startup", mode = "audit" })))
      assert.matches("no startup event", select(2, pipelock.check_startup("")))
   end)

   it("configures the agent with the plan's proxy env only, no secret, a keep-alive and its network", function()
      local state = { plan = sample_plan(), runtime = "runsc", detach = true }
      local cfg = agent.config(state)
      -- under gVisor, Bun's JIT is off (it crashes there)
      assert.are.same({ "BUN_JSC_useJIT=0", "HTTPS_PROXY=http://claude-bottle-pipelock-claude-abc123:8888",
                        "NO_PROXY=localhost" }, cfg.Env)
      state.runtime = "runc"
      assert.are.same({ "HTTPS_PROXY=http://claude-bottle-pipelock-claude-abc123:8888", "NO_PROXY=localhost" },
                      agent.config(state).Env)
      state.runtime = "runsc"
      assert.are.same({ "sleep", "infinity" }, cfg.Entrypoint)
      assert.are.equal("runsc", cfg.HostConfig.Runtime)
      assert.are.equal("claude-bottle-net-claude-abc123", cfg.HostConfig.NetworkMode)
      assert.are.equal("1", cfg.Labels["claude-bottle.detached"])
      assert.are.equal("agent", cfg.Labels["claude-bottle.role"])
      assert.is_nil(cjson.encode(cfg):find("API_TOKEN", 1, true))
   end)

   it("attaches with the env-file and secrets by name, values only in the child's environment", function()
      local state = { plan = sample_plan(), stage = { dir = "/s", env_file = "/s/agent.env" },
                      secrets = { ZED = "zzz-value", API_TOKEN = "tok-value" } }
      local argv = docker.attach_argv(state)
      local tty = core.isatty(0) and core.isatty(1)
      local want = { "docker", "exec", "-i" }
      if tty then want[#want + 1] = "-t" end
      for _, w in ipairs { "--env-file", "/s/agent.env", "-e", "API_TOKEN", "-e", "ZED",
                           "claude-bottle-claude-abc123", "claude", "--dangerously-skip-permissions" } do
         want[#want + 1] = w
      end
      assert.are.same(want, argv)
      assert.is_nil(table.concat(argv, " "):find("value", 1, true))
   end)

   it("compares API versions", function()
      assert.is_true(docker.version_at_least("1.41", "1.41"))
      assert.is_true(docker.version_at_least("1.45", "1.41"))
      assert.is_false(docker.version_at_least("1.40", "1.41"))
      assert.is_true(docker.version_at_least("2.0", "1.41"))
   end)

   it("tells its own launcher from a dead one", function()
      local me = assert(resources.launcher_id())
      assert.matches("^[^/]+/%d+/%d+$", me)
      assert.is_true(resources.launcher_alive(me))
      local boot, _, start = me:match("^([^/]+)/(%d+)/(%d+)$")
      assert.is_false(resources.launcher_alive(boot .. "/999999999/" .. start))
      assert.is_false(resources.launcher_alive("another-boot/1/1"))
      assert.is_nil(resources.launcher_alive("garbage"))
   end)

   it("never removes a resource of the same name that another bottle (or nobody) owns", function()
      local c, seen = fake_engine {
         ["GET /containers/claude-bottle-claude-abc123/json"] = ok_json { Id = "c1", Config = { Labels = {} } },
         ["GET /networks/claude-bottle-net-claude-abc123"] = ok_json { Id = "n1", Labels = { ["claude-bottle.slug"] = "claude-abc123" } },
         ["DELETE /networks/n1"] = { 204, {}, "" },
      }
      assert.is_true(resources.remover(c, "container", "claude-bottle-claude-abc123", "claude-abc123")())
      assert.is_true(resources.remover(c, "network", "claude-bottle-net-claude-abc123", "claude-abc123")())
      local deletes = {}
      for _, r in ipairs(seen) do if r.method == "DELETE" then deletes[#deletes + 1] = r.path end end
      assert.are.same({ "/networks/n1" }, deletes)
   end)
end)

describe("docker backend prepare (fake engine)", function()
   local inst
   local function engine(over)
      local routes = {
         ["GET /version"] = ok_json { Version = "20.10.24", ApiVersion = "1.41" },
         ["GET /info"] = ok_json { Runtimes = { runc = {} } },
         ["GET /images/claude-bottle-test%2Fpipelock%3A2.3.0/json"] = ok_json { Id = "sha256:p" },
         ["GET /images/claude-bottle%3Alatest/json"] = ok_json { Id = "sha256:a" },
         ["GET /images/claude-bottle-firewall%3Alatest/json"] = ok_json { Id = "sha256:f" },
      }
      for k, v in pairs(over or {}) do routes[k] = v end
      local c = fake_engine(routes)
      inst = docker.new { client = c }
      return c
   end

   it("resolves the runtime: runsc when the engine has it, else runc", function()
      engine()
      local plan = sample_plan()
      assert.are.same({ runtime = "runc" }, inst:prepare(plan, {}))
      assert.are.equal("auto", plan.runtime)   -- what was found is returned, the plan stays as asked
      engine { ["GET /info"] = ok_json { Runtimes = { runc = {}, runsc = {} } } }
      plan = sample_plan()
      assert.are.same({ runtime = "runsc" }, inst:prepare(plan, {}))
      engine()
      local ok, msg = inst:prepare(sample_plan { runtime = "runsc" }, {})
      assert.is_nil(ok)
      assert.matches("no runsc runtime", msg, 1, true)
   end)

   it("says how to get a missing image, and to run cleanup for a taken name", function()
      engine {
         ["GET /images/claude-bottle-test%2Fpipelock%3A2.3.0/json"] = { 404, JSON, '{"message":"No such image"}' },
         ["GET /containers/claude-bottle-pipelock-claude-abc123/json"] = ok_json { Id = "x" },
      }
      local ok, msg, code = inst:prepare(sample_plan(), {})
      assert.is_nil(ok)
      assert.are.equal("not_ready", code)
      assert.matches("the pipelock image claude-bottle-test/pipelock:2.3.0 is not present: build it with `make test-images`",
                     msg, 1, true)
      assert.matches("a container named claude-bottle-pipelock-claude-abc123 already exists: run `bottle cleanup`",
                     msg, 1, true)
   end)

   it("refuses an old API, and not an engine for its version alone (doctor probes DNS)", function()
      engine { ["GET /version"] = ok_json { Version = "19.03.1", ApiVersion = "1.40" } }
      local ok, msg, code = inst:prepare(sample_plan(), {})
      assert.is_nil(ok)
      assert.are.equal("engine_version", code)
      assert.matches("API is 1.40", msg, 1, true)
      engine { ["GET /version"] = ok_json { Version = "25.0.2", ApiVersion = "1.44" } }
      ok, msg = inst:prepare(sample_plan(), {})
      assert.is_table(ok, msg)
   end)

   it("says where it looked when the engine is not there", function()
      engine { ["GET /version"] = function() return nil, "Couldn't connect to server", "COULDNT_CONNECT" end }
      local ok, msg, code = inst:prepare(sample_plan(), {})
      assert.is_nil(ok)
      assert.are.equal("COULDNT_CONNECT", code)
      assert.matches("cannot reach the Docker Engine at", msg, 1, true)
   end)
end)

describe("docker backend cleanup (fake engine)", function()

   local function ctr(slug, role, state, labels)
      local l = { ["claude-bottle"] = "1", ["claude-bottle.slug"] = slug, ["claude-bottle.role"] = role }
      for k, v in pairs(labels or {}) do l[k] = v end
      return { Id = slug .. "-" .. role, Names = { "/cb-" .. role .. "-" .. slug }, State = state, Created = 1, Labels = l }
   end

   it("counts as leftovers: incomplete bottles and attached ones whose launcher is gone, not live ones"
      .. " nor launches in progress", function()
      local me = resources.launcher_id()
      local dead = me:gsub("/(%d+)/", "/999999999/")
      local containers = {
         ctr("live-detached", "agent", "running", { ["claude-bottle.detached"] = "1" }),
         ctr("live-detached", "pipelock", "running"),
         ctr("live-attached", "agent", "running", { ["claude-bottle.detached"] = "0", ["claude-bottle.launcher"] = me }),
         ctr("live-attached", "pipelock", "running"),
         ctr("orphan", "agent", "running", { ["claude-bottle.detached"] = "0", ["claude-bottle.launcher"] = dead }),
         ctr("orphan", "pipelock", "running"),
         ctr("half", "pipelock", "created"),
         ctr("in-progress", "pipelock", "created", { ["claude-bottle.launcher"] = me }),
      }
      local networks = {
         { Id = "n1", Name = "cb-net-half", Labels = { ["claude-bottle.slug"] = "half", ["claude-bottle.role"] = "network-internal" } },
         { Id = "n2", Name = "cb-net-gone", Labels = { ["claude-bottle.slug"] = "only-net", ["claude-bottle.role"] = "network-egress" } },
      }
      local c = fake_engine {
         ["GET /containers/json"] = ok_json(containers),
         ["GET /networks"] = ok_json(networks),
      }
      local report = assert(docker.new({ client = c }):cleanup {})
      assert.are.same({ "half", "only-net", "orphan" }, report.slugs)
      assert.are.equal(3, #report.containers)
      assert.are.equal(2, #report.networks)
      -- a bottle kept because its workspace pushes could not come home is never a leftover
      report = assert(docker.new({ client = c }):cleanup { kept = { orphan = true } })
      assert.are.same({ "half", "only-net" }, report.slugs)
   end)
end)

describe("docker backend and the workspace", function()
   local function ws_plan(mode)
      local plan = sample_plan()
      plan.workspace = require("bottle.workspace").plan_entry({}, { dir = "/home/me/app", mode = mode })
      return plan
   end

   it("mounts the project only in mount mode, and attaches in /workspace", function()
      local cfg = agent.config { plan = ws_plan("mount") }
      assert.are.same({ "/home/me/app:/workspace:rw" }, cfg.HostConfig.Binds)
      assert.is_nil(agent.config({ plan = ws_plan("copy") }).HostConfig.Binds)
      local argv = docker.attach_argv { plan = ws_plan("copy"), stage = { dir = "/s" } }
      local s = table.concat(argv, " ")
      assert.matches("-w /workspace claude-bottle-claude-abc123 claude", s, 1, true)
   end)

   it("gives a copied workspace the gate, with workspace.git and no upstream", function()
      local gitgate = require "bottle.gitgate"
      local plan = ws_plan("copy")
      plan.git = {}
      assert.is_true(gitgate.needed(plan))
      assert.is_false(gitgate.needed { git = {}, workspace = ws_plan("mount").workspace })
      local files = assert(gitgate.files({}, {}, { workspace = { name = "workspace", push = plan.workspace.push } }))
      local entry
      for _, f in ipairs(files) do if f.path == gitgate.ENTRYPOINT then entry = f.data end end
      assert.matches("local_repo 'workspace' false false false 'claude/*'", entry, 1, true)
      assert.matches("'/git/workspace.git'", entry, 1, true)
      assert.matches("gate.local true", entry, 1, true)
      local _, msg = gitgate.files({}, {}, { workspace = { name = "workspace", push = { branches = { "-x" } } } })
      assert.matches("workspace_push.branches[1]", msg, 1, true)
   end)
end)
