-- Specs for lua/bottle/policy/.  Everything is real: the sandbox, the
-- example policies, the hostile files in spec/fixtures/policies/, and
-- bottle.core's host_check, pipelock_config and pipelock_check.  The one
-- stand-in: ctx.env_names is passed in (a Lua process cannot set its own
-- environment variables), so that a spec can look for a name it chose.
local policy = require "bottle.policy"
local core = require "bottle.core"

local FIX = "spec/fixtures/policies/"
local EX = "examples/policies/"
local MARKER = "ZZ_BOTTLE_POLICY_SPEC_MARKER"

local function new_ctx(over)
   local c = { agent = "claude", bottle = "web", backend = "docker", cwd = "/work/project",
               env_names = { "HOME", "PATH", MARKER } }
   for k, v in pairs(over or {}) do c[k] = v end
   return c
end

-- A resolved bottle, shaped as bottle.manifest returns it.
local function bottle()
   return {
      name = "web", source = { file = "/cfg/bottles.yaml", line = 3, col = 3 },
      env = { { name = "API_TOKEN", kind = "prompt", prompt = "API token" },
              { name = "GH", kind = "host", from = "GITHUB_TOKEN" },
              { name = "MODE", kind = "literal", value = "literal-value-never-shown" } },
      egress = { allowlist = { "example.org" }, dlp_action = "block", tls_interception = true,
                 passthrough = {} },
      git = { { name = "app", upstream = "ssh://git@git.example:22/app.git", user = "git",
                host = "git.example", port = 22, path = "/app.git", identity = "/home/u/.ssh/id_app",
                host_key = "ssh-ed25519 AAAAC3Nza", extra_hosts = { ["git.example"] = "10.0.0.2" },
                push = { branches = { "agent/*", "wip/*" }, force = false, delete = false, tags = true } } },
   }
end

local function config()
   return assert(core.pipelock_config({ egress = { allowlist = { "example.org" }, dlp_action = "block",
      passthrough = {} } }, {}))
end

local function load(...)
   return policy.load({ ... })
end

local function load_ok(...)
   local ps, msg = policy.load({ ... })
   assert(ps, msg)
   return ps
end

local function contains(list, item)
   for _, v in ipairs(list) do if v == item then return true end end
   return false
end

local saved = {}
before_each(function()
   saved.budget, saved.memory = policy.instruction_budget, policy.memory_limit_kb
   policy.instruction_budget = 1000000
end)
after_each(function()
   policy.instruction_budget, policy.memory_limit_kb = saved.budget, saved.memory
end)

