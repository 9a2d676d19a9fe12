-- The credential proxy end to end, against the real dockerd: a bottle with
-- two routes launched by launch.up with the docker backend, the real
-- pipelock, the real nginx sidecar (claude-bottle-test/cred-proxy), and a
-- TLS test upstream (testlib/tls_recorder.py, certificate from the test CA)
-- that records the headers it receives, reached by the proxy on the
-- bottle's egress network as allowed.test.  Pending (with the reason)
-- without dockerd or the images.
local core = require "bottle.core"
local cjson = require "cjson"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

local function unavailable()
   local why = E.unavailable()
   if why then return why end
   if not E.api():image_inspect(E.CRED_PROXY_IMAGE) then
      return E.CRED_PROXY_IMAGE .. " is not built: run images/test/cred-proxy.sh"
   end
   return nil
end

local why_not = unavailable()
local function skip()
   if why_not then pending("the credential proxy e2e needs dockerd and the test images: " .. why_not) return true end
   return false
end

-- The users' credentials: a random part (what the leak checks look for) and
-- the characters that mean something to nginx's config or a shell.
local MARK = "cbtest" .. core.random_hex(8)
local USER_SECRET = MARK .. [[-user $x ${y} "q" 's' {b}; c \ d]]
local USER_KEY = MARK .. "-key$HOME;}"
local FOREIGN = "foreign" .. core.random_hex(8)

local ROUTES = {
   { name = "api", upstream = "https://allowed.test", scheme = "Bearer", value = "${E2E_CRED_API}",
     env = "E2E_API_URL" },
   { name = "keyed", upstream = "https://allowed.test", header = "X-Api-Key", value = "${E2E_CRED_KEYED}" },
   -- the built-in route, pointed at the test upstream: an OAuth token
   { name = "anthropic", upstream = "https://allowed.test", value = "${E2E_OAUTH_TOKEN}" },
}
local USER_OAUTH = MARK .. "-oauth"

