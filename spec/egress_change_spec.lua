-- bottle.egress_change: the record `up` keeps, a change built the way a
-- launch builds its config (host checks, policies, core.pipelock_check),
-- its diff, and the apply with its rollback (against a scripted backend:
-- the real one is in egress_live_e2e_spec.lua).
local core = require "bottle.core"
local cjson = require "cjson"
local U = require "testlib.util"
local C = require "bottle.egress_change"
local sha256 = require "bottle.sha256"

local dirs = {}
local function tmpdir()
   local d = core.mkdtemp("/tmp/claude-bottle-egress-change.")
   dirs[#dirs + 1] = d
   return d
end

-- A plan built as `bottle plan` builds one, with policy sources (Lua text).
local function make(opts)
   opts = opts or {}
   local dir = tmpdir()
   U.write(dir .. "/bottles.json", cjson.encode {
      bottles = { b = { egress = { allowlist = opts.hosts or { "allowed.test" }, passthrough = opts.passthrough,
                                   ports = { 443, 8443 } },
                        env = { MODE = "quixotic-literal" }, credentials = opts.credentials } },
      agents = { a = { bottle = "b" } } })
   local paths = {}
   for i, src in ipairs(opts.policies or {}) do paths[i] = U.write(("%s/p%d.lua"):format(dir, i), src) end
   local m = assert(require("bottle.manifest").load { manifest = dir .. "/bottles.json", env = { HOME = dir, cwd = dir } })
   local policy = require "bottle.policy"
   local ps = assert(policy.load(paths))
   local plan = assert(require("bottle.plan").build { manifest = m, agent = "a", policies = ps, options = {
      backend = "docker", cwd = dir, home = dir, env_names = {} } })
   local stage = tmpdir()
   assert(C.record(stage, plan))
   local rec = assert(C.load(stage))
   return { plan = plan, stage = stage, rec = rec, policies = ps }
end

local function build(t, change)
   return C.build(t.rec, change, { policies = t.policies, env_names = {} })
end

teardown(function()
   for _, d in ipairs(dirs) do core.rmtree(d) end
end)

describe("sha256", function()
   it("matches FIPS 180-4's vectors and sha256sum", function()
      assert.equals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sha256.hex(""))
      assert.equals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sha256.hex("abc"))
      assert.equals("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
         sha256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
      local data = string.rep("claude-bottle ", 1000)
      local f = tmpdir() .. "/data"
      U.write(f, data)
      assert.equals(U.command("sha256sum " .. U.q(f)):match("^(%x+)"), sha256.hex(data))
   end)
end)

