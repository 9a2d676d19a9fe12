-- Which files of the user's project go into the bottle, chosen by the
-- host's git (bottle.workspace.git: nothing in the project can make it run
-- a program): the tracked files as the work tree has them (uncommitted
-- changes included, deleted ones left deleted), the untracked files that
-- are not ignored, and the ignored paths that workspace_include names.
-- Ignored files stay out: that is where .env files and keys live.
--
-- A symlink is copied as a symlink when its target stays inside the tree,
-- and left out otherwise (absolute, or climbing above the top level); no
-- file is read through a symlinked directory.  Submodules, nested
-- repositories, FIFOs and devices are left out.  Every path comes from
-- git's NUL-separated output and is only ever used as a path, never as an
-- argument, so a file named like a git option is just a file.
local core = require "bottle.core"
local git = require "bottle.workspace.git"

local M = {}

M.MAX_BYTES = 512 * 1024 * 1024     -- work tree plus history; BOTTLE_WORKSPACE_MAX_BYTES overrides
M.MAX_FILES = 200000
M.SHOW = 5                          -- names shown per kind of left-out path

--- The cap in bytes: BOTTLE_WORKSPACE_MAX_BYTES when it is a number, else MAX_BYTES.
function M.max_bytes(getenv)
   local v = tonumber((getenv or os.getenv)("BOTTLE_WORKSPACE_MAX_BYTES") or "")
   return v and v > 0 and math.floor(v) or M.MAX_BYTES
end

--- "12.3 MiB".
function M.size_text(n)
   local units = { "bytes", "KiB", "MiB", "GiB" }
   local i = 1
   while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
   return i == 1 and ("%d bytes"):format(n) or ("%.1f %s"):format(n, units[i])
end

