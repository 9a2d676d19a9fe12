-- Faults: what a launch leaves behind when it is killed or refused.
--
--   lua5.4 reliability/faults.lua [--runs 50] [--only PHASE[,PHASE]] [--seed N]
--                                 [--settle SECONDS] [--kill-after-step STEP]
--                                 [--kill-when-running ROLE]
--
-- Phases (all by default):
--   timing      three full `up --detach` and `down` runs: the typical durations
--   kill-up     `bottle up --detach --yes` SIGKILLed after a random delay in
--               [0, typical up time], then `bottle cleanup --yes`
--   kill-down   a bottle up, `bottle down SLUG` SIGKILLed after a random delay
--               in [0, typical down time], then `bottle cleanup --yes` (and,
--               when the bottle was left whole, `bottle down` again)
--   disk        the stage directory on a full tmpfs (nothing fits; one page fits)
--   refusals    the engine refuses: a missing image, an image that is not
--               pipelock, a container or network name taken (before and after
--               the checks), no address pool left for the networks
--   engine      no engine at DOCKER_HOST: up, list, down, cleanup, doctor
-- --settle (default 2): seconds between the kill and `cleanup`, for the
-- engine to finish the requests the killed launcher had in flight (a create
-- the engine completes after an immediate cleanup listed is found by the next
-- cleanup; with --settle 0 that shows up as a leftover).
-- --kill-after-step STEP: kill-up kills as soon as the launcher reports STEP
-- done (e.g. `agent`: during the pipelock step) instead of at a random time;
-- --kill-when-running ROLE: as soon as the engine says that container
-- (`pipelock`, `agent`) runs.
-- After each run the leftovers are counted: containers and networks labelled
-- with this script's agent name, and directories under the stage root.  Any
-- leftover is listed (with the last step the launcher finished), removed by
-- label so the next run starts clean, and makes the script exit 1.
local R = dofile(((arg and arg[0] or ""):match("^(.*)/[^/]+$") or ".") .. "/common.lua")
local core, E = R.core, R.E

local AGENT = "relfault"
local opts = R.options(arg, { runs = 50, only = "timing,kill-up,kill-down,disk,refusals,engine", seed = os.time(),
                             settle = 2, kill_after_step = "", kill_when_running = "" })
local phases = {}
for p in opts.only:gmatch("[^,]+") do phases[p] = true end
math.randomseed(opts.seed)
R.require_engine()

local w = R.workdir(AGENT)
local results = {}          -- phase -> {runs, leftovers, notes = {}}
local failures = 0

