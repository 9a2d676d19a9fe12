-- End to end: `list` on the real dockerd reports a bottle whose pipelock
-- sidecar was killed as degraded, with the reason, through the backend and
-- through `bottle list` (plain and --json).
local core = require "bottle.core"
local cjson = require "cjson"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

local unavailable = E.unavailable()

local function entry(list, slug)
   for _, b in ipairs(list) do if b.slug == slug then return b end end
end

describe("#e2e list, degraded", function()
   it("reports a bottle whose pipelock sidecar was killed as degraded, with the reason", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local plan = E.plan { agent = "e2e-degraded" }
      local root = E.stage_root()
      local lines = {}
      local res, msg = launch.up(plan, { backend = docker, detach = true, stage_root = root, literals = {},
                                         secrets = {}, progress = E.progress(lines),
                                         log = function(l) lines[#lines + 1] = l end })
      assert(res, msg)
      local ok, err = pcall(function()
         local before = assert(entry(assert(docker:list()), plan.slug))
         assert.equal("running", before.state)
         assert.is_nil(before.reason)

         local c = E.api()
         assert(c:call("kill pipelock", "POST", "/containers/" .. plan.names.pipelock .. "/kill"))
         local deadline = core.monotonic() + 15
         local info
         repeat
            core.sleep(0.1)
            info = c:container_inspect(plan.names.pipelock)
         until (info and not info.State.Running) or core.monotonic() > deadline
         assert.is_false(info.State.Running)

         local after = assert(entry(assert(docker:list()), plan.slug))
         assert.same({ "degraded", "pipelock exited (status 137)" }, { after.state, after.reason })

         local cmd = "lua5.4 " .. core.getcwd() .. "/bottle.lua list"
         local text = E.read_command(cmd .. " 2>&1")
         local row = text:match("\n(" .. plan.slug:gsub("%-", "%%-") .. " [^\n]*\n[^\n]*)")
         assert.is_truthy(row, text)
         assert.matches("^%S+%s+e2e%-degraded%s+e2e%s+degraded ", row)
         assert.matches("\n  degraded: pipelock exited %(status 137%)$", row)
         local json = assert(entry(cjson.decode(E.read_command(cmd .. " --json")), plan.slug))
         assert.same({ "degraded", "pipelock exited (status 137)" }, { json.state, json.reason })
      end)
      assert(launch.down({ slug = plan.slug }, { backend = docker, stage_root = root }))
      core.rmtree(root)
      assert(ok, err)
   end)
end)
