-- `bottle allow`, `deny` and `egress` as a user runs them, up to the point
-- where the engine would be needed: bad slugs, missing records, hostile
-- hosts, the question without a terminal, a change that changes nothing.
-- The engine's part is in egress_live_e2e_spec.lua.
local core = require "bottle.core"
local cjson = require "cjson"
local U = require "testlib.util"

local ROOT = assert(core.getcwd())

describe("bottle allow / deny / egress", function()
   local home, state, slug

   before_each(function()
      home = assert(core.mkdtemp("/tmp/bottle-cli-egress-"))
      state = home .. "/state"
      U.write(home .. "/bottles.json", cjson.encode {
         bottles = { b = { egress = { allowlist = { "allowed.test" } } } }, agents = { a = { bottle = "b" } } })
      local m = assert(require("bottle.manifest").load { manifest = home .. "/bottles.json", env = { HOME = home, cwd = home } })
      local plan = assert(require("bottle.plan").build { manifest = m, agent = "a", policies = {}, options = {
         backend = "docker", cwd = home, home = home, env_names = {} } })
      slug = plan.slug
      local dir = state .. "/claude-bottle/" .. slug
      assert(core.mkdir(state, tonumber("700", 8)))
      assert(core.mkdir(state .. "/claude-bottle", tonumber("700", 8)))
      assert(core.mkdir(dir, tonumber("700", 8)))
      assert(require("bottle.egress_change").record(dir, plan))
   end)
   after_each(function() core.rmtree(home) end)

   -- → exit status, stdout .. stderr
   local function run(args)
      local cmd = ("cd %s && env -i PATH=%s HOME=%s XDG_STATE_HOME=%s DOCKER_HOST=unix:///nonexistent lua5.4 %s/bottle.lua %s 2>&1 </dev/null")
         :format(U.q(home), U.q(os.getenv("PATH")), U.q(home), U.q(state), U.q(ROOT), args)
      local p = io.popen(cmd)
      local out = p:read("a")
      local _, _, status = p:close()
      return status, out
   end

   it("refuses a slug that is not one", function()
      local status, out = run("allow ../x allowed.test --yes")
      assert.equals(2, status, out)
      assert.matches("is not a bottle slug", out, 1, true)
   end)

   it("says when there is no record for the bottle", function()
      local status, out = run("allow nosuch-abc123 x.example --yes")
      assert.equals(1, status, out)
      assert.matches('no bottle "nosuch-abc123"', out, 1, true)
   end)

   it("refuses hostile hosts with exit 2, escaped, before the engine is asked", function()
      for _, host in ipairs { "'a b'", "x.test:80", "'http://x.test/'", "'*.com'", "\"$(printf 'red\\033[31m.test')\"" } do
         local status, out = run("allow " .. slug .. " " .. host .. " --yes")
         assert.equals(2, status, host .. ": " .. out)
         assert.is_nil(out:find("\27", 1, true))
      end
   end)

   it("asks, and without a terminal refuses unless --yes", function()
      local status, out = run("allow " .. slug .. " new.example")
      assert.equals(2, status, out)
      assert.matches("+ allow       new.example", out, 1, true)
      assert.matches("pass --yes", out, 1, true)
   end)

   it("changes nothing when the host is already allowed", function()
      local status, out = run("allow " .. slug .. " Allowed.Test --yes")
      assert.equals(0, status, out)
      assert.matches("nothing to change", out, 1, true)
   end)

   it("needs the running sidecar to change or show anything", function()
      local status, out = run("deny " .. slug .. " allowed.test --yes")
      assert.equals(1, status, out)
      assert.matches("cannot reach the Docker Engine", out, 1, true)
      status = run("egress " .. slug)
      assert.equals(1, status)
   end)
end)
