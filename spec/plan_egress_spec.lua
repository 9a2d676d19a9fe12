-- The preflight and the plan JSON show the egress of the final config:
-- after every policy's bottle and config hooks, with each part a policy
-- changed marked with its name.
local core = require "bottle.core"
local manifest = require "bottle.manifest"
local policy = require "bottle.policy"
local planner = require "bottle.plan"
local preflight = require "bottle.preflight"

local FIX = "spec/fixtures/policies/"

local home
before_each(function() home = core.mkdtemp("/tmp/bottle-egress-spec-") end)
after_each(function() core.rmtree(home) end)

local function build(files, bottle_yaml)
   local env = { HOME = home, cwd = home }
   if bottle_yaml then
      assert(core.mkdir(home .. "/.config", tonumber("700", 8)))
      assert(core.mkdir(home .. "/.config/claude-bottle", tonumber("700", 8)))
      assert(core.write_file(home .. "/.config/claude-bottle/bottles.yaml", bottle_yaml, tonumber("600", 8)))
      assert(core.write_file(home .. "/id_app", "not a real key", tonumber("600", 8)))
   end
   local m = assert(manifest.load { env = env })
   local paths = {}
   for i, f in ipairs(files) do paths[i] = FIX .. f end
   local ps = assert(policy.load(paths))
   local plan, extras, code = planner.build { manifest = m, policies = ps,
      options = { cwd = home, home = home, env_names = {} } }
   policy.close(ps)
   return plan, extras, code
end

local function row(text, label)
   return text:match("\n" .. label:gsub("%p", "%%%0") .. " *: ([^\n]*)") or text:match("^" .. label .. " *: ([^\n]*)")
end

describe("the egress in the preflight and the plan", function()
   it("without policies: the manifest's egress, nothing marked", function()
      local plan = assert(build {})
      local text = preflight.render(plan)
      assert.equal("pipelock (per-launch CA, generated at launch)", row(text, "tls intercept"))
      assert.equal("block", row(text, "dlp action"))
      assert.is_nil(row(text, "dlp patterns"))
      assert.is_nil(text:find("changed by", 1, true))
      assert.same({}, plan.egress.changed_by)
   end)

   it("a config hook that turns interception, body scanning and built-in DLP off shows in the egress lines", function()
      local plan = assert(build { "weaken-egress.lua" })
      local text = preflight.render(plan)
      local mark = " [changed by policy weaken-egress.lua]"
      assert.equal("off (HTTPS bodies are not scanned)" .. mark, row(text, "tls intercept"))
      -- body scanning and the action both changed, by one policy: named once
      assert.equal("off (request bodies are not scanned)" .. mark, row(text, "dlp action"))
      assert.equal("built-in patterns off (the 8 core ones still run)" .. mark, row(text, "dlp patterns"))
      assert.matches("^8 hosts allowed .*" .. mark:gsub("%p", "%%%0") .. "$", row(text, "egress"))
      assert.is_nil(row(text, "passthrough"))
      -- the plan JSON says the same
      assert.is_false(plan.egress.tls_interception)
      assert.is_false(plan.egress.body_scanning)
      assert.same({ "weaken-egress.lua" }, plan.egress.changed_by.tls_interception)
      local json = require("cjson").decode(require("cjson").encode(plan))
      assert.is_false(json.egress.tls_interception)
      -- and what the launch does follows the config: no CA is made
      assert.is_nil(plan.ca)
      assert.is_nil(plan.agent_env.NODE_EXTRA_CA_CERTS)
   end)

   it("a bottle hook's changes are marked too", function()
      local plan = assert(build({ "tighten.lua" }, [[
bottles:
  web:
    env: { API_TOKEN: "?token" }
    egress: { allowlist: [example.org] }
    git:
      - name: app
        upstream: ssh://git@git.example:22/app.git
        identity: ~/id_app
        host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
        push: { branches: ["agent/*", "wip/*"], tags: true }
agents:
  claude: { bottle: web }
]]))
      local text = preflight.render(plan)
      assert.equal("off (HTTPS bodies are not scanned) [changed by policy tighten.lua]", row(text, "tls intercept"))
      assert.equal("warn [changed by policy tighten.lua]", row(text, "dlp action"))
   end)

   it("refuses a config hook that turns interception on with another CA", function()
      local plan, msg, code = build { "weaken-egress.lua", "tls-on-elsewhere.lua" }
      assert.is_nil(plan)
      assert.equal("invalid_policy", code)
      assert.equal("policy weaken-egress.lua, tls-on-elsewhere.lua: tls_interception.ca_cert and ca_key must stay "
         .. "/etc/pipelock-ca.pem and /etc/pipelock-ca-key.pem: the launcher makes that CA for each launch", msg)
   end)
end)