describe("the credential proxy #e2e", function()
   local plan, result, stage_root, ps_seen
   local c

   local function url(route, path) return plan.cred_proxy.url .. "/" .. route .. path end

   -- curl in the agent: {exit, status, body}
   local function curl(args, max_time)
      local argv = { "curl", "-sS", "--max-time", tostring(max_time or 15), "-w", "\n%{http_code}" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local r = E.exec(plan, argv, { timeout_ms = ((max_time or 15) + 30) * 1000 })
      local body, code = r.stdout:match("^(.*)\n(%d+)$")
      return { exit = r.exit, status = tonumber(code) or 0, body = body or r.stdout, stderr = r.stderr }
   end

   local function last_record() local all = E.recorded() return all[#all], #all end

   setup(function()
      if why_not then return end
      c = E.api()
      E.start_recorder()
      plan = E.plan { agent = "creds", credentials = ROUTES, hosts = { "allowed.test" },
                      command = { "sh", "-c", "exit 0" } }
      stage_root = E.stage_root()
      ps_seen = {}
      local lines = {}
      local quiet = E.progress(lines)
      -- the host's process list looked at during every step of up
      local function progress(step, fn, ...)
         local ps = E.read_command("ps -eww -o args")
         if ps:find(MARK, 1, true) then ps_seen[#ps_seen + 1] = step end
         local res = table.pack(quiet(step, fn, ...))
         ps = E.read_command("ps -eww -o args")
         if ps:find(MARK, 1, true) then ps_seen[#ps_seen + 1] = step end
         return table.unpack(res, 1, res.n)
      end
      local msg
      result, msg = launch.up(plan, { backend = docker, detach = true, stage_root = stage_root, progress = progress,
                                      credentials = { api = USER_SECRET, keyed = USER_KEY,
                                                      anthropic = USER_OAUTH } })
      assert(result, msg)
      E.connect_recorder(plan, "allowed.test")
   end)

   teardown(function()
      if why_not then return end
      if plan then launch.down({ slug = plan.slug }, { backend = docker, stage_root = stage_root }) end
      E.stop_recorder()
      E.finish()
   end)

   it("brings the sidecar up on the bottle's networks, labelled, with the agent pointed at it", function()
      if skip() then return end
      local info = assert(c:container_inspect(plan.names.cred_proxy))
      assert.equal("cred-proxy", info.Config.Labels["claude-bottle.role"])
      assert.equal(plan.slug, info.Config.Labels["claude-bottle.slug"])
      assert.is_true(info.State.Running)
      assert.is_truthy(info.NetworkSettings.Networks[E.internal_network(plan)])
      assert.is_truthy(info.NetworkSettings.Networks[E.egress_network(plan)])
      local env = E.exec(plan, { "env" }).stdout
      assert.matches("E2E_API_URL=" .. plan.cred_proxy.url:gsub("%p", "%%%0") .. "/api\n", env)
      assert.matches("NO_PROXY=[^\n]*" .. plan.names.cred_proxy:gsub("%p", "%%%0"), env)
      local listed
      for _, b in ipairs(assert(launch.list { backend = docker })) do
         if b.slug == plan.slug then listed = b end
      end
      assert.equal(plan.names.cred_proxy, listed.containers["cred-proxy"])
      assert.equal("running", listed.state)
   end)

   it("points Claude Code at the anthropic route, ready to work, with a placeholder credential", function()
      if skip() then return end
      local env = E.exec(plan, { "env" }).stdout
      assert.matches("\nANTHROPIC_BASE_URL=" .. plan.cred_proxy.url:gsub("%p", "%%%0") .. "/anthropic\n", "\n" .. env)
      assert.matches("\nCLAUDE_CODE_OAUTH_TOKEN=claude%-bottle%-placeholder%-credential\n", "\n" .. env)
      local settings = cjson.decode(E.exec(plan, { "cat", "/home/node/.claude.json" }).stdout)
      assert.is_true(settings.hasCompletedOnboarding)
      assert.is_true(settings.bypassPermissionsModeAccepted)
      assert.equal(1, #settings.customApiKeyResponses.approved)
      -- what Claude Code sends with that placeholder arrives with the user's token and the oauth beta
      local r = curl { url("anthropic", "/v1/messages"), "-d", "{}",
                       "-H", "Authorization: Bearer claude-bottle-placeholder-credential",
                       "-H", "anthropic-beta: fine-grained-tool-streaming-2025-05-14" }
      assert.equal(200, r.status, r.stderr)
      local rec = last_record()
      assert.same({ "Bearer " .. USER_OAUTH }, rec.headers.authorization)
      assert.same({ "fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20" }, rec.headers["anthropic-beta"])
      r = curl { url("anthropic", "/v1/models"), "-H", "anthropic-beta: oauth-2025-04-20" }
      assert.equal(200, r.status, r.stderr)
      assert.same({ "oauth-2025-04-20" }, last_record().headers["anthropic-beta"])
   end)

   it("sends the agent's request upstream with the user's credential, byte for byte", function()
      if skip() then return end
      local r = curl { url("api", "/v1/messages?beta=true"), "-d", "{}" }
      assert.equal(0, r.exit, r.stderr)
      assert.equal(200, r.status)
      assert.is_nil(r.body:find(MARK, 1, true))
      local rec = last_record()
      assert.equal("/v1/messages?beta=true", rec.path)
      assert.same({ "Bearer " .. USER_SECRET }, rec.headers.authorization)
      assert.same({ "allowed.test" }, rec.headers.host)
      r = curl { url("keyed", "/x") }
      assert.equal(200, r.status)
      rec = last_record()
      assert.same({ USER_KEY }, rec.headers["x-api-key"])
      assert.is_nil(rec.headers.authorization)
   end)

   it("replaces a foreign key in every credential header with the user's", function()
      if skip() then return end
      local foreign = { "-H", "Authorization: Bearer " .. FOREIGN,
                        "-H", "x-api-key: " .. FOREIGN, "-H", "X-API-KEY: " .. FOREIGN,
                        "-H", "Proxy-Authorization: Basic " .. FOREIGN, "-H", "Cookie: session=" .. FOREIGN }
      for _, route in ipairs { "api", "keyed" } do
         local args = { url(route, "/v1/files"), "-d", "x" }
         for _, a in ipairs(foreign) do args[#args + 1] = a end
         local r = curl(args)
         assert.equal(200, r.status, r.stderr)
         local rec = last_record()
         assert.is_nil(cjson.encode(rec):find(FOREIGN, 1, true), route .. ": a foreign key reached the upstream")
         assert.is_nil(rec.headers.cookie)
         assert.is_nil(rec.headers["proxy-authorization"])
         if route == "api" then
            assert.same({ "Bearer " .. USER_SECRET }, rec.headers.authorization)
            assert.is_nil(rec.headers["x-api-key"])
         else
            assert.same({ USER_KEY }, rec.headers["x-api-key"])
            assert.is_nil(rec.headers.authorization)
         end
      end
   end)

   it("refuses a request with two Authorization headers and forwards nothing", function()
      if skip() then return end
      local _, before = last_record()
      local r = curl { url("api", "/v1/files"), "-H", "Authorization: Bearer " .. FOREIGN,
                       "-H", "Authorization: Basic " .. FOREIGN }
      assert.equal(400, r.status)
      local _, after = last_record()
      assert.equal(before, after)
   end)

   it("answers a path that is no route's with 404 and forwards nothing", function()
      if skip() then return end
      local _, before = last_record()
      local r = curl { plan.cred_proxy.url .. "/elsewhere/x", "-H", "Host: allowed.test" }
      assert.equal(404, r.status)
      local _, after = last_record()
      assert.equal(before, after)
   end)

   it("logs one JSON line per request beside pipelock's, with no header value", function()
      if skip() then return end
      local lines = {}
      assert(launch.logs(plan.slug, { backend = docker, on_line = function(l) lines[#lines + 1] = l end }))
      local proxy_lines = 0
      for _, l in ipairs(lines) do
         assert.is_nil(l:find(MARK, 1, true), "a credential in the log: " .. l)
         assert.is_nil(l:find(FOREIGN, 1, true), "a foreign key in the log: " .. l)
         local ok, ev = pcall(cjson.decode, l)
         if ok and type(ev) == "table" and ev.event == "cred_proxy" then
            proxy_lines = proxy_lines + 1
            assert.is_truthy(ev.route and ev.method and ev.path and ev.status and ev.duration)
         end
      end
      assert.is_true(proxy_lines >= 4, "cred_proxy lines: " .. proxy_lines)
      assert.is_true(#lines > proxy_lines, "pipelock's lines are missing")
   end)

   it("leaves the value nowhere in the agent, an inspect, the host's ps, the stage dir or a log", function()
      if skip() then return end
      assert.same({}, ps_seen)
      -- the agent: its environment, every process's, every file
      assert.is_nil(E.exec(plan, { "env" }).stdout:find(MARK, 1, true))
      local environ = E.exec(plan, { "sh", "-c", "cat /proc/[0-9]*/environ" }, { user = "0" })
      assert.is_nil(environ.stdout:find(MARK, 1, true))
      local grep = E.exec(plan, { "grep", "-rlsF", "--exclude-dir=proc", "--exclude-dir=sys", "--", MARK, "/" },
                          { user = "0", timeout_ms = 120000 })
      assert.equal("", grep.stdout)
      -- every container of the bottle: its config and its logs
      local ctrs = assert(c:container_list { label = { "claude-bottle.slug=" .. plan.slug } })
      assert.is_true(#ctrs >= 3)
      for _, x in ipairs(ctrs) do
         local info = assert(c:container_inspect(x.Id))
         assert.is_nil(cjson.encode(info):find(MARK, 1, true), x.Names[1] .. "'s inspect holds the value")
         local out, err = c:container_logs(x.Id)
         assert.is_nil(((out or "") .. (err or "")):find(MARK, 1, true), x.Names[1] .. "'s logs hold the value")
      end
      -- the sidecar dropped its tmpfs copy once nginx had read it
      local ls = assert(c:exec(plan.names.cred_proxy, { "sh", "-c", "ls -A /run/cred-proxy" }))
      assert.is_nil(ls.stdout:find("credentials.conf", 1, true))
      -- the stage directory: the files the launcher documents, none with the value
      local files = E.read_command("find '" .. result.stage_dir .. "' -type f | sort")
      for path in files:gmatch("[^\n]+") do
         local f = assert(io.open(path, "rb"))
         local data = f:read("a")
         f:close()
         assert.is_nil(data:find(MARK, 1, true), path .. " holds the value")
      end
   end)

   it("refuses CONNECT through pipelock to the routed host", function()
      if skip() then return end
      local _, before = last_record()
      local r = curl { "-x", plan.proxy.url, "https://allowed.test/connect-test" }
      assert.is_true(r.exit ~= 0 or r.status ~= 200, "CONNECT to the routed host went through")
      r = curl { "-x", plan.proxy.url, "http://allowed.test/plain-test" }
      assert.is_true(r.exit ~= 0 or r.status ~= 200, "a plain request to the routed host went through")
      local _, after = last_record()
      assert.equal(before, after)
   end)

   it("streams a server-sent-events response of more than 3 minutes whole", function()
      if skip() then return end
      local argv = { "curl", "-sS", "-N", "--max-time", "300", url("api", "/sse?seconds=190&every=5") }
      local r = E.exec(plan, argv, { timeout_ms = 330000 })
      assert.equal(0, r.exit, r.stderr)
      local ticks = {}
      for n in r.stdout:gmatch("event: tick\ndata: (%d+)\n\n") do ticks[#ticks + 1] = tonumber(n) end
      assert.is_true(#ticks >= 38, "ticks: " .. #ticks)
      for i, n in ipairs(ticks) do assert.equal(i, n) end
      assert.matches("event: done\ndata: " .. #ticks .. "\n\n$", r.stdout)
   end)

   it("gives the agent errors, never a way around, once the proxy is killed", function()
      if skip() then return end
      -- a stream under way when the proxy dies ends in an error, not in silence
      assert(c:exec_detached(plan.names.agent, { "sh", "-c",
         "curl -sS -N --max-time 120 '" .. url("api", "/sse?seconds=60&every=1") .. "' > /tmp/sse.out 2>/tmp/sse.err;"
         .. " echo $? > /tmp/sse.rc" }))
      local deadline = core.monotonic() + 20
      repeat
         core.sleep(0.5)
         local seen = E.exec(plan, { "sh", "-c", "cat /tmp/sse.out 2>/dev/null" }).stdout
      until seen:find("data: 3\n", 1, true) or core.monotonic() > deadline
      local _, before = last_record()
      assert(c:call("kill the proxy", "POST", "/containers/" .. plan.names.cred_proxy .. "/kill"))
      local rc
      deadline = core.monotonic() + 20
      repeat
         core.sleep(0.5)
         rc = E.exec(plan, { "sh", "-c", "cat /tmp/sse.rc 2>/dev/null" }).stdout:match("%d+")
      until rc or core.monotonic() > deadline
      assert.is_truthy(rc, "the stream did not end when the proxy was killed")
      assert.is_true(tonumber(rc) ~= 0, "the stream ended as if it were complete")
      assert.is_nil(E.exec(plan, { "cat", "/tmp/sse.out" }).stdout:find("event: done", 1, true))
      local r = curl({ url("api", "/after-kill") }, 5)
      assert.is_true(r.exit ~= 0, "the route still answers")
      r = curl({ "--noproxy", "*", "https://allowed.test/direct" }, 5)
      assert.is_true(r.exit ~= 0, "the agent reached the upstream directly")
      r = curl({ "-x", plan.proxy.url, "https://allowed.test/around" }, 5)
      assert.is_true(r.exit ~= 0 or r.status ~= 200, "pipelock let the agent around the proxy")
      local _, after = last_record()
      assert.equal(before, after)
      local listed
      for _, b in ipairs(assert(launch.list { backend = docker })) do
         if b.slug == plan.slug then listed = b end
      end
      assert.equal("degraded", listed.state)
      assert.matches("cred%-proxy exited", listed.reason)
   end)
end)

describe("a failure at the cred-proxy step #e2e", function()
   it("leaves nothing behind", function()
      if skip() then return end
      local plan = E.plan { agent = "credfail", credentials = { ROUTES[1] }, hosts = { "allowed.test" } }
      local root = E.stage_root()
      local res, msg, code = launch.up(plan, { backend = E.failing_at(docker, "cred-proxy"), detach = true,
                                               stage_root = root, progress = E.progress {},
                                               credentials = { api = USER_SECRET } })
      assert.is_nil(res)
      assert.equal("injected", code)
      assert.matches("cred%-proxy", msg)
      assert.is_nil(msg:find(MARK, 1, true))
      local left = E.count(plan.slug)
      assert.equal(0, left.containers, table.concat(left.names, ", "))
      assert.equal(0, left.networks, table.concat(left.names, ", "))
      assert.is_nil(core.stat(root .. "/" .. plan.slug))
      E.finish()
   end)
end)
