-- bottle.env: resolving env values and writing the env-file.
-- Unit spec: the host environment and the TTY are fakes passed through
-- opts.environ and opts.read_secret (no real terminal is needed).  The
-- env-file part writes a real file in a core.mkdtemp directory and checks it
-- with the real core.stat.
local core = require "bottle.core"
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

   describe("write_env_file", function()
      local dir
      before_each(function()
         dir = core.mkdtemp((os.getenv("TMPDIR") or "/tmp") .. "/env-spec.")
      end)
      after_each(function()
         if dir then assert(core.rmtree(dir)) end
      end)

      it("writes NAME=value lines verbatim, mode 0600", function()
         local path = assert(env.write_env_file(dir, {
            { name = "MODE", value = "dev" }, { name = "SPACED", value = " a = b  " },
            { name = "EMPTY", value = "" }, { name = "QUOTED", value = '"x" #not a comment' },
         }))
         assert.equal(dir .. "/agent.env", path)
         local st = assert(core.stat(path))
         assert.equal("file", st.type)
         assert.equal(tonumber("600", 8), st.mode)
         local f = assert(io.open(path, "rb"))
         local text = f:read("a")
         f:close()
         assert.equal('MODE=dev\nSPACED= a = b  \nEMPTY=\nQUOTED="x" #not a comment\n', text)
      end)

      it("never replaces an existing file", function()
         assert(env.write_env_file(dir, { { name = "A", value = "1" } }))
         local path, msg = env.write_env_file(dir, { { name = "A", value = "2" } })
         assert.is_nil(path)
         assert.is_string(msg)
      end)

      it("refuses a value with a newline without quoting it", function()
         local path, msg, code = env.write_env_file(dir, { { name = "A", value = SECRET .. "\nB=1" } })
         assert.is_nil(path)
         assert.equal("invalid_env", code)
         assert.truthy(msg:find("env A", 1, true))
         assert.falsy(msg:find("CANARY", 1, true))
         assert.is_nil(core.stat(dir .. "/agent.env"))
      end)

      it("raises on misuse (a bad name)", function()
         assert.has_error(function() env.write_env_file(dir, { { name = "1X", value = "v" } }) end)
      end)
   end)
end)