describe("example policies", function()
   it("registries.lua opens npm, PyPI, crates and the Go proxy, with passthrough", function()
      local ps = load_ok(EX .. "registries.lua")
      local ctx = new_ctx()
      local view, changes = policy.run_bottle(ps, policy.bottle_view(bottle()), ctx)
      assert.is_table(view, changes)
      local hosts = { "registry.npmjs.org", "pypi.org", "files.pythonhosted.org", "crates.io",
                      "static.crates.io", "index.crates.io", "proxy.golang.org", "sum.golang.org" }
      for _, h in ipairs(hosts) do
         assert.is_true(contains(view.egress.allowlist, h), h)
         assert.is_true(contains(view.egress.passthrough, h), h)
      end
      assert.is_true(contains(view.egress.allowlist, "example.org"))
      assert.same({ "policy registries.lua: +8 hosts (registry.npmjs.org, pypi.org, +6 more); "
         .. "+8 passthrough (registry.npmjs.org, pypi.org, +6 more)" }, changes)
      assert.same({ "policy registries.lua: opened 8 registry hosts for agent claude" }, ctx.logs)

      -- The result feeds the real config builder.
      local b = policy.apply_bottle_view(bottle(), view)
      local cfg = assert(core.pipelock_config(b, {}))
      assert.is_true(contains(cfg.api_allowlist, "pypi.org"))
      assert.is_true(core.pipelock_check(cfg))
   end)

   it("registries.lua run twice changes nothing the second time", function()
      local ps = load_ok(EX .. "registries.lua", EX .. "registries.lua")
      local _, changes = policy.run_bottle(ps, policy.bottle_view(bottle()), new_ctx())
      assert.equal(1, #changes)
   end)

   it("only-in-dir.lua allows /work and below and refuses elsewhere", function()
      local ps = load_ok(EX .. "only-in-dir.lua")
      assert.is_true(policy.run_plan(ps, {}, new_ctx({ cwd = "/work" })))
      assert.is_true(policy.run_plan(ps, {}, new_ctx({ cwd = "/work/project/sub" })))
      for _, cwd in ipairs({ "/workshop", "/tmp", "/", "/home/u/work" }) do
         local ok, msg, code = policy.run_plan(ps, {}, new_ctx({ cwd = cwd }))
         assert.is_nil(ok)
         assert.equal("policy_refused", code)
         assert.equal("policy " .. EX .. "only-in-dir.lua: refused the launch: " .. cwd
            .. " is not under /work (edit ALLOWED_DIRS in only-in-dir.lua to allow it)", msg)
      end
   end)

   it("tune-timeouts.lua raises the idle timeout and the result renders", function()
      local ps = load_ok(EX .. "tune-timeouts.lua")
      local cfg = config()
      local before = cfg.forward_proxy.idle_timeout_seconds
      assert.not_equal(7200, before)
      local new, changes = policy.run_config(ps, cfg, new_ctx())
      assert.is_table(new, changes)
      assert.equal(7200, new.forward_proxy.idle_timeout_seconds)
      assert.equal(before, cfg.forward_proxy.idle_timeout_seconds, "the caller's table is not changed")
      assert.same({ ("policy tune-timeouts.lua: forward_proxy.idle_timeout_seconds %d→7200"):format(before) },
         changes)
      assert.matches("idle_timeout_seconds: 7200", assert(core.yaml_encode(new)))
   end)

   it("internal-mirror.lua uses both hooks and passes pipelock_check", function()
      local ps = load_ok(EX .. "internal-mirror.lua")
      local ctx = new_ctx()
      local view, bchanges = policy.run_bottle(ps, policy.bottle_view(bottle()), ctx)
      assert.is_table(view, bchanges)
      assert.same({ "policy internal-mirror.lua: +1 host (mirror.corp.example)" }, bchanges)
      local cfg = assert(core.pipelock_config(policy.apply_bottle_view(bottle(), view), {}))
      local new, changes = policy.run_config(ps, cfg, ctx)
      assert.is_table(new, changes)
      assert.same({ "mirror.corp.example" }, new.trusted_domains)
      assert.same({ "10.20.0.0/16" }, new.ssrf.ip_allowlist)
      assert.same({ "policy internal-mirror.lua: +ssrf; +trusted_domains (1)" }, changes)
      assert.same({ "policy internal-mirror.lua: trusting mirror.corp.example (10.20.0.0/16)" }, ctx.logs)
      local yaml = assert(core.yaml_encode(new))
      assert.matches("trusted_domains:\n%- mirror.corp.example", yaml)
   end)
end)

describe("policy.discover", function()
   local dir
   before_each(function() dir = core.mkdtemp("/tmp/bottle-policy-spec-") end)
   after_each(function() core.rmtree(dir) end)

   local function put(path, text)
      assert(core.write_file(path, text, tonumber("600", 8)))
   end

   it("lists *.lua in name order, skipping hidden and other files", function()
      local pdir = dir .. "/claude-bottle/policies"
      assert(core.mkdir(dir .. "/claude-bottle", tonumber("700", 8)))
      assert(core.mkdir(pdir, tonumber("700", 8)))
      for _, n in ipairs({ "b.lua", "a.lua", "10-first.lua", ".hidden.lua", "notes.txt", "lua" }) do
         put(pdir .. "/" .. n, "return {}")
      end
      assert.same({ pdir .. "/10-first.lua", pdir .. "/a.lua", pdir .. "/b.lua" },
         policy.discover({ XDG_CONFIG_HOME = dir, HOME = "/nonexistent" }))
      -- A relative XDG_CONFIG_HOME is ignored (XDG spec): HOME/.config is used.
      assert.same({}, policy.discover({ XDG_CONFIG_HOME = "relative", HOME = dir .. "/none" }))
   end)

   it("returns an empty list when the directory does not exist", function()
      assert.same({}, policy.discover({ HOME = dir }))
      assert.same({}, policy.discover({ XDG_CONFIG_HOME = dir .. "/missing", HOME = dir }))
   end)
end)

describe("the bottle hook", function()
   it("shows env names and kinds, never values", function()
      local view = policy.bottle_view(bottle())
      assert.same({ API_TOKEN = "prompt", GH = "host", MODE = "literal" }, view.env)
      assert.not_matches("literal%-value%-never%-shown", assert(core.yaml_encode(view)))
   end)

   it("lets a policy narrow env, dlp, TLS and git, and lists every change", function()
      local ps = load_ok(FIX .. "tighten.lua")
      local view, changes = policy.run_bottle(ps, policy.bottle_view(bottle()), new_ctx())
      assert.is_table(view, changes)
      assert.same({ "policy tighten.lua: dlp_action block→warn; tls_interception true→false; "
         .. "-env.API_TOKEN; +env.NPM_TOKEN=host; -1 git[app].push.branches (wip/*); "
         .. "git[app].push.tags true→false; +git[app].user_name=Agent Smith" }, changes)
      local b = policy.apply_bottle_view(bottle(), view)
      assert.equal("warn", b.egress.dlp_action)
      assert.is_false(b.egress.tls_interception)
      assert.same({ { name = "GH", kind = "host", from = "GITHUB_TOKEN" },
                    { name = "MODE", kind = "literal", value = "literal-value-never-shown" },
                    { name = "NPM_TOKEN", kind = "host", from = "NPM_TOKEN" } }, b.env)
      assert.same({ branches = { "agent/*" }, force = false, delete = false, tags = false }, b.git[1].push)
      assert.equal("/home/u/.ssh/id_app", b.git[1].identity)
      assert.equal("10.0.0.2", b.git[1].extra_hosts["git.example"])
      assert.equal("Agent Smith", b.git[1].user_name)
   end)
end)

describe("the config hook", function()
   it("keeps an emptied list a list (core.array_mt)", function()
      local ps = load_ok(FIX .. "clear-list.lua")
      local cfg = config()
      cfg.trusted_domains = setmetatable({ "db.internal.example" }, core.array_mt)
      local new, changes = policy.run_config(ps, cfg, new_ctx())
      assert.is_table(new, changes)
      assert.equal(core.array_mt, getmetatable(new.trusted_domains))
      assert.matches("\ntrusted_domains: %[%]\n", assert(core.yaml_encode(new)))
      assert.same({ "policy clear-list.lua: -1 trusted_domains (db.internal.example)" }, changes)
   end)

   it("accepts a replacement table and lists the new key", function()
      local ps = load_ok(FIX .. "replace-config.lua")
      local new, changes = policy.run_config(ps, config(), new_ctx())
      assert.is_table(new, changes)
      assert.same({ "db.internal.example", "cache.internal.example" }, new.trusted_domains)
      assert.same({ "policy replace-config.lua: +trusted_domains (2)" }, changes)
   end)

   it("chains policies: each sees the previous one's result", function()
      local ps = load_ok(EX .. "tune-timeouts.lua", FIX .. "replace-config.lua")
      local new, changes = policy.run_config(ps, config(), new_ctx())
      assert.is_table(new, changes)
      assert.equal(7200, new.forward_proxy.idle_timeout_seconds)
      assert.equal(2, #new.trusted_domains)
      assert.equal(2, #changes)
   end)
end)

describe("ctx", function()
   it("carries names only, and each hook gets a fresh copy", function()
      local ps = load_ok(FIX .. "ctx-mutate.lua", FIX .. "ctx-report.lua")
      local ctx = new_ctx()
      assert.is_true(policy.run_plan(ps, { agent = "claude" }, ctx))
      assert.same({
         "policy ctx-report.lua: agent=claude bottle=web backend=docker cwd=/work/project",
         "policy ctx-report.lua: env_names=HOME,PATH," .. MARKER .. " (3)",
         "policy ctx-report.lua: globals io=nil os.execute=nil require=nil load=nil debug=nil dump=nil",
      }, ctx.logs)
      assert.equal("claude", ctx.agent)
   end)

   it("takes env_names from core.env_names() when not given", function()
      local ps = load_ok(FIX .. "ctx-report.lua")
      local ctx = new_ctx()
      ctx.env_names = nil
      assert.is_true(policy.run_plan(ps, {}, ctx))
      local names = core.env_names()
      assert.equal(("policy ctx-report.lua: env_names=%s (%d)"):format(
         table.concat(names, ",", 1, math.min(3, #names)), #names), ctx.logs[2])
   end)

   it("bounds the log and strips control characters", function()
      local ps = load_ok(FIX .. "log-hog.lua")
      policy.instruction_budget = 50000000
      local ctx = new_ctx()
      assert.is_true(policy.run_plan(ps, {}, ctx))
      assert.equal(policy.max_log_lines + 1, #ctx.logs)
      assert.equal("policy log-hog.lua: line 1 \\x1b[31mred", ctx.logs[1])
      assert.equal("policy log-hog.lua: (further log lines dropped)", ctx.logs[#ctx.logs])
   end)
end)

describe("the instruction budget", function()
   it("is per run: loading and each hook call have their own", function()
      -- The file spends about 60000 instructions per run: 2 × 60000 > 100000.
      policy.instruction_budget = 100000
      local ps = load_ok(FIX .. "budget-per-call.lua")
      assert.is_true(policy.run_plan(ps, {}, new_ctx()))
      assert.is_true(policy.run_plan(ps, {}, new_ctx()))
   end)

   it("leaves no hook and the real string library behind", function()
      load(FIX .. "endless-loop.lua")
      load(FIX .. "string-dump.lua")
      assert.is_nil(debug.gethook())
      assert.is_function(("x").dump)
      assert.equal("7", ("%d"):format(7))
   end)
end)

-- Each entry: the file, how to run it, and the exact message (or a Lua
-- pattern for it, when part of it comes from bottle.core).
local function budget_msg(file)
   return ("policy %s: exceeded its instruction budget (1000000 instructions): an endless loop?"):format(file)
end

local function run(how, ps, over)
   local ctx = new_ctx(over)
   if how == "bottle" then return policy.run_bottle(ps, policy.bottle_view(bottle()), ctx) end
   if how == "config" then return policy.run_config(ps, config(), ctx) end
   return policy.run_plan(ps, {}, ctx)
end

local function esc(s) return (s:gsub("%p", "%%%0")) end

local hostile = {
   { "endless-loop.lua", "load", exact = budget_msg(FIX .. "endless-loop.lua") },
   { "endless-loop-in-pcall.lua", "bottle", exact = budget_msg(FIX .. "endless-loop-in-pcall.lua") },
   { "error-object-loops.lua", "config", exact = budget_msg(FIX .. "error-object-loops.lua") },
   { "sort-loop.lua", "load", exact = budget_msg(FIX .. "sort-loop.lua") },
   { "log-in-c-loop.lua", "plan", exact = budget_msg(FIX .. "log-in-c-loop.lua") },
   { "metamethod-result.lua", "bottle", exact = "policy " .. FIX .. "metamethod-result.lua: egress: must be a table, not nil" },
   { "error-tostring.lua", "load", exact = "policy " .. FIX .. "error-tostring.lua: custom failure\\x1b[2J" },
   { "io-access.lua", "load", exact = "policy " .. FIX .. "io-access.lua:2: attempt to index a nil value (global 'io')" },
   { "os-execute.lua", "plan", exact = "policy " .. FIX .. "os-execute.lua:4: attempt to index a nil value (global 'os')",
     alt = "policy " .. FIX .. "os-execute.lua:4: attempt to call a nil value (field 'execute')" },
   { "require.lua", "load", exact = "policy " .. FIX .. "require.lua:2: attempt to call a nil value (global 'require')" },
   { "load-string.lua", "load", exact = "policy " .. FIX .. "load-string.lua:2: attempt to call a nil value (global 'load')" },
   { "string-dump.lua", "load", exact = "policy " .. FIX .. "string-dump.lua:3: attempt to call a nil value (field 'dump')" },
   { "debug-access.lua", "load", exact = "policy " .. FIX .. "debug-access.lua:2: attempt to index a nil value (global 'debug')" },
   { "string-metatable.lua", "load", exact = "policy " .. FIX .. "string-metatable.lua:3: attempt to index a nil value (local 'mt')" },
   { "gc-finalizer.lua", "load", exact = "policy " .. FIX .. "gc-finalizer.lua:2: setmetatable: a __gc metamethod is not allowed in a policy" },
   { "huge-rep.lua", "load", exact = "policy " .. FIX .. "huge-rep.lua:2: string.rep: the result would exceed 16777216 bytes" },
   { "runtime-error.lua", "bottle", exact = "policy " .. FIX .. "runtime-error.lua:5: attempt to index a nil value (local 'registry')" },
   { "error-table.lua", "load", exact = "policy " .. FIX .. "error-table.lua: (error object is a table value)" },
   { "syntax-error.lua", "load", exact = "policy " .. FIX .. "syntax-error.lua:6: '}' expected (to close '{' at line 2) near 'plan'" },
   { "returns-string.lua", "load", exact = "policy " .. FIX .. "returns-string.lua: must return a table of hooks, e.g. return { bottle = function(b, ctx) ... end }; it returned a string" },
   { "returns-nothing.lua", "load", exact = "policy " .. FIX .. "returns-nothing.lua: must return a table of hooks, e.g. return { bottle = function(b, ctx) ... end }; it returned nothing" },
   { "unknown-key.lua", "load", exact = "policy " .. FIX .. 'unknown-key.lua: returned an unknown key "bottel"; a policy returns only bottle, config and plan hooks' },
   { "hook-not-function.lua", "load", exact = "policy " .. FIX .. 'hook-not-function.lua: hook "plan" must be a function, not a boolean' },
   { "bottle-returns-number.lua", "bottle", exact = "policy " .. FIX .. "bottle-returns-number.lua: the bottle hook returned a number; change the bottle in place or return the new table" },
   { "plan-returns-string.lua", "plan", exact = "policy " .. FIX .. 'plan-returns-string.lua: the plan hook returned a string; return true to allow or nil, "reason" to refuse' },
   { "proxy-off.lua", "config", pattern = "^policy " .. esc(FIX) .. "proxy%-off%.lua: config rejected: forward_proxy%.enabled: " },
   { "move-listen.lua", "config", pattern = "^policy " .. esc(FIX) .. "move%-listen%.lua: config rejected: fetch_proxy%.listen: " },
   { "mode-audit.lua", "config", pattern = "^policy " .. esc(FIX) .. "mode%-audit%.lua: config rejected: mode: " },
   { "config-unknown-key.lua", "config", pattern = "^policy " .. esc(FIX) .. "config%-unknown%-key%.lua: config rejected: forward_proxy%.trusted_domains: " },
   { "config-function.lua", "config", exact = "policy " .. FIX .. "config-function.lua: config.logging.format: a function is not data" },
   { "config-cycle.lua", "config", exact = "policy " .. FIX .. "config-cycle.lua: config.logging.self: a table that contains itself" },
   { "wildcard-tld.lua", "bottle", exact = "policy " .. FIX .. 'wildcard-tld.lua: egress.allowlist[2] "*.com": ' .. select(2, core.host_check("*.com")) },
   { "host-port.lua", "bottle", exact = "policy " .. FIX .. 'host-port.lua: egress.allowlist[2] "evil.com:443": ' .. select(2, core.host_check("evil.com:443")) },
   { "bad-dlp.lua", "bottle", exact = "policy " .. FIX .. 'bad-dlp.lua: egress.dlp_action: must be "block" or "warn", not "off"' },
   { "env-literal.lua", "bottle", exact = "policy " .. FIX .. 'env-literal.lua: env.SECRET: a policy may add a variable only as "host" (forwarded from the launcher\'s environment by the same name), not "literal"' },
   { "git-widen.lua", "bottle", exact = "policy " .. FIX .. 'git-widen.lua: git[1] "app".push.force: a policy may tighten push rules, not widen them (the manifest has force = false)' },
   { "git-add.lua", "bottle", exact = "policy " .. FIX .. 'git-add.lua: git[2]: a policy cannot add a git remote ("exfil" is not in the manifest); add it to the bottle\'s git list' },
}

describe("hostile and broken policies", function()
   for _, case in ipairs(hostile) do
      local file, how = case[1], case[2]
      it(file .. " is stopped with a clear message", function()
         local ps, msg, code = load(FIX .. file)
         if how ~= "load" then
            assert.is_table(ps, msg)
            ps, msg, code = run(how, ps)
         end
         assert.is_nil(ps)
         assert.equal("invalid_policy", code)
         if case.pattern then
            assert.matches(case.pattern, msg)
         elseif case.alt and msg == case.alt then
            assert.equal(case.alt, msg)
         else
            assert.equal(case.exact, msg)
         end
      end)
   end

   it("os-execute.lua runs nothing", function()
      local marker = "/tmp/claude-bottle-policy-escaped"
      os.remove(marker)
      local ps = load_ok(FIX .. "os-execute.lua")
      assert.is_nil((run("plan", ps)))
      assert.is_nil(io.open(marker))
   end)

   it("memory-hog.lua is stopped at the memory limit", function()
      policy.memory_limit_kb = 8 * 1024
      policy.instruction_budget = 100000000
      local ps = load_ok(FIX .. "memory-hog.lua")
      local ok, msg, code = run("plan", ps)
      assert.is_nil(ok)
      assert.equal("invalid_policy", code)
      assert.equal("policy " .. FIX .. "memory-hog.lua: used more than 8 MB of memory", msg)
   end)

   it("refuse.lua refuses the agent it names and allows others", function()
      local ps = load_ok(FIX .. "refuse.lua")
      local ok, msg, code = run("plan", ps, { agent = "risky" })
      assert.is_nil(ok)
      assert.equal("policy_refused", code)
      assert.equal("policy " .. FIX .. "refuse.lua: refused the launch: agent risky is not allowed on this machine", msg)
      assert.is_true(run("plan", ps, { agent = "claude" }))
   end)

   it("plan-false.lua refuses without a reason", function()
      local ok, msg, code = run("plan", load_ok(FIX .. "plan-false.lua"))
      assert.is_nil(ok)
      assert.equal("policy_refused", code)
      assert.equal("policy " .. FIX .. "plan-false.lua: refused the launch (no reason given)", msg)
   end)

   it("a bytecode file is refused", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(string.dump(function() return {} end))
      f:close()
      local ps, msg, code = load(path)
      os.remove(path)
      assert.is_nil(ps)
      assert.equal("invalid_policy", code)
      assert.equal("policy " .. path .. ": is precompiled Lua bytecode; a policy must be Lua source text", msg)
   end)

   it("a missing file is reported", function()
      local ps, msg, code = load(FIX .. "no-such-policy.lua")
      assert.is_nil(ps)
      assert.equal("invalid_policy", code)
      assert.matches("^policy " .. esc(FIX) .. "no%-such%-policy%.lua: cannot read it: ", msg)
   end)

   it("the first failing policy stops the rest", function()
      local ps = load_ok(FIX .. "proxy-off.lua", EX .. "tune-timeouts.lua")
      local ok, msg = run("config", ps)
      assert.is_nil(ok)
      assert.matches("proxy%-off%.lua", msg)
   end)
end)

describe("misuse", function()
   it("raises on wrong argument types and foreign policy records", function()
      assert.has_error(function() policy.load("x.lua") end)
      assert.has_error(function() policy.run_plan({ { file = "x", name = "x", hooks = {} } }, {}, new_ctx()) end)
      assert.has_error(function() policy.run_config({}, nil, new_ctx()) end)
      assert.has_error(function() policy.discover(nil) end)
   end)
end)
