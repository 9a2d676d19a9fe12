-- End to end: the CVE-2024-29018 probe (dns_probe.lua) on the real dockerd.
-- A positive control first (the same probe on an ordinary network, the
-- listener queried straight from the host), so that a probe that could not
-- see a leak would fail here; then the real probe, which must find none on
-- an engine that bottles can trust; and `doctor` reporting both findings.
local core = require "bottle.core"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local P = require "bottle.backend.docker.dns_probe"
local docker = require("bottle.backend").new("docker")

local unavailable = E.unavailable()

local function probe_leftovers()
   local c = E.api()
   local n = 0
   for _, x in ipairs(assert(c:container_list({ label = { "claude-bottle=1" } }))) do
      if (x.Labels["claude-bottle.slug"] or ""):match("^dns%-probe%-") then n = n + 1 end
   end
   for _, x in ipairs(assert(c:network_list({ label = { "claude-bottle=1" } }))) do
      if (x.Labels["claude-bottle.slug"] or ""):match("^dns%-probe%-") then n = n + 1 end
   end
   return n
end

describe("#e2e DNS probe (CVE-2024-29018)", function()
   it("sees a leak where there is one (positive control on an ordinary network)", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local r = assert(P.run(E.api(), E.AGENT_IMAGE, { control = true }))
      assert.equal("reached", r.listener, r.detail)
      assert.is_true(r.forwarded, r.detail)
      assert.is_true(r.leaks)
      assert.equal(0, probe_leftovers())
   end)

   it("finds no leak out of an internal network on this engine, and leaves nothing", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local r = assert(P.run(E.api(), E.AGENT_IMAGE))
      assert.equal("not reached", r.listener, r.detail)
      assert.is_false(r.forwarded, r.detail)
      assert.is_false(r.leaks, r.detail)
      assert.equal(0, probe_leftovers())
   end)

   it("leaves what `cleanup` finds when doctor is killed half way", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local root = E.stage_root()
      local script = root .. "/probe.lua"
      assert(core.write_file(script, ([[
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local c = assert(require("bottle.backend.docker.api").new())
require("bottle.backend.docker.dns_probe").run(c, %q)
]]):format(E.AGENT_IMAGE), tonumber("600", 8)))
      local pid = tonumber(E.read_command("lua5.4 " .. script .. " >/dev/null 2>&1 & echo $!"))
      local deadline = core.monotonic() + 20
      repeat core.sleep(0.05) until probe_leftovers() >= 2 or core.monotonic() > deadline
      os.execute("kill -KILL " .. pid)
      repeat core.sleep(0.05) until not core.stat("/proc/" .. pid) or core.monotonic() > deadline + 10
      assert.is_true(probe_leftovers() >= 2, "the killed probe left nothing to find")
      local ok, err = launch.cleanup { backend = docker, stage_root = root, apply = true }
      core.rmtree(root)
      assert(ok, err)
      assert.equal(0, probe_leftovers())
   end)

   it("doctor reports the probe and the version against the advisory's ranges", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local checks = assert(require("bottle.backend").new("docker", { images = { agent = E.AGENT_IMAGE,
         pipelock = E.PIPELOCK_IMAGE } }):doctor())
      local by = {}
      for _, c in ipairs(checks) do by[c.check] = c end
      local probe, version = by["internal DNS (probe)"], by["CVE-2024-29018 by version"]
      assert.is_truthy(probe and version)
      assert.is_true(probe.ok, probe.detail)
      assert.is_true(version.optional)
      local v = assert(E.api():engine_version()).Version
      assert.equal(not P.version_affected(v), version.ok, version.detail)
      assert.matches(P.RANGES, version.detail, 1, true)
      assert.equal(0, probe_leftovers())
   end)
end)
