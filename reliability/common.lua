-- Shared by the reliability scripts (reliability/*.lua): where the checkout
-- is, a test manifest and policy in a scratch directory, the real `bottle`
-- command run as a user runs it (with the locally built test images), and
-- counting what a bottle left behind (by label on the engine, and on disk).
-- Nothing here is a fake: the scripts measure the real launcher against the
-- real dockerd and the real pipelock 2.3.0 (images/test/build.sh).
local R = {}

R.ROOT = (arg and arg[0] or ""):match("^(.-)/?reliability/[^/]+$") or "."
if R.ROOT == "" then R.ROOT = "." end
if R.ROOT:sub(1, 1) ~= "/" then R.ROOT = (os.getenv("PWD") or ".") .. "/" .. R.ROOT end
R.ROOT = R.ROOT:gsub("/%.$", "")
package.path = R.ROOT .. "/?.lua;" .. R.ROOT .. "/lua/?.lua;" .. R.ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = R.ROOT .. "/build/?.so;" .. package.cpath

local core = require "bottle.core"
local cjson = require "cjson"
local E = require "testlib.e2e"
R.E = E
R.core = core
R.cjson = cjson

-- The name of the env variable the test manifest takes a host secret from.
R.HOST_VAR = "BOTTLE_RELIABILITY_HOST_SECRET"

function R.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

function R.say(fmt, ...) io.stderr:write(("[%s] " .. fmt .. "\n"):format(os.date("!%H:%M:%S"), ...)) end

function R.read(path)
   local f = io.open(path, "rb")
   if not f then return nil end
   local d = f:read("a")
   f:close()
   return d
end

function R.sh(cmd)
   local p = assert(io.popen(cmd .. " 2>&1"))
   local out = p:read("a")
   local ok, _, status = p:close()
   return out, ok and 0 or status
end

-- A scratch directory with a manifest (one bottle allowing allowed.test,
-- one literal and one host-variable env entry, agent `agent`) and the test
-- network policy (as in scripts/demo.lua: pipelock may reach the upstream
-- test server on Docker's private networks).  opts.literal sets the literal.
function R.workdir(agent, opts)
   opts = opts or {}
   local dir = core.mkdtemp("/tmp/claude-bottle-reliability.")
   local w = { dir = dir, agent = agent, manifest = dir .. "/bottles.yaml", policy = dir .. "/test-network.lua",
               state = dir .. "/state", config = dir .. "/config" }
   w.stage_root = w.state .. "/claude-bottle"
   w.literal = opts.literal or ("lit-" .. core.random_hex(8))
   assert(core.write_file(w.manifest, ([[
bottles:
  rel:
    env:
      MODE: %q
      TOKEN: "${%s}"
    egress:
      allowlist: [allowed.test]
agents:
  %s:
    bottle: rel
]]):format(w.literal, R.HOST_VAR, agent), tonumber("644", 8)))
   assert(core.write_file(w.policy, ([[
-- The test "internet" is a container on a private Docker network: trust it.
return {
   config = function(cfg, ctx)
      cfg.trusted_domains = { "allowed.test" }
      cfg.ssrf = cfg.ssrf or {}
      cfg.ssrf.ip_allowlist = { %s }
   end,
}
]]):format('"' .. table.concat(E.DOCKER_POOLS, '", "') .. '"'), tonumber("644", 8)))
   return w
end

function R.remove_workdir(w) core.rmtree(w.dir) end

-- The environment the `bottle` command runs with (test images, scratch
-- state and config directories, the host secret).
function R.env(w, extra)
   local env = {
      BOTTLE_PIPELOCK_IMAGE = E.PIPELOCK_IMAGE, BOTTLE_AGENT_IMAGE = E.AGENT_IMAGE,
      BOTTLE_FIREWALL_IMAGE = E.FIREWALL_IMAGE,
      XDG_STATE_HOME = w.state, XDG_CONFIG_HOME = w.config,
      [R.HOST_VAR] = w.host_secret or "host-secret-value",
   }
   for k, v in pairs(extra or {}) do env[k] = v end
   return env
end

-- "env K=V ... lua5.4 ROOT/bottle.lua ARGS" (env execs, so `... & echo $!`
-- gives the launcher's own pid).
function R.bottle_cmd(w, args, extra_env)
   local parts = { "env" }
   local env = R.env(w, extra_env)
   local keys = {}
   for k in pairs(env) do keys[#keys + 1] = k end
   table.sort(keys)
   for _, k in ipairs(keys) do
      if env[k] ~= false then parts[#parts + 1] = R.q(k .. "=" .. env[k]) end
   end
   parts[#parts + 1] = "lua5.4"
   parts[#parts + 1] = R.q(R.ROOT .. "/bottle.lua")
   for _, a in ipairs(args) do parts[#parts + 1] = R.q(a) end
   return table.concat(parts, " ")
end

function R.up_args(w, more)
   local args = { "up", "--detach", "--yes", "--no-workspace", "--manifest", w.manifest, "--policy", w.policy }
   for _, a in ipairs(more or {}) do args[#args + 1] = a end
   args[#args + 1] = w.agent
   return args
end

-- Runs `bottle ARGS` to the end → {status, stdout, stderr, seconds}.
function R.bottle(w, args, extra_env)
   local out, err = os.tmpname(), os.tmpname()
   local t0 = core.monotonic()
   local ok, _, status = os.execute(R.bottle_cmd(w, args, extra_env) .. " >" .. out .. " 2>" .. err)
   local r = { status = ok and 0 or status, stdout = R.read(out) or "", stderr = R.read(err) or "",
               seconds = core.monotonic() - t0 }
   os.remove(out)
   os.remove(err)
   return r
end

-- Starts `bottle ARGS` in the background → {pid, stdout = path, stderr = path}.
function R.bottle_bg(w, args, extra_env, prefix)
   local out, err = os.tmpname(), os.tmpname()
   local p = assert(io.popen((prefix or "") .. R.bottle_cmd(w, args, extra_env) .. " >" .. out .. " 2>" .. err
                             .. " & echo $!"))
   local pid = tonumber(p:read("l"))
   p:close()
   return { pid = pid, stdout = out, stderr = err }
end

-- Is pid running (not gone, not a zombie)?
function R.running(pid)
   local st = R.read("/proc/" .. pid .. "/stat")
   return st ~= nil and st:match(".*%) (%a)") ~= "Z"
end

function R.wait_gone(pid, timeout)
   local deadline = core.monotonic() + (timeout or 30)
   while R.running(pid) do
      if core.monotonic() > deadline then return false end
      core.sleep(0.02)
   end
   return true
end

-- What is left of bottles of `agent` (label claude-bottle.agent) on the
-- engine, and stage directories under stage_root.
function R.leftovers(agent, stage_root)
   local c = E.api()
   local filters = { label = { "claude-bottle=1", "claude-bottle.agent=" .. agent } }
   local ctrs = assert(c:container_list(filters))
   local nets = assert(c:network_list(filters))
   local left = { containers = #ctrs, networks = #nets, stage_dirs = 0, names = {} }
   for _, x in ipairs(ctrs) do
      left.names[#left.names + 1] = "container " .. x.Names[1]:gsub("^/", "") .. " (" .. x.State .. ")"
   end
   for _, x in ipairs(nets) do left.names[#left.names + 1] = "network " .. x.Name end
   for _, name in ipairs(stage_root and core.listdir(stage_root) or {}) do
      -- the state directory also holds the launcher's files (digests.json)
      local st = core.stat(stage_root .. "/" .. name)
      if st and st.type == "dir" then
         left.stage_dirs = left.stage_dirs + 1
         left.names[#left.names + 1] = "stage dir " .. name
      end
   end
   left.total = left.containers + left.networks + left.stage_dirs
   return left
end

-- Removes every resource of `agent` by label (after a measurement found a
-- leftover, so that the next run starts clean) and the stage directories.
function R.force_clean(agent, stage_root)
   local c = E.api()
   local filters = { label = { "claude-bottle=1", "claude-bottle.agent=" .. agent } }
   for _, x in ipairs(c:container_list(filters) or {}) do c:container_remove(x.Id) end
   for _, x in ipairs(c:network_list(filters) or {}) do
      require("bottle.backend.docker.resources").remove_network(c, x.Id)
   end
   if stage_root then
      for _, name in ipairs(core.listdir(stage_root) or {}) do core.rmtree(stage_root .. "/" .. name) end
   end
end

-- The last progress line a launcher printed ("step NAME ... ok 0.42s").
function R.last_step(stderr_text)
   local last
   for step, status in (stderr_text or ""):gmatch("step (%S+) %.%.%. (%a+)") do last = step .. " " .. status end
   return last or "(no step finished)"
end

-- "claude-bottle <version> at <commit>[+changes]" for the figures' headers.
function R.version()
   local sha = R.sh("git -C " .. R.q(R.ROOT) .. " rev-parse --short HEAD"):gsub("%s+$", "")
   local dirty = R.sh("git -C " .. R.q(R.ROOT) .. " status --porcelain --untracked-files=no lua csrc bottle.lua")
   return ("claude-bottle %s at %s%s"):format(core._VERSION, sha, dirty:find("%S") and "+uncommitted" or "")
end

function R.median(xs)
   local s = { table.unpack(xs) }
   table.sort(s)
   if #s == 0 then return 0 end
   if #s % 2 == 1 then return s[(#s + 1) // 2] end
   return (s[#s // 2] + s[#s // 2 + 1]) / 2
end

function R.max(xs)
   local m = 0
   for _, x in ipairs(xs) do if x > m then m = x end end
   return m
end

-- Command-line options: --name value and --flag, into a table.
function R.options(argv, defaults)
   local o = {}
   for k, v in pairs(defaults or {}) do o[k] = v end
   local i = 1
   while i <= #argv do
      local k = argv[i]:match("^%-%-([%w-]+)$")
      if not k then error("unexpected argument " .. argv[i]) end
      k = k:gsub("-", "_")
      if type(o[k]) == "boolean" then
         o[k] = true
         i = i + 1
      else
         local v = argv[i + 1]
         o[k] = tonumber(v) or v
         i = i + 2
      end
   end
   return o
end

-- A private dockerd of this script's own (never the machine's): its own data
-- root, exec root, socket and pid file in a scratch directory, no iptables
-- changes, no default bridge.  opts.address_pools: daemon.json's
-- default-address-pools.  Returns an engine {host, pid, version, start(),
-- stop(), close()}; start() runs it, stop() sends SIGTERM to its pid and
-- waits, close() stops it and removes the directory (never through a mount).
-- `with_images` copies the test images into it.
function R.private_engine(opts)
   opts = opts or {}
   local dir = core.mkdtemp("/tmp/claude-bottle-dockerd.")
   local eng = { dir = dir, host = "unix://" .. dir .. "/docker.sock" }
   local config = { ["data-root"] = dir .. "/data",
                    -- fuse-overlayfs when the machine's engine uses it (a nested overlay may not mount)
                    ["storage-driver"] = (E.api():info() or {}).Driver or "overlay2",
                    ["default-address-pools"] = opts.address_pools }
   assert(core.write_file(dir .. "/daemon.json", cjson.encode(config), tonumber("644", 8)))
   local cmd = ("dockerd --config-file %s --exec-root %s --pidfile %s -H %s --bridge none --iptables=false "
      .. "--ip-forward=false --ip-masq=false --log-level warn"):format(R.q(dir .. "/daemon.json"), R.q(dir .. "/exec"),
      R.q(dir .. "/dockerd.pid"), R.q(eng.host))
   function eng.start()
      local p = assert(io.popen(("setsid %s >> %s 2>&1 < /dev/null & echo $!"):format(cmd, R.q(dir .. "/dockerd.log"))))
      eng.pid = tonumber(p:read("l"))
      p:close()
      local deadline = core.monotonic() + 60
      while core.monotonic() < deadline do
         local out, status = R.sh("DOCKER_HOST=" .. R.q(eng.host) .. " docker version --format '{{.Server.Version}}'")
         if status == 0 then
            eng.version = out:gsub("%s+$", "")
            return eng.version
         end
         core.sleep(0.2)
      end
      error("the private dockerd did not start: " .. (R.read(dir .. "/dockerd.log") or ""))
   end
   function eng.stop()
      os.execute("kill -TERM " .. eng.pid)
      if not R.wait_gone(eng.pid, 60) then error("the private dockerd did not stop") end
   end
   function eng.with_images()
      local _, status = R.sh(("docker save %s %s | DOCKER_HOST=%s docker load"):format(E.AGENT_IMAGE, E.PIPELOCK_IMAGE,
                                                                                     R.q(eng.host)))
      assert(status == 0, "could not copy the test images into the private dockerd")
   end
   function eng.close()
      if eng.pid and R.running(eng.pid) then eng.stop() end
      if (R.read("/proc/mounts") or ""):find(dir, 1, true) then
         R.say("mounts remain under %s: left in place", dir)
      else
         R.sh("rm -rf " .. R.q(dir))
      end
   end
   return eng
end

-- Refuses to run without the engine and the test images.
function R.require_engine()
   local why = E.unavailable()
   if why then
      io.stderr:write("reliability: ", why, "\n")
      os.exit(2)
   end
end

return R
