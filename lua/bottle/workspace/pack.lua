-- The workspace as tar entries for the agent and for the git gate: the
-- selected work tree, and the history from a bare clone the launcher makes
-- in the stage directory (`git clone --bare --no-local`, with the host's
-- git neutralised: bottle.workspace.git), so that what goes in is a
-- self-contained repository with no hooks, no alternates pointing at host
-- paths and no host config.  The agent's /workspace/.git gets a config
-- written here from nothing (format, origin = the gate, the current
-- branch's upstream, the user's name and email), never the host's: no
-- core.hooksPath, core.fsmonitor, credential.*, url.*, filters, aliases or
-- includes can come along.  Entries carry no owner: the backend's copy_in
-- gives them the user of the container they go to.
local core = require "bottle.core"
local git = require "bottle.workspace.git"

local M = {}

M.PATH = "/workspace"             -- where the agent's work tree is
M.GATE_REPO = "workspace.git"     -- the gate's repository (under gitgate.REPO_DIR)
M.CLONE = "workspace-clone.git"   -- the bare clone, in the stage directory

local FILE, DIR = tonumber("644", 8), tonumber("755", 8)

-- A value for a git config file: quoted, with " and \ escaped; nil when it
-- has a control character (a newline would start a new key).
local function config_value(v)
   if type(v) ~= "string" or v:find("[%c\127]") then return nil end
   return '"' .. v:gsub('[\\"]', "\\%0") .. '"'
end
M.config_value = config_value

