-- Specs for the policy's process (lua/bottle/policy_child.lua, core.child):
-- the attacks that got past the in-VM sandbox alone, each stopped with a
-- clear message, under small limits so that each runs in about a second.
local policy = require "bottle.policy"
local core = require "bottle.core"

local FIX = "spec/fixtures/policies/"

local saved = {}
local KEYS = { "instruction_budget", "memory_limit_kb", "cpu_seconds", "process_memory_mb",
               "timeout_seconds", "interpreter" }
before_each(function()
   for _, k in ipairs(KEYS) do saved[k] = policy[k] end
   policy.instruction_budget = 1000000
   policy.cpu_seconds = 1
   policy.process_memory_mb = 64
   policy.timeout_seconds = 5
end)
after_each(function()
   for _, k in ipairs(KEYS) do policy[k] = saved[k] end
end)

local function new_ctx()
   return { agent = "claude", bottle = "web", backend = "docker", cwd = "/work", env_names = { "HOME" } }
end

-- Loads FILE and, when how is "plan", runs its plan hook.
-- → ok, message, code, seconds
local function attempt(file, how)
   local t0 = core.monotonic()
   local ps, msg, code = policy.load({ FIX .. file })
   if ps and how == "plan" then
      ps, msg, code = policy.run_plan(ps, {}, new_ctx())
      if ps then ps = true end
   end
   return ps, msg, code, core.monotonic() - t0
end

local function esc(s) return (s:gsub("%p", "%%%0")) end

describe("the policy's process #policy", function()
   it("stops an error handler that never returns (load time and in a hook)", function()
      local ok, msg, code = attempt("xpcall-handler-loop.lua")
      assert.is_nil(ok)
      assert.equal("invalid_policy", code)
      assert.equal("policy " .. FIX .. "xpcall-handler-loop.lua: exceeded its instruction budget "
         .. "(1000000 instructions): an endless loop?", msg)
      ok, msg, code = attempt("xpcall-handler-loop-hook.lua", "plan")
      assert.is_nil(ok)
      assert.equal("invalid_policy", code)
      assert.matches("xpcall%-handler%-loop%-hook%.lua: exceeded its instruction budget", msg)
   end)

   it("kills a backtracking string.find at its CPU limit", function()
      -- a wall-clock deadline far off, so that a busy machine cannot turn this into a timeout
      policy.timeout_seconds = 30
      local ok, msg, code, took = attempt("backtrack.lua")
      assert.is_nil(ok)
      assert.equal("invalid_policy", code)
      assert.matches("^policy " .. esc(FIX) .. "backtrack%.lua: no answer: the process was killed by SIGXCPU "
         .. "%(its CPU time limit%) %(a policy's process has at most 1 s of CPU time, 64 MB of memory "
         .. "and 30 s per call%)$", msg)
      assert.is_true(took < 20, took)
   end)

   it("kills a policy that does not answer in time", function()
      policy.cpu_seconds = 30
      policy.instruction_budget = 1 << 50
      policy.timeout_seconds = 0.5
      local ok, msg, code, took = attempt("slow-hook.lua", "plan")
      assert.is_nil(ok)
      assert.equal("invalid_policy", code)
      assert.matches("slow%-hook%.lua: did not answer within 0%.5 s, so it was killed", msg)
      assert.is_true(took < 3, took)
   end)

   for _, file in ipairs { "bomb-rep.lua", "bomb-concat.lua", "bomb-table-concat.lua", "bomb-pack.lua",
                           "bomb-move.lua" } do
      it(file .. " runs out of its process's memory, not the launcher's", function()
         policy.instruction_budget = 50000000
         local before = collectgarbage("count")
         local ok, msg, code, took = attempt(file, "plan")
         assert.is_nil(ok)
         assert.equal("invalid_policy", code)
         assert.equal("policy " .. FIX .. file .. ": ran out of memory (its process may use 64 MB)", msg)
         assert.is_true(took < 10, took)
         assert.is_true(collectgarbage("count") - before < 10 * 1024, "the launcher's heap stayed small")
      end)
   end

   it("reports a process that dies without answering", function()
      policy.interpreter = "/bin/false"
      local ok, msg, code = attempt("tighten.lua")
      assert.is_nil(ok)
      assert.equal("invalid_policy", code)
      assert.matches("^policy " .. esc(FIX) .. "tighten%.lua: no answer: the process exited with status 1 ", msg)
   end)

   it("reports a runner that cannot be started (exit 1, not 2)", function()
      policy.interpreter = "/nonexistent/lua"
      local ok, msg, code = attempt("tighten.lua")
      assert.is_nil(ok)
      assert.equal("policy_runner", code)
      assert.matches("cannot start its process: cannot run /nonexistent/lua", msg)
   end)

   it("keeps a policy's locals from one hook to the next", function()
      local ps = assert(policy.load({ FIX .. "state-across-hooks.lua" }))
      local ctx = new_ctx()
      local view = policy.bottle_view({ name = "web", egress = { allowlist = {} } })
      assert(policy.run_bottle(ps, view, ctx))
      assert.is_true(policy.run_plan(ps, {}, ctx))
      assert.same({ "policy state-across-hooks.lua: bottle hook ran 1 time(s)" }, ctx.logs)
      policy.close(ps)
      local ok, msg = policy.run_plan(ps, {}, ctx)
      assert.is_nil(ok)
      assert.matches("state%-across%-hooks%.lua: the process was already ended", msg)
   end)

   it("never runs policy code in the launcher", function()
      local ps = assert(policy.load({ FIX .. "tighten.lua" }))
      assert.is_nil(debug.gethook())
      assert.equal("x", ("x"):lower())
      policy.close(ps)
   end)
end)
