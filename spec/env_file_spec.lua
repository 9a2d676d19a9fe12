-- The literal env values in Docker's --env-file format, in the stage dir.
local core = require "bottle.core"
local env_file = require "bottle.backend.docker.env_file"

local SECRET = "sk-live-CANARY-0e1f2a"

describe("the docker backend's env-file (bottle.backend.docker.env_file)", function()
   local dir
   before_each(function()
      dir = core.mkdtemp((os.getenv("TMPDIR") or "/tmp") .. "/env-spec.")
   end)
   after_each(function()
      if dir then assert(core.rmtree(dir)) end
   end)

   it("writes NAME=value lines verbatim, mode 0600", function()
      local path = assert(env_file.write_file(dir, {
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
      assert(env_file.write_file(dir, { { name = "A", value = "1" } }))
      local path, msg = env_file.write_file(dir, { { name = "A", value = "2" } })
      assert.is_nil(path)
      assert.is_string(msg)
   end)

   it("refuses a value with a newline without quoting it", function()
      local path, msg, code = env_file.write_file(dir, { { name = "A", value = SECRET .. "\nB=1" } })
      assert.is_nil(path)
      assert.equal("invalid_env", code)
      assert.truthy(msg:find("env A", 1, true))
      assert.falsy(msg:find("CANARY", 1, true))
      assert.is_nil(core.stat(dir .. "/agent.env"))
   end)

   it("raises on misuse (a bad name)", function()
      assert.has_error(function() env_file.write_file(dir, { { name = "1X", value = "v" } }) end)
   end)
end)
