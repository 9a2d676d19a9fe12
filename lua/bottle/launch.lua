-- The launch, as the steps it takes: stage directory, backend checks, bring-up,
-- the workspace's copy, provisioning, the interactive session, the
-- workspace's bring-home, teardown.  The backend does the work
-- (docs/backends.md); this module owns the order, the progress lines, the
-- rollback and the signals.  Every resource's removal is pushed on one
-- teardown stack before the resource is made, so a failure at any step, a
-- raised error inside the backend, SIGINT/SIGTERM, or the end of the session
-- all unwind the same way: agent, git gate, pipelock, networks, stage dir.
local core = require "bottle.core"
local schema = require "bottle.schema"
local teardown = require "bottle.teardown"
local progress_new = require("bottle.progress").new
local backends = require "bottle.backend"
local workspace = require "bottle.workspace"

local L = {}

local DIR_MODE = tonumber("700", 8)
local CLEANUP_HINT = " (run `bottle cleanup` to find and remove what is left)"

-- A slug becomes a path component and a label value: keep it to what
-- plan.lua makes (lowercase name, hyphens, hex), so `down ../x` is refused.
local function valid_slug(s)
   return type(s) == "string" and #s <= 63 and s:match("^[a-z0-9][a-z0-9-]*$") ~= nil
end

local function bad_slug(s)
   return nil, ("%q is not a bottle slug (lowercase letters, digits and hyphens; see `bottle list`)")
      :format(tostring(s)), "usage"
end

-- "STEP: msg", unless msg already starts with the step's name.
local function named(step, msg)
   msg = msg ~= nil and tostring(msg) or "failed without a message"
   if msg:sub(1, #step + 2) == step .. ": " then return msg end
   return step .. ": " .. msg
end

local function default_log(line)
   io.stderr:write("claude-bottle: ", require("bottle.sanitize").text(line), "\n")
end

local function check_backend(opts)
   if type(opts) ~= "table" then error("launch: opts must be a table", 3) end
   return backends.check(opts.backend, opts.backend_name or "opts.backend")
end

--- Where stage directories live: `$XDG_STATE_HOME/claude-bottle`, else
-- `$HOME/.local/state/claude-bottle`.  `getenv` defaults to os.getenv.
-- Returns the path | nil, message, "usage".
function L.stage_root(getenv)
   getenv = getenv or os.getenv
   local dir = schema.state_dir(getenv)
   if dir then return dir end
   return nil, "no place for stage directories: neither XDG_STATE_HOME nor HOME is an absolute path; set HOME",
      "usage"
end

local function resolve_stage_root(opts)
   if opts.stage_root ~= nil then
      if type(opts.stage_root) ~= "string" or opts.stage_root:sub(1, 1) ~= "/" then
         error("launch: opts.stage_root must be an absolute path", 3)
      end
      return opts.stage_root
   end
   return L.stage_root()
end

-- mkdir -p with mode 0700 for what it creates.  Existing ancestors may be
-- symlinks (a linked home directory); mkdir follows them.
local function ensure_dir(path)
   local st = core.stat(path)
   if st then
      if st.type == "dir" or st.type == "link" then return true end
      return nil, path .. " exists and is not a directory", "not_dir"
   end
   local parent = path:match("^(.+)/[^/]+$")
   if parent then
      local ok, err, code = ensure_dir(parent)
      if not ok then return nil, err, code end
   end
   local ok, err, code = core.mkdir(path, DIR_MODE)
   if not ok then
      st = core.stat(path) -- made by someone else in the meantime?
      if st and st.type == "dir" then return true end
      return nil, err, code
   end
   return true
end

-- The state of one launch: the backend's context (`state`) plus what launch
-- needs to run and unwind the steps.
local function new_run(plan, opts)
   local run = {
      plan = plan,
      backend = opts.backend,
      log = opts.log or default_log,
      progress = opts.progress or progress_new(),
      literals = opts.literals or {},
      teardown = teardown.new(),
      -- Injectable for the unit spec; the real ones are in csrc/sys.c.
      signal_pending = opts.signal_pending or core.signal_pending,
      -- Clearing the pending signal before teardown matters: core.http aborts
      -- every transfer while a signal is pending, removals included.
      signal_clear = opts.signal_clear or core.signal_clear,
      signal_hold = opts.signal_hold or core.signal_hold,
      workspace = opts.workspace, -- the files chosen for the workspace (bottle.workspace.select)
      current = nil, -- the backend step running now (to name a raised error)
      failed = nil,  -- the last backend step that returned a failure
   }
   run.state = {
      plan = plan,
      stage = nil,
      literals = run.literals,
      secrets = opts.secrets or {},
      credentials = opts.credentials or {},   -- {ROUTE = value}: the credential proxy's, in memory
      identities = opts.identities or {},
      teardown = run.teardown,
      detach = opts.detach and true or false,
      fetching = opts.fetching,   -- {image = true}: missing, about to be fetched
   }
   -- The progress function the backend sees: it refuses to start a step once
   -- a signal is pending, and remembers the step so errors can name it.
   run.step = function(step, fn, ...)
      local sig = run.signal_pending()
      if sig then return nil, "interrupted by " .. sig, "interrupted" end
      run.current = step
      local res = table.pack(run.progress(step, fn, ...))
      run.current = nil
      if not res[1] then run.failed = step end
      return table.unpack(res, 1, res.n)
   end
   return run
end

-- The backend's method `name` as a plain function (a backend is an
-- instance: every call is backend:name(...)).
local function method(backend, name)
   return function(...) return backend[name](backend, ...) end
