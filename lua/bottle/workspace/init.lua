-- The workspace: the user's project in the bottle, and the agent's pushed
-- work back out through the git gate.  Backend-neutral: it chooses the
-- files (bottle.workspace.select), packs them with the history
-- (bottle.workspace.pack), hands them to the backend's copy_in, and brings
-- work home with the backend's copy_out (bottle.workspace.sync).  The
-- launch calls `copy_in` as its step "workspace" and `bring_home` at the
-- end of an attached session; `down` and `bottle sync` call `bring_home`.
local schema = require "bottle.schema"
local select_mod = require "bottle.workspace.select"
local pack = require "bottle.workspace.pack"
local sync = require "bottle.workspace.sync"

local M = {}

M.NAME = "workspace"                 -- the gate's repository name
M.PATH = pack.PATH
M.MODES = { copy = true, mount = true }
-- What the agent may push when the manifest says nothing: its own branches.
M.DEFAULT_PUSH_BRANCHES = { "claude/*" }

function M.default_push()
   local push = schema.push_default()
   push.branches = schema.seq { table.unpack(M.DEFAULT_PUSH_BRANCHES) }
   return push
end

M.gate_url = function() return schema.gate_url(M.NAME) end

--- `plan_entry(agent, opts)` → plan.workspace | nil (no workspace) | nil, message, code.
-- agent: the manifest's agent (workspace, workspace_include, workspace_push);
-- opts: {dir = absolute path or nil, explicit = the user named it, mode =
-- "copy"|"mount" from the command line, or nil}.
function M.plan_entry(agent, opts)
   opts = opts or {}
   if not opts.dir then return nil end
   if agent.workspace == "none" and not opts.explicit then return nil end
   local mode = opts.mode or (agent.workspace == "mount" and "mount") or "copy"
   if not M.MODES[mode] then
      return nil, ("--workspace-mode %q: expected copy or mount"):format(tostring(mode)), "usage"
   end
   local entry = {
      mode = mode, host_dir = opts.dir, path = M.PATH,
      include = schema.seq { table.unpack(agent.workspace_include or {}) },
   }
   if mode == "copy" then
      entry.name = M.NAME
      entry.gate_url = M.gate_url()
      entry.push = agent.workspace_push or M.default_push()
   end
   return entry
end

--- `choose(plan)` → selection | nil (no copy) | nil, message, code; sets
-- plan.workspace.summary (counts, sizes, left-out lines: the preflight's).
function M.choose(plan, opts)
   local ws = plan.workspace
   if not ws or ws.mode ~= "copy" then return nil end
   local sel, msg, code = select_mod.select(ws.host_dir, { include = ws.include, max_bytes = opts and opts.max_bytes })
   if not sel then return nil, msg, code end
   ws.host_dir = sel.root
   ws.summary = select_mod.summary(sel)
   return sel
end

-- "1234 files, 12.3 MiB".
local function amount(files, bytes)
   return ("%d files, %s"):format(files, select_mod.size_text(bytes))
end
M.amount = amount

--- The launch's step "workspace": the history cloned into the stage
-- directory, the work tree and .git into the agent at /workspace, the
-- same history into the gate's workspace.git, and the record that `sync`
-- and `down` read.  log(line) hears the progress.
-- → true | nil, message, code
function M.copy_in(backend, state, sel, log)
   local plan = state.plan
   for _, fn in ipairs(require("bottle.backend").WORKSPACE_INTERFACE) do
      if type(backend[fn]) ~= "function" then
         return nil, "this backend cannot copy a workspace in (no " .. fn .. "); pass --no-workspace", "unsupported"
      end
   end
   log = log or function() end
   local packed, msg, code = pack.prepare(sel, state.stage.dir, {
      url = plan.workspace.gate_url,
      progress = function(files, bytes) log("workspace: read " .. amount(files, bytes)) end,
   })
   if not packed then return nil, msg, code end
   local initial = {}
   for _, r in ipairs(packed.refs) do
      if r.ref:match("^refs/heads/") then initial[r.ref] = r.sha end
   end
   local ok
   ok, msg, code = sync.write_record(state.stage.dir, {
      version = 1, slug = plan.slug, host = sel.root, push = plan.workspace.push.branches,
      object_format = packed.object_format, initial = next(initial) and initial or nil,
   })
   if not ok then return nil, msg, code end
   log(("workspace: copying %s into the agent at %s"):format(amount(packed.files, packed.bytes), M.PATH))
   ok, msg, code = backend:copy_in(state, "agent", "/", packed.agent)
   if not ok then return nil, "into the agent: " .. tostring(msg), code end
   ok, msg, code = backend:copy_in(state, "git_gate", "/git", packed.gate)
   if not ok then return nil, "into the git gate: " .. tostring(msg), code end
   return true
end

--- `bring_home(backend, stage_dir, slug)` → report | nil (no workspace) | nil, message, code.
function M.bring_home(backend, stage_dir, slug)
   local record, msg, code = sync.read_record(stage_dir)
   if not record then
      if msg then return nil, msg, code end
      return nil
   end
   if type(backend.copy_out) ~= "function" then
      return nil, "this backend cannot copy the gate's repository out (no copy_out)", "unsupported"
   end
   return sync.sync(backend, stage_dir, slug)
end

--- The preflight's lines: { {text, kind} }, kind "warning" for the mount.
function M.preflight_lines(plan)
   local ws, out = plan.workspace, {}
   local function add(text, kind) out[#out + 1] = { text, kind } end
   if ws.mode == "mount" then
      add(("%s mounted read-write at %s"):format(ws.host_dir, ws.path))
      add("MOUNTED: the agent writes on your machine: it can change .git/hooks, .envrc, .vscode/tasks.json, "
          .. "Makefiles and scripts that run the next time you use this project; nothing is scanned", "warning")
      return out
   end
   local s = ws.summary
   if s then
      add(("%s -> %s (copied: %s; history %s)"):format(ws.host_dir, ws.path, amount(s.files, s.bytes),
          select_mod.size_text(s.history_bytes)))
      for _, line in ipairs(s.left_out) do add("left out: " .. line) end
      if #s.included > 0 then
         add(("included though ignored (workspace_include, %d): %s"):format(#s.included,
             table.concat(s.included, ", ", 1, math.min(#s.included, 5))))
      end
      for _, p in ipairs(s.unmatched) do add(("workspace_include %s matches no ignored file"):format(p)) end
   else
      add(("%s -> %s (copied)"):format(ws.host_dir, ws.path))
   end
   add(("origin is %s; push: %s"):format(ws.gate_url, require("bottle.gitgate").policy_text(ws.push)))
   add(("accepted pushes come home as bottle/%s/<branch> at `down` or `bottle sync %s`"):format(plan.slug, plan.slug))
   if #plan.git == 0 then
      add("one more sidecar: the git gate holds workspace.git (gitleaks scan, no upstream, no way out)")
   end
   return out
end

M.report_lines = sync.report_lines
M.has_record = function(stage_dir) return sync.read_record(stage_dir) ~= nil end

return M
