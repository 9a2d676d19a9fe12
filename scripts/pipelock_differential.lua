-- Differential check of core.pipelock_check against pipelock 2.3.0 itself:
-- random configs (spec/helpers/config_gen.lua); every one the core accepts
-- is rendered (core.pipelock_yaml) and given to `pipelock check --config`,
-- which loads and validates it as `pipelock run` would.  Each must pass.
-- Needs the pipelock binary (PIPELOCK_BIN; the test image has it at
-- /pipelock: `docker cp $(docker create claude-bottle-test/pipelock:2.3.0):/pipelock .`).
-- A development check, not a spec.
--   PIPELOCK_BIN=/path/to/pipelock lua5.4 scripts/pipelock_differential.lua [N [SEED]]
package.path = "./?.lua;lua/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local core = require "bottle.core"
local gen = require "spec.helpers.config_gen"

local N, SEED = tonumber(arg[1]) or 500, tonumber(arg[2]) or 1
local BIN = assert(os.getenv("PIPELOCK_BIN"), "set PIPELOCK_BIN to a pipelock 2.3.0 binary")

local dir = core.mkdtemp("/tmp/bottle-pldiff-")
-- pipelock checks that the CA files exist and that the key is private
assert(core.spawn({ BIN, "tls", "init", "--out", dir .. "/tls" }, { stdout = "null", stderr = "null" }) == 0)
local CA = { ca_cert = dir .. "/tls/ca.pem", ca_key = dir .. "/tls/ca-key.pem" }

math.randomseed(SEED)
local accepted, refused, failures = 0, 0, {}
for run = 1, N do
   local cfg, changes = gen.random(CA, CA.ca_cert)   -- a path that exists, mode 0600
   if core.pipelock_check(cfg) then
      accepted = accepted + 1
      local path = ("%s/%d.yaml"):format(dir, run)
      assert(core.write_file(path, assert(core.pipelock_yaml(cfg)), tonumber("600", 8)))
      local status = core.spawn({ "sh", "-c", '"$1" check --config "$2" > "$2.out" 2>&1', "sh", BIN, path })
      if status ~= 0 then
         local f = io.open(path .. ".out")
         failures[#failures + 1] = ("run %d: %s\n    after: %s"):format(run,
            (f and f:read("a") or "?"):gsub("%s+$", ""), table.concat(changes, "; "))
         if f then f:close() end
      end
      os.remove(path)
      os.remove(path .. ".out")
   else
      refused = refused + 1
   end
end
core.rmtree(dir)
print(("%d random configs (seed %d): the core accepted %d, refused %d; pipelock refused %d of those accepted")
   :format(N, SEED, accepted, refused, #failures))
for i = 1, math.min(#failures, 20) do print("  " .. failures[i]) end
os.exit(#failures == 0 and 0 or 1)
