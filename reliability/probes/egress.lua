-- Egress inspection, measured: plays cases of the egress corpus
-- (reliability/egress/corpus/) from inside a real bottle (the real docker
-- backend, the real pipelock 2.3.0 with TLS interception, the test images)
-- to an upstream of ours that records what arrived and serves the pages the
-- response cases fetch.  Every case host is allowed, so that inspection
-- decides, not the allowlist.  Used by reliability/egress.lua (the figures)
-- and spec/egress_e2e_spec.lua (a sample, in CI).
--
--   local X = require "reliability.probes.egress"
--   local ctx = X.setup(cases)                     -- certificate, pages
--   local run = X.play(ctx, setting)              -- one bottle, one config
--   X.count(run.results)                          -- per category
--   X.teardown(ctx)
--
-- A setting is {name, config = function(plan, ctx) -> cfg}: the pipelock
-- config table the bottle runs (reliability/egress/settings.lua).
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")
local corpus = require "reliability.egress.corpus"
local F = require "reliability.egress.fake"

local X = {}

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "reliability/probes"
X.MARK_HOST = "mark.egress.test"
X.ALLOW = "*.egress.test"
X.TEST_CA = (os.getenv("XDG_CACHE_HOME") or ((os.getenv("HOME") or "") .. "/.cache")) .. "/claude-bottle/test-ca"
local PLAYER = "/tmp/claude-bottle-egress-player.py"
local MODE_644 = tonumber("644", 8)