end

-- Calls a backend function for `step`.  A raised error is contained (the
-- teardown must still run) and named after the step that was running.
local function call(run, step, fn, ...)
   run.current, run.failed = nil, nil
   local res = table.pack(pcall(fn, ...))
   if not res[1] then
      return nil, ("backend error in %s: %s"):format(run.current or step, tostring(res[2])), "backend_error"
   end
   if not res[2] then
      return nil, named(run.failed or step, res[3]), res[4]
   end
   return table.unpack(res, 2, res.n)
end

-- Runs the teardown with signals held: a second SIGINT/SIGTERM must neither
-- skip it nor abort its removals (core.http gives up while one is pending).
local function unwind(run)
   run.signal_hold(true)
   run.signal_clear()
   local ok, terr = run.teardown:run(run.log)
   local again = run.signal_hold(false)
   if again then run.log(again .. " during the teardown: the teardown went on to the end") end
   return ok, terr
end

-- Unwinds everything made so far and returns the failure, with any teardown
-- errors appended.  A pending signal (or a step that stopped because of one)
-- turns the failure into "interrupted by SIGNAL".
local function abort(run, msg, code)
   local sig = run.signal_pending()
   if sig or code == "interrupted" then
      msg, code = "interrupted by " .. (sig or "a signal"), "interrupted"
   end
   local ok, terr = unwind(run)
   if not ok then msg = msg .. "; " .. terr .. CLEANUP_HINT end
   return nil, msg, code
end

---------------------------------------------------------------------------
-- The steps of `up`.  Each returns true | nil, "STEP: message", code.

-- 1. The 0700 stage directory `<stage_root>/<slug>`, removal registered
--    first so that it runs last (the backend keeps its files there).
local function make_stage(run)
   local root = run.stage_root
   local ok, err, code = ensure_dir(root)
   if not ok then return nil, named("stage", err), code end
   local dir = root .. "/" .. run.plan.slug
   ok, err, code = core.mkdir(dir, DIR_MODE)
   if not ok then
      if core.stat(dir) then
         return nil, ("stage: %s already exists: bottle %s is running or was left behind (`bottle down %s`)")
            :format(dir, run.plan.slug, run.plan.slug), "exists"
      end
      return nil, named("stage", err), code
   end
   run.teardown:push("stage dir", function() return core.rmtree(dir) end)
   run.state.stage = { dir = dir }
   -- what a live egress change builds the config from (egress_change.lua)
   if run.plan.egress_inputs then
      ok, err, code = require("bottle.egress_change").record(dir, run.plan)
      if not ok then return nil, named("stage", err), code end
   end
   return true
end

