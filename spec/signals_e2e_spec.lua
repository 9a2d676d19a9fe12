-- End to end: an attached `bottle up` (lua5.4 bottle.lua up, a child
-- process) against the real dockerd and pipelock test images, signalled
-- while its session runs.  The session is a stand-in `claude` that sleeps for
-- five minutes, so only the signal can end it in time; a second signal is
-- sent once the teardown has begun, and nothing may be left behind.
local core = require "bottle.core"
local E = require "testlib.e2e"
local docker = require("bottle.backend").new("docker")

local unavailable = E.unavailable()

local SHIM = [[#!/bin/sh
# claude stand-in (spec/signals_e2e_spec.lua): a session that does not end by itself
touch /tmp/session-started
exec sleep 300
]]

local q = require("testlib.util").q

local read = require("testlib.util").read

local function alive(pid)
   local st = read("/proc/" .. pid .. "/stat")
   return st ~= nil and st:match(".*%) (%a)") ~= "Z"
end

local function wait_for(what, seconds, fn)
   local deadline = core.monotonic() + seconds
   repeat
      local v = fn()
      if v then return v end
      core.sleep(0.02)
   until core.monotonic() > deadline
   error("timed out after " .. seconds .. "s waiting for " .. what, 2)
end

describe("#e2e attached up and signals", function()
   local work, image

   setup(function()
      if unavailable then return end
      work = core.mkdtemp("/tmp/claude-bottle-signals-e2e.")
      image = E.agent_image_with { { name = "usr/local/bin/claude", data = SHIM, mode = tonumber("755", 8) } }
   end)

   teardown(function()
      if image then E.remove_image(image) end
      if work then core.rmtree(work) end
   end)

   -- Starts `bottle up AGENT --yes` in the background → {pid, out, err, status}.
   local function start_up(agent)
      local manifest = work .. "/" .. agent .. ".yaml"
      assert(core.write_file(manifest, ([[
bottles:
  sig:
    egress:
      allowlist: [allowed.test]
agents:
  %s:
    bottle: sig
]]):format(agent), tonumber("600", 8)))
      local run = { out = work .. "/" .. agent .. ".out", err = work .. "/" .. agent .. ".err",
                    pidfile = work .. "/" .. agent .. ".pid", status = work .. "/" .. agent .. ".status" }
      local cmd = table.concat({
         "env", q("BOTTLE_AGENT_IMAGE=" .. image), q("BOTTLE_PIPELOCK_IMAGE=" .. E.PIPELOCK_IMAGE),
         q("BOTTLE_FIREWALL_IMAGE=" .. E.FIREWALL_IMAGE),
         q("XDG_STATE_HOME=" .. work .. "/state"), q("XDG_CONFIG_HOME=" .. work .. "/config"),
         "lua5.4", q(core.getcwd() .. "/bottle.lua"), "up", agent, "--no-workspace", "--manifest", q(manifest), "--yes",
         "</dev/null", ">" .. q(run.out), "2>" .. q(run.err) }, " ")
      -- The inner shell waits for the launcher, so its exit status is kept.
      local outer = ("sh -c %s >/dev/null 2>&1 &"):format(
         q(cmd .. " & echo $! > " .. q(run.pidfile) .. "; wait $!; echo $? > " .. q(run.status)))
      assert(os.execute(outer))
      run.pid = wait_for("the launcher's pid", 10, function()
         local p = read(run.pidfile)
         return p and tonumber(p:match("%d+"))
      end)
      return run
   end

   local function agent_container(agent)
      local list = assert(E.api():container_list({ label = { "claude-bottle.agent=" .. agent,
                                                             "claude-bottle.role=agent" } }))
      return list[1] and list[1].Names[1]:gsub("^/", ""), list[1] and list[1].Labels["claude-bottle.slug"]
   end

   for _, c in ipairs({ { "TERM", "INT" }, { "INT", "INT" }, { "INT", "TERM" } }) do
      local first, second = c[1], c[2]
      it("SIG" .. first .. " during the session tears the bottle down at once; a SIG" .. second
         .. " during the teardown does not cut it short", function()
         if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
         local agent = "sig" .. first:lower() .. "-" .. core.random_hex(2)
         local run = start_up(agent)
         local slug
         local ok, err = pcall(function()
            local name
            wait_for("the session to start (stderr: " .. tostring(read(run.err)) .. ")", 90, function()
               if not alive(run.pid) then error("up ended early: " .. tostring(read(run.err))) end
               name, slug = agent_container(agent)
               if not name then return false end
               local r = E.api():exec(name, { "test", "-e", "/tmp/session-started" })
               return r and r.exit == 0
            end)
            local t0 = core.monotonic()
            assert(os.execute("kill -" .. first .. " " .. run.pid))
            -- the teardown logs "removing LABEL" before each removal
            wait_for("the teardown to begin", 15, function()
               return (read(run.err) or ""):find("removing ", 1, true) ~= nil
            end)
            assert.is_true(alive(run.pid), "the teardown ended before the second signal could be sent")
            assert(os.execute("kill -" .. second .. " " .. run.pid))
            wait_for("the launcher to exit", 30, function() return not alive(run.pid) end)
            local took = core.monotonic() - t0
            local status = wait_for("the exit status", 5, function()
               local s = read(run.status); return s and tonumber(s:match("%d+"))
            end)
            local stderr = read(run.err) or ""
            assert.equal(1, status, stderr)
            assert.is_truthy(stderr:find("interrupted by SIG" .. first, 1, true), stderr)
            assert.is_truthy(stderr:find("SIG" .. second .. " during the teardown: the teardown went on to the end",
                                         1, true), stderr)
            assert.is_nil(stderr:find("could not remove", 1, true), stderr)
            assert.is_true(took < 20, ("took %.1fs from the signal to the launcher's exit"):format(took))
            local left = E.count(slug)
            assert.equal(0, left.containers + left.networks, table.concat(left.names, ", "))
            assert.is_nil(core.stat(work .. "/state/claude-bottle/" .. slug), "stage dir left behind")
         end)
         if not ok then
            if alive(run.pid) then os.execute("kill -KILL " .. run.pid) end
            if slug then docker:down { slug = slug } end
         end
         assert(ok, err)
      end)
   end
end)
