-- Unit spec for lua/bottle/launch.lua, teardown.lua, progress.lua and
-- backend/init.lua.
--
-- The backend is a FAKE (spec/helpers/recording_backend.lua): no engine is
-- involved, its "resources" are entries in a table.  What launch itself does
-- is real: the stage directory and env-file are made and removed on disk,
-- under a temporary stage_root.  Signals are faked too: opts.signal_pending
-- and opts.signal_clear are injected, so no real signal is sent.  The real
-- engine path is covered by the docker backend's end-to-end specs.
local core = require "bottle.core"
local launch = require "bottle.launch"
local teardown = require "bottle.teardown"
local progress = require "bottle.progress"
local backends = require "bottle.backend"
local R = require "spec.helpers.recording_backend"

local SLUG = "claude-3f9a2c"

-- The embedded default bottle's plan, from plan.build, with the slug asked
-- for and (unless with_git is false) a git entry for the fake's gate step.
local function make_plan(slug, with_git)
   slug = slug or SLUG
   local base, suffix = slug:match("^(.-)%-(%x+)$")
   local m = assert(require("bottle.manifest").load { env = { HOME = "/nonexistent", cwd = "/nonexistent" } })
   local plan = assert(require("bottle.plan").build { manifest = m, options = {
      backend = "docker", home = "/nonexistent", cwd = "/nonexistent", env_names = {},
      random_hex = function() return suffix or "000000" end } })
   -- a slug the planner would not make (for the misuse spec) is set by hand
   if base ~= "claude" then plan.slug = slug end
   plan.git = with_git ~= false and { { name = "app" } } or {}
   return plan
end

local function exists(path) return core.stat(path) ~= nil end

-- A string as a literal Lua pattern.
local function lit(s) return (s:gsub("%p", "%%%0")) end

-- A clock that advances a quarter second per reading, so durations are exact.
local function fake_clock()
   local t = 100
   return function() t = t + 0.25; return t end
end

