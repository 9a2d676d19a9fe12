-- Find, read and validate the manifests that say which bottles and agents
-- exist.  Everything is checked here, at load, before anything else runs:
-- later stages may trust the tables this module returns.
--
-- Where manifests come from:
--   * `--manifest FILE`: that file only, trusted fully;
--   * otherwise the user's file, `$XDG_CONFIG_HOME/claude-bottle/bottles.yaml`
--     (trusted), and the project file `<cwd>/.claude-bottle.yaml`, which may
--     only add agents: a cloned repository must not be able to widen egress or
--     point at identity files.
-- The embedded bottle "default" and agent "claude" are always available
-- (with --manifest too) unless a trusted file defines its own of the same
-- name; a project file may not redefine them, nor any user agent.  Agents
-- must name a bottle that exists (user, --manifest or embedded).  JSON is
-- accepted: it is YAML.
--
-- Decisions (documented here because the issue left them open):
--   * Bottle names match [a-z0-9][a-z0-9_-]* and are at most 63 characters.
--     Agent names follow the same rule but are at most 24 characters: they
--     become part of container names, which are also DNS names on the
--     bottle's network (a label is at most 63 characters, and
--     "claude-bottle-git-gate-" plus a random suffix take the rest).
--   * Indexes in messages are 1-based (`egress.allowlist[1]` is the first).
--   * Upstreams: `ssh://[user@]host[:port]/path` (port 1-65535, default 22)
--     or the scp-like `user@host:path` that hosting sites print (port 22,
--     path as written).  The user is required in the scp-like form so that
--     it cannot be taken for a local path.
--   * push defaults: branches {"*"}, force, delete and tags false.
--   * Env values must be strings (quote numbers): `?`/`?text` is a prompt,
--     a value containing "${" must be exactly ${NAME} (a host variable),
--     anything else is a literal without newline, CR or NUL.  Names the
--     launcher sets itself (proxy and CA variables) are refused.
--   * A file that is empty or holds only comments defines nothing.
--   * `null` is never taken as "use the default": leave the key out instead.
--   * Identity files must be regular files (not symbolic links: the mode
--     check would see the link, not the key), owned by anyone, with no
--     group or other permission bits.
--   * A literal cannot start with "?" or contain "${": use a prompt or a
--     host variable for such a value.
--   * The first error wins: validation stops at the first problem, in file
--     order within each section (top-level keys, then bottles, then agents;
--     the user file before the project file).
local core = require "bottle.core"
local schema = require "bottle.schema"
local check = require "bottle.manifest.check"
local bottle = require "bottle.manifest.bottle"
local agent = require "bottle.manifest.agent"
local seq, quote, is_map, describe, fail, at_key, at_table, join, keys_in_order, check_keys, want_map =
   check.seq, check.quote, check.is_map, check.describe, check.fail, check.at_key, check.at_table,
   check.join, check.keys_in_order, check.check_keys, check.want_map
local KEYS = schema.KEYS
local Failure = check.Failure

local M = {}

M.USER_FILE = schema.USER_FILE         -- under $XDG_CONFIG_HOME
M.PROJECT_FILE = schema.PROJECT_FILE   -- in the current directory
M.DEFAULT_BOTTLE = schema.DEFAULT_BOTTLE
M.DEFAULT_AGENT = schema.DEFAULT_AGENT
M.BUILTIN_FILE = "<built-in>"
M.BOTTLE_NAME_MAX = schema.BOTTLE_NAME_MAX
M.AGENT_NAME_MAX = schema.AGENT_NAME_MAX
M.RESERVED_ENV = schema.RESERVED_ENV
M.HOST_KEY_TYPES = schema.HOST_KEY_TYPES
M.quote = check.quote
M.levenshtein = check.levenshtein

-- ------------------------------------------------------------- the files

function M.default()
   local source = { file = M.BUILTIN_FILE, line = 1, col = 1 }
   return {
      files = seq {},
      bottles = { [M.DEFAULT_BOTTLE] = schema.empty_bottle(M.DEFAULT_BOTTLE, source) },
      agents = { [M.DEFAULT_AGENT] = { name = M.DEFAULT_AGENT, bottle = M.DEFAULT_BOTTLE,
                                       skills = seq {}, source = source } },
   }
end

local function environment(env)
   if env then return env end
   return { XDG_CONFIG_HOME = os.getenv("XDG_CONFIG_HOME"), HOME = os.getenv("HOME"),
            cwd = os.getenv("PWD") }
end

-- The user and project files (either may be nil when HOME or cwd is unknown).
-- Only the fields of `env` are used when it is given, so specs never touch
-- the real home directory.
function M.paths(env)
   env = environment(env)
   local user
   local home = schema.config_home(env)
   if home then user = home .. "/" .. M.USER_FILE end
   local project
   if env.cwd and env.cwd ~= "" then project = env.cwd .. "/" .. M.PROJECT_FILE end
   return { user = user, project = project }
end

-- Limits on what is read.  The project file comes from whatever repository
-- was cloned: a regular file inside the directory only (git stores
-- symlinks, so one could lead to /dev/zero, /dev/stdin or a FIFO), small,
-- and shallow.  The user's own files get a larger cap and the same checks
-- but may be symlinks anywhere.
M.PROJECT_MAX_BYTES = 1024 * 1024
M.PROJECT_MAX_DEPTH = 32
M.TRUSTED_MAX_BYTES = 16 * 1024 * 1024

