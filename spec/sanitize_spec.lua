-- bottle.sanitize, and each route by which a control character once
-- reached the terminal: config-hook key names in errors, policy file names
-- in the policy lines, C1 controls through ctx.log, the YAML decoder's
-- messages about an untrusted project file, and `list`.
local core = require "bottle.core"
local sanitize = require "bottle.sanitize"

local ROOT = assert(core.getcwd())
local OCT600, OCT700 = tonumber("600", 8), tonumber("700", 8)

describe("sanitize.line and sanitize.text", function()
   it("escapes C0, DEL, C1, bidi controls and bytes that are not UTF-8", function()
      assert.equal("a\\x1b[2Jb", sanitize.line("a\27[2Jb"))
      assert.equal("\\x00\\x07\\x7f", sanitize.line("\0\7\127"))
      assert.equal("\\u{9b}31m", sanitize.line("\194\15531m"))
      assert.equal("\\u{85}", sanitize.line("\194\133"))
      assert.equal("x\\u{202e}y", sanitize.line("x\226\128\174y"))
      assert.equal("\\xff\\xc3(", sanitize.line("\255\195("))
      assert.equal("\\xed\\xa0\\x80", sanitize.line("\237\160\128"))      -- a surrogate
      assert.equal("\\xc0\\xaf", sanitize.line("\192\175"))             -- overlong "/"
      assert.equal("a\\nb\\tc\\rd", sanitize.line("a\nb\tc\rd"))
   end)

   it("leaves text as it is otherwise, UTF-8 included", function()
      for _, s in ipairs { "", "plain ascii", "café ünïcode ✓ 漢字 😀", "\"quoted\" \\ backslash" } do
         assert.equal(s, sanitize.line(s))
      end
   end)

   it("keeps newlines and tabs in sanitize.text", function()
      assert.equal("a\nb\tc\\x1b", sanitize.text("a\nb\tc\27"))
   end)

   it("keeps JSON valid and its data the same", function()
      local cjson = require "cjson"
      local raw = cjson.encode({ s = "x\194\155y\127z" })
      local safe = sanitize.json(raw)
      assert.is_nil(safe:find("\194\155", 1, true))
      assert.is_nil(safe:find("\127", 1, true))
      assert.equal("x\194\155y\127z", cjson.decode(safe).s)
      assert.equal('"\\ufffd"', sanitize.json('"\255"'))
   end)
end)

describe("control characters never reach the terminal", function()
   local home, cwd

   before_each(function()
      home = assert(core.mkdtemp("/tmp/bottle-sanitize-"))
      cwd = home .. "/project"
      assert(core.mkdir(cwd, tonumber("755", 8)))
      assert(core.mkdir(home .. "/.config", OCT700))
      assert(core.mkdir(home .. "/.config/claude-bottle", OCT700))
      assert(core.mkdir(home .. "/.config/claude-bottle/policies", OCT700))
   end)
   after_each(function() core.rmtree(home) end)

   local function policy(name, text)
      assert(core.write_file(home .. "/.config/claude-bottle/policies/" .. name, text, OCT600))
   end

   -- → exit status, stdout .. stderr
   local function run(args)
      local out = home .. "/out"
      local status = core.spawn({ "sh", "-c", ('cd "$1" && exec lua5.4 "$2"/bottle.lua %s >"$3" 2>&1 </dev/null'):format(args),
         "sh", cwd, ROOT, out }, { env = { HOME = home, XDG_CONFIG_HOME = home .. "/.config" } })
      local f = assert(io.open(out, "rb"))
      local text = f:read("a")
      f:close()
      return status, text
   end

   local function clean(text)
      assert.is_nil(text:find("\27", 1, true), "raw ESC in: " .. text)
      assert.is_nil(text:find("\194[\128-\159]"), "raw C1 in: " .. text)
      assert.is_nil(text:find("\127", 1, true), "raw DEL in: " .. text)
   end

   it("a config hook's key name in an error", function()
      policy("keys.lua", 'return { config = function(cfg) cfg["\\27[2Jmode"] = "x" end }')
      local status, text = run("plan")
      assert.equal(2, status)
      clean(text)
      assert.matches("config rejected: \\x1b[2Jmode: unknown key", text, 1, true)
   end)

   it("a policy file's name in the policy lines, and C1 through ctx.log", function()
      policy("\27[31mred.lua", 'return { bottle = function(b, ctx) ctx.log("csi \\u{9b}2J del \\127") end }')
      local status, text = run("plan")
      assert.equal(0, status)
      clean(text)
      assert.matches("policy \\x1b[31mred.lua: csi \\u{9b}2J del \\x7f", text, 1, true)
   end)

   it("invalid UTF-8 from a config hook names the policy and exits 2", function()
      policy("utf8.lua", 'return { config = function(cfg) cfg.fetch_proxy.user_agent = "\\255\\254" end }')
      local status, text = run("plan")
      assert.equal(2, status)
      clean(text)
      assert.matches("policy " .. home .. "/.config/claude-bottle/policies/utf8.lua: "
         .. "config.fetch_proxy.user_agent: a string that is not valid UTF-8", text, 1, true)
   end)

   it("the YAML decoder's message about a project file", function()
      assert(core.write_file(cwd .. "/.claude-bottle.yaml", '"\\u009b31m": 1\n"\\u009b31m": 2\n', OCT600))
      local status, text = run("plan")
      assert.equal(2, status)
      clean(text)
      assert.matches('duplicate key "\\u{9b}31m"', text, 1, true)
   end)

   it("list, with labels the engine returned", function()
      local cli = require "bottle.cli"
      package.loaded["bottle.backend"] = { new = function() return {} end, names = function() return { "docker" } end }
      package.loaded["bottle.launch"] = { list = function()
         return { { slug = "s\27[2J", agent = "a\194\155", bottle = "b\127", state = "running",
                    containers = { agent = "c\27]0;title\7" } } }
      end }
      local written = {}
      local real = io.stdout
      -- luacheck: push ignore 122
      io.stdout = { write = function(_, ...) for _, s in ipairs { ... } do written[#written + 1] = s end end }
      local ok, status = pcall(cli.main, { "list" })
      io.stdout = real
      -- luacheck: pop
      assert.is_true(ok, status)
      assert.equal(0, status)
      local text = table.concat(written)
      clean(text)
      assert.matches("s\\x1b[2J", text, 1, true)
      assert.matches("agent=c\\x1b]0;title\\x07", text, 1, true)
   end)
end)