local function record(phase, left, note)
   local r = results[phase] or { runs = 0, leftovers = 0, notes = {} }
   results[phase] = r
   r.runs = r.runs + 1
   if left and left.total > 0 then
      r.leftovers = r.leftovers + 1
      failures = failures + 1
      r.notes[#r.notes + 1] = (note or "") .. ": " .. table.concat(left.names, ", ")
      R.say("LEFTOVER %s %s: %s", phase, note or "", table.concat(left.names, ", "))
      R.force_clean(AGENT, w.stage_root)
   end
end

local function cleanup_cli()
   local r = R.bottle(w, { "cleanup", "--yes" })
   if r.status ~= 0 then R.say("cleanup --yes exited %s: %s", tostring(r.status), r.stderr) end
   return r
end

local function slug_of(stdout) return (stdout or ""):match("([%w-]+)%s*$") end

---------------------------------------------------------------------------
local T_up, T_down = 2.5, 1.0

local function timing()
   local ups, downs = {}, {}
   for i = 1, 3 do
      local r = R.bottle(w, R.up_args(w))
      assert(r.status == 0, "up failed: " .. r.stderr)
      ups[i] = r.seconds
      local d = R.bottle(w, { "down", slug_of(r.stdout) })
      assert(d.status == 0, "down failed: " .. d.stderr)
      downs[i] = d.seconds
   end
   T_up, T_down = R.median(ups), R.median(downs)
   R.say("typical up %.2fs, down %.2fs", T_up, T_down)
   results.timing = { runs = 3, leftovers = 0, notes = { ("up median %.2fs, down median %.2fs"):format(T_up, T_down) } }
   record("timing", R.leftovers(AGENT, w.stage_root), "after up+down")
   results.timing.runs = 3
end

-- Kills `bottle ARGS` after `delay` seconds → what it printed, whether it
-- had already finished.
local function role_running(role)
   local list = E.api():container_list { label = { "claude-bottle.agent=" .. AGENT, "claude-bottle.role=" .. role },
                                         status = { "running" } }
   return list and #list > 0
end

local function kill_after(args, delay, after_step, when_running)
   local p = R.bottle_bg(w, args)
   if when_running then
      local deadline = core.monotonic() + 60
      while R.running(p.pid) and core.monotonic() < deadline and not role_running(when_running) do
         core.sleep(0.01)
      end
   elseif after_step then
      local deadline = core.monotonic() + 60
      while R.running(p.pid) and core.monotonic() < deadline
            and not (R.read(p.stderr) or ""):find("step " .. after_step .. " ... ok", 1, true) do
         core.sleep(0.005)
      end
   else
      core.sleep(delay)
   end
   local finished = not R.running(p.pid)
   os.execute("kill -KILL " .. p.pid .. " 2>/dev/null")
   R.wait_gone(p.pid)
   core.sleep(opts.settle)
   local out, err = R.read(p.stdout) or "", R.read(p.stderr) or ""
   os.remove(p.stdout)
   os.remove(p.stderr)
   return out, err, finished
end

local function kill_up()
   local steps, finished_count = {}, 0
   for i = 1, opts.runs do
      local delay = math.random() * T_up
      local after_step = opts.kill_after_step ~= "" and opts.kill_after_step or nil
      local when_running = opts.kill_when_running ~= "" and opts.kill_when_running or nil
      local out, err, finished = kill_after(R.up_args(w), delay, after_step, when_running)
      if after_step or when_running then delay = 0 end
      local step = R.last_step(err)
      steps[step] = (steps[step] or 0) + 1
      local slug = slug_of(out)
      if finished and slug then
         -- up was done before the kill: a running bottle, not a leftover.
         finished_count = finished_count + 1
         R.bottle(w, { "down", slug })
      end
      cleanup_cli()
      record("kill-up", R.leftovers(AGENT, w.stage_root), ("run %d, kill at %.2fs, last step %s"):format(i, delay, step))
   end
   local spread = {}
   for s, n in pairs(steps) do spread[#spread + 1] = s .. " ×" .. n end
   table.sort(spread)
   local r = results["kill-up"]
   table.insert(r.notes, 1, ("killed after: %s; finished before the kill: %d"):format(table.concat(spread, ", "),
                                                                                  finished_count))
end

local function kill_down()
   local whole, partial = 0, 0
   if not results.timing then R.say("(typical down time not measured: using %.2fs)", T_down) end
   for i = 1, opts.runs do
      local up = R.bottle(w, R.up_args(w))
      assert(up.status == 0, "up failed: " .. up.stderr)
      local slug = slug_of(up.stdout)
      local delay = math.random() * T_down
      kill_after({ "down", slug }, delay)
      local before = R.leftovers(AGENT, nil)
      cleanup_cli()
      local after = R.leftovers(AGENT, w.stage_root)
      if after.containers == 2 and after.networks == 2 then
         -- Killed before it removed anything: the bottle is whole and
         -- running (not a leftover); `down` again must remove it.
         whole = whole + 1
         local d = R.bottle(w, { "down", slug })
         if d.status ~= 0 then R.say("second down failed: %s", d.stderr) end
         after = R.leftovers(AGENT, w.stage_root)
      elseif before.containers + before.networks > 0 then
         partial = partial + 1
      end
      record("kill-down", after, ("run %d, kill at %.2fs"):format(i, delay))
   end
   table.insert(results["kill-down"].notes, 1,
      ("left whole (then removed by a second down): %d; partly removed (then by cleanup): %d"):format(whole, partial))
end

---------------------------------------------------------------------------
-- The stage directory's disk full: a small tmpfs as XDG_STATE_HOME.

local function disk()
   local mnt = w.dir .. "/tiny"
   assert(core.mkdir(mnt))
   local out, status = R.sh("mount -t tmpfs -o size=64k,mode=700 tmpfs " .. R.q(mnt))
   if status ~= 0 then
      results.disk = { runs = 0, leftovers = 0, notes = { "skipped: cannot mount a tmpfs: " .. out } }
      return
   end
   local state = mnt
   local stage_root = state .. "/claude-bottle"
   local function fill(leave_pages)
      os.remove(mnt .. "/fill")
      R.sh("dd if=/dev/zero of=" .. R.q(mnt .. "/fill") .. " bs=4096 2>/dev/null")
      if leave_pages > 0 then
         local size = core.stat(mnt .. "/fill").size
         R.sh(("truncate -s %d %s"):format(math.max(0, size - leave_pages * 4096), R.q(mnt .. "/fill")))
      end
   end
   for _, case in ipairs { { pages = 0, what = "no room at all" }, { pages = 1, what = "room for one page" } } do
      fill(case.pages)
      local r = R.bottle(w, R.up_args(w), { XDG_STATE_HOME = state })
      local msg = r.stderr:match("bottle: ([^\n]*)\n?$") or r.stderr
      R.say("disk full (%s): exit %s: %s", case.what, tostring(r.status), msg)
      local left = R.leftovers(AGENT, stage_root)
      local note = ("%s: exit %s, %q"):format(case.what, tostring(r.status), msg)
      record("disk", left, note)
      if left.total == 0 then table.insert(results.disk.notes, note) end
      if r.status == 0 then
         failures = failures + 1
         table.insert(results.disk.notes, "UNEXPECTED: up succeeded on a full disk")
         R.bottle(w, { "down", slug_of(r.stdout) }, { XDG_STATE_HOME = state })
      end
   end
   R.sh("umount " .. R.q(mnt))
end

---------------------------------------------------------------------------
-- The engine refuses.

local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")

-- A plan from the real manifest, policy and plan modules with a known slug.
local function plan_with_slug(hex)
   local manifest = require "bottle.manifest"
   local policy = require "bottle.policy"
   local planner = require "bottle.plan"
   local m = assert(manifest.load { manifest = w.manifest, env = { HOME = w.dir, cwd = w.dir } })
   local pols = assert(policy.load { w.policy })
   return assert(planner.build { manifest = m, agent = AGENT, policies = pols,
      options = { backend = "docker", cwd = w.dir, home = w.dir, env_names = core.env_names(),
                  random_hex = function() return hex end,
                  pipelock_image = E.PIPELOCK_IMAGE, agent_image = E.AGENT_IMAGE,
                  firewall_image = E.FIREWALL_IMAGE } })
end

local function launch_up(plan, backend)
   local lines = {}
   local res, msg = launch.up(plan, { backend = backend or docker, detach = true, stage_root = w.stage_root,
      literals = { { name = "MODE", value = w.literal } }, secrets = { TOKEN = "host-secret-value" },
      progress = E.progress(lines), log = function(l) lines[#lines + 1] = l end })
   if res then launch.down({ slug = plan.slug }, { backend = docker, stage_root = w.stage_root }) end
   return res, msg
end

local function refusal(name, ok, msg, squatter_alive)
   local left = R.leftovers(AGENT, w.stage_root)
   local note = ("%s: %s"):format(name, ok and "UNEXPECTED: it launched" or tostring(msg):gsub("\n.*", " ..."))
   R.say("%s", note)
   record("refusals", left, name)
   if left.total == 0 then table.insert(results.refusals.notes, note) end
   if ok or squatter_alive == false then
      failures = failures + 1
      if squatter_alive == false then table.insert(results.refusals.notes, name .. ": the squatter was removed") end
   end
end

local function refusals()
   local c = E.api()
   -- a missing image (CLI)
   local r = R.bottle(w, R.up_args(w), { BOTTLE_AGENT_IMAGE = "claude-bottle-test/no-such-image:latest" })
   refusal("missing agent image", r.status == 0, r.stderr:match("bottle: ([^\n]*)\n?$"))
   -- an image that is not pipelock (CLI): its CA container cannot start
   r = R.bottle(w, R.up_args(w), { BOTTLE_PIPELOCK_IMAGE = E.AGENT_IMAGE })
   refusal("pipelock image that is not pipelock", r.status == 0, r.stderr:match("bottle: ([^\n]*)\n?$"))

   -- names taken before the checks
   local hex = core.random_hex(3)
   local plan = plan_with_slug(hex)
   local squat = assert(c:container_create(plan.names.agent, { Image = E.AGENT_IMAGE, Labels = { [E.TEST_LABEL] = "1" } }))
   local ok, msg = launch_up(plan)
   refusal("container name taken", ok, msg, c:container_inspect(squat.Id) ~= nil)
   c:container_remove(squat.Id)

   plan = plan_with_slug(core.random_hex(3))
   local net = assert(c:network_create(E.internal_network(plan), { Driver = "bridge", Labels = { [E.TEST_LABEL] = "1" } }))
   ok, msg = launch_up(plan)
   refusal("network name taken", ok, msg, c:network_inspect(net.Id) ~= nil)
   c:network_remove(net.Id)

   -- a network name taken between the checks and the networks step
   plan = plan_with_slug(core.random_hex(3))
   local late
   local racing = setmetatable({}, { __index = docker })
   racing.prepare = function(p, state)
      local done, m, code = docker:prepare(p, state)
      if done and not late then
         late = assert(c:network_create(E.egress_network(p), { Driver = "bridge", Labels = { [E.TEST_LABEL] = "1" } }))
      end
      return done, m, code
   end
   ok, msg = launch_up(plan, racing)
   refusal("network name taken after the checks", ok, msg, late and c:network_inspect(late.Id) ~= nil)
   if late then c:network_remove(late.Id) end

   -- no address pool left: fill Docker's default pools with labelled networks
   local fillers = {}
   for i = 1, 64 do
      local n, m = c:network_create("claude-bottle-reliability-fill-" .. i,
                                    { Driver = "bridge", Labels = { [E.TEST_LABEL] = "1" } })
      if not n then
         R.say("address pools full after %d extra networks: %s", i - 1, tostring(m))
         break
      end
      fillers[#fillers + 1] = n.Id
   end
   r = R.bottle(w, R.up_args(w))
   for _, id in ipairs(fillers) do c:network_remove(id) end
   refusal("no address pool left for the networks", r.status == 0, r.stderr:match("bottle: ([^\n]*)\n?$"))
   if r.status == 0 then R.bottle(w, { "down", slug_of(r.stdout) }) end
end

---------------------------------------------------------------------------
-- No engine at all.

local function engine()
   local dead = { DOCKER_HOST = "unix://" .. w.dir .. "/no-dockerd.sock" }
   local notes = {}
   for _, args in ipairs { R.up_args(w), { "list" }, { "down", "relfault-000000" }, { "cleanup", "--yes" }, { "doctor" } } do
      local r = R.bottle(w, args, dead)
      local text = (r.stdout .. r.stderr):gsub("%s+$", "")
      local line = text:match("cannot reach[^\n]*") or text:match("FAIL[^\n]*") or text:match("[^\n]*$")
      local clear = r.status ~= 0 and (text:find("cannot reach the Docker Engine", 1, true)
                                         or text:find("engine reachable", 1, true)) ~= nil
      notes[#notes + 1] = ("%s: exit %s, %s%s"):format(args[1], tostring(r.status), line, clear and "" or " (UNCLEAR)")
      if not clear then failures = failures + 1 end
      record("engine", R.leftovers(AGENT, w.stage_root), args[1])
   end
   for _, n in ipairs(notes) do table.insert(results.engine.notes, n) end
end

---------------------------------------------------------------------------
local order = { { "timing", timing }, { "kill-up", kill_up }, { "kill-down", kill_down }, { "disk", disk },
                { "refusals", refusals }, { "engine", engine } }
local started = os.date("!%Y-%m-%dT%H:%M:%SZ")
local ok, err = pcall(function()
   for _, p in ipairs(order) do
      if phases[p[1]] then
         R.say("phase %s", p[1])
         p[2]()
      end
   end
end)
R.force_clean(AGENT, w.stage_root)
R.remove_workdir(w)

print(("# reliability/faults.lua --runs %d --seed %d (%s, %s)"):format(opts.runs, opts.seed, started, R.version()))
print("| phase | runs | runs with leftovers |")
print("|---|---|---|")
for _, p in ipairs(order) do
   local r = results[p[1]]
   if r then print(("| %s | %d | %d |"):format(p[1], r.runs, r.leftovers)) end
end
for _, p in ipairs(order) do
   local r = results[p[1]]
   if r then for _, n in ipairs(r.notes) do print(("- %s: %s"):format(p[1], n)) end end
end
if not ok then
   print("ERROR: " .. tostring(err))
   io.stderr:write(tostring(err), "\n")
   os.exit(2)
end
os.exit(failures == 0 and 0 or 1)