--- `git_config(opts)` → the agent's .git/config text.
-- opts: url (origin), branch (the current branch or nil), object_format
-- ("sha1"/"sha256"), user_name, user_email.
function M.git_config(opts)
   local lines = {
      "# Written by claude-bottle (lua/bottle/workspace/pack.lua): none of the host's config comes along.",
      "[core]",
      ("\trepositoryformatversion = %d"):format(opts.object_format == "sha256" and 1 or 0),
      "\tfilemode = true",
      "\tbare = false",
      "\tlogallrefupdates = true",
   }
   if opts.object_format == "sha256" then
      lines[#lines + 1] = "[extensions]"
      lines[#lines + 1] = "\tobjectformat = sha256"
   end
   lines[#lines + 1] = '[remote "origin"]'
   lines[#lines + 1] = "\turl = " .. assert(config_value(opts.url), "pack.git_config: url")
   lines[#lines + 1] = "\tfetch = +refs/heads/*:refs/remotes/origin/*"
   local branch = opts.branch and config_value(opts.branch)
   if branch then
      lines[#lines + 1] = ("[branch %s]"):format(branch)
      lines[#lines + 1] = "\tremote = origin"
      lines[#lines + 1] = "\tmerge = " .. config_value("refs/heads/" .. opts.branch)
   end
   local name, email = config_value(opts.user_name), config_value(opts.user_email)
   if name or email then
      lines[#lines + 1] = "[user]"
      if name then lines[#lines + 1] = "\tname = " .. name end
      if email then lines[#lines + 1] = "\temail = " .. email end
   end
   return table.concat(lines, "\n") .. "\n"
end

-- The user's name and email as their own git would commit with (the
-- repository's config, then ~/.gitconfig): reading config runs nothing.
local function identity(root)
   local function get(key)
      local out = git.run(root, { "config", "--get", key }, {
         ok = { [1] = true }, env = { HOME = os.getenv("HOME") or "/nonexistent",
                                      GIT_CONFIG_GLOBAL = (os.getenv("HOME") or "/nonexistent") .. "/.gitconfig" } })
      out = out and out:gsub("\n$", "")
      return out ~= "" and out or nil
   end
   return get("user.name"), get("user.email")
end

--- `head(root)` → {branch = "main"} | {detached = SHA} | nil (no commit yet, no branch).
function M.head(root)
   local out, status = git.run(root, { "symbolic-ref", "-q", "HEAD" }, { ok = { [1] = true } })
   if out and status == 0 then
      local ref = out:gsub("\n$", "")
      local branch = ref:match("^refs/heads/(.+)$")
      if branch then return { branch = branch } end
   end
   out = git.run(root, { "rev-parse", "-q", "--verify", "HEAD" }, { ok = { [1] = true } })
   local sha = out and out:match("^(%x+)")
   if sha then return { detached = sha } end
   return nil
end

--- `refs(repo)` → array of {sha, ref} for every branch and tag, sorted by name.
function M.refs(repo, pattern)
   local out, msg, code = git.run(repo, { "for-each-ref", "--format=%(objectname) %(refname)", pattern or "refs/" })
   if not out then return nil, msg, code end
   local list = {}
   for _, line in ipairs(git.lines(out)) do
      local sha, ref = line:match("^(%x+) (refs/%S+)$")
      if sha then list[#list + 1] = { sha = sha, ref = ref } end
   end
   return list
end

--- `clone(sel, stage_dir)` → the bare clone's path | nil, message, code.
function M.clone(sel, stage_dir)
   local dest = stage_dir .. "/" .. M.CLONE
   core.rmtree(dest)
   local ok, msg, code = git.run(stage_dir, { "clone", "--bare", "--no-local", "--quiet", "--", sel.root, dest })
   if not ok then return nil, msg, code end
   return dest
end

-- Every file under dir (relative names, sorted), as entries under `prefix`.
local function tree(dir, prefix, out, skip)
   local names = core.listdir(dir)
   if not names then return out end
   for _, name in ipairs(names) do
      local full, rel = dir .. "/" .. name, prefix .. "/" .. name
      local st = core.stat(full)
      if st and not (skip and skip[name]) then
         if st.type == "dir" then
            out[#out + 1] = { name = rel, type = "dir", mode = DIR }
            tree(full, rel, out)
         elseif st.type == "file" then
            out[#out + 1] = { name = rel, type = "file", path = full, size = st.size, mode = FILE }
         end
      end
   end
   return out
end

local function read_into(entries, what)
   for _, e in ipairs(entries) do
      if e.path then
         local data, msg, code = core.read_file(e.path, { max_bytes = math.max(e.size, 1) * 2 + 65536 })
         if not data then return nil, what .. ": " .. msg, code end
         e.data, e.path, e.size = data, nil, nil
      end
   end
   return true
end

-- packed-refs text from {sha, ref} lists.
local function packed_refs(...)
   local lines = {}
   for _, list in ipairs { ... } do
      for _, r in ipairs(list) do lines[#lines + 1] = r.sha .. " " .. r.ref end
   end
   table.sort(lines, function(a, b) return a:sub(a:find(" ") + 1) < b:sub(b:find(" ") + 1) end)
   return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

local function object_format(repo)
   local out = git.run(repo, { "rev-parse", "--show-object-format" })
   return out and out:match("sha256") and "sha256" or "sha1"
end

--- `prepare(sel, stage_dir, opts)` → {agent = entries, gate = entries, refs, head, bytes, files}
-- | nil, message, code.  opts.url: the gate's URL for origin; opts.progress(files, bytes)
-- hears the count while files are read.
function M.prepare(sel, stage_dir, opts)
   local clone, msg, code = M.clone(sel, stage_dir)
   if not clone then return nil, msg, code end
   local refs
   refs, msg, code = M.refs(clone)
   if not refs then return nil, msg, code end
   local head = M.head(sel.root)
   local fmt = object_format(clone)
   local name, email = identity(sel.root)
   local remotes = {}
   for _, r in ipairs(refs) do
      local b = r.ref:match("^refs/heads/(.+)$")
      if b then remotes[#remotes + 1] = { sha = r.sha, ref = "refs/remotes/origin/" .. b } end
   end
   local head_text = head and (head.branch and ("ref: refs/heads/" .. head.branch .. "\n") or (head.detached .. "\n"))
      or "ref: refs/heads/main\n"

   -- the agent: the work tree, then .git
   local base = M.PATH:gsub("^/", "")
   local agent = { { name = base, type = "dir", mode = DIR } }
   local dirs = {}
   local function parent_dirs(path)
      local prefix = ""
      for part in path:gmatch("([^/]+)/") do
         prefix = prefix == "" and part or (prefix .. "/" .. part)
         if not dirs[prefix] then
            dirs[prefix] = true
            agent[#agent + 1] = { name = base .. "/" .. prefix, type = "dir", mode = DIR }
         end
      end
   end
   local files, bytes = 0, 0
   for _, f in ipairs(sel.files) do
      parent_dirs(f.path)
      if f.type == "symlink" then
         agent[#agent + 1] = { name = base .. "/" .. f.path, type = "symlink", linkname = f.target }
      else
         local data
         data, msg, code = core.read_file(sel.root .. "/" .. f.path, { max_bytes = math.max(f.size, 1) * 2 + 65536,
                                                                      within = sel.root })
         if not data then return nil, "workspace: " .. msg, code end
         agent[#agent + 1] = { name = base .. "/" .. f.path, type = "file", data = data, mode = f.mode }
         bytes = bytes + #data
      end
      files = files + 1
      if opts.progress and files % 500 == 0 then opts.progress(files, bytes) end
   end
   local dotgit = base .. "/.git"
   agent[#agent + 1] = { name = dotgit, type = "dir", mode = DIR }
   for _, d in ipairs { "refs", "refs/heads", "refs/tags", "info" } do
      agent[#agent + 1] = { name = dotgit .. "/" .. d, type = "dir", mode = DIR }
   end
   local objects = tree(clone .. "/objects", dotgit .. "/objects", { { name = dotgit .. "/objects", type = "dir", mode = DIR } })
   local ok
   ok, msg, code = read_into(objects, "workspace history")
   if not ok then return nil, msg, code end
   for _, e in ipairs(objects) do
      agent[#agent + 1] = e
      bytes = bytes + #(e.data or "")
   end
   agent[#agent + 1] = { name = dotgit .. "/HEAD", data = head_text, mode = FILE }
   agent[#agent + 1] = { name = dotgit .. "/packed-refs", data = packed_refs(refs, remotes), mode = FILE }
   agent[#agent + 1] = { name = dotgit .. "/config", mode = FILE, data = M.git_config {
      url = opts.url, branch = head and head.branch, object_format = fmt, user_name = name, user_email = email } }
   -- the index says what is staged; info/exclude is the user's own patterns
   local extras = { { sel.git_dir .. "/index", "index" }, { sel.common_dir .. "/info/exclude", "info/exclude" } }
   for _, n in ipairs(core.listdir(sel.git_dir) or {}) do
      if n:match("^sharedindex%.%x+$") then extras[#extras + 1] = { sel.git_dir .. "/" .. n, n } end
   end
   for _, x in ipairs(extras) do
      local data = core.read_file(x[1], { max_bytes = 256 * 1024 * 1024 })
      if data then agent[#agent + 1] = { name = dotgit .. "/" .. x[2], data = data, mode = FILE } end
   end
   if opts.progress then opts.progress(files, bytes) end

   -- the gate: the same objects and branches under its own repository
   -- (created by its entrypoint with the gate's config and hooks)
   local gate = {}
   for _, e in ipairs(objects) do
      gate[#gate + 1] = { name = M.GATE_REPO .. e.name:sub(#dotgit + 1), type = e.type, data = e.data, mode = e.mode }
   end
   gate[#gate + 1] = { name = M.GATE_REPO .. "/packed-refs", data = packed_refs(refs), mode = FILE }
   if head and head.branch then
      gate[#gate + 1] = { name = M.GATE_REPO .. "/HEAD", data = head_text, mode = FILE }
   end
   return { agent = agent, gate = gate, refs = refs, head = head, object_format = fmt, files = files,
            bytes = bytes }
end

return M
