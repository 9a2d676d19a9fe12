-- The project file (.claude-bottle.yaml in the current directory) comes
-- from whatever repository was cloned: each file type that once hung or
-- exhausted the launcher, refused quickly with the limit named.
local core = require "bottle.core"
local manifest = require "bottle.manifest"

local function sh(cmd) assert(core.spawn({ "sh", "-c", cmd }) == 0, cmd) end

local dir, home
before_each(function()
   home = core.mkdtemp("/tmp/bottle-project-home-")
   dir = core.mkdtemp("/tmp/bottle-project-")
end)
after_each(function()
   core.rmtree(dir)
   core.rmtree(home)
end)

local function load()
   local t0 = core.monotonic()
   local m, msg, code = manifest.load { env = { HOME = home, cwd = dir } }
   return m, msg, code, core.monotonic() - t0
end

local PROJECT = "/.claude-bottle.yaml"

local function refused(pattern)
   local m, msg, code, took = load()
   assert.is_nil(m)
   assert.equal("invalid_manifest", code)
   assert.matches(pattern, msg)
   assert.is_true(took < 5, "took " .. took .. " s")
end

describe("the project file #unit", function()
   it("is read when it is a regular file, or a symlink to one inside the directory", function()
      sh(("printf 'agents:\\n  extra:\\n    bottle: default\\n' > %s/real.yaml"):format(dir))
      sh(("ln -s real.yaml %s%s"):format(dir, PROJECT))
      local m = assert(load())
      assert.is_table(m.agents.extra)
   end)

   it("refuses a symlink to /dev/zero (no read without end)", function()
      sh(("ln -s /dev/zero %s%s"):format(dir, PROJECT))
      refused("is a symlink that leads out of .* %(to /dev/zero%)")
   end)

   it("refuses a symlink to /dev/stdin (never reads the terminal)", function()
      sh(("ln -s /dev/stdin %s%s"):format(dir, PROJECT))
      refused("^" .. dir:gsub("%p", "%%%0") .. "/%.claude%-bottle%.yaml: is a symlink")
   end)

   it("refuses a symlink to a regular file outside the directory", function()
      sh(("printf 'agents: {}\\n' > %s/outside.yaml && ln -s %s/outside.yaml %s%s"):format(home, home, dir, PROJECT))
      refused("leads out of")
   end)

   it("refuses a FIFO without waiting for a writer", function()
      sh(("mkfifo %s%s"):format(dir, PROJECT))
      refused("is a FIFO; only a regular file is read")
   end)

   it("refuses a device node and a directory", function()
      sh(("mkdir %s%s"):format(dir, PROJECT))
      refused("is a directory; only a regular file is read")
   end)

   it("refuses a file over the size limit, naming it", function()
      sh(("head -c %d /dev/zero | tr '\\0' '#' > %s%s"):format(20 * 1024 * 1024, dir, PROJECT))
      refused("is 20971520 bytes, more than the limit of 1048576 bytes; a project file is a short list of agents")
   end)

   it("refuses nesting deeper than the project file's limit", function()
      local deep = ("agents: " .. ("[" ):rep(40) .. ("]"):rep(40) .. "\n")
      local f = assert(io.open(dir .. PROJECT, "w"))
      f:write(deep)
      f:close()
      refused("nested deeper than 32 levels")
   end)

   it("is simply absent when there is none", function()
      assert.is_table((load()))
   end)
end)

describe("core.read_file #core", function()
   it("reads a regular file up to its limit and refuses one byte more", function()
      local p = dir .. "/f"
      assert(core.write_file(p, "12345", tonumber("600", 8)))
      assert.equal("12345", core.read_file(p, { max_bytes = 5 }))
      assert.same({ nil, p .. ": is 5 bytes, more than the limit of 4 bytes", "too_large" },
         { core.read_file(p, { max_bytes = 4 }) })
   end)

   it("refuses a character device even when asked directly", function()
      local ok, msg, code = core.read_file("/dev/null", { max_bytes = 10 })
      assert.is_nil(ok)
      assert.equal("not_regular", code)
      assert.equal("/dev/null: is a character device; only a regular file is read", msg)
   end)

   it("follows a symlink only when told to", function()
      assert(core.write_file(dir .. "/target", "text", tonumber("600", 8)))
      sh(("ln -s %s/target %s/link"):format(dir, dir))
      local ok, _, code = core.read_file(dir .. "/link", { max_bytes = 100 })
      assert.is_nil(ok)
      assert.equal("outside", code)
      assert.equal("text", core.read_file(dir .. "/link", { max_bytes = 100, follow = true }))
   end)

   it("reads the user's own file through a symlink (dotfile managers), with its checks", function()
      local cfg = home .. "/.config/claude-bottle"
      sh(("mkdir -p %s && printf 'agents:\n  mine:\n    bottle: default\n' > %s/real.yaml"
         .. " && ln -s %s/real.yaml %s/bottles.yaml"):format(cfg, home, home, cfg))
      local m = assert(manifest.load { env = { HOME = home, cwd = dir } })
      assert.is_table(m.agents.mine)
      sh(("rm %s/bottles.yaml && ln -s /dev/zero %s/bottles.yaml"):format(cfg, cfg))
      local _, msg = manifest.load { env = { HOME = home, cwd = dir } }
      assert.matches("is a character device; only a regular file is read", msg)
   end)

   it("raises on misuse", function()
      assert.has_error(function() core.read_file("x") end)
      assert.has_error(function() core.read_file("x", { max_bytes = 0 }) end)
   end)
end)
