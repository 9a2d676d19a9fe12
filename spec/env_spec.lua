-- bottle.env: resolving env values.
-- Unit spec: the host environment and the TTY are fakes passed through
-- opts.environ and opts.read_secret (no real terminal is needed).
local env = require "bottle.env"

local SECRET = "sk-live-CANARY-0b7e41"

local bottle = {
   name = "web",
   env = {
      { name = "API_TOKEN", kind = "prompt", prompt = "API token" },
      { name = "BARE", kind = "prompt" },
      { name = "GH", kind = "host", from = "GITHUB_TOKEN" },
      { name = "MODE", kind = "literal", value = "dev" },
      { name = "SPACED", kind = "literal", value = " a = b  " },
   },
}

local function fake_environ(vars)
   return function(name) return vars[name] end
end

describe("bottle.env", function()
   it("entries: names and kinds, never literal values", function()
      local e = env.entries(bottle)
      assert.same({
         { name = "API_TOKEN", kind = "prompt", prompt = "API token" },
         { name = "BARE", kind = "prompt" },
         { name = "GH", kind = "host", from = "GITHUB_TOKEN" },
         { name = "MODE", kind = "literal" },
         { name = "SPACED", kind = "literal" },
      }, e)
   end)

   it("kinds", function()
      assert.same({ API_TOKEN = "prompt", BARE = "prompt", GH = "host", MODE = "literal", SPACED = "literal" },
                  env.kinds(bottle))
      assert.same({}, env.kinds { name = "empty", env = {} })
   end)

   describe("resolve", function()
      it("literals to the file list, prompted and host values to secrets", function()
         local prompts = {}
         local r = assert(env.resolve(bottle, {
            environ = fake_environ { GITHUB_TOKEN = SECRET .. "-gh" },
            read_secret = function(p)
               prompts[#prompts + 1] = p
               return SECRET .. "-" .. #prompts
            end,
         }))
         assert.same({ { name = "MODE", value = "dev" }, { name = "SPACED", value = " a = b  " } }, r.literals)
         assert.same({ API_TOKEN = SECRET .. "-1", BARE = SECRET .. "-2", GH = SECRET .. "-gh" }, r.secrets)
         assert.same({ "API token: ", "BARE for bottle web: " }, prompts)
      end)

      it("an unset host variable names it and no value", function()
         local r, msg, code = env.resolve(bottle, {
            environ = fake_environ { OTHER = SECRET },
            read_secret = function() return SECRET end,
         })
         assert.is_nil(r)
         assert.equal("env_unset", code)
         assert.truthy(msg:find("GITHUB_TOKEN", 1, true))
         assert.truthy(msg:find("env GH", 1, true))
         assert.falsy(msg:find("CANARY", 1, true))
      end)

      it("a set but empty host variable is a value", function()
         local r = assert(env.resolve({ name = "b", env = { { name = "X", kind = "host", from = "X" } } },
                                      { environ = fake_environ { X = "" } }))
         assert.same({ X = "" }, r.secrets)
      end)

      it("a prompt that cannot read the terminal fails clearly", function()
         local r, msg, code = env.resolve(bottle, {
            environ = fake_environ { GITHUB_TOKEN = SECRET },
            read_secret = function() return nil, "/dev/tty: No such device or address", "no_tty" end,
         })
         assert.is_nil(r)
         assert.equal("no_tty", code)
         assert.truthy(msg:find("env API_TOKEN: cannot read a value from the terminal", 1, true))
         assert.falsy(msg:find("CANARY", 1, true))
      end)

      it("an empty answer to a prompt is refused", function()
         local r, msg, code = env.resolve(bottle, {
            environ = fake_environ { GITHUB_TOKEN = SECRET },
            read_secret = function() return "" end,
         })
         assert.is_nil(r)
         assert.equal("env_prompt", code)
         assert.truthy(msg:find("API_TOKEN", 1, true))
      end)

      it("a bottle without env resolves to nothing, without asking", function()
         local r = assert(env.resolve({ name = "b", env = {} }, {
            environ = function() error("not called") end,
            read_secret = function() error("not called") end,
         }))
         assert.same({ literals = {}, secrets = {} }, r)
      end)
   end)
end)
