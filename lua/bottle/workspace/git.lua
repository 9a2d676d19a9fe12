-- The host's git, run for the workspace with everything that could run a
-- program on the host turned off: no system or global config
-- (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null), a fixed environment
-- (no GIT_DIR, GIT_EXEC_PATH or the user's variables), hooks off
-- (core.hooksPath=/dev/null), no fsmonitor, no pager, editor or askpass, no
-- automatic gc or maintenance, no submodule recursion, and only the file
-- protocol (so no url.*.insteadOf can turn a path into ext:: or ssh).  The
-- repository's own config is still read: these -c values override the
-- program-running keys in it.  No shell: argv goes to core.run as is.
local core = require "bottle.core"

local M = {}

-- The -c settings every call gets, in order.
M.SAFE_CONFIG = {
   "core.hooksPath=/dev/null",
   "core.fsmonitor=false",
   "core.untrackedCache=false",
   "core.pager=cat",
   "core.editor=false",
   "core.askPass=",
   "core.sshCommand=false",
   "core.alternateRefsCommand=",
   "credential.helper=",
   "gc.auto=0",
   "maintenance.auto=false",
   "fetch.recurseSubmodules=false",
   "submodule.recurse=false",
   "diff.external=",
   "protocol.allow=never",
   "protocol.file.allow=always",
   "safe.bareRepository=all",
}

-- The program: the first git on a fixed PATH (never the user's PATH, which
-- a project's direnv may have changed).
M.PATH = "/usr/local/bin:/usr/bin:/bin"
local program

function M.program()
   if program then return program end
   for dir in M.PATH:gmatch("[^:]+") do
      local st = core.stat(dir .. "/git")
      if st and (st.type == "file" or st.type == "link") then
         program = dir .. "/git"
         return program
      end
   end
   return nil, "git is not installed (looked in " .. M.PATH .. "); the workspace needs the host's git", "not_ready"
end

--- The child's whole environment.  HOME points at an empty place so that
-- nothing under the user's home (~/.gitconfig, ~/.config/git) is read even
-- by a git that ignores GIT_CONFIG_GLOBAL.
function M.env(extra)
   local env = {
      PATH = M.PATH, HOME = "/nonexistent", LC_ALL = "C", LANG = "C",
      GIT_CONFIG_NOSYSTEM = "1", GIT_CONFIG_GLOBAL = "/dev/null", GIT_CONFIG_SYSTEM = "/dev/null",
      GIT_TERMINAL_PROMPT = "0", GIT_OPTIONAL_LOCKS = "0", GIT_NO_REPLACE_OBJECTS = "1",
      GIT_PROTOCOL_FROM_USER = "0", GIT_ATTR_NOSYSTEM = "1",
   }
   for k, v in pairs(extra or {}) do env[k] = v end
   return env
end

--- `argv(dir, args)` → the full argv: git -C DIR -c ... ARGS.
function M.argv(dir, args)
   local git, msg, code = M.program()
   if not git then return nil, msg, code end
   local argv = { git, "-C", dir }
   for _, kv in ipairs(M.SAFE_CONFIG) do argv[#argv + 1] = "-c"; argv[#argv + 1] = kv end
   for _, a in ipairs(args) do argv[#argv + 1] = a end
   return argv
end

-- The last line git wrote on stderr, for a message.
local function reason(r)
   local lines = {}
   for line in (r.stderr or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
   return lines[#lines] or ("exit status " .. tostring(r.status))
end

--- `run(dir, args [, opts])` → stdout | nil, message, code.
-- opts.ok = {status = true}: other exit statuses that are not failures
-- (stdout comes back with the status); opts.env adds variables;
-- opts.max_output caps what is read.
function M.run(dir, args, opts)
   opts = opts or {}
   local argv, msg, code = M.argv(dir, args)
   if not argv then return nil, msg, code end
   local r
   r, msg, code = core.run(argv, { env = M.env(opts.env), cwd = "/", max_output = opts.max_output })
   -- the subcommand, after any -c NAME=VALUE, names the call in messages
   local i = 1
   while args[i] == "-c" do i = i + 2 end
   local what = "git " .. tostring(args[i])
   if not r then return nil, what .. ": " .. msg, code end
   if r.status ~= 0 and not (opts.ok and opts.ok[r.status]) then
      return nil, ("%s in %s: %s"):format(what, dir, reason(r)), "git"
   end
   return r.stdout, r.status
end

--- NUL-separated output as an array.
function M.split0(text)
   local out = {}
   for item in text:gmatch("([^%z]+)%z") do out[#out + 1] = item end
   return out
end

--- Lines as an array.
function M.lines(text)
   local out = {}
   for line in text:gmatch("[^\n]+") do out[#out + 1] = line end
   return out
end

--- `toplevel(dir)` → the work tree's top level | nil (not in a work tree).
function M.toplevel(dir)
   local out = M.run(dir, { "rev-parse", "--show-toplevel" })
   if not out then return nil end
   local top = out:gsub("\n$", "")
   return top ~= "" and top or nil
end

return M
