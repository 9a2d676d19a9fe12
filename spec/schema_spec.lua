-- Specs for bottle.schema: the modules that read it agree with it, and the
-- git-entry checker refuses a mode that leaves a field out.
local schema = require "bottle.schema"
local schema_git = require "bottle.schema.git"
local manifest = require "bottle.manifest"
local policy = require "bottle.policy"
local plan = require "bottle.plan"
require "bottle.gitgate"   -- registers the gate mode

local sorted_keys = require("testlib.util").keys

describe("bottle.schema", function()
   it("gives the embedded bottle the schema's defaults", function()
      local b = manifest.default().bottles[schema.DEFAULT_BOTTLE]
      assert.same(schema.egress_default(), b.egress)
      assert.same({ allowlist = {}, passthrough = {}, dlp_action = "block", tls_interception = true },
                  b.egress)
   end)

   it("shows a policy exactly the fields it marks for policies", function()
      local b = manifest.default().bottles[schema.DEFAULT_BOTTLE]
      local view = policy.bottle_view(b)
      local want = {}
      for _, f in ipairs(schema.POLICY_EGRESS) do want[#want + 1] = f.key end
      table.sort(want)
      assert.same(want, sorted_keys(view.egress))
      assert.same({ "credentials", "egress", "env", "git", "name" }, sorted_keys(view))
   end)

   it("names the gate's URL and the proxy port once", function()
      assert.equal("git://git-gate/app.git", schema.gate_url("app"))
      assert.equal(8888, schema.PROXY_PORT)
      assert.equal(schema.PROXY_PORT, plan.PROXY_PORT)
   end)

   it("follows the XDG rules for the config and state directories", function()
      assert.equal("/x", schema.config_home { XDG_CONFIG_HOME = "/x", HOME = "/h" })
      assert.equal("/h/.config", schema.config_home { XDG_CONFIG_HOME = "rel", HOME = "/h" })
      assert.is_nil(schema.config_home { HOME = "" })
      local function env(t) return function(k) return t[k] end end
      assert.equal("/s/claude-bottle", schema.state_dir(env { XDG_STATE_HOME = "/s//" }))
      assert.equal("/h/.local/state/claude-bottle", schema.state_dir(env { XDG_STATE_HOME = "s", HOME = "/h" }))
      assert.is_nil(schema.state_dir(env { HOME = "h" }))
   end)

   it("lists the git fields in the manifest's key order", function()
      assert.same({ "name", "upstream", "identity", "host_key", "extra_hosts", "push",
                    "user_name", "user_email" }, schema.KEYS.git)
      assert.same({ "branches", "force", "delete", "tags" }, schema.KEYS.push)
   end)
end)

describe("bottle.schema.git", function()
   it("refuses a mode without a rule for every field", function()
      local rules = {}
      for _, f in ipairs(schema_git.FIELDS) do rules[f.key] = false end
      rules.user_email = nil
      assert.has_error(function()
         schema_git.mode("spec", { start = function() end, order = {}, rules = rules, finish = function() end })
      end, 'schema.git.mode: mode "spec" has no rule for the field "user_email" (false: not checked)')
   end)

   it("raises for a mode nobody registered", function()
      assert.has_error(function() schema_git.check("nope", {}) end, 'schema.git.check: no mode "nope"')
   end)

   it("runs a mode's rules in its order and stops at the first problem", function()
      local rules, seen = {}, {}
      for _, f in ipairs(schema_git.FIELDS) do
         rules[f.key] = function(_, k)
            seen[#seen + 1] = k
            if k == "push" then return nil, "push refused", "spec" end
            return true
         end
      end
      schema_git.mode("spec_order", {
         start = function(e) return { e = e } end,
         order = { "host_key", "name", "push", "upstream" },
         rules = rules,
         finish = function() return true end,
      })
      assert.same({ nil, "push refused", "spec" }, { schema_git.check("spec_order", {}) })
      assert.same({ "host_key", "name", "push" }, seen)
   end)
end)
