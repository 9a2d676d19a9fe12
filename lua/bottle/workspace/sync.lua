-- Bringing the agent's pushed work home.  The gate's workspace.git holds
-- only what passed its ref policy and gitleaks; the launcher copies it out
-- through the backend (copy_out: the archive endpoint on Docker) into the
-- stage directory, keeps nothing from it but objects and refs (its config
-- and hooks are never read: this module writes the copy's config), and
-- fetches the branches the policy allows and that changed since the launch
-- into the host repository as refs/heads/bottle/<slug>/<branch>.  The
-- user's own branches, index and work tree are never touched; the host's
-- git runs with hooks and every program-running setting off
-- (bottle.workspace.git) and checks every object it receives
-- (fetch.fsckObjects).
--
-- What the launch recorded and what was brought home so far live in the
-- stage directory's workspace.json (0600), so that `bottle sync` and
-- `down` can run from another process.
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local git = require "bottle.workspace.git"
local pack = require "bottle.workspace.pack"

local M = {}

M.RECORD = "workspace.json"
M.HOME_COPY = "workspace-home.git"   -- the gate's repository as copied out
M.PREFIX = "bottle"                  -- refs/heads/bottle/<slug>/<branch> on the host

local MODE_FILE, MODE_DIR = tonumber("600", 8), tonumber("700", 8)

--- `write_record(stage_dir, record)` → true | nil, message, code.
function M.write_record(stage_dir, record)
   -- core.write_file never replaces a file: write a new one, then rename it over
   local path = stage_dir .. "/" .. M.RECORD
   os.remove(path .. ".new")
   local ok, msg, code = core.write_file(path .. ".new", cjson.encode(record) .. "\n", MODE_FILE)
   if not ok then return nil, msg, code end
   local renamed, rerr = os.rename(path .. ".new", path)
   if not renamed then return nil, rerr, "io" end
   return true
end

--- `read_record(stage_dir)` → record | nil (no workspace in this bottle) | nil, message, code.
function M.read_record(stage_dir)
   local text, msg, code = core.read_file(stage_dir .. "/" .. M.RECORD, { max_bytes = 16 * 1024 * 1024 })
   if not text then
      if code == "ENOENT" then return nil end
      return nil, msg, code
   end
   local ok, record = pcall(cjson.decode, text)
   if not ok or type(record) ~= "table" or type(record.host) ~= "string" then
      return nil, stage_dir .. "/" .. M.RECORD .. " is not a workspace record", "invalid_state"
   end
   record.initial = type(record.initial) == "table" and record.initial or {}
   record.synced = type(record.synced) == "table" and record.synced or {}
   return record
end

--- A branch glob (push.branches: * matches anything, "/" included, like
-- the gate's sh `case`) as a Lua pattern.
function M.glob_pattern(glob)
   return "^" .. glob:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
end

function M.allowed(branch, globs)
   for _, g in ipairs(globs or {}) do
      if branch:match(M.glob_pattern(g)) then return true end
   end
   return false
end

-- A tar entry's name under workspace.git that may be kept: objects, refs,
-- packed-refs; never "..", never anything else (config, hooks, info).
local function kept(name)
   local rel = name:gsub("^%./", ""):match("^workspace%.git/(.+)$")
   if not rel or rel:find("%.%.") or rel:find("//") or rel:find("[%c\127]") then return nil end
   if rel == "packed-refs" or rel:match("^objects/") or rel:match("^refs/") or rel == "objects" or rel == "refs" then
      return rel
   end
   return nil
end

--- `extract(stream, dest, object_format)` → true | nil, message, code: the
-- gate's repository into dest (made fresh), files and directories only.
function M.extract(stream, dest, object_format)
   local entries, msg, code = tar.unpack(stream)
   if not entries then return nil, msg, code end
   core.rmtree(dest)
   local ok
   ok, msg, code = core.mkdir(dest, MODE_DIR)
   if not ok then return nil, msg, code end
   for _, d in ipairs { "objects", "refs", "refs/heads" } do core.mkdir(dest .. "/" .. d, MODE_DIR) end
   for _, e in ipairs(entries) do
      local rel = kept(e.name)
      if rel then
         if e.type == "dir" then
            if not core.stat(dest .. "/" .. rel) then
               ok, msg, code = core.mkdir(dest .. "/" .. rel, MODE_DIR)
               if not ok then return nil, msg, code end
            end
         elseif e.type == "file" then
            local prefix = ""
            for part in rel:gmatch("([^/]+)/") do       -- parents a stream left out
               prefix = prefix .. "/" .. part
               if not core.stat(dest .. prefix) then core.mkdir(dest .. prefix, MODE_DIR) end
            end
            ok, msg, code = core.write_file(dest .. "/" .. rel, e.data, MODE_FILE)
            if not ok then return nil, msg, code end
         end
      end
   end
   local config = "[core]\n\trepositoryformatversion = " .. (object_format == "sha256" and "1" or "0")
      .. "\n\tbare = true\n" .. (object_format == "sha256" and "[extensions]\n\tobjectformat = sha256\n" or "")
   ok, msg, code = core.write_file(dest .. "/config", config, MODE_FILE)
   if not ok then return nil, msg, code end
   return core.write_file(dest .. "/HEAD", "ref: refs/heads/main\n", MODE_FILE)
end

-- The commits of `sha` that are new to the host: neither brought in by the
-- launch nor home already.
local function new_commits(repo, sha, record)
   local args = { "rev-list", "--count", sha }
   local seen = {}
   for _, refs in ipairs { record.initial, record.synced } do
      for _, old in pairs(refs) do
         if not seen[old] then seen[old] = true; args[#args + 1] = "^" .. old end
      end
   end
   local out = git.run(repo, args)
   return tonumber(out and out:match("%d+") or "") or 0
end

-- The host repository, still there and still the same repository.
local function host_repo(record)
   local st = core.stat(record.host)
   if not st or (st.type ~= "dir" and st.type ~= "link") then
      return nil, ("the host repository %s is gone"):format(record.host), "not_found"
   end
   local top = git.toplevel(record.host)
   if not top then
      return nil, ("%s is no longer a git work tree"):format(record.host), "not_found"
   end
   return top
end

--- `sync(backend, stage_dir, slug [, opts])` → report | nil, message, code.
-- report = {host, branches = { {branch, ref, sha, commits} }, unchanged = n}
-- (branches: those brought home now).  Nothing is fetched unless every
-- step before it worked.
function M.sync(backend, stage_dir, slug)
   local record, msg, code = M.read_record(stage_dir)
   if not record then
      if msg then return nil, msg, code end
      return nil, ("bottle %s has no workspace"):format(slug), "not_found"
   end
   local stream
   stream, msg, code = backend:copy_out({ slug = slug }, "git_gate", "/git/" .. pack.GATE_REPO)
   if not stream then return nil, "copying the gate's repository out: " .. tostring(msg), code end
   local copy = stage_dir .. "/" .. M.HOME_COPY
   local ok
   ok, msg, code = M.extract(stream, copy, record.object_format)
   if not ok then return nil, "the gate's repository: " .. tostring(msg), code end
   local refs
   refs, msg, code = pack.refs(copy, "refs/heads/")
   if not refs then return nil, msg, code end

   local report = { host = record.host, branches = {}, unchanged = 0 }
   local specs = {}
   for _, r in ipairs(refs) do
      local branch = r.ref:match("^refs/heads/(.+)$")
      local home = ("refs/heads/%s/%s/%s"):format(M.PREFIX, slug, branch or "")
      if branch and M.allowed(branch, record.push) and r.sha ~= record.initial[r.ref]
         and git.run(copy, { "check-ref-format", home }) then
         if r.sha == record.synced[r.ref] then
            report.unchanged = report.unchanged + 1
         else
            specs[#specs + 1] = "+" .. r.ref .. ":" .. home
            report.branches[#report.branches + 1] = { branch = branch, ref = home, sha = r.sha,
                                                      commits = new_commits(copy, r.sha, record) }
         end
      end
   end
   if #specs == 0 then return report end

   local top
   top, msg, code = host_repo(record)
   if not top then return nil, msg, code end
   local args = { "-c", "fetch.fsckObjects=true", "-c", "transfer.fsckObjects=true", "fetch", "--quiet",
                  "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--", copy }
   for _, s in ipairs(specs) do args[#args + 1] = s end
   ok, msg, code = git.run(top, args)
   if not ok then return nil, "fetching into " .. top .. ": " .. msg, code end
   for _, b in ipairs(report.branches) do record.synced["refs/heads/" .. b.branch] = b.sha end
   ok, msg, code = M.write_record(stage_dir, record)
   if not ok then return nil, msg, code end
   return report
end

--- One line per branch brought home: "bottle/x-1a2b3c/claude/fix (2 commits) in /home/me/app".
function M.report_lines(report)
   local out = {}
   for _, b in ipairs(report.branches or {}) do
      out[#out + 1] = ("%s (%d commit%s) in %s"):format(b.ref:gsub("^refs/heads/", ""), b.commits,
         b.commits == 1 and "" or "s", report.host)
   end
   return out
end

return M
