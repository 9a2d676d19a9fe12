-- Property: every config core.pipelock_check accepts is one pipelock 2.3.0
-- accepts, by its own rules as the research notes describe them
-- (spec/helpers/pipelock_model.lua).  The configs are the launcher's own,
-- changed at random as a policy could change them: keys from the schema,
-- values from pools of the forms that fooled the check before (NUL bytes,
-- ports Go reads differently, wide or mapped ranges, bad regexes, NaN).
-- Seeded, so a failure reproduces; SEED=n picks another run.
local core = require "bottle.core"
local model = require "spec.helpers.pipelock_model"

local SEED = tonumber(os.getenv("SEED") or "") or 20261201
local RUNS = tonumber(os.getenv("RUNS") or "") or 4000
local gen = require "spec.helpers.config_gen"

describe("pipelock_check against pipelock's rules #core", function()
   it(("accepts only configs pipelock accepts (%d random configs, seed %d)"):format(RUNS, SEED), function()
      math.randomseed(SEED)
      local accepted, refused = 0, 0
      for run = 1, RUNS do
         local cfg, changes = gen.random()
         if core.pipelock_check(cfg) then
            accepted = accepted + 1
            local yaml = assert(core.pipelock_yaml(cfg))
            local decoded = assert(core.yaml_decode(yaml))
            local ok, why = model.accepts(decoded)
            assert(ok, ("run %d: the check accepted a config pipelock refuses (%s) after: %s")
               :format(run, tostring(why), table.concat(changes, "; ")))
         else
            refused = refused + 1
         end
      end
      -- the generator reaches both sides
      assert.is_true(accepted > RUNS // 20, "accepted " .. accepted)
      assert.is_true(refused > RUNS // 10, "refused " .. refused)
   end)

   it("the model itself refuses the attacks (so the property can fail)", function()
      local function yaml_of(cfg) return assert(core.yaml_decode(assert(core.yaml_encode(cfg)))) end
      local c = yaml_of(gen.base())
      assert.is_true(model.accepts(c))
      c.mode = "strict\0audit"
      assert.is_nil(model.accepts(c))
      c = yaml_of(gen.base())
      c["enforce\0"] = false
      assert.is_nil(model.accepts(c))
      c = yaml_of(gen.base())
      c.metrics_listen = "0.0.0.0:+8888"
      assert.is_nil(model.accepts(c))
      c = yaml_of(gen.base())
      c.dlp.patterns = setmetatable({ { name = "x", regex = "(?=a)" } }, core.array_mt)
      assert.is_nil(model.accepts(c))
   end)
end)
