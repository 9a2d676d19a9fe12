-- How a launch waits on a slow engine (bottle.backend.docker.patience): the
-- readiness budget counts the sidecar's own time, not the engine's late
-- answers, and still runs out; the launch's client waits longer per call.
-- A fake clock and a FAKE engine; the real one: make reliability-load.
local patience = require "bottle.backend.docker.patience"
local api_mod = require "bottle.backend.docker.api"
local core = require "bottle.core"

describe("patience.clock", function()
   local t
   local function now() return t end
   before_each(function() t = 0 end)

   it("runs out after the budget when the engine answers at once", function()
      local c = patience.clock(30, { now = now })
      t = 29.9
      assert.is_false(c:expired())
      t = 30
      assert.is_true(c:expired())
   end)

   it("does not count the part of a probe's round trip beyond ANSWER_S", function()
      local c = patience.clock(30, { now = now })
      assert.are.equal("r", c:probe(function() t = t + 41; return "r" end))   -- 40 s late
      assert.are.equal(40, c.excused)
      t = 69.9
      assert.is_false(c:expired())
      t = 70
      assert.is_true(c:expired())
   end)

   it("passes every value of the probe through, nils included", function()
      local c = patience.clock(1, { now = now })
      local a, b, d, e = c:probe(function() return nil, "msg", "code", { State = {} } end)
      assert.is_nil(a)
      assert.are.same({ "msg", "code", { State = {} } }, { b, d, e })
   end)

   it("ends at CAP_S however late the engine answers", function()
      local c = patience.clock(30, { now = now })
      for _ = 1, 100 do c:probe(function() t = t + 60 end) end
      assert.is_true(c:expired())
      assert.is_true(t >= patience.CAP_S)
   end)

   it("refuses a budget that is not a number", function()
      assert.has_error(function() patience.clock("30") end)
   end)
end)

describe("api Client:patient", function()
   it("copies the client with a longer default timeout, leaving the original and explicit ones", function()
      local seen = {}
      local c = api_mod.new { endpoint = { socket = "/x", name = "x" },
                              http = function(req) seen[#seen + 1] = req.timeout_ms; return 200, {}, "" end }
      local p = c:patient(patience.CALL_MS)
      assert.are.equal(60000, c.timeout_ms)
      assert.are.equal(patience.CALL_MS, p.timeout_ms)
      p:container_start("abc")
      c:container_start("abc")
      p:ping()
      assert.are.same({ patience.CALL_MS, 60000, 5000 }, seen)
      assert.are.equal(60000, c:patient(1000).timeout_ms)   -- never shorter
   end)
end)

describe("a sidecar's readiness on a slow engine", function()
   local pipelock = require "bottle.backend.docker.pipelock"
   local real_monotonic, real_sleep, t
   before_each(function()
      real_monotonic, real_sleep = core.monotonic, core.sleep
      t = 0
      core.monotonic = function() return t end
      core.sleep = function(s) t = t + s end
   end)
   after_each(function() core.monotonic, core.sleep = real_monotonic, real_sleep end)

   -- An engine whose every call answers `lag` seconds late; pipelock's
   -- healthcheck passes from `ready_at` seconds (wall time) on.
   local function engine(lag, ready_at, running)
      return {
         exec = function(_, _, _, opts)
            assert.are.equal(patience.CALL_MS, opts.timeout_ms)
            t = t + lag
            if ready_at and t >= ready_at then return { exit = 0, stdout = "", stderr = "" } end
            return { exit = 1, stdout = "", stderr = "connection refused" }
         end,
         container_inspect = function() t = t + lag; return { State = { Running = running ~= false, ExitCode = 1 } } end,
         container_logs = function() return "", "" end,
      }
   end

   it("waits past its budget in wall time while the engine is what is slow", function()
      -- each exec and each inspect answers 20 s late; pipelock is ready
      -- after 100 s, and only the first second of each probe is counted
      local _, msg = pipelock.wait_ready(engine(20, 100), "p", 5)
      assert.is_true(t >= 100, tostring(t) .. " " .. tostring(msg))   -- 5 s of budget, 100 s of wall time
      -- past the wait: the (empty) logs' banner check is what speaks now
      assert.is_not.matches("not ready after", tostring(msg))
   end)

   it("still fails when the sidecar never becomes ready", function()
      local ok, msg, code = pipelock.wait_ready(engine(10, nil), "p", 5)
      assert.is_nil(ok)
      assert.are.equal("not_ready", code)
      assert.matches("not ready after 5s", msg)
      assert.is_true(t <= patience.CAP_S + 30)
   end)

   it("fails at once when the sidecar exited", function()
      local ok, msg, code = pipelock.wait_ready(engine(10, nil, false), "p", 5)
      assert.is_nil(ok)
      assert.are.equal("not_ready", code)
      assert.matches("exited", msg)
      assert.is_true(t < 60)
   end)
end)