-- text | nil (absent, when `optional`) | raises Failure
-- within: the directory a project file must stay in.
local function read_file(path, optional, within)
   local text, msg, code = core.read_file(path, {
      max_bytes = within and M.PROJECT_MAX_BYTES or M.TRUSTED_MAX_BYTES, within = within,
      follow = not within })
   if not text then
      if optional and code == "ENOENT" then return nil end
      if code == "too_large" then
         msg = msg .. (within and "; a project file is a short list of agents" or "")
      elseif code == "ENOENT" then
         msg = msg .. "; check the --manifest path"
      end
      error(setmetatable({ message = msg }, Failure), 0)
   end
   return text
end

-- Decode one file into its root mapping and positions (an empty file is an
-- empty mapping).
local function decode(path, text, max_depth)
   local doc, pos_or_msg = core.yaml_decode(text, { name = path, positions = true, max_depth = max_depth })
   if doc == nil then error(setmetatable({ message = pos_or_msg }, Failure), 0) end
   local ctx = { file = path, pos = pos_or_msg or {} }
   if doc == core.null then return {}, ctx end
   if not is_map(doc) then
      fail(ctx, at_table(ctx, doc), "", "expected a mapping with bottles: and/or agents:, found " ..
           describe(doc))
   end
   check_keys(ctx, doc, "", KEYS.top)
   return doc, ctx
end

-- Validate a trusted file's bottles and agents into `m`.
local function load_trusted(m, path, text, home)
   local doc, ctx = decode(path, text)
   ctx.home = home
   m.files[#m.files + 1] = path
   local defined = {}
   if doc.bottles ~= nil then
      local bottles = want_map(ctx, doc, "bottles", "", "a mapping of bottle names to bottles")
      for _, name in ipairs(keys_in_order(ctx, bottles)) do
         m.bottles[name] = bottle.check(ctx, bottles, name)
      end
   end
   if doc.agents ~= nil then
      local agents = want_map(ctx, doc, "agents", "", "a mapping of agent names to agents")
      for _, name in ipairs(keys_in_order(ctx, agents)) do
         m.agents[name] = agent.check(ctx, agents, name, m.bottles)
         defined[name] = true
      end
   end
   return defined
end

-- A project file adds agents only.
local function load_project(m, path, text, user_path)
   local doc, ctx = decode(path, text, M.PROJECT_MAX_DEPTH)
   m.files[#m.files + 1] = path
   if doc.bottles ~= nil then
      fail(ctx, at_key(ctx, doc, "bottles"), "bottles",
           "a project file may not define bottles: a cloned repository must not be able to " ..
           "widen egress or point at identity files; move the bottle into " ..
           (user_path or "your user file ($XDG_CONFIG_HOME/" .. M.USER_FILE .. ")"))
   end
   if doc.agents == nil then return end
   local agents = want_map(ctx, doc, "agents", "", "a mapping of agent names to agents")
   for _, name in ipairs(keys_in_order(ctx, agents)) do
      local existing = m.agents[name]
      if existing then
         local s = existing.source
         fail(ctx, at_key(ctx, agents, name), join("agents", name),
              "agent " .. quote(name) .. " is already defined in " ..
              string.format("%s:%d:%d", s.file, s.line, s.col) ..
              "; a project file may only add agents: give this one another name")
      end
      m.agents[name] = agent.check(ctx, agents, name, m.bottles)
      -- The image runs with the bottle's secrets and git remotes: a cloned
      -- repository must not choose it.
      local body = agents[name]
      -- Nor how much of the user's machine the agent gets: a mount lets it
      -- write on the host, ignored files are where secrets live, and the
      -- push policy decides what comes home.  A project file may say none.
      if type(body) == "table" then
         if body.workspace == "mount" then
            fail(ctx, at_key(ctx, body, "workspace"), join(join("agents", name), "workspace"),
                 "a project file may not choose workspace: mount (the agent could then write on your machine); "
                 .. "pass --workspace-mode mount yourself, or set it in your user file")
         end
         for _, k in ipairs { "workspace_include", "workspace_push" } do
            if body[k] ~= nil then
               fail(ctx, at_key(ctx, body, k), join(join("agents", name), k),
                    "a project file may not set " .. k .. ": a cloned repository must not choose which ignored "
                    .. "files reach the agent or what it may push; set it in your user file")
            end
         end
      end
      if type(body) == "table" and body.image ~= nil then
         fail(ctx, at_key(ctx, body, "image"), join(join("agents", name), "image"),
              "a project file may not choose an agent's image: the image runs with the bottle's " ..
              "secrets; set image in your user file")
      end
   end
end

local function absolute(path, cwd)
   if path:sub(1, 1) == "/" or not cwd or cwd == "" then return path end
   return cwd .. "/" .. path
end

-- opts = { manifest = FILE | nil, env = { XDG_CONFIG_HOME=, HOME=, cwd= } | nil }
-- → manifest | nil, message, "invalid_manifest"
function M.load(opts)
   opts = opts or {}
   local env = environment(opts.env)
   local ok, result = pcall(function()
      local m = M.default()
      if opts.manifest then
         local path = absolute(opts.manifest, env.cwd)
         load_trusted(m, path, read_file(path, false), env.HOME)
         return m
      end
      local paths = M.paths(env)
      local user_text = paths.user and read_file(paths.user, true)
      if user_text then load_trusted(m, paths.user, user_text, env.HOME) end
      local project_text = paths.project and read_file(paths.project, true, env.cwd)
      if project_text then load_project(m, paths.project, project_text, paths.user) end
      return m
   end)
   if ok then return result end
   if getmetatable(result) == Failure then return nil, result.message, "invalid_manifest" end
   error(result, 0)
end

return M
