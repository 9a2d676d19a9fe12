-- The smaller items of the red-team pass, one spec each: reserved env
-- names, an env entry removed and added back, unset host variables in the
-- preflight, a missing skill's position, whitespace around hosts, and two
-- messages that read oddly.
local core = require "bottle.core"
local manifest = require "bottle.manifest"
local policy = require "bottle.policy"
local planner = require "bottle.plan"
local preflight = require "bottle.preflight"

local FIX = "spec/fixtures/policies/"
local OCT600, OCT700 = tonumber("600", 8), tonumber("700", 8)

local home
before_each(function()
   home = core.mkdtemp("/tmp/bottle-small-")
   assert(core.mkdir(home .. "/.config", OCT700))
   assert(core.mkdir(home .. "/.config/claude-bottle", OCT700))
   assert(core.write_file(home .. "/id_app", "not a key", OCT600))
end)
after_each(function() core.rmtree(home) end)

local USER = [[
bottles:
  web:
    env: { API_TOKEN: "?token", GH: "${GITHUB_TOKEN}" }
    egress: { allowlist: [example.org] }
    git:
      - name: app
        upstream: ssh://git@git.example:22/app.git
        identity: ~/id_app
        host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
        push: { branches: ["agent/*"] }
agents:
  claude: { bottle: web, skills: [reviewer, missing] }
  plain: { bottle: web }
]]

local function build(files, agent, env_names)
   os.remove(home .. "/.config/claude-bottle/bottles.yaml")
   assert(core.write_file(home .. "/.config/claude-bottle/bottles.yaml", USER, OCT600))
   local m = assert(manifest.load { env = { HOME = home, cwd = home } })
   local paths = {}
   for i, f in ipairs(files) do paths[i] = FIX .. f end
   local ps, lerr = policy.load(paths)
   assert(ps, lerr)
   local plan, extras, code = planner.build { manifest = m, policies = ps, agent = agent or "plain",
      options = { cwd = home, home = home, env_names = env_names or { "GITHUB_TOKEN" } } }
   policy.close(ps)
   return plan, extras, code
end

describe("smaller items", function()
   it("a policy cannot forward the launcher's reserved env names", function()
      local plan, msg, code = build { "env-reserved.lua" }
      assert.is_nil(plan)
      assert.equal("invalid_policy", code)
      assert.equal("policy " .. FIX .. "env-reserved.lua: env.HTTPS_PROXY: is set by the launcher "
         .. "(proxy and CA settings), so a policy cannot forward it", msg)
   end)

   it("an env entry removed by one policy and added back by another: the plan agrees with the change lines", function()
      local plan = assert(build { "env-remove.lua", "env-readd.lua" })
      assert.same({ "policy env-remove.lua: -env.API_TOKEN", "policy env-readd.lua: +env.API_TOKEN=host" },
         plan.policy_changes)
      local kinds = {}
      for _, e in ipairs(plan.env) do kinds[e.name] = e.kind end
      assert.equal("host", kinds.API_TOKEN)
      local _, extras = build { "env-remove.lua", "env-readd.lua" }
      for _, e in ipairs(extras.bottle.env) do
         if e.name == "API_TOKEN" then assert.equal("API_TOKEN", e.from); assert.is_nil(e.prompt) end
      end
   end)

   it("plan says when a host variable is not set", function()
      local plan = assert(build({}, "plain", {}))
      local text = preflight.render(plan)
      assert.matches("GH %(host: GITHUB_TOKEN is not set, so up will refuse%)", text)
      plan = assert(build({}, "plain", { "GITHUB_TOKEN" }))
      assert.matches("GH %(host%)", preflight.render(plan))
   end)

   it("a missing skill is reported at its file, line and column", function()
      assert(core.mkdir(home .. "/.claude", OCT700))
      assert(core.mkdir(home .. "/.claude/skills", OCT700))
      assert(core.mkdir(home .. "/.claude/skills/reviewer", OCT700))
      local plan, msg, code = build({}, "claude")
      assert.is_nil(plan)
      assert.equal("invalid_manifest", code)
      assert.equal(home .. "/.config/claude-bottle/bottles.yaml:12:45: agent \"claude\": skills[2]: skill "
         .. "\"missing\" not found: expected a directory " .. home .. "/.claude/skills/missing; "
         .. "create it or remove the skill", msg)
   end)

   it("hosts: surrounding whitespace is trimmed, whitespace inside is refused (as the README says)", function()
      assert.equal("a.example.org", core.host_check("  a.example.org\t"))
      assert.is_nil(core.host_check("a .example.org"))
      assert.is_nil(core.host_check("a.example.org\nb.example.org"))
   end)

   it("a git user name with a control character says so", function()
      local plan, msg = build { "git-name-control.lua" }
      assert.is_nil(plan)
      assert.equal("policy " .. FIX .. 'git-name-control.lua: git[1] "app".user_name: "Agent\\x1b[2J" contains '
         .. "a control character; write it without one", msg)
   end)

   it("an emptied branch list reads as such in the preflight", function()
      local plan = assert(build { "git-no-branches.lua" })
      assert.matches("; no branch may be pushed, no force, no delete, no tags", preflight.render(plan))
   end)
end)
