-- The user config file, $XDG_CONFIG_HOME/claude-bottle/config.yaml: the
-- launcher's own settings, apart from the manifest (which says what bottles
-- and agents exist).  Every key is optional:
--
--   network_pool: [10.123.0.0/16]    # where the bottles' subnets come from
--   pipelock_image: ghcr.io/luckypipewrench/pipelock@sha256:...
--   agent_image: claude-bottle:latest
--   git_gate_image: claude-bottle-git-gate:latest
--   firewall_image: claude-bottle-firewall:latest
--   cred_proxy_image: claude-bottle-cred-proxy:latest
--   dockerfiles: ~/src/claude-bottle  # where the shipped Dockerfiles are
--   backend: kubernetes               # docker (the default) or kubernetes
--   kube_context: team-cluster        # the kubeconfig context (kubernetes)
--
-- An image set in the environment ($BOTTLE_<ROLE>_IMAGE) wins over the file;
-- --backend and --context on the command line win over backend and kube_context.
-- A bad file is an error naming file:line:col, the key and the fix.
local core = require "bottle.core"
local schema = require "bottle.schema"
local check = require "bottle.manifest.check"
local subnets = require "bottle.subnets"
local images = require "bottle.images"

local M = {}

M.FILE = schema.APP .. "/config.yaml"     -- under the config home
M.MAX_BYTES = 64 * 1024
M.KEYS = { "network_pool", "pipelock_image", "agent_image", "git_gate_image", "firewall_image", "cred_proxy_image",
           "dockerfiles", "backend", "kube_context" }

--- path(env) → the file's path | nil (no config home).
function M.path(env)
   local home = schema.config_home(env or { XDG_CONFIG_HOME = os.getenv("XDG_CONFIG_HOME"), HOME = os.getenv("HOME") })
   return home and (home .. "/" .. M.FILE) or nil
end

local function validate(ctx, doc, home)
   local out = { file = ctx.file }
   check.check_keys(ctx, doc, "", M.KEYS)
   for _, k in ipairs(check.keys_in_order(ctx, doc)) do
      local v = doc[k]
      if k == "network_pool" then
         local list = v
         if type(v) == "string" then list = { v }
         elseif not check.is_seq(list) then
            check.fail(ctx, check.at_key(ctx, doc, k), k,
               "expected a CIDR or a list of CIDRs (e.g. [10.123.0.0/16]), found " .. check.describe(v))
         end
         for i, cidr in ipairs(list) do
            if type(cidr) ~= "string" then
               check.fail(ctx, check.at_key(ctx, list, i) or check.at_key(ctx, doc, k), check.join(k, i),
                  "expected a CIDR such as 10.123.0.0/16, found " .. check.describe(cidr))
            end
         end
         local pools, why, bad = subnets.check_pool(list)
         if not pools then
            local at = type(v) == "string" and check.at_key(ctx, doc, k) or check.at_key(ctx, list, bad)
            check.fail(ctx, at or check.at_key(ctx, doc, k), type(v) == "string" and k or check.join(k, bad),
               why .. "; write IPv4 CIDRs from /8 to /" .. subnets.MAX_POOL_PREFIX .. " that do not overlap")
         end
         out.network_pool = {}
         for i, cidr in ipairs(list) do out.network_pool[i] = cidr end
      elseif k == "dockerfiles" then
         local dir = check.want_string(ctx, doc, k, "", "a directory (a claude-bottle checkout)")
         if dir:sub(1, 2) == "~/" and home then dir = home .. dir:sub(2) end
         if dir:sub(1, 1) ~= "/" or check.has_control(dir) then
            check.fail(ctx, check.at_key(ctx, doc, k), k, "expected an absolute path (or ~/...), found "
               .. check.quote(dir))
         end
         out.dockerfiles = (dir:gsub("/+$", ""))
      elseif k == "backend" then
         local names = require("bottle.backend").names()
         local name = check.want_string(ctx, doc, k, "", "a backend name (" .. table.concat(names, " or ") .. ")")
         if not require("bottle.backend").KNOWN[name] then
            check.fail(ctx, check.at_key(ctx, doc, k), k, ("unknown backend %s; write one of: %s")
               :format(check.quote(name), table.concat(names, ", ")))
         end
         out.backend = name
      elseif k == "kube_context" then
         local name = check.want_string(ctx, doc, k, "", "a context name from your kubeconfig")
         if name == "" or check.has_control(name) then
            check.fail(ctx, check.at_key(ctx, doc, k), k, "expected a context name from your kubeconfig (`kubectl "
               .. "config get-contexts`), found " .. check.quote(name))
         end
         out.kube_context = name
      else
         local ref = check.want_string(ctx, doc, k, "", "an image reference such as host/repo:tag or host/repo@sha256:...")
         local ok, why = images.parse(ref)
         if not ok then
            check.fail(ctx, check.at_key(ctx, doc, k), k, why .. "; write host/repo:tag or host/repo@sha256:<64 hex>")
         end
         out[k] = ref
      end
   end
   return out
end

--- load(env) → config table (empty when there is no file) | nil, message,
-- "invalid_config".  env: {XDG_CONFIG_HOME, HOME} (default: the process's).
-- opts.path reads that file instead.
function M.load(env, opts)
   env = env or { XDG_CONFIG_HOME = os.getenv("XDG_CONFIG_HOME"), HOME = os.getenv("HOME") }
   local path = opts and opts.path or M.path(env)
   if not path then return {} end
   local text, msg, code = core.read_file(path, { max_bytes = M.MAX_BYTES, follow = true })
   if not text then
      if code == "ENOENT" then return {} end
      return nil, msg, "invalid_config"
   end
   local ok, result = pcall(function()
      local doc, pos = core.yaml_decode(text, { name = path, positions = true })
      if doc == nil then error(setmetatable({ message = pos }, check.Failure), 0) end
      local ctx = { file = path, pos = pos or {} }
      if doc == core.null then return { file = path } end
      if not check.is_map(doc) then
         check.fail(ctx, check.at_table(ctx, doc), "", "expected a mapping of settings ("
            .. table.concat(M.KEYS, ", ") .. "), found " .. check.describe(doc))
      end
      return validate(ctx, doc, env.HOME)
   end)
   if ok then return result end
   if getmetatable(result) == check.Failure then return nil, result.message, "invalid_config" end
   error(result, 0)
end

--- images(cfg, getenv) → {role = image}: the environment, else the file,
-- else the built-in default (bottle.plan's).
function M.images(cfg, getenv)
   getenv = getenv or os.getenv
   local planner = require "bottle.plan"
   local defaults = planner.images(function() return nil end)
   local out = {}
   for role, var in pairs(planner.IMAGE_VARS) do
      local v = getenv(var)
      out[role] = (v and v ~= "") and v or cfg[role .. "_image"] or defaults[role]
   end
   return out
end

--- The network pool and where it comes from, for `doctor`.
function M.network_pool(cfg)
   if cfg.network_pool then return cfg.network_pool, cfg.file end
   return subnets.DEFAULT_POOL, nil
end

return M
