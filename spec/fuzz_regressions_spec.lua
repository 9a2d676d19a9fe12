-- The libFuzzer targets' checks (fuzz/targets.lua), replayed in plain Lua on
-- every seed of fuzz/corpus/<target>/ and every input kept in
-- fuzz/regressions/<target>/ (a crash the fuzzer found is copied there, named
-- after what it broke, when it is fixed).  This runs the real bottle.core from
-- build/ and the real lua/bottle/manifest/ and plan.lua, without clang or
-- sanitizers, so CI checks the targets' invariants on every build.  The
-- allocation-limit hook of the harness (fuzz_limit) is replaced here by a
-- plain pcall: the out-of-memory paths are exercised only by `make fuzz`.
local core = require "bottle.core"

local FUZZ = "fuzz"

local read = require("testlib.util").read

-- Inputs of one target: {name, data}, seeds first.
local function inputs(target)
   local out = {}
   for _, dir in ipairs { FUZZ .. "/corpus/" .. target, FUZZ .. "/regressions/" .. target } do
      for _, name in ipairs(core.listdir(dir) or {}) do
         local path = dir .. "/" .. name
         local st = core.stat(path)
         if st and st.type == "file" then out[#out + 1] = { name = path, data = read(path) } end
      end
   end
   return out
end

describe("fuzz targets replayed on their seeds and regressions", function()
   local targets, scratch, getenv

   setup(function()
      -- the harness's global, without the allocation limit
      _G.fuzz_limit = function(_, f, ...) return pcall(f, ...) end
      -- manifest_load writes its files under FUZZ_TMPDIR (default /tmp)
      scratch = core.mkdtemp("/tmp/claude-bottle-fuzz-replay.")
      getenv = os.getenv
      os.getenv = function(name) -- luacheck: ignore 122
         if name == "FUZZ_TMPDIR" then return scratch end
         return getenv(name)
      end
      targets = dofile(FUZZ .. "/targets.lua")
   end)

   teardown(function()
      _G.fuzz_limit = nil
      if getenv then os.getenv = getenv end -- luacheck: ignore 122
      if scratch then core.rmtree(scratch) end
   end)

   for _, target in ipairs { "yaml_decode", "yaml_roundtrip", "host_check", "pipelock_check", "manifest_load" } do
      it(target .. " holds on every seed and regression", function()
         local list = inputs(target)
         assert.is_true(#list > 0, "no seeds for " .. target)
         for _, input in ipairs(list) do
            local ok, err = pcall(targets[target], input.data)
            assert(ok, input.name .. ": " .. tostring(err))
         end
      end)
   end

   it("manifest_load's checks can fail: a plan holding a literal env value is caught", function()
      local planner = require "bottle.plan"
      local build = planner.build
      planner.build = function(opts)
         local plan, extras = build(opts)
         if plan then
            for _, b in pairs(opts.manifest.bottles) do
               for _, e in ipairs(b.env) do if e.value then plan.leaked = e.value end end
            end
         end
         return plan, extras
      end
      local ok, err = pcall(targets.manifest_load, "bottles:\n  b:\n    env: { MODE: dev }\nagents:\n  a: { bottle: b }\n")
      planner.build = build
      assert.is_false(ok)
      assert.matches("a literal env value is in the plan", err, 1, true)
   end)
end)
