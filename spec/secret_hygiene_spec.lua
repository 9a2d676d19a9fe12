-- Secret hygiene, end to end: the real `bottle up` command (a separate
-- process, as a user runs it) on the real dockerd with the real pipelock and
-- the real git gate (the test images), with one env value of each kind:
--   * prompted: typed on a real terminal.  `script` (util-linux) gives the
--     launcher a pseudo-terminal, and the spec types the value only once the
--     prompt is shown (the launcher has turned echo off by then);
--   * host: ${BOTTLE_HYGIENE_HOST} from the launcher's environment;
--   * literal: written in the manifest.
-- The agent image is the test agent plus a stand-in `claude` (a shell script
-- that writes the session's env into the agent and waits), so the session
-- really receives the three values (checked: nothing here can pass because
-- the values never arrived).  While the session runs the spec scans
-- `ps -eww -o args` (every 20 ms, from the start of `up`), `docker inspect`
-- of every container, network and exec of the bottle, every stage file,
-- pipelock's log, `plan --json`, `render`, `list --json`, `logs`, the
-- launcher's own terminal output, dockerd's log when readable, and the
-- messages of a failing launch.  Only the 0600 env-file may hold the literal;
-- nothing may hold any value.  The CA key must not be in the agent and the
-- git identity key only in the gate.
-- Pending (with the reason) without dockerd, the test images, `script` or
-- `ssh-keygen`.
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local E = require "testlib.e2e"

local AGENT = "hygiene"
local HOST_VAR = "BOTTLE_HYGIENE_HOST"
local GATE_IMAGE = "claude-bottle-test/git-gate:latest"
local SSHD_IMAGE = "claude-bottle-test/sshd-upstream:latest"
local DOCKERD_LOG = "/var/log/dockerd.log"

-- The stand-in for Claude Code: records the session's env, waits for the spec.
local SHIM = [[#!/bin/sh
# claude stand-in (spec/secret_hygiene_spec.lua): what the session received
printf '%s\n%s\n%s\n' "$API_TOKEN" "$GH_TOKEN" "$MODE" > /tmp/session-env
i=0
while [ ! -e /tmp/session-done ] && [ $i -lt 12000 ]; do sleep 0.05; i=$((i + 1)); done
]]

local q = require("testlib.util").q

local read = require("testlib.util").read

local function have(cmd)
   return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

local unavailable = E.unavailable()
if not unavailable then
   local c = E.api()
   for _, image in ipairs { GATE_IMAGE, SSHD_IMAGE } do
      if not c:image_inspect(image) then unavailable = image .. " is not built: run make test-images" end
   end
end
if not unavailable and not have("script") then unavailable = "needs `script` (util-linux) for a terminal" end
if not unavailable and not have("ssh-keygen") then unavailable = "needs ssh-keygen for a git identity" end

-- A line from the middle of a PEM/OpenSSH body (to search for a key).
local function needle(pem)
   local lines = {}
   for line in pem:gmatch("[^\n]+") do if not line:find("-----", 1, true) then lines[#lines + 1] = line end end
   return lines[math.max(1, #lines // 2)]
end

describe("#e2e secret hygiene", function()
   local values = {
      prompted = "hyg-prompt-" .. core.random_hex(12),
      host = "hyg-host-" .. core.random_hex(12),
      literal = "hyg-literal-" .. core.random_hex(12),
   }
   -- Names of the values found in `text`.
   local function found_in(text)
      local hits = {}
      for kind, v in pairs(values) do
         if text and text:find(v, 1, true) then hits[#hits + 1] = kind end
      end
      table.sort(hits)
      return hits
   end

   local work, shim_image
   local ev = {}   -- evidence gathered while the bottle runs

   -- The command line of `bottle ARGS`.  The host value is never on it: it
   -- reaches the launcher through the environment (core.spawn's opts.env),
   -- so that a value the ps scan finds can only be the launcher's doing.
   local function bottle_cmd(args, extra)
      local env = {
         "BOTTLE_PIPELOCK_IMAGE=" .. E.PIPELOCK_IMAGE, "BOTTLE_AGENT_IMAGE=" .. shim_image,
         "BOTTLE_FIREWALL_IMAGE=" .. E.FIREWALL_IMAGE,
         "BOTTLE_GIT_GATE_IMAGE=" .. GATE_IMAGE,
         "XDG_STATE_HOME=" .. work .. "/state", "XDG_CONFIG_HOME=" .. work .. "/config",
      }
      for _, e in ipairs(extra or {}) do env[#env + 1] = e end
      local parts = { "env" }
      for _, e in ipairs(env) do parts[#parts + 1] = q(e) end
      parts[#parts + 1] = "lua5.4"
      parts[#parts + 1] = q(core.getcwd() .. "/bottle.lua")
      for _, a in ipairs(args) do parts[#parts + 1] = q(a) end
      return table.concat(parts, " ")
   end

   local function host_env(set)
      return set == false and {} or { [HOST_VAR] = values.host }
   end

   -- Runs a shell command to its end (with the host variable unless
   -- host == false) → its stdout and stderr, exit status.
   local function run(cmd, host)
      local out = work .. "/out." .. core.random_hex(4)
      local status = core.spawn({ "sh", "-c", cmd .. " > " .. q(out) .. " 2>&1" }, { env = host_env(host) })
      local text = read(out) or ""
      os.remove(out)
      return text, status
   end

   -- Starts a shell command in the background → its pid.
   local function start(cmd, host)
      local pidfile = work .. "/pid." .. core.random_hex(4)
      core.spawn({ "sh", "-c", cmd .. " & echo $! > " .. q(pidfile) }, { env = host_env(host) })
      local pid = tonumber(read(pidfile))
      os.remove(pidfile)
      return pid
   end

   -- `bottle ARGS` on a pseudo-terminal; `answer` is typed once the prompt
   -- shows.  → {pid, transcript = path, tty = file (kept open until done)}
   local function on_terminal(args, extra, answer, host)
      local fifo, transcript = work .. "/tty-in." .. core.random_hex(4), work .. "/transcript." .. core.random_hex(4)
      assert(os.execute("mkfifo " .. q(fifo)))
      local pid = start(("script -qec %s /dev/null < %s > %s 2>&1"):format(q(bottle_cmd(args, extra)), q(fifo),
                                                                          q(transcript)), host)
      local tty = assert(io.open(fifo, "w"))
      local deadline = core.monotonic() + 30
      repeat
         core.sleep(0.02)
         local text = read(transcript) or ""
         if text:find("API token", 1, true) then
            tty:write(answer, "\n")
            tty:flush()
            break
         end
      until core.monotonic() > deadline or not read("/proc/" .. pid .. "/stat")
      return { pid = pid, transcript = transcript, tty = tty }
   end

   local function wait_exit(pid, timeout)
      local deadline = core.monotonic() + timeout
      while core.monotonic() < deadline do
         local st = read("/proc/" .. pid .. "/stat")
         if not st or st:match(".*%) (%a)") == "Z" then return true end
         core.sleep(0.05)
      end
      return false
   end

   -- The agent image with the stand-in claude, committed from a container.
   local function make_shim_image(c)
      local tag = "claude-bottle-test/agent-hygiene-shim:" .. core.random_hex(4)
      local ctr = assert(c:container_create("claude-bottle-test-shim-" .. core.random_hex(4),
         { Image = E.AGENT_IMAGE, Labels = { [E.TEST_LABEL] = "1" } }))
      assert(c:archive_put(ctr.Id, "/", tar.pack {
         { name = "usr/local/bin/claude", data = SHIM, mode = tonumber("755", 8), uid = 0, gid = 0 } }))
      local repo, t = tag:match("^(.*):(.*)$")
      assert(c:call("commit the shim image", "POST", "/commit", { query = { container = ctr.Id, repo = repo, tag = t } }))
      c:container_remove(ctr.Id)
      return tag
   end

   local function raw(c, path)
      local status, _, body = core.http(c:build("GET", path))
      return status == 200 and body or nil
   end

   setup(function()
      if unavailable then return end
      local c = E.api()
      work = core.mkdtemp("/tmp/claude-bottle-hygiene.")
      shim_image = make_shim_image(c)
      assert(os.execute("ssh-keygen -q -t ed25519 -N '' -C hygiene -f " .. q(work .. "/id_ed25519")))
      local host_key = c:image_inspect(SSHD_IMAGE).Config.Labels["claude-bottle.test.host-key"]
      assert(core.write_file(work .. "/bottles.yaml", ([[
bottles:
  hyg:
    env:
      API_TOKEN: "?API token"
      GH_TOKEN: "${%s}"
      MODE: "%s"
    egress:
      allowlist: [allowed.test]
    git:
      - name: app
        upstream: ssh://git@upstream.test/srv/git/app.git
        extra_hosts: { upstream.test: 192.0.2.10 }
        identity: %s
        host_key: "%s"
agents:
  %s:
    bottle: hyg
]]):format(HOST_VAR, values.literal, work .. "/id_ed25519", host_key, AGENT), tonumber("644", 8)))
      assert(core.write_file(work .. "/net.lua", ([[
return { config = function(cfg)
   cfg.trusted_domains = { "allowed.test" }
   cfg.ssrf = cfg.ssrf or {}
   cfg.ssrf.ip_allowlist = { %s }
end }
]]):format('"' .. table.concat(E.DOCKER_POOLS, '", "') .. '"'), tonumber("644", 8)))
      local up_args = { "up", "--yes", "--no-workspace", "--manifest", work .. "/bottles.yaml", "--policy", work .. "/net.lua", AGENT }
      local log_start = (core.stat(DOCKERD_LOG) or {}).size

      -- ps, from before `up` starts until after it ends
      local stop = work .. "/ps-stop"
      ev.ps_file = work .. "/ps-snapshots"
      start(("(while [ ! -e %s ]; do ps -eww -o args= >> %s; echo '--8<--' >> %s; sleep 0.02; done) >/dev/null 2>&1")
            :format(q(stop), q(ev.ps_file), q(ev.ps_file)), false)

      -- plan --json and render, as a user would look before launching
      ev.plan_json, ev.plan_status = run(bottle_cmd { "plan", "--json", "--no-workspace", "--manifest", work .. "/bottles.yaml",
                                                       "--policy", work .. "/net.lua", AGENT })
      ev.render = run(bottle_cmd { "render", "--manifest", work .. "/bottles.yaml", "--policy", work .. "/net.lua", AGENT })

      -- the attached launch
      local session = on_terminal(up_args, nil, values.prompted)
      local slug, agent_name
      local deadline = core.monotonic() + 90
      while core.monotonic() < deadline and not ev.session_env do
         local list = c:container_list { label = { "claude-bottle.agent=" .. AGENT, "claude-bottle.role=agent" },
                                         status = { "running" } }
         if list and list[1] then
            agent_name = list[1].Names[1]:gsub("^/", "")
            slug = list[1].Labels["claude-bottle.slug"]
            local r = c:exec(agent_name, { "cat", "/tmp/session-env" })
            if r and r.exit == 0 and r.stdout ~= "" then ev.session_env = r.stdout end
         end
         core.sleep(0.1)
      end
      ev.slug = slug
      if slug then
         -- every container, network and exec of the bottle, as the engine shows them
         ev.inspect = {}
         for _, x in ipairs(c:container_list { label = { "claude-bottle.slug=" .. slug } } or {}) do
            local body = raw(c, "/containers/" .. x.Id .. "/json") or ""
            ev.inspect[#ev.inspect + 1] = { what = "container " .. x.Names[1], text = body }
            local info = cjson.decode(body)
            for _, exec_id in ipairs(type(info.ExecIDs) == "table" and info.ExecIDs or {}) do
               ev.inspect[#ev.inspect + 1] = { what = "exec " .. exec_id, text = raw(c, "/exec/" .. exec_id .. "/json") or "" }
            end
            ev.roles = ev.roles or {}
            ev.roles[x.Labels["claude-bottle.role"]] = x.Names[1]:gsub("^/", "")
         end
         for _, n in ipairs(c:network_list { label = { "claude-bottle.slug=" .. slug } } or {}) do
            ev.inspect[#ev.inspect + 1] = { what = "network " .. n.Name, text = raw(c, "/networks/" .. n.Id) or "" }
         end
         -- the stage directory, file by file
         local dir = work .. "/state/claude-bottle/" .. slug
         ev.stage = {}
         for _, name in ipairs(core.listdir(dir) or {}) do
            ev.stage[name] = { data = read(dir .. "/" .. name) or "", mode = (core.stat(dir .. "/" .. name) or {}).mode }
         end
         -- pipelock's log (both streams), and the commands that read state
         local out, err = c:container_logs(ev.roles.pipelock, {})
         ev.pipelock_log = (out or "") .. (err or "")
         ev.cli_outputs = {
            list = run(bottle_cmd { "list", "--json" }),
            logs = run(bottle_cmd { "logs", slug, "--json" }),
         }
         -- the CA key in the agent? the identity key in the agent, and in the gate?
         -- (as root in the agent; in the gate as its own user: it runs with
         -- every capability dropped, so its root cannot read the gate's 0600 files)
         local function search(container, text, user)
            return c:exec(container, { "grep", "-rlF", "--exclude-dir=proc", "--exclude-dir=sys",
                                       "--exclude-dir=dev", text, "/" }, { user = user, timeout_ms = 120000 })
         end
         local ca_key = ev.stage["ca-key.pem"] and ev.stage["ca-key.pem"].data
         local ca_cert = ev.stage["ca.pem"] and ev.stage["ca.pem"].data
         local identity = read(work .. "/id_ed25519")
         if ca_key then ev.ca_key_in_agent = search(agent_name, needle(ca_key), "0") end
         if ca_cert then ev.ca_cert_in_agent = search(agent_name, needle(ca_cert), "0") end
         ev.identity_in_agent = search(agent_name, needle(identity), "0")
         if ev.roles["git-gate"] then ev.identity_in_gate = search(ev.roles["git-gate"], needle(identity)) end
         -- let the session end: the launcher tears the bottle down
         c:exec(agent_name, { "touch", "/tmp/session-done" })
      end
      ev.up_exited = wait_exit(session.pid, 60)
      session.tty:close()
      ev.transcript = read(session.transcript) or ""

      -- a launch that fails after the values are known (pipelock's image is
      -- not pipelock), and one whose host variable is unset
      local failing = on_terminal(up_args, { "BOTTLE_PIPELOCK_IMAGE=" .. E.AGENT_IMAGE }, values.prompted)
      wait_exit(failing.pid, 60)
      failing.tty:close()
      ev.failed_transcript = read(failing.transcript) or ""
      local unset = on_terminal(up_args, nil, values.prompted, false)
      wait_exit(unset.pid, 30)
      unset.tty:close()
      ev.unset_output = read(unset.transcript) or ""

      assert(io.open(stop, "w")):close()
      core.sleep(0.1)
      ev.ps = read(ev.ps_file) or ""
      if log_start then
         local f = io.open(DOCKERD_LOG, "rb")
         if f then
            f:seek("set", log_start)
            ev.dockerd_log = f:read("a")
            f:close()
         end
      end
      ev.left = E.count(slug or "none")
      ev.stage_left = core.listdir(work .. "/state/claude-bottle") or {}
   end)

   teardown(function()
      if unavailable then return end
      local c = E.api()
      for _, x in ipairs(c:container_list { label = { "claude-bottle.agent=" .. AGENT } } or {}) do
         c:container_remove(x.Id)
      end
      for _, n in ipairs(c:network_list { label = { "claude-bottle.agent=" .. AGENT } } or {}) do
         require("bottle.backend.docker.resources").remove_network(c, n.Id)
      end
      if shim_image then c:call("remove the shim image", "DELETE", "/images/" .. shim_image, { query = { force = true } }) end
      if work then core.rmtree(work) end
   end)

   local function skip()
      if unavailable then pending("secret hygiene e2e: " .. unavailable) return true end
      return false
   end

   it("hands all three values to the session (so the scans below can fail)", function()
      if skip() then return end
      assert.is_truthy(ev.slug, "the bottle never came up:\n" .. tostring(ev.transcript))
      assert.are.equal(values.prompted .. "\n" .. values.host .. "\n" .. values.literal .. "\n", ev.session_env)
   end)

   it("shows no value in `ps` while the launcher and the session run", function()
      if skip() then return end
      local snapshots = select(2, ev.ps:gsub("%-%-8<%-%-", ""))
      assert.is_true(snapshots > 10, "only " .. snapshots .. " ps snapshots")
      -- the scan saw the session's docker exec (names only on its command line)
      assert.matches("docker exec[^\n]* %-e API_TOKEN %-e GH_TOKEN", ev.ps)
      assert.matches("--env-file", ev.ps, 1, true)
      assert.are.same({}, found_in(ev.ps))
   end)

   it("shows no value in `docker inspect` of any container, network or exec of the bottle", function()
      if skip() then return end
      assert.is_true(#ev.inspect >= 7, "expected agent, pipelock, gate, two networks and execs")
      for _, i in ipairs(ev.inspect) do
         assert.are.same({}, found_in(i.text), i.what)
      end
   end)

   it("writes the literal only to the 0600 env-file, and no other value anywhere in the stage dir", function()
      if skip() then return end
      assert.is_truthy(ev.stage["agent.env"], "no env-file")
      assert.are.equal(tonumber("600", 8), ev.stage["agent.env"].mode)
      assert.are.same({ "literal" }, found_in(ev.stage["agent.env"].data))
      for name, f in pairs(ev.stage) do
         if name ~= "agent.env" then assert.are.same({}, found_in(f.data), name) end
      end
   end)

   it("keeps every value out of plan --json, render, list, logs and pipelock's log", function()
      if skip() then return end
      assert.are.equal(0, ev.plan_status, ev.plan_json)
      assert.matches('"kind":"prompt"', ev.plan_json, 1, true)   -- the entries are there, by name and kind
      assert.are.same({}, found_in(ev.plan_json))
      assert.are.same({}, found_in(ev.render))
      for name, out in pairs(ev.cli_outputs) do assert.are.same({}, found_in(out), name) end
      assert.is_true(#ev.pipelock_log > 0)
      assert.are.same({}, found_in(ev.pipelock_log))
   end)

   it("keeps every value out of the launcher's terminal output and its error messages", function()
      if skip() then return end
      assert.is_true(ev.up_exited, "the attached up did not end")
      assert.matches("step pipelock ... ok", ev.transcript, 1, true)
      assert.are.same({}, found_in(ev.transcript))
      assert.matches("start container claude%-bottle%-ca%-", ev.failed_transcript)
      assert.are.same({}, found_in(ev.failed_transcript))
      assert.matches(HOST_VAR .. " is not set", ev.unset_output, 1, true)
      assert.are.same({}, found_in(ev.unset_output))
   end)

   it("keeps every value out of dockerd's log", function()
      if skip() then return end
      if not ev.dockerd_log then pending(DOCKERD_LOG .. " is not readable here") return end
      assert.are.same({}, found_in(ev.dockerd_log))
   end)

   it("keeps the CA key out of the agent (whose trust store has the certificate)", function()
      if skip() then return end
      assert.are.equal(0, ev.ca_cert_in_agent.exit, "the search does not find the certificate: " .. ev.ca_cert_in_agent.stderr)
      assert.are.equal(1, ev.ca_key_in_agent.exit, "the CA key is in the agent: " .. ev.ca_key_in_agent.stdout)
   end)

   it("puts the git identity key in the gate only", function()
      if skip() then return end
      assert.is_truthy(ev.identity_in_gate, "no git gate")
      -- found (exit 0; unreadable system directories may add exit 2 noise, so
      -- the listing is what counts)
      assert.matches("/", ev.identity_in_gate.stdout, 1, true)
      assert.are.equal(1, ev.identity_in_agent.exit, "the identity key is in the agent: " .. ev.identity_in_agent.stdout)
   end)

   it("leaves nothing behind once the session ends", function()
      if skip() then return end
      assert.are.same({ 0, 0 }, { ev.left.containers, ev.left.networks }, table.concat(ev.left.names, ", "))
      assert.are.same({}, ev.stage_left)
   end)
end)
