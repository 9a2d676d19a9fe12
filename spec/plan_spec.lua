-- plan.build, the pure function at the centre: a manifest, an agent, the
-- policies and the options in; exactly what would run out.  Table-driven:
-- each case is a manifest (and maybe a policy) and what the plan must say.
-- Real manifests and policies are loaded from files in a temporary
-- directory; nothing here touches an engine.
local core = require "bottle.core"
local cjson = require "cjson"
local manifest = require "bottle.manifest"
local policy = require "bottle.policy"
local planner = require "bottle.plan"
local H = require "spec.helpers"

local SECRET = "sk-live-PLAN-CANARY-51c2"

describe("plan.build", function()
   local dir

   setup(function()
      dir = core.mkdtemp("/tmp/plan-spec.")
      assert(core.mkdir(dir .. "/.claude", tonumber("700", 8)))
      assert(core.mkdir(dir .. "/.claude/skills", tonumber("700", 8)))
      assert(core.mkdir(dir .. "/.claude/skills/reviewer", tonumber("700", 8)))
   end)
   teardown(function() if dir then core.rmtree(dir) end end)

   -- manifest text, policy sources → plan, extras | nil, msg, code
   local function build(text, policies, opts)
      opts = opts or {}
      local file = dir .. "/bottles-" .. H.random_name() .. ".yaml"
      H.write(file, text)
      local m, msg, code = manifest.load { manifest = file, env = { HOME = dir, cwd = dir } }
      if not m then return nil, msg, code end
      local paths = {}
      for i, src in ipairs(policies or {}) do
         paths[i] = dir .. "/policy-" .. i .. "-" .. H.random_name() .. ".lua"
         H.write(paths[i], src)
      end
      local loaded, lmsg, lcode = policy.load(paths)
      if not loaded then return nil, lmsg, lcode end
      local n = 0
      return planner.build {
         manifest = m, agent = opts.agent, policies = loaded,
         options = { backend = "docker", cwd = dir, home = dir, env_names = { "HOST_TOKEN" },
                     random_hex = function() n = n + 1; return ("abc%03d"):format(n) end,
                     pipelock_image = opts.pipelock_image, agent_image = opts.agent_image,
                     git_gate_image = opts.git_gate_image, firewall_image = opts.firewall_image },
      }
   end

   local function has(list, value)
      for _, v in ipairs(list or {}) do if v == value then return true end end
      return false
   end

   local cases = {
      {
         "the embedded default: agent claude, TLS interception, DLP block, 80 and 443, default limits",
         text = "{}\n",
         check = function(p)
            assert.are.equal("claude", p.agent)
            assert.are.equal("claude-abc001", p.slug)
            assert.is_true(p.egress.tls_interception)
            assert.are.equal("block", p.egress.dlp_action)
            assert.are.same({ 80, 443 }, p.egress.ports)
            assert.is_true(has(p.egress.hosts, "api.anthropic.com"))
            assert.is_true(has(p.egress.passthrough, "api.anthropic.com"))
            assert.are.equal(8 * 1024 ^ 3, p.resources.agent.memory)
            assert.are.equal("auto", p.runtime)
            assert.are.same({ "claude", "--dangerously-skip-permissions" }, p.command)
            assert.are.equal("http://claude-bottle-pipelock-claude-abc001:8888", p.proxy.url)
            assert.are.equal(p.proxy.url, p.agent_env.HTTPS_PROXY)
            assert.is_truthy(p.agent_env.NODE_EXTRA_CA_CERTS)
            assert.is_truthy(p.ca)
            assert.is_nil(p.steps)
            assert.is_nil(p.names.internal_network)
         end,
      },
      {
         "TLS interception off: no CA, no CA variables, no passthrough",
         text = "bottles:\n  b:\n    egress: { tls_interception: false }\nagents:\n  claude: { bottle: b }\n",
         check = function(p)
            assert.is_false(p.egress.tls_interception)
            assert.is_nil(p.ca)
            assert.is_nil(p.agent_env.NODE_EXTRA_CA_CERTS)
            assert.are.same({}, p.egress.passthrough)
            assert.is_nil(p.pipelock.config.tls_interception)
         end,
      },
      {
         "added hosts, ports and limits, each shown as the manifest's",
         text = "bottles:\n  b:\n    egress: { allowlist: [api.github.com], ports: [8443, 443] }\n"
            .. "    resources: { memory: 2g, pids: 300, cpus: 1.5 }\nagents:\n  claude: { bottle: b }\n",
         check = function(p)
            assert.is_true(has(p.egress.hosts, "api.github.com"))
            assert.are.same({ 80, 443, 8443 }, p.egress.ports)
            assert.are.same({ 8443 }, p.egress.added_ports)
            assert.are.same({ 2 * 1024 ^ 3, 300, 1.5 },
                            { p.resources.agent.memory, p.resources.agent.pids, p.resources.agent.cpus })
            assert.is_true(p.resources.agent.set.memory)
         end,
      },
      {
         "env by name and kind only: no value in the plan",
         text = "bottles:\n  b:\n    env:\n      MODE: \"" .. SECRET .. "\"\n      TOKEN: \"${HOST_TOKEN}\"\n"
            .. "      ASKED: \"?\"\nagents:\n  claude: { bottle: b }\n",
         check = function(p)
            assert.are.same({ { name = "ASKED", kind = "prompt" }, { name = "MODE", kind = "literal" },
                              { name = "TOKEN", kind = "host", from = "HOST_TOKEN" } }, p.env)
            assert.is_nil(cjson.encode(p):find(SECRET, 1, true))
         end,
      },
      {
         "an agent's prompt and skill",
         text = "bottles:\n  b: {}\nagents:\n  coder:\n    bottle: b\n    prompt: hello\n    skills: [reviewer]\n",
         agent = "coder",
         check = function(p)
            assert.are.equal("coder-abc001", p.slug)
            assert.are.equal("hello", p.prompt.text)
            assert.is_true(has(p.command, "--append-system-prompt-file"))
            assert.are.equal("reviewer", p.skills[1].name)
            assert.are.equal(dir .. "/.claude/skills/reviewer", p.skills[1].host_path)
         end,
      },
      {
         "images from the options, the agent's own over them",
         text = "bottles:\n  b: {}\nagents:\n  claude: { bottle: b, image: 'mine:1' }\n",
         opts = { pipelock_image = "p:1", agent_image = "a:1", firewall_image = "f:1" },
         check = function(p)
            assert.are.same({ "p:1", "mine:1", "f:1" }, { p.images.pipelock, p.images.agent, p.images.firewall })
            assert.is_nil(p.images.git_gate)    -- no git remote, no gate
         end,
      },
      {
         "a config hook's change is in the config and listed as a policy change",
         text = "{}\n",
         policies = { "return { config = function(cfg) cfg.forward_proxy.idle_timeout_seconds = 60 end }\n" },
         check = function(p)
            assert.are.equal(60, p.pipelock.config.forward_proxy.idle_timeout_seconds)
            assert.is_true(#p.policy_changes >= 1)
            assert.is_truthy(p.pipelock.yaml:find("idle_timeout_seconds: 60", 1, true))
         end,
      },
      {
         "a plan hook may refuse the launch",
         text = "{}\n",
         policies = { "return { plan = function() return false, 'not today' end }\n" },
         fails = { "policy_refused", "not today" },
      },
      {
         "an unknown agent is bad usage, naming the agents there are",
         text = "bottles:\n  b: {}\nagents:\n  coder: { bottle: b }\n",
         agent = "nope",
         fails = { "usage", "coder" },
      },
      {
         "a skill that is not there",
         text = "bottles:\n  b: {}\nagents:\n  claude: { bottle: b, skills: [missing] }\n",
         fails = { "invalid_manifest", "skill \"missing\" not found" },
      },
   }

   for _, c in ipairs(cases) do
      it(c[1], function()
         local opts = c.opts or {}
         opts.agent = c.agent
         local p, extras, code = build(c.text, c.policies, opts)
         if c.fails then
            assert.is_nil(p)
            assert.are.equal(c.fails[1], code, extras)
            assert.is_truthy(tostring(extras):find(c.fails[2], 1, true), extras)
            return
         end
         assert(p, extras)
         assert.is_true(core.pipelock_check(p.pipelock.config))
         c.check(p, extras)
      end)
   end

   it("is pure: the same inputs give the same plan", function()
      local a = assert(build("{}\n"))
      local b = assert(build("{}\n"))
      assert.are.same(cjson.decode(cjson.encode(a)), cjson.decode(cjson.encode(b)))
   end)
end)