describe("egress_change", function()
   it("records what up needs in a 0600 file, with no env value, and rebuilds the launch's exact config", function()
      local t = make()
      local st = assert(core.stat(t.stage .. "/" .. C.RECORD))
      assert.equals(tonumber("600", 8), st.mode & tonumber("777", 8))
      local text = U.read(t.stage .. "/" .. C.RECORD)
      assert.is_nil(text:find("quixotic", 1, true))     -- MODE's value
      assert.truthy(text:find("MODE", 1, true))    -- its name and kind only
      local p = assert(build(t, { allow = { "allowed.test" } }))
      assert.is_true(C.empty(p))
      assert.equals(t.plan.pipelock.yaml, p.yaml)
   end)

   it("allows new hosts, normalised, and shows them as the diff", function()
      local t = make()
      local p = assert(build(t, { allow = { "New.Example", "*.npmjs.org", "new.example" } }))
      assert.same({ "*.npmjs.org", "new.example" }, p.diff.added)
      assert.same({}, p.diff.removed)
      assert.same({}, p.diff.other)
      assert.same({ "new.example", "*.npmjs.org" }, p.live.allowed)
      assert.truthy(p.yaml:find("new.example", 1, true))
      local text = C.render("s", p)
      assert.matches("+ allow       new.example", text, 1, true)
      assert.matches("The manifest is not changed", text, 1, true)
   end)

   it("keeps a credential route's host out of the rebuilt config, even when allowed live", function()
      local t = make { hosts = { "allowed.test", "api.github.com" }, credentials = { {
         name = "github", upstream = "https://api.github.com", header = "Authorization", scheme = "Bearer",
         value = "${GH_TOKEN}" } } }
      assert.is_nil(t.plan.pipelock.yaml:find("api.github.com", 1, true))
      local p = assert(build(t, { allow = { "api.github.com", "new.example" } }))
      assert.truthy(p.yaml:find("new.example", 1, true))
      assert.is_nil(p.yaml:find("api.github.com", 1, true))
      assert.is_nil(U.read(t.stage .. "/" .. C.RECORD):find("GH_TOKEN", 1, true))
   end)

   it("refuses hostile hosts with invalid_host, and an empty list with usage", function()
      local t = make()
      for _, h in ipairs { "a b", "x.test:80", "http://x.test/", "", "evil.test/path", "\27[31mred.test",
                           "ev\0il.test", "bad..test", "-x.test" } do
         local p, msg, code = build(t, { allow = { h } })
         assert.is_nil(p, h)
         assert.equals("invalid_host", code, ("%q: %s"):format(h, tostring(msg)))
      end
      local p, _, code = build(t, { allow = {} })
      assert.is_nil(p)
      assert.equals("usage", code)
   end)

   it("denies hosts, the defaults and a policy's included: a deny only narrows", function()
      local t = make { policies = { [[return { config = function(cfg)
         table.insert(cfg.api_allowlist, "policy.example") end }]] } }
      assert.truthy(t.plan.pipelock.yaml:find("policy.example", 1, true))
      local p = assert(build(t, { deny = { "policy.example", "sentry.io", "allowed.test" } }))
      assert.same({}, p.diff.added)
      table.sort(p.diff.removed)
      assert.same({ "allowed.test", "policy.example", "sentry.io" }, p.diff.removed)
      assert.is_nil(p.yaml:find("policy.example", 1, true))
      -- denying every host leaves a config the check refuses
      local all = { "allowed.test", "policy.example" }
      for _, h in ipairs(core.DEFAULT_ALLOWLIST) do all[#all + 1] = h end
      local none, msg, code = build(t, { deny = all })
      assert.is_nil(none)
      assert.equals("invalid_config", code)
      assert.matches("fails the check", msg, 1, true)
   end)

   it("runs the policies as a launch does: a bottle hook can drop an allowed host", function()
      local t = make { policies = { [[return { bottle = function(b)
         local keep = {}
         for _, h in ipairs(b.egress.allowlist) do if not h:match("^blocked%.") then keep[#keep + 1] = h end end
         b.egress.allowlist = keep
      end }]] } }
      local p = assert(build(t, { allow = { "blocked.example", "fine.example" } }))
      assert.same({ "fine.example" }, p.diff.added)
   end)

   it("refuses a change that a policy turns into a new passthrough domain (pipelock would refuse the reload)", function()
      local t = make { policies = { [[return { bottle = function(b)
         b.egress.passthrough = b.egress.allowlist end }]] } }
      local p, msg, code = build(t, { allow = { "fresh.example" } })
      assert.is_nil(p)
      assert.equals("unsupported", code)
      assert.matches("passthrough domain(s) fresh.example", msg, 1, true)
   end)

   it("refuses a config a policy breaks, before anything is applied", function()
      local bad = make { policies = { [[return { config = function(cfg)
         if #cfg.api_allowlist > 8 then cfg.mode = "audit" end end }]] } }
      local q, msg, code = build(bad, { allow = { "one.example", "two.example" } })
      assert.is_nil(q)
      assert.equals("invalid_policy", code)
      assert.matches("config rejected", msg, 1, true)
   end)

   it("stamps every write with a fresh comment line, replacing the last one", function()
      local a = C.stamped("mode: strict\n")
      local b = C.stamped(a)
      assert.are_not.equals(a, b)
      assert.equals(1, select(2, b:gsub("# claude%-bottle live egress write", "")))
      assert.equals("mode: strict\n", b:match("^(.-)#"))
   end)

   describe("apply", function()
      -- A backend whose sidecar takes or refuses writes as scripted.
      local function backend(script)
         local b = { calls = {}, yaml = "old: config\n" }
         function b.egress_read(self, slug)
            self.calls[#self.calls + 1] = "read " .. slug
            return { yaml = self.yaml, sha256 = sha256.hex(self.yaml) }
         end
         function b.egress_apply(self, _, yaml, opts)
            local verdict = table.remove(script, 1)
            self.calls[#self.calls + 1] = "apply " .. verdict .. (opts.ignore_refusals and " (restore)" or "")
            if verdict == "ok" then
               self.yaml = yaml
               return { sha256 = sha256.hex(yaml), seconds = 0.1 }
            end
            return nil, "pipelock refused the new config and kept its old one: rejected", "reload_refused"
         end
         return b
      end

      it("records the change once the new config is proven", function()
         local t = make()
         local p = assert(build(t, { allow = { "new.example" } }))
         local b = backend { "ok" }
         local done = assert(C.apply(b, "s", t.stage, t.rec, p, {}))
         assert.equals(sha256.hex(b.yaml), done.sha256)
         assert.same({ "read s", "apply ok" }, b.calls)
         local rec = assert(C.load(t.stage))
         assert.same({ "new.example" }, rec.live.allowed)
         assert.same({ added = 1, removed = 0, changes = 1 }, C.summary(rec))
         assert.truthy(C.live_hosts(rec)["new.example"])
         local view = C.view(rec)
         local marked = {}
         for _, h in ipairs(view.allowlist) do if h.live then marked[#marked + 1] = h.host end end
         assert.same({ "new.example" }, marked)
      end)

      it("writes the old bytes back when pipelock refuses, and keeps the record as it was", function()
         local t = make()
         local p = assert(build(t, { allow = { "new.example" } }))
         local b = backend { "refused", "ok" }
         local done, msg, code = C.apply(b, "s", t.stage, t.rec, p, {})
         assert.is_nil(done)
         assert.equals("reload_refused", code)
         assert.matches("the old config is in force again", msg, 1, true)
         assert.same({ "read s", "apply refused", "apply ok (restore)" }, b.calls)
         assert.equals("old: config\n", b.yaml:match("^(.-)#"))
         local rec = assert(C.load(t.stage))
         assert.same({}, rec.live.allowed)
         assert.same({}, rec.changes)
      end)

      it("says so when the restore fails too", function()
         local t = make()
         local p = assert(build(t, { allow = { "new.example" } }))
         local _, msg = C.apply(backend { "refused", "refused" }, "s", t.stage, t.rec, p, {})
         assert.matches("writing the old config back failed too", msg, 1, true)
      end)

      it("refuses a backend without live changes", function()
         local t = make()
         local p = assert(build(t, { allow = { "new.example" } }))
         local _, _, code = C.apply({}, "s", t.stage, t.rec, p, {})
         assert.equals("unsupported", code)
      end)
   end)

   it("diffs allowlist, passthrough and the rest", function()
      local d = C.diff({ api_allowlist = { "a", "b" }, tls_interception = { enabled = true, passthrough_domains = { "p" } },
                         mode = "strict" },
                       { api_allowlist = { "b", "c" }, tls_interception = { enabled = true, passthrough_domains = {} },
                         mode = "audit" })
      assert.same({ "c" }, d.added)
      assert.same({ "a" }, d.removed)
      assert.same({}, d.passthrough_added)
      assert.same({ "p" }, d.passthrough_removed)
      assert.same({ "mode" }, d.other)
   end)

   it("lets one change at a time hold a bottle's lock, and takes over a dead holder's", function()
      local d = tmpdir()
      local unlock = assert(C.lock(d))
      local again, msg, code = C.lock(d)
      assert.is_nil(again)
      assert.equals("busy", code)
      assert.matches("another egress change", msg, 1, true)
      unlock()
      assert.is_nil(core.stat(d .. "/egress.lock"))
      U.write(d .. "/egress.lock", "999999999", tonumber("600", 8))
      local taken = assert(C.lock(d))
      taken()
   end)

   it("refuses a record it cannot read", function()
      local d = tmpdir()
      local _, _, code = C.load(d)
      assert.equals("not_found", code)
      U.write(d .. "/" .. C.RECORD, "{}", tonumber("600", 8))
      local _, _, code2 = C.load(d)
      assert.equals("invalid_config", code2)
   end)
end)
