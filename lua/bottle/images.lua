-- The images a bottle runs and where each comes from: a pinned reference is
-- pulled from its registry, a shipped image (agent, git gate, firewall
-- helper, any sidecar with a Dockerfile in the checkout) is built from its
-- Dockerfile, a test image comes from `make test-images`.  Pure: the engine
-- calls are bottle.backend.docker.images, the flow bottle.image_fetch.
local tar = require "bottle.tar"

local M = {}

M.ROLES = { "pipelock", "agent", "firewall", "git_gate", "cred_proxy" }

-- The Dockerfile of each shipped role, in the checkout's root.
M.DOCKERFILES = { agent = "Dockerfile", git_gate = "Dockerfile.git-gate", firewall = "Dockerfile.firewall",
                  cred_proxy = "Dockerfile.cred-proxy" }

-- Docker's reference grammar, loosely: [host[:port]/]path[:tag][@digest],
-- lower-case path components.  Enough to refuse what is not a reference
-- (spaces, controls, a second @) before the engine sees it.
local COMPONENT = "^[a-z0-9]+[a-z0-9._-]*$"

--- parse(ref) → {registry = host | nil, repo = "host/path" (as the engine
-- names it), path, tag = tag | nil, digest = "sha256:..." | nil} | nil, why.
function M.parse(ref)
   if type(ref) ~= "string" or ref == "" then return nil, "an image reference is a non-empty string" end
   if #ref > 255 then return nil, "an image reference is at most 255 characters" end
   if ref:find("[%s%c]") then return nil, "an image reference has no spaces or control characters" end
   local name, digest = ref:match("^([^@]+)@(.+)$")
   if name then
      if not digest:match("^sha256:%x+$") or #digest ~= 71 then
         return nil, ("%q: a digest is sha256: and 64 hex digits"):format(digest)
      end
   else
      name = ref
      if ref:find("@", 1, true) then return nil, "a digest follows one @" end
   end
   local registry, rest = name:match("^([^/]+)/(.+)$")
   if not (registry and (registry:find("[.:]") or registry == "localhost")) then registry, rest = nil, name end
   local path, tag = rest:match("^(.+):([^:/]+)$")
   if not path then path = rest end
   if tag and not tag:match("^[%w_][%w_.-]*$") then return nil, ("%q is not a tag"):format(tag) end
   for component in (path .. "/"):gmatch("([^/]*)/") do
      if not component:match(COMPONENT) then
         return nil, ("%q: %q is not a repository path component (lower-case letters, digits, . _ -)")
            :format(ref, component)
      end
   end
   if registry and not registry:match("^[%w.-]+:?%d*$") then return nil, ("%q is not a registry host"):format(registry) end
   return { registry = registry, path = path, repo = registry and (registry .. "/" .. path) or path,
            tag = tag or (not digest and "latest" or nil), digest = digest }
end

--- The name a digest record is kept under: repo:tag.
function M.tag_ref(r) return r.repo .. ":" .. r.tag end

-- The directory holding the shipped Dockerfiles: the checkout this launcher
-- runs from (lua/bottle/images.lua → the root), if it has them.
function M.checkout_dir()
   local file = package.searchpath("bottle.images", package.path)
   if not file then return nil end
   local root = file:match("^(.-)/?lua/bottle/images%.lua$")
   if not root then return nil end
   if root:sub(1, 1) ~= "/" then
      local cwd = require("bottle.core").getcwd()
      if not cwd then return nil end
      root = (root == "" or root == ".") and cwd or (cwd .. "/" .. root:gsub("^%./", ""))
   end
   return root
end

local function exists(path)
   local f = io.open(path, "rb")
   if f then f:close() end
   return f ~= nil
end

--- source(role, image, dir) → how the image is got when it is missing:
--   {how = "make"}: a test image (`make test-images`);
--   {how = "build", dir = DIR, dockerfile = "Dockerfile..."}: a shipped role
--      named without a registry or digest, its Dockerfile in dir;
--   {how = "pull", ref = parsed}: anything else.
-- dir: where the shipped Dockerfiles are (the user config's dockerfiles,
-- else the checkout).
function M.source(role, image, dir)
   local r, why = M.parse(image)
   if not r then return nil, why end
   if image:match("^claude%-bottle%-test/") then return { how = "make", ref = r } end
   local dockerfile = M.DOCKERFILES[role]
   dir = dir or M.checkout_dir()
   if dockerfile and not r.registry and not r.digest and dir and exists(dir .. "/" .. dockerfile) then
      return { how = "build", dir = dir, dockerfile = dockerfile, ref = r }
   end
   return { how = "pull", ref = r }
end

local function shell_quote(s)
   if s:match("^[%w@%%+=:,./_-]+$") then return s end
   return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The exact command a user runs instead (for --no-pull).
function M.command(image, src)
   if src.how == "make" then return "make test-images" end
   if src.how == "build" then
      return ("docker build -f %s -t %s %s"):format(shell_quote(src.dir .. "/" .. src.dockerfile),
         shell_quote(image), shell_quote(src.dir))
   end
   return "docker pull " .. shell_quote(image)
end

-- The local files a Dockerfile's COPY and ADD lines name (not --from= a
-- stage, not a URL), relative to its directory.
function M.context_files(text)
   local out, seen = {}, {}
   -- continuation lines joined, as the Dockerfile parser does
   text = text:gsub("\\\r?\n", " ")
   for line in text:gmatch("[^\n]+") do
      local words = {}
      for w in line:gmatch("%S+") do words[#words + 1] = w end
      local op = words[1] and words[1]:upper()
      if (op == "COPY" or op == "ADD") and not line:find("%-%-from=") and words[2] and words[2]:sub(1, 1) ~= "[" then
         local args = {}
         for i = 2, #words do
            if words[i]:sub(1, 2) ~= "--" then args[#args + 1] = words[i] end
         end
         for i = 1, #args - 1 do
            local src = args[i]
            if not src:find("://", 1, true) and not seen[src] then
               seen[src] = true
               out[#out + 1] = src
            end
         end
      end
   end
   return out
end

--- context(dir, dockerfile) → the build context as a tar stream: the
-- Dockerfile and the files it copies, not the whole checkout (which holds
-- .git and build outputs the engine would upload for nothing) | nil, why.
function M.context(dir, dockerfile)
   local function read(name)
      local f = io.open(dir .. "/" .. name, "rb")
      if not f then return nil end
      local data = f:read("a")
      f:close()
      return data
   end
   local text = read(dockerfile)
   if not text then return nil, ("cannot read %s/%s"):format(dir, dockerfile) end
   local entries = { { name = dockerfile, data = text } }
   for _, name in ipairs(M.context_files(text)) do
      if name:find("%.%.") or name:sub(1, 1) == "/" or name:find("[*?]") then
         return nil, ("%s: COPY %s: the launcher builds from plain relative file names only"):format(dockerfile, name)
      end
      local data = read(name)
      if not data then return nil, ("%s: COPY %s: no such file in %s"):format(dockerfile, name, dir) end
      entries[#entries + 1] = { name = name, data = data }
   end
   return tar.pack(entries)
end

return M