-- a/b/../c → a/c; nil when it climbs above the root.
local function normalize(path)
   local parts = {}
   for part in path:gmatch("[^/]+") do
      if part == ".." then
         if #parts == 0 then return nil end
         parts[#parts] = nil
      elseif part ~= "." then
         parts[#parts + 1] = part
      end
   end
   return table.concat(parts, "/")
end
M.normalize = normalize

--- Whether a symlink at `path` (relative to the top) with `target` stays in the tree.
function M.link_inside(path, target)
   if target == "" or target:sub(1, 1) == "/" then return false end
   local dir = path:match("^(.*)/[^/]*$")
   local resolved = normalize((dir and (dir .. "/") or "") .. target)
   return resolved ~= nil and resolved ~= ""
end

-- Checks a workspace_include entry: a relative path inside the tree.
local function bad_include(p)
   return type(p) ~= "string" or p == "" or p:sub(1, 1) == "/" or p:find("%c") ~= nil or normalize(p) == nil
      or normalize(p) == "" or normalize(p):match("^%.git/") or normalize(p) == ".git"
end

--- `locate(dir)` → {root, git_dir, common_dir} | nil, message, code.
function M.locate(dir)
   local root = git.toplevel(dir)
   if not root then
      return nil, ("%s is not inside a git work tree: the workspace is chosen by git (run `git init` there, "
         .. "or pass --no-workspace)"):format(dir), "usage"
   end
   local out, msg, code = git.run(root, { "rev-parse", "--absolute-git-dir", "--git-common-dir" })
   if not out then return nil, msg, code end
   local lines = git.lines(out)
   local common = lines[2] or lines[1]
   if common:sub(1, 1) ~= "/" then common = root .. "/" .. common end
   return { root = root, git_dir = lines[1], common_dir = common }
end

-- The parents of `path` are real directories (not symlinks) under root.
local function parents_ok(root, path, cache)
   local prefix = ""
   for part in path:gmatch("([^/]+)/") do
      prefix = prefix == "" and part or (prefix .. "/" .. part)
      local ok = cache[prefix]
      if ok == nil then
         local st = core.stat(root .. "/" .. prefix)
         ok = st ~= nil and st.type == "dir"
         cache[prefix] = ok
      end
      if not ok then return false end
   end
   return true
end

-- The history's size in bytes (loose objects and packs), from count-objects.
local function history_bytes(root)
   local out = git.run(root, { "count-objects", "-v" })
   if not out then return 0 end
   local kib = 0
   for key, n in out:gmatch("([%w-]+): (%d+)") do
      if key == "size" or key == "size-pack" then kib = kib + tonumber(n) end
   end
   return kib * 1024
end

-- The largest directories of a selection: "node_modules 812.0 MiB, assets 9.1 MiB".
local function largest(files, history)
   local sizes = {}
   for _, f in ipairs(files) do
      local top = f.path:match("^([^/]+)/") or "(top-level files)"
      sizes[top] = (sizes[top] or 0) + (f.size or 0)
   end
   sizes[".git (history)"] = history
   local list = {}
   for name, n in pairs(sizes) do list[#list + 1] = { name, n } end
   table.sort(list, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
   local out = {}
   for i = 1, math.min(5, #list) do out[i] = list[i][1] .. " " .. M.size_text(list[i][2]) end
   return table.concat(out, ", ")
end

--- `select(dir, opts)` → selection | nil, message, code.
-- opts.include: workspace_include paths; opts.max_bytes (default M.max_bytes()).
-- selection = {root, git_dir, common_dir, files = { {path, type = "file"|"symlink",
-- size, mode, target} }, count, bytes (work tree), history_bytes,
-- left_out = {ignored = {...}, links = {...}, submodules = {...}, other = {...}},
-- included = {...}, unmatched = {...}}
function M.select(dir, opts)
   opts = opts or {}
   local where, msg, code = M.locate(dir)
   if not where then return nil, msg, code end
   local root = where.root
   local sel = { root = root, git_dir = where.git_dir, common_dir = where.common_dir, files = {},
                 left_out = { ignored = {}, links = {}, submodules = {}, other = {} },
                 included = {}, unmatched = {}, bytes = 0 }
   local seen, parents = {}, {}

   local function add(path, from_include)
      if seen[path] then return end
      seen[path] = true
      if path == ".git" or path:sub(1, 5) == ".git/" then return end
      if not parents_ok(root, path, parents) then
         sel.left_out.links[#sel.left_out.links + 1] = path .. " (under a symlinked directory)"
         return
      end
      local full = root .. "/" .. path
      local st = core.stat(full)
      if not st then return end                     -- deleted in the work tree: stays deleted
      if st.type == "file" then
         sel.files[#sel.files + 1] = { path = path, type = "file", size = st.size,
                                       mode = st.mode & tonumber("111", 8) ~= 0 and tonumber("755", 8)
                                          or tonumber("644", 8) }
         sel.bytes = sel.bytes + st.size
      elseif st.type == "link" then
         local target = core.readlink(full)
         if target and M.link_inside(path, target) then
            sel.files[#sel.files + 1] = { path = path, type = "symlink", size = 0, target = target,
                                          mode = tonumber("777", 8) }
         else
            sel.left_out.links[#sel.left_out.links + 1] = path .. " -> " .. tostring(target)
         end
      elseif st.type == "dir" then
         -- an untracked nested repository (git lists it as a directory)
         sel.left_out.other[#sel.left_out.other + 1] = path .. "/ (a nested repository)"
      else
         sel.left_out.other[#sel.left_out.other + 1] = path .. " (not a regular file)"
      end
      if from_include and sel.files[#sel.files] and sel.files[#sel.files].path == path then
         sel.included[#sel.included + 1] = path
      end
   end

   -- 1. tracked (with their modes: 160000 is a submodule)
   local out
   out, msg, code = git.run(root, { "ls-files", "-z", "--cached", "--stage" })
   if not out then return nil, msg, code end
   for _, item in ipairs(git.split0(out)) do
      local mode, path = item:match("^(%d+) %x+ %d\t(.+)$")
      if mode == "160000" then
         if not seen[path] then
            seen[path] = true
            sel.left_out.submodules[#sel.left_out.submodules + 1] = path
         end
      elseif path then
         add(path)
      end
   end
   -- 2. untracked, not ignored
   out, msg, code = git.run(root, { "ls-files", "-z", "--others", "--exclude-standard" })
   if not out then return nil, msg, code end
   for _, path in ipairs(git.split0(out)) do add((path:gsub("/$", ""))) end
   -- 3. ignored paths named by workspace_include (as literal pathspecs)
   for i, p in ipairs(opts.include or {}) do
      if bad_include(p) then
         return nil, ("workspace_include[%d]: %q is not a relative path inside the project"):format(i, tostring(p)),
            "invalid_manifest"
      end
      out, msg, code = git.run(root, { "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--",
                                       ":(literal)" .. normalize(p) })
      if not out then return nil, msg, code end
      local found = git.split0(out)
      if #found == 0 then sel.unmatched[#sel.unmatched + 1] = p end
      for _, path in ipairs(found) do add((path:gsub("/$", "")), true) end
   end
   -- 4. what stays out: the ignored paths (directories collapsed)
   out, msg, code = git.run(root, { "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory" })
   if not out then return nil, msg, code end
   local under_included = {}
   for _, p in ipairs(sel.included) do
      for prefix in p:gmatch("()/") do under_included[p:sub(1, prefix - 1)] = true end
   end
   for _, path in ipairs(git.split0(out)) do
      local bare = path:gsub("/$", "")
      if not seen[bare] and not under_included[bare] then
         sel.left_out.ignored[#sel.left_out.ignored + 1] = path
      end
   end
   table.sort(sel.files, function(a, b) return a.path < b.path end)
   sel.count = #sel.files
   sel.history_bytes = history_bytes(root)

   local cap = opts.max_bytes or M.max_bytes()
   local total = sel.bytes + sel.history_bytes
   if total > cap or sel.count > M.MAX_FILES then
      return nil, ("the workspace %s is %s in %d files (history included), over the limit of %s and %d files; "
         .. "largest: %s. Ignore what the agent does not need (.gitignore), or pass --no-workspace "
         .. "(BOTTLE_WORKSPACE_MAX_BYTES raises the limit)")
         :format(root, M.size_text(total), sel.count, M.size_text(cap), M.MAX_FILES,
                 largest(sel.files, sel.history_bytes)), "too_large"
   end
   return sel
end

-- "a, b, c (+4 more)".
local function few(list)
   if #list <= M.SHOW then return table.concat(list, ", ") end
   return table.concat(list, ", ", 1, M.SHOW) .. (" (+%d more)"):format(#list - M.SHOW)
end

--- The preflight's lines about what was left out: { "ignored: .env, build/ (2)", ... }.
function M.left_out_lines(sel)
   local out = {}
   local lo = sel.left_out
   if #lo.ignored > 0 then out[#out + 1] = ("ignored (%d): %s"):format(#lo.ignored, few(lo.ignored)) end
   if #lo.links > 0 then out[#out + 1] = ("symlinks out of the tree (%d): %s"):format(#lo.links, few(lo.links)) end
   if #lo.submodules > 0 then
      out[#out + 1] = ("submodules, not copied (%d): %s"):format(#lo.submodules, few(lo.submodules))
   end
   if #lo.other > 0 then out[#out + 1] = ("others (%d): %s"):format(#lo.other, few(lo.other)) end
   return out
end

--- The summary the plan carries (no file list): counts, sizes and left-out lines.
function M.summary(sel)
   return { root = sel.root, files = sel.count, bytes = sel.bytes, history_bytes = sel.history_bytes,
            left_out = M.left_out_lines(sel), included = sel.included, unmatched = sel.unmatched }
end

return M