-- 2. Checks that create nothing (engine, images, names, runtime).
local function check_backend_ready(run)
   local found, err, code = call(run, "prepare", run.step, "prepare", method(run.backend, "prepare"), run.plan,
                                 run.state)
   if not found then return nil, err, code end
   -- What the backend found (the runtime it resolved "auto" to) goes into
   -- the launch's state; the plan stays what was asked for.
   if type(found) == "table" then run.state.runtime = found.runtime end
   return found
end

-- 3. Networks, CA, pipelock, git gate, agent: the backend times each one
--    through run.step and pushes each removal before it creates.
local function bring_up(run)
   return call(run, "up", method(run.backend, "up"), run.state, run.step)
end

-- 4. CA certificate, prompt, skills, git configuration inside the agent.
local function provision(run)
   return call(run, "provision", run.step, "provision", method(run.backend, "provision"), run.state)
end

-- 4b. The user's project into the agent at /workspace and its history into
--     the gate (bottle.workspace, through the backend's copy_in); only when
--     the plan copies a workspace.
local function copy_workspace(run)
   if not run.workspace then return true end
   return call(run, "workspace", run.step, "workspace", workspace.copy_in, run.backend, run.state, run.workspace,
               run.log)
end

-- 7. After an attached session: the agent's accepted pushes come home
--    before the teardown removes the gate.  → report | nil (no workspace) |
--    false, message, code.
local function bring_home(run)
   if not run.workspace then return nil end
   local report, err, code = call(run, "bring-home", run.step, "bring-home", workspace.bring_home, run.backend,
                                  run.state.stage.dir, run.plan.slug)
   if not report then return false, err, code end
   return report
end

-- 5. The mark that the launch finished: a detached bottle's launcher exits
--    once it is up, so without it `cleanup` could not tell a finished
--    detached launch from one killed half way (both launchers are gone).
L.LAUNCHED_MARK = "launched"

-- The mark of a bottle kept after its session because its pushes could
-- not come home: `cleanup` leaves it to `down` (or `down --discard`).
L.KEPT_MARK = "kept"

local function mark_launched(run)
   local ok, err, code = core.write_file(run.state.stage.dir .. "/" .. L.LAUNCHED_MARK,
                                         os.date("!%Y-%m-%dT%H:%M:%SZ") .. "\n", tonumber("600", 8))
   if not ok then return nil, named("stage", err), code end
   return true
end

local UP_STEPS = {
   { "stage", make_stage },
   { "prepare", check_backend_ready },
   { "up", bring_up },
   { "workspace", copy_workspace },
   { "provision", provision },
   { "mark", mark_launched },
}

--- `L.up(plan, opts)` → result | nil, message, code.
-- opts: backend (an instance from backend.new, required), secrets ({NAME =
-- value}), literals ({ {name, value} }, handed to the backend in the state),
-- credentials ({ROUTE = value}, the credential proxy's, in memory only),
-- identities ({name = path}), detach, progress
-- (progress(step, fn, ...)), stage_root, log (log(line)), signals (install
-- SIGINT/SIGTERM handlers), and for unit specs signal_pending/signal_clear/
-- signal_hold.
-- result = {slug, stage_dir, detached = true} after a detached launch (the
-- bottle keeps running), or {slug, stage_dir, detached = false, status = N}
-- after the session ended and everything was removed.
function L.up(plan, opts)
   if type(plan) ~= "table" then error("launch.up: plan must be a table", 2) end
   if not valid_slug(plan.slug) then error(("launch.up: plan.slug %q is not a slug"):format(tostring(plan.slug)), 2) end
   check_backend(opts)
   local run = new_run(plan, opts)
   if opts.signals then core.signals() end

   local root, err, code = resolve_stage_root(opts)
   if not root then return nil, named("stage", err), code end
   run.stage_root = root

   for _, s in ipairs(UP_STEPS) do
      if run.signal_pending() then return abort(run, nil, "interrupted") end
      local done, ok
      done, ok, err, code = pcall(s[2], run)
      if not done then
         -- A raise outside the backend is misuse (say a bad literal): still
         -- remove what exists, then let it through.
         abort(run, "", nil)
         error(ok, 0)
      end
      if not ok then return abort(run, err, code) end
   end

   local result = { slug = plan.slug, stage_dir = run.state.stage.dir, detached = run.state.detach }
   if run.state.detach then return result end

   -- 6. The interactive session, then the same teardown as on failure.  A
   --    signal ends the session (the backend's attach returns "interrupted").
   if run.signal_pending() then return abort(run, nil, "interrupted") end
   local status
   status, err, code = call(run, "attach", method(run.backend, "attach"), run.state)
   if status == nil or status == false or run.signal_pending() then return abort(run, err, code) end
   result.status = status
   local home
   home, err = bring_home(run)
   if home == false then
      -- Unwinding now would throw the pushes away: the bottle stays, marked
      -- so that `cleanup` does not take it for a dead launcher's leftover.
      core.write_file(run.state.stage.dir .. "/" .. L.KEPT_MARK, "unsynced pushes\n", tonumber("600", 8))
      return nil, ("%s; the bottle is kept with its pushes: `bottle sync %s` once that is fixed, then "
         .. "`bottle down %s` (or `bottle down %s --discard` to drop them)")
         :format(err, plan.slug, plan.slug, plan.slug), "unsynced"
   end
   result.brought_home = home
   local ok, terr = unwind(run)
   if not ok then return nil, terr .. CLEANUP_HINT, "teardown" end
   return result
end

--- `L.prepare(plan, opts)` → found | nil, "prepare: message", code.
-- The backend's checks alone (nothing is created), for the preflight shown
-- before the y/N question: found is what the backend resolved
-- ({runtime = "runc" | "runsc"}).  `up` runs them again.
function L.prepare(plan, opts)
   if type(plan) ~= "table" then error("launch.prepare: plan must be a table", 2) end
   check_backend(opts)
   local run = new_run(plan, opts)
   local found, err, code = check_backend_ready(run)
   if not found then return abort(run, err, code) end
   return type(found) == "table" and found or {}
end

---------------------------------------------------------------------------
-- The other commands: thin calls to the backend, plus the stage dirs.

-- Before `down` removes anything: each targeted bottle's accepted pushes
-- come home (bottle.workspace).  → {slug = report} | nil, message, "unsynced".
local function bring_home_before_down(run, root, target)
   local slugs = {}
   if target.slug then
      slugs[1] = target.slug
   else
      for _, name in ipairs(core.stat(root) and core.listdir(root) or {}) do
         if valid_slug(name) then slugs[#slugs + 1] = name end
      end
   end
   local brought = {}
   for _, s in ipairs(slugs) do
      local dir = root .. "/" .. s
      if core.stat(dir) and workspace.has_record(dir) then
         local report, err = call(run, "bring-home", workspace.bring_home, run.backend, dir, s)
         if not report then
            return nil, ("down: bottle %s: its accepted pushes could not be brought home (%s); nothing was removed: "
               .. "`bottle sync %s` once that is fixed, or `bottle down %s --discard` to drop them")
               :format(s, tostring(err), s, s), "unsynced"
         end
         brought[s] = report
      end
   end
   return brought
end

--- `L.down(target, opts)` → {slugs = {...}, stage_dirs = {...}, brought_home = {slug = report}}, timings
-- | nil, message, code.  opts.discard: remove without bringing the pushes home.
-- timings: the backend's (docker: find, containers, networks) and stage, in seconds.
-- target = {slug = "..."} or {all = true}.  The backend removes the
-- resources and returns the slugs it removed; then their stage dirs go.
function L.down(target, opts)
   check_backend(opts)
   if type(target) ~= "table" or not (target.all or target.slug ~= nil) then
      error("launch.down: target must be {slug = SLUG} or {all = true}", 2)
   end
   if target.slug ~= nil and not valid_slug(target.slug) then return bad_slug(target.slug) end
   local root, err, code = resolve_stage_root(opts)
   if not root then return nil, named("down", err), code end

   local run = new_run({}, opts)
   local brought = {}
   if not opts.discard then
      brought, err, code = bring_home_before_down(run, root, target)
      if not brought then return nil, err, code end
   end
   local removed, timings
   removed, err, code = call(run, "down", method(opts.backend, "down"), target.all and { all = true } or { slug = target.slug })
   if not removed then
      if code ~= "not_found" then return nil, err, code end
      removed = {}
   end
   -- a backend may say where its time went (a table after the slugs)
   timings = type(err) == "table" and err or {}
   if removed == true then removed = { target.slug } end

   local slugs, seen = {}, {}
   for _, s in ipairs(removed) do
      if valid_slug(s) and not seen[s] then seen[s] = true; slugs[#slugs + 1] = s end
   end
   local dirs = {}
   local stage_t0 = core.monotonic()
   local candidates = { table.unpack(slugs) }
   if target.slug and not seen[target.slug] then candidates[#candidates + 1] = target.slug end
   for _, s in ipairs(candidates) do
      local dir = root .. "/" .. s
      if core.stat(dir) then
         local ok
         ok, err, code = core.rmtree(dir)
         if not ok then return nil, named("down", err), code end
         dirs[#dirs + 1] = dir
         if not seen[s] then seen[s] = true; slugs[#slugs + 1] = s end
      end
   end
   if target.slug and #slugs == 0 then
      return nil, ("down: no bottle %q (see `bottle list`)"):format(target.slug), "not_found"
   end
   table.sort(slugs)
   timings.stage = core.monotonic() - stage_t0
   return { slugs = slugs, stage_dirs = dirs, brought_home = next(brought) and brought or nil }, timings
end

--- `L.sync(slug, opts)` → report | nil, message, code: the bottle's accepted
-- pushes into the host repository as bottle/<slug>/<branch> (bottle.workspace).
function L.sync(slug, opts)
   check_backend(opts)
   if not valid_slug(slug) then return bad_slug(slug) end
   local root, err, code = resolve_stage_root(opts)
   if not root then return nil, named("sync", err), code end
   local dir = root .. "/" .. slug
   if not core.stat(dir) or not workspace.has_record(dir) then
      return nil, ("sync: bottle %q has no workspace here (see `bottle list`)"):format(slug), "not_found"
   end
   return call(new_run({}, opts), "sync", workspace.bring_home, opts.backend, dir, slug)
end

--- `L.list(opts)` → the backend's array of {slug, agent, bottle, state,
-- created, containers} | nil, "list: message", code.
function L.list(opts)
   check_backend(opts)
   local bottles, err, code = call(new_run({}, opts), "list", method(opts.backend, "list"))
   if not bottles then return nil, err, code end
   -- live egress changes, from each bottle's stage directory
   local root = resolve_stage_root(opts)
   for _, b in ipairs(root and bottles or {}) do
      local rec = valid_slug(b.slug) and require("bottle.egress_change").load(root .. "/" .. b.slug)
      if rec and #rec.changes > 0 then b.egress_live = require("bottle.egress_change").summary(rec) end
   end
   return bottles
end

--- `L.stage_dir(slug, opts)` → `<stage_root>/<slug>` (which may not exist) | nil, message, code.
function L.stage_dir(slug, opts)
   if not valid_slug(slug) then return bad_slug(slug) end
   local root, err, code = resolve_stage_root(opts or {})
   if not root then return nil, err, code end
   return root .. "/" .. slug
end

local function slug_set(entries)
   local set = {}
   for _, e in ipairs(entries or {}) do
      if type(e) == "table" and e.slug then set[e.slug] = true end
   end
   return set
end

-- Stage directories under root, as {slug = path}; names that are not slugs
-- are never ours and never touched.
local function stage_dirs(root)
   local found = {}
   if not core.stat(root) then return found end
   local names, err, code = core.listdir(root)
   if not names then return nil, err, code end
   for _, name in ipairs(names) do
      local path = root .. "/" .. name
      local st = valid_slug(name) and core.stat(path)
      if st and st.type == "dir" then found[name] = path end
   end
   return found
end

--- `L.cleanup(opts)` → report | nil, message, code.
-- opts.apply removes what is found.  report is the backend's
-- {containers, networks, ...} plus stage_dirs: the stage directories whose
-- bottle has no resources left (or whose resources this cleanup removes).
function L.cleanup(opts)
   check_backend(opts)
   local root, err, code = resolve_stage_root(opts)
   if not root then return nil, named("cleanup", err), code end
   local run = new_run({}, opts)

   local live
   live, err, code = call(run, "cleanup", method(opts.backend, "list"))
   if not live then return nil, err, code end
   -- Stage directories without the launched mark belong to launches that
   -- never finished: the backend may count such a bottle as left behind
   -- once its launcher is dead, even if it was launched detached.
   local dirs
   dirs, err, code = stage_dirs(root)
   if not dirs then return nil, named("cleanup", err), code end
   local unfinished, kept = {}, {}
   for slug, path in pairs(dirs) do
      if not core.stat(path .. "/" .. L.LAUNCHED_MARK) then unfinished[slug] = true end
      if core.stat(path .. "/" .. L.KEPT_MARK) then kept[slug] = true end
   end

   local report
   report, err, code = call(run, "cleanup", method(opts.backend, "cleanup"),
                            { apply = opts.apply and true or false, unfinished = unfinished, kept = kept })
   if not report then return nil, err, code end
   if opts.apply and (#(report.containers or {}) > 0 or #(report.networks or {}) > 0) then
      -- The engine finishes a create even after the launcher that sent it
      -- died: what such a request makes can appear just after the listing.
      -- Look again, twice at most, half a second apart.
      for _ = 1, 2 do
         core.sleep(0.5)
         local again
         again, err, code = call(run, "cleanup", method(opts.backend, "cleanup"),
                                 { apply = true, unfinished = unfinished, kept = kept })
         if not again then return nil, err, code end
         if #(again.containers or {}) == 0 and #(again.networks or {}) == 0 then break end
         for _, kind in ipairs { "containers", "networks", "slugs" } do
            report[kind] = report[kind] or {}
            for _, item in ipairs(again[kind] or {}) do report[kind][#report[kind] + 1] = item end
         end
      end
   end

   local doomed = {}
   for _, s in ipairs(report.slugs or {}) do doomed[s] = true end
   for s in pairs(slug_set(report.containers)) do doomed[s] = true end
   for s in pairs(slug_set(report.networks)) do doomed[s] = true end
   local live_slugs = slug_set(live)
   if opts.apply then
      -- After removal: whatever has no resources now is an orphan.
      live, err, code = call(run, "cleanup", method(opts.backend, "list"))
      if not live then return nil, err, code end
      live_slugs, doomed = slug_set(live), {}
   end

   local orphans = {}
   for slug, path in pairs(dirs) do
      if not live_slugs[slug] or doomed[slug] then orphans[#orphans + 1] = path end
   end
   table.sort(orphans)
   if opts.apply then
      for _, path in ipairs(orphans) do
         local ok
         ok, err, code = core.rmtree(path)
         if not ok then return nil, named("cleanup", err), code end
      end
   end
   report.stage_dirs = orphans
   return report
end

-- opts minus the backend itself, for the backend's own options.
local function backend_opts(opts)
   local pass = {}
   for k, v in pairs(opts) do if k ~= "backend" then pass[k] = v end end
   return pass
end

--- `L.doctor(opts)` → array of {check, ok, detail} | nil, message, code:
-- the backend's checks plus one for the stage directory root.
function L.doctor(opts)
   check_backend(opts)
   local checks, err, code = call(new_run({}, opts), "doctor", method(opts.backend, "doctor"), backend_opts(opts))
   if not checks then return nil, err, code end
   local root, rerr = resolve_stage_root(opts)
   local st = root and core.stat(root)
   local check = { check = "stage directory" }
   if not root then
      check.ok, check.detail = false, rerr
   elseif not st then
      check.ok, check.detail = true, root .. " (created at the first launch)"
   elseif st.type ~= "dir" and st.type ~= "link" then
      check.ok, check.detail = false, root .. " is not a directory"
   elseif st.type == "dir" and st.mode & tonumber("022", 8) ~= 0 then
      -- Others could swap a stage directory for their own.
      check.ok, check.detail = false, ("%s is writable by others (mode %o); run chmod 700 %s")
         :format(root, st.mode, root)
   else
      check.ok, check.detail = true, root
   end
   checks[#checks + 1] = check
   return checks
end

--- `L.logs(slug, opts)` → the backend's result | nil, message, code.
-- opts.follow, opts.on_line(line) and the rest go to backend.logs.
function L.logs(slug, opts)
   check_backend(opts)
   if not valid_slug(slug) then return bad_slug(slug) end
   return call(new_run({}, opts), "logs", method(opts.backend, "logs"), slug, backend_opts(opts))
end

return L
