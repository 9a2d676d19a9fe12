-- `make bench-plan`: what running policies in their own processes costs.
-- Median time of `plan` with 0 and with 4 policies (the four examples),
-- in-process (manifest, policy load, plan build) and as the whole command
-- (`lua5.4 bottle.lua plan`, interpreter start included).  Not a test: it
-- asserts nothing and prints figures.
package.path = "lua/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local core = require "bottle.core"
local policy = require "bottle.policy"
local manifest = require "bottle.manifest"
local planner = require "bottle.plan"

local RUNS = tonumber(os.getenv("RUNS") or "") or 21
local LUA = os.getenv("LUA") or "lua5.4"
local POLICIES = { "examples/policies/registries.lua", "examples/policies/tune-timeouts.lua",
                   "examples/policies/internal-mirror.lua", "examples/policies/only-in-dir.lua" }

local function median(xs)
   table.sort(xs)
   local n = #xs
   return n % 2 == 1 and xs[(n + 1) // 2] or (xs[n // 2] + xs[n // 2 + 1]) / 2
end

local home = core.mkdtemp("/tmp/bottle-bench-")
local env = { HOME = home, cwd = "/work" }

local function in_process(paths)
   local t0 = core.monotonic()
   local m = assert(manifest.load { env = env })
   local ps = assert(policy.load(paths))
   local plan, err = planner.build { manifest = m, policies = ps,
      options = { cwd = "/work/project", home = home, env_names = {} } }
   policy.close(ps)
   local ms = (core.monotonic() - t0) * 1e3
   -- only-in-dir.lua refuses outside /work: a refusal is still a full run
   assert(plan or err:find("refused"), err)
   return ms
end

local function command(paths)
   local argv = { LUA, "bottle.lua", "plan", "--no-workspace" }   -- the checkout is a git work tree
   for _, p in ipairs(paths) do argv[#argv + 1] = "--policy"; argv[#argv + 1] = p end
   local t0 = core.monotonic()
   core.spawn(argv, { stdout = "null", stderr = "null", env = { HOME = home, XDG_CONFIG_HOME = home } })
   return (core.monotonic() - t0) * 1e3
end

local rows = {}
for _, case in ipairs { { "0 policies", {} }, { "4 policies", POLICIES } } do
   local a, b = {}, {}
   for _ = 1, RUNS do
      a[#a + 1] = in_process(case[2])
      b[#b + 1] = command(case[2])
   end
   rows[#rows + 1] = { case[1], median(a), median(b) }
end
core.rmtree(home)

io.write(("plan, median of %d runs (ms)\n"):format(RUNS))
io.write(("%-12s %12s %12s\n"):format("", "in-process", "command"))
for _, r in ipairs(rows) do io.write(("%-12s %12.1f %12.1f\n"):format(r[1], r[2], r[3])) end
io.write(("per policy   %12.1f %12.1f\n"):format((rows[2][2] - rows[1][2]) / 4, (rows[2][3] - rows[1][3]) / 4))
