-- Unit spec for lua/bottle/backend/docker/bottle_state.lua (what `list`
-- reports for a bottle) and for the docker backend's list on a fake engine.
local cjson = require "cjson"
local api_mod = require "bottle.backend.docker.api"
local docker = require "bottle.backend.docker"
local S = require "bottle.backend.docker.bottle_state"

local function c(state, status) return { state = state, status = status } end

describe("bottle state", function()
   it("is running when the agent and every sidecar run", function()
      assert.same({ "running" }, { S.of { agent = c "running", pipelock = c "running" } })
      assert.same({ "running" }, { S.of { agent = c "running", pipelock = c "running", ["git-gate"] = c "running" } })
   end)

   it("is degraded, with the exit status, when pipelock has exited", function()
      assert.same({ "degraded", "pipelock exited (status 2)" },
                  { S.of { agent = c "running", pipelock = c("exited", "Exited (2) 4 seconds ago") } })
      assert.same({ "degraded", "pipelock exited (status 137)" },
                  { S.of { agent = c "running", pipelock = c("exited", "Exited (137) About a minute ago") } })
   end)

   it("is degraded when the git gate is down, and names every sidecar that is", function()
      assert.same({ "degraded", "git-gate exited (status 1)" },
                  { S.of { agent = c "running", pipelock = c "running", ["git-gate"] = c("exited", "Exited (1) 2 hours ago") } })
      assert.same({ "degraded", "pipelock is paused; git-gate is dead" },
                  { S.of { agent = c "running", pipelock = c "paused", ["git-gate"] = c "dead" } })
      assert.same({ "degraded", "pipelock is restarting" }, { S.of { agent = c "running", pipelock = c "restarting" } })
      assert.same({ "degraded", "pipelock was created but never started" },
                  { S.of { agent = c "running", pipelock = c "created" } })
   end)

   it("is degraded when the pipelock container is gone", function()
      assert.same({ "degraded", "pipelock container missing" }, { S.of { agent = c "running" } })
   end)

   it("is the agent's own state when the agent does not run, and incomplete without one", function()
      assert.same({ "exited" }, { S.of { agent = c("exited", "Exited (0) 1 second ago"), pipelock = c "exited" } })
      assert.same({ "incomplete" }, { S.of { pipelock = c "running" } })
   end)

   it("never passes on the engine's own words", function()
      local weird = "\27[31mhacked\n"
      assert.same({ "unknown" }, { S.of { agent = c(weird), pipelock = c "running" } })
      assert.same({ "degraded", "pipelock is in a state the engine did not name" },
                  { S.of { agent = c "running", pipelock = c(weird) } })
      assert.same({ "degraded", "pipelock exited" },
                  { S.of { agent = c "running", pipelock = c("exited", "Exited (\27[2J) x") } })
   end)
end)

describe("docker backend list (fake engine)", function()

   it("reports a bottle whose sidecar is down as degraded with the reason", function()
      local function ctr(slug, role, state, status)
         return { Id = slug .. "-" .. role, Names = { "/cb-" .. role .. "-" .. slug }, State = state, Status = status,
                  Created = 1, Labels = { ["claude-bottle"] = "1", ["claude-bottle.slug"] = slug,
                                          ["claude-bottle.role"] = role, ["claude-bottle.agent"] = "claude" } }
      end
      local containers = {
         ctr("ok", "agent", "running", "Up 3 minutes"), ctr("ok", "pipelock", "running", "Up 3 minutes"),
         ctr("sick", "agent", "running", "Up 3 minutes"), ctr("sick", "pipelock", "exited", "Exited (2) 10 seconds ago"),
      }
      local JSON = { ["content-type"] = "application/json" }
      local client = assert(api_mod.new { endpoint = { socket = "/fake.sock", name = "unix:///fake.sock" },
         http = function(req)
            local path = req.url:match("^http://docker/v1%.41([^?]*)")
            if path == "/containers/json" then return 200, JSON, cjson.encode(containers) end
            if path == "/networks" then return 200, JSON, "[]" end
            return 404, JSON, '{"message":"no such object"}'
         end })
      local list = assert(docker.new({ client = client }):list())
      assert.equal(2, #list)
      assert.same({ "ok", "running" }, { list[1].slug, list[1].state })
      assert.is_nil(list[1].reason)
      assert.same({ "sick", "degraded", "pipelock exited (status 2)" }, { list[2].slug, list[2].state, list[2].reason })
   end)
end)