local function read(path)
   local f = io.open(path, "rb")
   if not f then return nil end
   local d = f:read("a")
   f:close()
   return d
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function b64decode(s)
   local map = {}
   for i = 1, #F.B64 do map[F.B64:byte(i)] = i - 1 end
   local out, bits, n = {}, 0, 0
   for i = 1, #s do
      local v = map[s:byte(i)]
      if v then
         bits, n = (bits << 6) | v, n + 6
         if n >= 8 then
            n = n - 8
            out[#out + 1] = string.char((bits >> n) & 0xff)
         end
      end
   end
   return table.concat(out)
end
X.b64decode = b64decode

-- The hosts the bottle must allow: *.egress.test and every other case host.
function X.allowlist(cases)
   local list = { X.ALLOW }
   for _, h in ipairs(corpus.hosts(cases)) do
      if not h:match("%.egress%.test$") then list[#list + 1] = h end
   end
   return list
end

-- A server certificate for every case host, signed by the test CA that the
-- pipelock test image trusts (images/test/build.sh made it).
local function certificate(dir, hosts)
   local ca = X.TEST_CA
   if not read(ca .. "/ca-key.pem") then
      error("the test CA's key is not at " .. ca .. " (run images/test/build.sh)", 0)
   end
   local sans = { "DNS:" .. X.MARK_HOST }
   for _, h in ipairs(hosts) do sans[#sans + 1] = "DNS:" .. h end
   assert(core.write_file(dir .. "/ext", "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
      .. "extendedKeyUsage=serverAuth\nsubjectAltName=" .. table.concat(sans, ",") .. "\n", MODE_644))
   local cmd = ("openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout %s -out %s "
      .. "-subj /CN=egress.test 2>/dev/null && openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial "
      .. "-CAserial %s -days 2 -extfile %s -out %s 2>/dev/null"):format(q(dir .. "/key.pem"), q(dir .. "/csr"),
      q(dir .. "/csr"), q(ca .. "/ca.pem"), q(ca .. "/ca-key.pem"), q(dir .. "/serial"), q(dir .. "/ext"),
      q(dir .. "/cert.pem"))
   assert(os.execute(cmd), "openssl could not make the upstream's certificate")
   return assert(read(dir .. "/cert.pem")), assert(read(dir .. "/key.pem"))
end

function X.setup(cases)
   local ctx = { c = E.api(), cases = cases, root = core.mkdtemp("/tmp/claude-bottle-egress.") }
   ctx.hosts = corpus.hosts(cases)
   ctx.cert, ctx.key = certificate(ctx.root, ctx.hosts)
   local pages = {}
   for _, c in ipairs(cases) do
      if c.page then pages[c.path] = { content_type = c.page.content_type, body_b64 = F.base64(c.page.body) } end
   end
   ctx.pages = cjson.encode(pages)
   local wire = {}
   for i, c in ipairs(cases) do
      wire[i] = { id = c.id, scheme = c.scheme, method = c.method, host = c.host, path = c.path, headers = c.headers,
                  body_b64 = c.body and F.base64(c.body) or nil, compress = c.compress,
                  websocket = c.websocket, ws_proxy = c.ws_proxy, frame_b64 = c.frame and F.base64(c.frame) or nil }
   end
   ctx.wire = cjson.encode(wire)
   return ctx
end

function X.teardown(ctx)
   if ctx and ctx.root then core.rmtree(ctx.root) end
end

-- The recorder on the bottle's egress network, under every case host name.
local function start_upstream(ctx, plan)
   local c = ctx.c
   local aliases = { X.MARK_HOST }
   for _, h in ipairs(ctx.hosts) do aliases[#aliases + 1] = h end
   local name = "claude-bottle-test-egress-" .. plan.slug
   local created = assert(c:container_create(name, {
      Image = E.AGENT_IMAGE, User = "0", Labels = { [E.TEST_LABEL] = "1" },
      Cmd = { "python3", "/srv/upstream.py", "/srv/cert.pem", "/srv/key.pem", "/srv/pages.json", "/srv/log" },
      HostConfig = { NetworkMode = E.egress_network(plan) },
      NetworkingConfig = { EndpointsConfig = { [E.egress_network(plan)] = { Aliases = aliases } } },
   }))
   assert(c:archive_put(created.Id, "/", tar.pack {
      { name = "srv/upstream.py", data = assert(read(HERE .. "/egress_upstream.py")), mode = MODE_644 },
      { name = "srv/cert.pem", data = ctx.cert, mode = MODE_644 },
      { name = "srv/key.pem", data = ctx.key, mode = MODE_644 },
      { name = "srv/pages.json", data = ctx.pages, mode = MODE_644 },
   }))
   assert(c:container_start(created.Id))
   local deadline = core.monotonic() + 15
   repeat
      core.sleep(0.1)
      local r = c:exec(created.Id, { "cat", "/srv/log" })
      if r and r.stdout:find('"ready"', 1, true) then return created.Id end
   until core.monotonic() > deadline
   error("the egress upstream did not start")
end

-- What the upstream received, by case id.
local function arrivals(ctx, id)
   local r = assert(ctx.c:exec(id, { "cat", "/srv/log" }))
   local by_case = {}
   for line in r.stdout:gmatch("[^\n]+") do
      local ok, e = pcall(cjson.decode, line)
      if ok and type(e) == "table" and type(e.case) == "string" then
         by_case[e.case] = by_case[e.case] or {}
         table.insert(by_case[e.case], e)
      end
   end
   -- hostname cases that pipelock refused at CONNECT send no X-Case
   return by_case
end

-- pipelock's decision lines, by case (between its marker and the next);
-- tunnels opening and closing, the notice that TLS is intercepted, and the
-- error logged when the client closes its tunnel say nothing about a
-- decision.
local QUIET = { tunnel_open = true, tunnel_close = true }
local function decisions(ctx, plan)
   local out = assert(ctx.c:container_logs(plan.names.pipelock, { stderr = false }))
   local by_case, current = {}, nil
   for line in out:gmatch("[^\n]+") do
      local ok, e = pcall(cjson.decode, line)
      if ok and type(e) == "table" then
         local url = tostring(e.url or e.target or "")
         local id = url:match("/mark/([%w%-_]+)")
         if id then
            current = id
         elseif current and e.event and not QUIET[e.event] and e.scanner ~= "tls_intercept"
                and not tostring(e.error or ""):find("use of closed network connection", 1, true) then
            by_case[current] = by_case[current] or {}
            local text = tostring(e.event)
            if e.scanner then text = text .. "/" .. tostring(e.scanner) end
            if e.reason then text = text .. ": " .. tostring(e.reason) end
            if e.error then text = text .. ": " .. tostring(e.error) end
            if type(e.patterns) == "table" then text = text .. " [" .. table.concat(e.patterns, ", ") .. "]" end
            if e.action and e.event ~= "blocked" then text = text .. " (" .. tostring(e.action) .. ")" end
            table.insert(by_case[current], text)
         end
      end
   end
   return by_case
end

-- The verdict on one case: blocked (nothing got out / nothing harmful came
-- in) and the evidence.
function X.verdict(case, result, got)
   local body = b64decode(result.body_b64 or "")
   local v = { id = case.id, category = case.category, malicious = case.malicious, what = case.what,
               status = math.tointeger(result.status) or result.status, error = result.error, hint = result.hint,
               ms = result.ms }
   if case.websocket then
      local frame
      for _, e in ipairs(got or {}) do if e.ws_frame_b64 then frame = b64decode(e.ws_frame_b64) end end
      v.blocked = frame ~= case.frame
      v.received = frame and ("frame of " .. #frame .. " bytes") or (got and ("request without frame: "
         .. tostring(got[1].headers.Upgrade or "no Upgrade header")) or "nothing")
      v.ws = result.ws
      -- a refusal the client can read: a 4xx/5xx with a reason, not a bare failure
      v.explained = v.blocked and result.status >= 400 and (result.hint ~= nil or #body > 0)
   elseif case.page then
      if case.malicious then
         v.blocked = not (result.status == 200 and body:find(case.payload, 1, true))
      else
         v.blocked = not (result.status == 200 and body == case.page.body)
      end
      v.received = result.status == 200 and (body == case.page.body and "page unchanged"
         or ("page changed (%d of %d bytes)"):format(#body, #case.page.body)) or ("status " .. tostring(v.status))
   else
      -- a benign request is also blocked when its answer did not come back
      v.blocked = got == nil or (not case.malicious and result.status ~= 200)
      v.received = got and ("%s %s (%d bytes)"):format(got[1].method, got[1].path:sub(1, 60), got[1].body_length)
                   or "nothing"
   end
   if not (case.page or case.websocket) and v.blocked and result.status == 200 then
      v.received = "nothing (the client saw 200)"
   end
   v.body = body:sub(1, 160)
   return v
end

-- One bottle on `setting`'s config, every case played → {setting, results,
-- yaml}.
function X.play(ctx, setting, opts)
   opts = opts or {}
   local plan = E.plan { agent = opts.agent or "egress", hosts = X.allowlist(ctx.cases) }
   local cfg = setting.config(plan, ctx)
   plan.pipelock.config = cfg
   plan.pipelock.yaml = assert(core.yaml_encode(cfg, { key_order = core.PIPELOCK_KEY_ORDER }))
   local stage = core.mkdtemp("/tmp/claude-bottle-egress-stage.")
   local upstream
   local ok, res = pcall(function()
      local up, msg = launch.up(plan, { backend = docker, detach = true, stage_root = stage, literals = {},
         secrets = {}, progress = E.progress({}), log = function() end })
      assert(up, msg)
      upstream = start_upstream(ctx, plan)
      assert(ctx.c:archive_put(plan.names.agent, "/", tar.pack {
         { name = PLAYER:sub(2), data = assert(read(HERE .. "/egress_player.py")), mode = MODE_644 },
         { name = "tmp/egress-cases.json", data = ctx.wire, mode = MODE_644 } }))
      local r = assert(ctx.c:exec(plan.names.agent, { "sh", "-c", "python3 " .. PLAYER .. " < /tmp/egress-cases.json" },
                                  { timeout_ms = 900000 }))
      local okj, played = pcall(cjson.decode, r.stdout)
      if not okj then error("the egress player failed: " .. r.stdout:sub(1, 400) .. r.stderr:sub(1, 2000)) end
      local got = arrivals(ctx, upstream)
      local lines = decisions(ctx, plan)
      local results = {}
      for i, case in ipairs(ctx.cases) do
         local v = X.verdict(case, played[i], got[case.id])
         v.decisions = lines[case.id] or {}
         results[i] = v
      end
      return results
   end)
   if upstream then ctx.c:container_remove(upstream) end
   launch.down({ slug = plan.slug }, { backend = docker, stage_root = stage })
   core.rmtree(stage)
   if not ok then error(res, 0) end
   return { setting = setting.name, results = res, yaml = plan.pipelock.yaml }
end

-- Per category: {category = {malicious, malicious_blocked, benign,
-- benign_blocked}}, and the totals over the HTTP-level categories (all but
-- the WebSocket ones) under "http".
function X.count(results)
   local n = {}
   local function bump(cat, r)
      local t = n[cat] or { malicious = 0, malicious_blocked = 0, benign = 0, benign_blocked = 0 }
      n[cat] = t
      if r.malicious then
         t.malicious = t.malicious + 1
         if r.blocked then t.malicious_blocked = t.malicious_blocked + 1 end
      else
         t.benign = t.benign + 1
         if r.blocked then t.benign_blocked = t.benign_blocked + 1 end
      end
   end
   for _, r in ipairs(results) do
      bump(r.category, r)
      if not r.category:match("^websocket") then bump("http", r) end
   end
   return n
end

return X