local function buffer()
   local b = { text = "" }
   function b:write(...) for _, s in ipairs({ ... }) do self.text = self.text .. s end end
   function b:lines()
      local out = {}
      for l in self.text:gmatch("[^\n]+") do out[#out + 1] = l end
      return out
   end
   return b
end

local tmp, root

before_each(function()
   tmp = core.mkdtemp("/tmp/bottle-launch-spec.")
   -- Two levels that do not exist yet: launch must make them.
   root = tmp .. "/state/claude-bottle"
end)

after_each(function()
   assert(core.rmtree(tmp))
end)

-- A launch with everything injected; returns the fake, the options and the
-- collected log and progress output.
local function setup(fake_opts, extra)
   local fake = R.new(fake_opts)
   local out, logged = buffer(), {}
   local opts = {
      backend = fake, stage_root = root, progress = progress.new(out, fake_clock()),
      log = function(line) logged[#logged + 1] = line end,
      secrets = { API_TOKEN = "s3cret-value" },
      literals = { { name = "MODE", value = "dev" } },
      signal_pending = function() return nil end,
      signal_clear = function() end,
      signal_hold = function() return nil end,
   }
   for k, v in pairs(extra or {}) do opts[k] = v end
   return fake, opts, out, logged
end

local function up_step_name(fail_at) return (fail_at:gsub("^up:", "")) end

describe("teardown", function()
   it("runs entries newest first, once", function()
      local t, ran = teardown.new(), {}
      for _, l in ipairs({ "a", "b", "c" }) do t:push(l, function() ran[#ran + 1] = l; return true end) end
      assert.same({ "a", "b", "c" }, t:labels())
      assert.same({ true }, { t:run() })
      assert.same({ "c", "b", "a" }, ran)
      assert.same({ true }, { t:run() })
      assert.same({ "c", "b", "a" }, ran)
      assert.same({}, t:labels())
   end)

   it("keeps going past failures and raises, and reports them all", function()
      local t, ran, logged = teardown.new(), {}, {}
      t:push("stage dir", function() ran[#ran + 1] = "stage dir"; return true end)
      t:push("networks", function() ran[#ran + 1] = "networks"; return nil, "network in use" end)
      t:push("pipelock", function() ran[#ran + 1] = "pipelock"; error("bang", 0) end)
      t:push("agent", function() ran[#ran + 1] = "agent"; return false end)
      assert.same({ nil, "teardown: agent: failed without a message; pipelock: bang; networks: network in use",
                    "teardown" }, { t:run(function(l) logged[#logged + 1] = l end) })
      assert.same({ "agent", "pipelock", "networks", "stage dir" }, ran)
      assert.same({ "removing agent", "could not remove agent: failed without a message",
                    "removing pipelock", "could not remove pipelock: bang",
                    "removing networks", "could not remove networks: network in use",
                    "removing stage dir" }, logged)
      assert.same({ true }, { t:run() })
      assert.equal(4, #ran)
   end)

   it("raises on misuse", function()
      local t = teardown.new()
      assert.has_error(function() t:push("", function() end) end, "teardown:push: label must be a non-empty string")
      assert.has_error(function() t:push("x", "rm -rf") end, "teardown:push: fn must be a function (label x)")
      assert.has_error(function() t:run("log") end, "teardown:run: log must be a function or nil")
   end)
end)

describe("progress", function()
   it("times a step, writes one line and returns every result", function()
      local out = buffer()
      local p = progress.new(out, fake_clock())
      assert.same(table.pack(1, nil, "x"), table.pack(p("networks", function(a, b) return a, nil, b end, 1, "x")))
      assert.same({ "claude-bottle: step networks ... ok 0.25s" }, out:lines())
   end)

   it("names the step in a failure and keeps the code", function()
      local out = buffer()
      local p = progress.new(out, fake_clock())
      assert.same({ nil, "pipelock: not healthy after 30s", "unhealthy" },
                  { p("pipelock", function() return nil, "not healthy after 30s", "unhealthy" end) })
      assert.same({ nil, "ca: failed without a message" }, { p("ca", function() return nil end) })
      assert.same({ "claude-bottle: step pipelock ... FAILED 0.25s", "claude-bottle: step ca ... FAILED 0.25s" },
                  out:lines())
   end)

   it("reports a raised error as FAILED and raises it again unchanged", function()
      local out = buffer()
      local p = progress.new(out, fake_clock())
      local err = {}
      local ok, got = pcall(p, "agent", function() error(err) end)
      assert.is_false(ok)
      assert.equal(err, got)
      assert.same({ "claude-bottle: step agent ... FAILED 0.25s" }, out:lines())
   end)

   it("uses core.monotonic by default and raises on misuse", function()
      local out = buffer()
      local p = progress.new(out)
      assert.equal(7, p("x", function() return 7 end))
      assert.matches("^claude%-bottle: step x %.%.%. ok %d+%.%d%ds$", out:lines()[1])
      assert.has_error(function() p("", function() end) end, "progress: step name must be a non-empty string")
      assert.has_error(function() p("x", nil) end, "progress: step x: fn must be a function")
      assert.has_error(function() progress.new(out, 5) end, "progress.new: clock must be a function")
   end)
end)

describe("backend", function()
   it("refuses an unknown name as bad usage", function()
      assert.same({ nil, 'unknown backend "podman" (known: docker, kubernetes)', "usage" }, { backends.new("podman") })
      assert.same({ nil, 'unknown backend "../../x" (known: docker, kubernetes)', "usage" }, { backends.new("../../x") })
   end)

   it("makes docker backend instances, each with the whole interface and a state of its own", function()
      local a, b = backends.new("docker"), backends.new("docker", { images = { agent = "x:1" } })
      for _, fn in ipairs(backends.INTERFACE) do assert.is_function(a[fn], fn) end
      assert.are_not.equal(a, b)
      assert.are.equal("x:1", b.images.agent)
      assert.is_nil(a.images.agent)
   end)

   it("checks any module against the interface", function()
      local fake = R.new()
      assert.equal(fake, backends.check(fake, "fake"))
      fake.attach, fake.logs = nil, "no"
      assert.has_error(function() backends.check(fake, "kubernetes") end,
         'backend "kubernetes": missing interface function(s): attach, logs (see docs/backends.md)')
      assert.has_error(function() backends.check(nil, "x") end, 'backend "x": expected a backend instance, got nil')
   end)
end)

describe("launch.stage_root", function()
   local function env(t) return function(k) return t[k] end end
   it("follows XDG_STATE_HOME, then HOME", function()
      assert.equal("/x/state/claude-bottle", launch.stage_root(env { XDG_STATE_HOME = "/x/state/", HOME = "/h" }))
      assert.equal("/h/.local/state/claude-bottle", launch.stage_root(env { XDG_STATE_HOME = "rel", HOME = "/h" }))
      assert.same({ nil, "no place for stage directories: neither XDG_STATE_HOME nor HOME is an absolute path; set HOME",
                    "usage" }, { launch.stage_root(env {}) })
   end)
end)

describe("launch.up", function()
   it("brings everything up, runs the session, then removes it all in reverse order", function()
      local fake, opts, out, logged = setup({ exit_status = 3 })
      local res = launch.up(make_plan(), opts)
      local dir = root .. "/" .. SLUG
      assert.same({ slug = SLUG, stage_dir = dir, detached = false, status = 3 }, res)
      assert.same({ "prepare", "up", "provision", "attach" }, fake.call_names())
      -- What the backend pushed, after launch's stage dir: creation order.
      assert.same({ "stage dir", "networks", "pipelock", "git-gate", "agent" }, fake.labels_at_attach)
      -- What teardown ran: the reverse, stage dir last.
      assert.same({ "removing agent", "removing git-gate", "removing pipelock", "removing networks",
                    "removing stage dir" }, logged)
      for _, r in ipairs(fake.removals) do assert.is_true(r.stage_present, r.label) end
      local removes = {}
      for _, e in ipairs(fake.events) do if e:match("^remove") then removes[#removes + 1] = e end end
      assert.same({ "remove claude-bottle-ca-" .. SLUG, -- the throwaway tls-init container, inside its step
                    "remove claude-bottle-" .. SLUG, "remove claude-bottle-git-gate-" .. SLUG,
                    "remove claude-bottle-pipelock-" .. SLUG, "remove claude-bottle-egress-" .. SLUG,
                    "remove claude-bottle-net-" .. SLUG }, removes)
      assert.equal(0, fake.count())
      assert.is_false(exists(dir))
      assert.same({ "claude-bottle: step prepare ... ok 0.25s", "claude-bottle: step networks ... ok 0.25s",
                    "claude-bottle: step ca ... ok 0.25s", "claude-bottle: step pipelock ... ok 0.25s",
                    "claude-bottle: step git-gate ... ok 0.25s", "claude-bottle: step agent ... ok 0.25s",
                    "claude-bottle: step provision ... ok 0.25s" }, out:lines())
   end)

   it("hands the backend a 0700 stage dir, the literals and the secrets in memory, and what prepare found", function()
      local seen = {}
      local fake, opts = setup({
         after_step = function(step)
            if step ~= "prepare" then return end
            seen.dir = core.stat(root .. "/" .. SLUG)
            seen.root = core.stat(root)
         end,
      })
      assert.truthy(launch.up(make_plan(), opts))
      assert.equal("dir", seen.dir.type)
      assert.equal(tonumber("700", 8), seen.dir.mode)
      assert.equal(tonumber("700", 8), seen.root.mode)
      assert.same({ { name = "MODE", value = "dev" } }, fake.literals_at_attach)
      local state = fake.state
      assert.same({ dir = root .. "/" .. SLUG }, state.stage)
      assert.same({ API_TOKEN = "s3cret-value" }, state.secrets)
      assert.is_false(state.detach)
      -- prepare's finding is in the state; the plan still says what was asked
      assert.equal("runc", state.runtime)
      assert.equal("auto", state.plan.runtime)
   end)

   it("skips the git gate when the plan has none", function()
      local fake, opts, _, logged = setup()
      assert.truthy(launch.up(make_plan(SLUG, false), opts))
      assert.same({ "stage dir", "networks", "pipelock", "agent" }, fake.labels_at_attach)
      assert.same({ "removing agent", "removing pipelock", "removing networks", "removing stage dir" }, logged)
   end)

   for _, fail_at in ipairs(R.FAIL_STEPS) do
      local step = up_step_name(fail_at)

      it("a failure at " .. fail_at .. " leaves nothing behind and names the step", function()
         local fake, opts, out = setup({ fail_at = fail_at, message = "engine says no (409)", code = "conflict" })
         assert.same({ nil, step .. ": engine says no (409)", "conflict" }, { launch.up(make_plan(), opts) })
         assert.equal(0, fake.count())
         assert.is_false(exists(root .. "/" .. SLUG))
         if fail_at ~= "attach" then
            local lines = out:lines()
            assert.equal("claude-bottle: step " .. step .. " ... FAILED 0.25s", lines[#lines])
         end
      end)

      it("a Lua error raised at " .. fail_at .. " is contained and still leaves nothing behind", function()
         local fake, opts = setup({ fail_at = fail_at, raise = true })
         local res, msg, code = launch.up(make_plan(), opts)
         assert.is_nil(res)
         assert.matches("^backend error in " .. lit(step) .. ": .*fake engine exploded in " .. lit(fail_at) .. "$",
                        msg)
         assert.equal("backend_error", code)
         assert.equal(0, fake.count())
         assert.is_false(exists(root .. "/" .. SLUG))
      end)
   end

   it("stops at the failed step: nothing after it is called", function()
      local fake, opts = setup({ fail_at = "up:pipelock" })
      launch.up(make_plan(), opts)
      assert.same({ "prepare", "up" }, fake.call_names())
      local created = {}
      for _, e in ipairs(fake.events) do
         local name = e:match("^create %a+ (.*)$")
         if name then created[#created + 1] = name end
      end
      assert.same({ "claude-bottle-net-" .. SLUG, "claude-bottle-egress-" .. SLUG, "claude-bottle-ca-" .. SLUG,
                    "claude-bottle-pipelock-" .. SLUG }, created)
   end)

   it("appends teardown errors to the step's error and still removes the rest", function()
      local fake, opts = setup({ fail_at = "provision", teardown_fail = { pipelock = true } })
      assert.same({ nil, "provision: fake engine refused provision; teardown: pipelock: fake engine cannot remove "
                    .. "pipelock (run `bottle cleanup` to find and remove what is left)", "fake_refused" },
                  { launch.up(make_plan(), opts) })
      assert.same({ ["claude-bottle-pipelock-" .. SLUG] = { kind = "container", slug = SLUG, role = "pipelock" } },
                  fake.resources)
      assert.is_false(exists(root .. "/" .. SLUG))
   end)

   it("reports a teardown failure after the session", function()
      local fake, opts = setup({ teardown_fail = { agent = true } })
      assert.same({ nil, "teardown: agent: fake engine cannot remove agent "
                    .. "(run `bottle cleanup` to find and remove what is left)", "teardown" },
                  { launch.up(make_plan(), opts) })
      assert.equal(1, fake.count())
      assert.is_false(exists(root .. "/" .. SLUG))
   end)

   it("refuses a stage dir that exists and leaves it alone", function()
      local fake, opts = setup()
      local dir = root .. "/" .. SLUG
      assert(core.mkdir(tmp .. "/state", tonumber("700", 8)))
      assert(core.mkdir(root, tonumber("700", 8)))
      assert(core.mkdir(dir, tonumber("700", 8)))
      assert(core.write_file(dir .. "/marker", "x", tonumber("600", 8)))
      assert.same({ nil, ("stage: %s already exists: bottle %s is running or was left behind (`bottle down %s`)")
                    :format(dir, SLUG, SLUG), "exists" }, { launch.up(make_plan(), opts) })
      assert.is_true(exists(dir .. "/marker"))
      assert.same({}, fake.call_names())
   end)

   it("raises on misuse, removing the stage dir first", function()
      local _, opts = setup()
      assert.has_error(function() launch.up(make_plan("../etc"), opts) end, 'launch.up: plan.slug "../etc" is not a slug')
      assert.has_error(function() launch.up(make_plan(), { stage_root = root }) end,
         'backend "opts.backend": expected a backend instance, got nil')
      assert.is_false(exists(root .. "/" .. SLUG))
   end)

   it("with detach, leaves the bottle and its stage dir for `down`", function()
      local fake, opts, _, logged = setup(nil, { detach = true })
      local dir = root .. "/" .. SLUG
      assert.same({ slug = SLUG, stage_dir = dir, detached = true }, launch.up(make_plan(), opts))
      assert.same({ "prepare", "up", "provision" }, fake.call_names())
      assert.equal(5, fake.count())
      assert.is_true(exists(dir .. "/ca-key.pem"))
      assert.same({}, logged)

      assert.same({ slugs = { SLUG }, stage_dirs = { dir } }, launch.down({ slug = SLUG }, opts))
      assert.equal(0, fake.count())
      assert.is_false(exists(dir))
      assert.same({ nil, 'down: no bottle "' .. SLUG .. '" (see `bottle list`)', "not_found" },
                  { launch.down({ slug = SLUG }, opts) })
   end)
end)

describe("launch.up interrupted", function()
   -- `pending` plays core.signal_pending(); the fake sets it at a chosen
   -- point, as a SIGINT arriving there would.
   local function interrupted_at(point, signal)
      local pending
      local fake
      local hook = function(step) if step == point then pending = signal or "SIGINT" end end
      local _, opts = setup(nil)
      fake = R.new({ after_step = hook })
      opts.backend = fake
      opts.signal_pending = function() return pending end
      opts.signal_clear = function()
         fake.events[#fake.events + 1] = "signal cleared"
         pending = nil
      end
      return fake, opts
   end

   local function assert_nothing_left(fake)
      assert.equal(0, fake.count())
      assert.is_false(exists(root .. "/" .. SLUG))
      -- The removals ran after the signal was cleared, so core.http would not abort them.
      local cleared, removals = false, 0
      for _, e in ipairs(fake.events) do
         if e == "signal cleared" then cleared = true end
         -- (the throwaway CA container removes itself inside its step)
         if e:match("^remove ") and not e:match("^remove " .. lit("claude-bottle-ca-")) then
            removals = removals + 1
            assert.is_true(cleared, e)
         end
      end
      assert.is_true(cleared)
      return removals
   end

   it("before anything: creates nothing", function()
      local fake, opts = interrupted_at(nil)
      opts.signal_pending = function() return "SIGTERM" end
      assert.same({ nil, "interrupted by SIGTERM", "interrupted" }, { launch.up(make_plan(), opts) })
      assert.same({}, fake.call_names())
      assert.is_false(exists(root .. "/" .. SLUG))
   end)

   local cases = {
      -- where, the calls made, how many resources teardown removed
      { "prepare", { "prepare" }, 0 },
      { "up:networks", { "prepare", "up" }, 2 },
      { "up:pipelock", { "prepare", "up" }, 3 },
      { "up:agent", { "prepare", "up" }, 5 },
      { "provision", { "prepare", "up", "provision" }, 5 },
   }
   for _, c in ipairs(cases) do
      it("after " .. c[1] .. ": stops there and removes everything", function()
         local fake, opts = interrupted_at(c[1])
         assert.same({ nil, "interrupted by SIGINT", "interrupted" }, { launch.up(make_plan(), opts) })
         assert.same(c[2], fake.call_names())
         assert.equal(c[3], assert_nothing_left(fake))
      end)
   end

   it("between sub-steps of up: the next sub-step never starts", function()
      local _, opts = interrupted_at("up:networks")
      local out = buffer()
      opts.progress = progress.new(out, fake_clock())
      launch.up(make_plan(), opts)
      assert.same({ "claude-bottle: step prepare ... ok 0.25s", "claude-bottle: step networks ... ok 0.25s" },
                  out:lines())
   end)

   it("inside a step, when the engine call returns code interrupted", function()
      local pending
      local fake, opts = setup({ fail_at = "up:pipelock", message = "transfer aborted", code = "interrupted",
                                 in_step = function(step) if step == "up:pipelock" then pending = "SIGTERM" end end })
      opts.signal_pending = function() return pending end
      opts.signal_clear = function() pending = nil end
      assert.same({ nil, "interrupted by SIGTERM", "interrupted" }, { launch.up(make_plan(), opts) })
      assert.equal(0, fake.count())
      assert.is_false(exists(root .. "/" .. SLUG))
   end)
end)

describe("launch.up: a signal during the attached session", function()
   -- A fake of csrc/sys.c's signal state: `pending` is what core.http and
   -- core.spawn see; while held, a signal is noted aside instead.
   local function signals(fake_events)
      local sig = { pending = nil, held = false, noted = nil }
      function sig.send(name)
         if sig.held then sig.noted = name else sig.pending = name end
      end
      sig.opts = {
         signal_pending = function() return sig.pending end,
         signal_clear = function() sig.pending = nil end,
         signal_hold = function(on)
            fake_events[#fake_events + 1] = on and "hold" or "release"
            sig.held = on
            local noted = not on and sig.noted or nil
            sig.noted = nil
            return noted
         end,
      }
      return sig
   end

   -- Each removal fails while a signal is pending, as core.http's would, and
   -- the first one receives a second signal (the user pressing ^C again).
   local function run_case(first, second)
      local events, sig = {}, nil
      local seconds = 0
      local fake, opts, _, logged = setup({
         fail_at = "attach", message = "interrupted by " .. first, code = "interrupted",
         in_step = function(step) if step == "attach" then sig.send(first) end end,
         on_remove = function(label)
            if seconds == 0 then seconds = 1; sig.send(second) end
            if sig.pending then return nil, "aborted by a pending " .. sig.pending .. " (" .. label .. ")" end
            return true
         end,
      })
      fake.events = events
      sig = signals(events)
      for k, v in pairs(sig.opts) do opts[k] = v end
      local res = { launch.up(make_plan(), opts) }
      return fake, res, events, logged
   end

   for _, c in ipairs({ { "SIGTERM", "SIGINT" }, { "SIGINT", "SIGINT" }, { "SIGINT", "SIGTERM" } }) do
      it(c[1] .. " tears down at once and a second " .. c[2] .. " does not stop the teardown", function()
         local fake, res, events, logged = run_case(c[1], c[2])
         assert.same({ nil, "interrupted by " .. c[1], "interrupted" }, res)
         assert.same({ "prepare", "up", "provision", "attach" }, fake.call_names())
         assert.equal(0, fake.count())
         assert.is_false(exists(root .. "/" .. SLUG))
         -- every removal ran inside the hold
         local held, removals = false, 0
         for _, e in ipairs(events) do
            if e == "hold" then held = true elseif e == "release" then held = false end
            if e:match("^remove ") and not e:match("^remove " .. lit("claude-bottle-ca-")) then
               removals = removals + 1
               assert.is_true(held, e)
            end
         end
         assert.equal(5, removals)
         assert.equal("release", events[#events])
         assert.is_truthy(table.concat(logged, "\n"):find(c[2] .. " during the teardown: the teardown went on to the end", 1, true))
      end)
   end

   it("a session that ends while a signal is pending counts as interrupted", function()
      local events = {}
      local sig
      local fake, opts = setup({ in_step = function(step) if step == "attach" then sig.send("SIGINT") end end,
                                 exit_status = 130 })
      fake.events = events
      sig = signals(events)
      for k, v in pairs(sig.opts) do opts[k] = v end
      assert.same({ nil, "interrupted by SIGINT", "interrupted" }, { launch.up(make_plan(), opts) })
      assert.equal(0, fake.count())
   end)

   it("the teardown after a session's normal end is held too", function()
      local events = {}
      local fake, opts = setup({ exit_status = 3 })
      fake.events = events
      local sig = signals(events)
      for k, v in pairs(sig.opts) do opts[k] = v end
      local res = assert(launch.up(make_plan(), opts))
      assert.equal(3, res.status)
      assert.equal(0, fake.count())
      local first_remove
      for i, e in ipairs(events) do
         -- (the throwaway CA container removes itself inside its step)
         if e:match("^remove ") and not e:match("^remove " .. lit("claude-bottle-ca-")) and not first_remove then
            first_remove = i
         end
      end
      local hold_at
      for i, e in ipairs(events) do if e == "hold" then hold_at = i end end
      assert.is_truthy(hold_at and first_remove and hold_at < first_remove, table.concat(events, ", "))
   end)
end)

describe("launch.prepare", function()
   it("runs the backend's checks alone, creating nothing", function()
      local fake, opts, out = setup()
      local plan = make_plan()
      assert.same({ runtime = "runc" }, launch.prepare(plan, opts))
      assert.equal("auto", plan.runtime)
      assert.same({ "prepare" }, fake.call_names())
      assert.is_false(exists(root))
      assert.same({ "claude-bottle: step prepare ... ok 0.25s" }, out:lines())
   end)

   it("names the step in a failure", function()
      local _, opts = setup({ fail_at = "prepare", message = "image claude-bottle:latest not found", code = "no_image" })
      assert.same({ nil, "prepare: image claude-bottle:latest not found", "no_image" },
                  { launch.prepare(make_plan(), opts) })
   end)
end)

describe("launch.down, list, cleanup, doctor, logs", function()
   local A, B, C = "claude-aaaaaa", "claude-bbbbbb", "claude-cccccc"

   local function detached(fake, opts, slug)
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.detach, o.backend = true, fake
      assert.truthy(launch.up(make_plan(slug), o))
   end

   it("refuses a target that is not a slug before asking the backend", function()
      local fake, opts = setup()
      assert.same({ nil, '"../etc" is not a bottle slug (lowercase letters, digits and hyphens; see `bottle list`)',
                    "usage" }, { launch.down({ slug = "../etc" }, opts) })
      assert.same({}, fake.call_names())
      assert.has_error(function() launch.down({}, opts) end,
         "launch.down: target must be {slug = SLUG} or {all = true}")
   end)

   it("down never removes a directory for a slug the backend got wrong", function()
      local fake, opts = setup()
      detached(fake, opts, A)
      local escape = tmp .. "/state/escape"
      assert(core.mkdir(escape, tonumber("700", 8)))
      fake.down = function() return { "../escape", A } end
      assert.same({ slugs = { A }, stage_dirs = { root .. "/" .. A } }, launch.down({ slug = A }, opts))
      assert.is_true(exists(escape))
   end)

   it("down --all removes every bottle and their stage dirs", function()
      local fake, opts = setup()
      detached(fake, opts, A)
      detached(fake, opts, B)
      assert.equal(10, fake.count())
      assert.same({ slugs = { A, B }, stage_dirs = { root .. "/" .. A, root .. "/" .. B } },
                  launch.down({ all = true }, opts))
      assert.equal(0, fake.count())
      assert.is_false(exists(root .. "/" .. A))
      assert.is_false(exists(root .. "/" .. B))
   end)

   it("down keeps the stage dir when the backend fails", function()
      local fake, opts = setup()
      detached(fake, opts, A)
      local broken = R.new({ fail_at = "down", message = "engine unreachable", code = "COULDNT_CONNECT" })
      opts.backend = broken
      assert.same({ nil, "down: engine unreachable", "COULDNT_CONNECT" }, { launch.down({ slug = A }, opts) })
      assert.is_true(exists(root .. "/" .. A))
   end)

   it("list passes the backend's answer through and contains its errors", function()
      local fake, opts = setup()
      detached(fake, opts, A)
      local l = launch.list(opts)
      assert.equal(1, #l)
      assert.equal(A, l[1].slug)
      assert.equal("running", l[1].state)
      opts.backend = R.new({ fail_at = "list", raise = true })
      local res, msg, code = launch.list(opts)
      assert.is_nil(res)
      assert.matches("^backend error in list: .*fake engine exploded in list$", msg)
      assert.equal("backend_error", code)
   end)

   it("cleanup finds leftovers and orphaned stage dirs, and removes them only with apply", function()
      local fake, opts = setup()
      detached(fake, opts, A)          -- a running bottle: not touched
      detached(fake, opts, B)
      fake.resources["claude-bottle-" .. B] = nil   -- B's agent is gone: its rest is left over
      assert(core.mkdir(root .. "/" .. C, tonumber("700", 8)))  -- C: a stage dir with no resources
      assert(core.mkdir(root .. "/Not_Ours", tonumber("700", 8)))
      assert(core.write_file(root .. "/notes", "", tonumber("600", 8)))

      local report = launch.cleanup(opts)
      assert.same({ root .. "/" .. B, root .. "/" .. C }, report.stage_dirs)
      assert.equal(2, #report.networks)
      assert.equal(2, #report.containers) -- B's pipelock and git gate
      assert.is_true(exists(root .. "/" .. B))
      assert.is_true(exists(root .. "/" .. C))
      local before = fake.count()

      report = launch.cleanup({ backend = fake, stage_root = root, apply = true })
      assert.same({ root .. "/" .. B, root .. "/" .. C }, report.stage_dirs)
      assert.is_false(exists(root .. "/" .. B))
      assert.is_false(exists(root .. "/" .. C))
      assert.is_true(exists(root .. "/" .. A .. "/ca-key.pem"))
      assert.is_true(exists(root .. "/Not_Ours"))
      assert.is_true(exists(root .. "/notes"))
      assert.equal(5, fake.count())
      assert.is_true(before > 5)
      for _, r in pairs(fake.resources) do assert.equal(A, r.slug) end
   end)

   it("marks a finished launch, and tells cleanup which launches never finished", function()
      local fake, opts = setup()
      detached(fake, opts, A)                                   -- finished: marked
      assert.is_true(exists(root .. "/" .. A .. "/" .. launch.LAUNCHED_MARK))
      assert(core.mkdir(root .. "/" .. B, tonumber("700", 8)))  -- killed half way: no mark
      launch.cleanup(opts)
      local seen
      for _, call in ipairs(fake.calls) do
         if call.name == "cleanup" then seen = call.args[1] end
      end
      assert.same({ [B] = true }, seen.unfinished)
   end)

   it("looks again after removing, for what an in-flight create made", function()
      local fake, opts = setup()
      detached(fake, opts, B)
      fake.resources["claude-bottle-" .. B] = nil   -- a leftover
      local passes, real = 0, fake.cleanup
      fake.cleanup = function(self, copts)
         passes = passes + 1
         -- the engine finishes a create after the first listing
         if passes == 2 then fake.resources["late-network"] = { slug = B, kind = "network", role = "network-egress" } end
         return real(self, copts)
      end
      launch.cleanup({ backend = fake, stage_root = root, apply = true })
      assert.equal(3, passes)
      assert.equal(0, fake.count())
   end)

   it("doctor adds the stage directory check to the backend's", function()
      local _, opts = setup()
      assert.same({ { check = "fake engine reachable", ok = true, detail = "recording backend" },
                    { check = "stage directory", ok = true, detail = root .. " (created at the first launch)" } },
                  launch.doctor(opts))
      assert(core.mkdir(tmp .. "/state", tonumber("700", 8)))
      assert(core.mkdir(root, tonumber("700", 8)))
      assert.same({ check = "stage directory", ok = true, detail = root }, launch.doctor(opts)[2])
   end)

   it("logs checks the slug and hands the backend its options, not the backend", function()
      local fake, opts = setup()
      local lines = {}
      opts.on_line = function(l) lines[#lines + 1] = l end
      opts.follow = true
      assert.is_true(launch.logs(A, opts))
      assert.same({ '{"slug":"' .. A .. '","decision":"allow"}' }, lines)
      local passed = fake.calls[1].args[2]
      assert.is_nil(passed.backend)
      assert.is_true(passed.follow)
      assert.same({ nil, '"A B" is not a bottle slug (lowercase letters, digits and hyphens; see `bottle list`)',
                    "usage" }, { launch.logs("A B", opts) })
   end)
end)
