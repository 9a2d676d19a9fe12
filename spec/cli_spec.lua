-- The command line, run as a user runs it: `lua5.4 bottle.lua ...` in a
-- child process with its own HOME, config dir and working directory.
-- Nothing here needs Docker: plan, render and up --dry-run create nothing.
local core = require "bottle.core"
local cjson = require "cjson"

local ROOT = assert(core.getcwd())
local OCT600 = tonumber("600", 8)

local function sh_quote(s)
   return "'" .. s:gsub("'", "'\\''") .. "'"
end

describe("bottle command line", function()
   local home, state, cwd

   before_each(function()
      home = assert(core.mkdtemp("/tmp/bottle-cli-home-"))
      state = home .. "/state"
      cwd = home .. "/project"
      assert(core.mkdir(cwd, tonumber("755", 8)))
      assert(core.mkdir(home .. "/.config", tonumber("700", 8)))
      assert(core.mkdir(home .. "/.config/claude-bottle", tonumber("700", 8)))
   end)
   after_each(function() core.rmtree(home) end)

   -- -> exit status, stdout, stderr
   local function run(args, extra_env)
      local err = home .. "/stderr"
      os.remove(err)
      local env = ("env -i PATH=%s HOME=%s XDG_STATE_HOME=%s BOTTLE_SPEC_HOSTVAR=HOSTVAR-CANARY-77 %s")
         :format(sh_quote(os.getenv("PATH")), sh_quote(home), sh_quote(state), extra_env or "")
      local cmd = ("cd %s && %s lua5.4 %s/bottle.lua %s 2>%s </dev/null"):format(
         sh_quote(cwd), env, sh_quote(ROOT), args, sh_quote(err))
      local p = io.popen(cmd)
      local out = p:read("a")
      local _, _, status = p:close()
      local f = io.open(err)
      local errtext = f and f:read("a") or ""
      if f then f:close() end
      return status, out, errtext
   end

   local function user_manifest(text)
      assert(core.write_file(home .. "/.config/claude-bottle/bottles.yaml", text, OCT600))
   end

   it("takes the backend from the config file unless --backend names one, and refuses a bad one with file:line:col", function()
      local cfg = home .. "/.config/claude-bottle/config.yaml"
      local function backend_of(args)
         local status, out, err = run(args)
         assert.equals(0, status, err)
         return cjson.decode(out).backend
      end
      assert.equals("docker", backend_of("plan --json"))
      assert(core.write_file(cfg, "backend: kubernetes\nkube_context: team\n", OCT600))
      assert.equals("kubernetes", backend_of("plan --json"))
      assert.equals("docker", backend_of("plan --json --backend docker"))
      os.remove(cfg)
      assert(core.write_file(cfg, "network_pool: [10.50.0.0/16]\nbackend: podman\n", OCT600))
      local status, _, err = run("plan --json")
      assert.equals(2, status)
      assert.truthy(err:find(cfg .. ':2:1: backend: unknown backend "podman"; write one of: docker, kubernetes', 1, true),
                    err)
   end)

   it("prints its version and the libraries it links", function()
      local status, out = run("--version")
      assert.equals(0, status)
      assert.matches("^claude%-bottle %S+ %(bottle%.core %S+, libyaml %S+, libcurl %S+, Lua 5%.4", out)
   end)

   it("plans the embedded default on a fresh machine", function()
      local status, out = run("plan")
      assert.equals(0, status)
      assert.matches("agent%s+: claude\n", out)
      assert.matches("bottle%s+: default\n", out)
      assert.matches("egress%s+: 7 hosts allowed %(api%.anthropic%.com, claude%.ai, downloads%.claude%.ai, %+4 more%)", out)
      assert.matches("tls intercept%s+: pipelock", out)
      assert.is_nil(out:find("\27", 1, true), "no colour without a terminal")
   end)

   it("renders the pipelock YAML that pipelock_check accepts", function()
      local status, out = run("render")
      assert.equals(0, status)
      local cfg = assert(core.yaml_decode(out))
      assert.is_true(core.pipelock_check(cfg))
      assert.matches("^version: 1\nmode: strict\nenforce: true\n", out)
   end)

   describe("with secrets in the manifest", function()
      before_each(function()
         user_manifest([[
bottles:
  web:
    env:
      LIT: "LITERAL-CANARY-42"
      FROM_HOST: "${BOTTLE_SPEC_HOSTVAR}"
      ASKED: "?API token"
    egress:
      allowlist: [api.example.com, "*.example.org"]
      dlp_action: warn
agents:
  coder:
    bottle: web
    prompt: "Be careful."
]])
      end)

      it("shows names and kinds, never values, in the preflight and the JSON plan", function()
         local status, out, err = run("plan coder --json")
         assert.equals(0, status)
         local plan = cjson.decode(out)
         assert.equals("coder", plan.agent)
         assert.equals("web", plan.bottle)
         assert.matches("^coder%-%x%x%x%x%x%x$", plan.slug)
         assert.equals("claude-bottle-pipelock-" .. plan.slug, plan.names.pipelock)
         assert.equals("warn", plan.egress.dlp_action)
         assert.equals("http://claude-bottle-pipelock-" .. plan.slug .. ":8888", plan.agent_env.HTTPS_PROXY)
         for _, text in ipairs { out, err } do
            assert.is_nil(text:find("LITERAL-CANARY", 1, true))
            assert.is_nil(text:find("HOSTVAR-CANARY", 1, true))
         end
         assert.matches("env%s+: ASKED %(prompt%), FROM_HOST %(host%), LIT %(literal%)", err)
         assert.matches("prompt%s+: 11 characters", err)
      end)

      it("up --dry-run shows the preflight and creates nothing", function()
         local status, _, err = run("up coder --dry-run")
         assert.equals(0, status)
         assert.matches("dry%-run requested; nothing was created", err)
         assert.is_nil(core.stat(state))
         assert.is_nil(err:find("CANARY", 1, true))
      end)

      it("up without a terminal and without --yes is refused before anything runs", function()
         local status, _, err = run("up coder")
         assert.equals(2, status)
         assert.matches("pass %-%-yes", err)
         assert.is_nil(core.stat(state))
      end)

   end)

   it("names an unset host variable and creates nothing", function()
      user_manifest("bottles:\n  b:\n    env: { TOKEN: \"${BOTTLE_SPEC_UNSET}\" }\nagents:\n  a: { bottle: b }\n")
      local status, _, err = run("up a --yes")
      assert.equals(2, status)
      assert.matches("BOTTLE_SPEC_UNSET", err)
      assert.is_nil(core.stat(state))
   end)

   it("exits 2 with file:line:col on an invalid manifest, creating nothing", function()
      user_manifest("bottles:\n  web:\n    egress:\n      allowlist: [\"evil.com:443\"]\n")
      local status, out, err = run("plan")
      assert.equals(2, status)
      assert.equals("", out)
      assert.matches("bottles%.yaml:4:%d+: bottle \"web\": egress%.allowlist%[1%]", err)
      assert.matches("host:port", err)
   end)

   it("exits 2 on a hostile policy and 1 when a policy refuses the launch", function()
      local status, _, err = run("plan --policy " .. sh_quote(ROOT .. "/spec/fixtures/policies/endless-loop.lua"))
      assert.equals(2, status)
      assert.matches("instruction budget", err)
      local refuse = home .. "/refuse.lua"
      assert(core.write_file(refuse, 'return { plan = function() return nil, "not today" end }', OCT600))
      status, _, err = run("plan --policy " .. sh_quote(refuse))
      assert.equals(1, status)
      assert.matches("refused the launch: not today", err)
   end)

   it("lists a policy's changes in the preflight", function()
      local status, out = run("plan --policy " .. sh_quote(ROOT .. "/examples/policies/registries.lua"))
      assert.equals(0, status)
      assert.matches("policies%s+: registries%.lua: %+%d+ hosts", out)
   end)

   it("exits 2 on bad usage, 0 on --help for every command", function()
      assert.equals(2, (run("frobnicate")))
      assert.equals(2, (run("plan --no-such-flag")))
      assert.equals(2, (run("plan nosuchagent")))
      assert.equals(2, (run("")))
      for _, c in ipairs { "plan", "render", "up", "down", "list", "logs", "cleanup", "doctor" } do
         local status, out = run(c .. " --help")
         assert.equals(0, status, c)
         assert.matches("Usage: bottle " .. c, out)
      end
   end)

   it("refuses a bottle in a project file, saying why", function()
      assert(core.write_file(cwd .. "/.claude-bottle.yaml",
         "bottles:\n  wide:\n    egress: { allowlist: [evil.example.com] }\n", OCT600))
      local status, _, err = run("plan")
      assert.equals(2, status)
      assert.matches("a project file may not define bottles", err)
   end)
end)
