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
local base64 = require "bottle.base64"
local limits = require "bottle.limits"

local M = {}

M.USER_FILE = "claude-bottle/bottles.yaml"   -- under $XDG_CONFIG_HOME
M.PROJECT_FILE = ".claude-bottle.yaml"       -- in the current directory
M.DEFAULT_BOTTLE = "default"
M.DEFAULT_AGENT = "claude"
M.BUILTIN_FILE = "<built-in>"
M.BOTTLE_NAME_MAX = 63
M.AGENT_NAME_MAX = 24

-- Set by the launcher in every agent: a manifest may not override them.
M.RESERVED_ENV = {
   HTTPS_PROXY = true, HTTP_PROXY = true, https_proxy = true, http_proxy = true,
   NO_PROXY = true, no_proxy = true, NODE_EXTRA_CA_CERTS = true,
   SSL_CERT_FILE = true, REQUESTS_CA_BUNDLE = true, GIT_SSL_CAINFO = true,
   CLAUDE_BOTTLE_WEBSOCKET_PROXY = true,
}

M.HOST_KEY_TYPES = {
   ["ssh-ed25519"] = true, ["ecdsa-sha2-nistp256"] = true,
   ["ecdsa-sha2-nistp384"] = true, ["ecdsa-sha2-nistp521"] = true,
   ["ssh-rsa"] = true,
}

local KEYS = {
   top = { "bottles", "agents" },
   bottle = { "env", "egress", "git", "resources" },
   egress = { "allowlist", "dlp_action", "tls_interception", "passthrough", "ports", "inspection" },
   inspection = { "headers", "responses", "blocklist", "gitleaks", "websocket" },
   resources = { "memory", "cpus", "pids", "disk" },
   git = { "name", "upstream", "identity", "host_key", "extra_hosts", "push",
           "user_name", "user_email" },
   push = { "branches", "force", "delete", "tags" },
   agent = { "bottle", "prompt", "skills", "image" },
}

-- Keys of the original claude-bottle manifest, and keys written one level
-- off, get a precise hint rather than a guess.
local RENAMED = {
   Name = "name", Upstream = "upstream", IdentityFile = "identity",
   KnownHostKey = "host_key", ExtraHosts = "extra_hosts",
}
local BELONGS_UNDER = {
   allowlist = "egress", dlp_action = "egress", tls_interception = "egress",
   passthrough = "egress", ports = "egress", upstream = "git[...]", identity = "git[...]",
   memory = "resources", cpus = "resources", pids = "resources", disk = "resources",
   host_key = "git[...]", branches = "git[...].push",
}

-- ---------------------------------------------------------------- helpers

-- Sequences carry core.array_mt, as decoded ones do, so that an empty list
-- stays a list when encoded.
local function seq(t)
   return setmetatable(t or {}, core.array_mt)
end

-- A name, key or host for a message: quoted, with every byte that could
-- confuse a terminal or a log reader escaped.
local function quote(s)
   s = tostring(s)
   return '"' .. s:gsub('[%c"\\\128-\255]', function(c)
      if c == '"' or c == "\\" then return "\\" .. c end
      if c == "\n" then return "\\n" end
      if c == "\t" then return "\\t" end
      if c == "\r" then return "\\r" end
      return string.format("\\x%02x", c:byte())
   end) .. '"'
end
M.quote = quote

local function levenshtein(a, b)
   local la, lb = #a, #b
   local prev = {}
   for j = 0, lb do prev[j] = j end
   for i = 1, la do
      local cur = { [0] = i }
      for j = 1, lb do
         local cost = a:byte(i) == b:byte(j) and 0 or 1
         cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      end
      prev = cur
   end
   return prev[lb]
end
M.levenshtein = levenshtein

local function is_seq(v)
   return type(v) == "table" and getmetatable(v) == core.array_mt
end

local function is_map(v)
   return type(v) == "table" and not is_seq(v)
end

local function describe(v)
   if v == core.null then return "null" end
   local t = type(v)
   if t == "table" then return is_seq(v) and "a list" or "a mapping" end
   if t == "boolean" then return "a boolean" end
   if t == "number" then return "a number" end
   if t == "string" then return "a string" end
   return t
end

-- ------------------------------------------------------------ error state

-- Validation raises a Failure (a table) at the first problem; load() turns
-- it into nil, message, "invalid_manifest".  Anything else raised is a bug
-- and propagates.
local Failure = {}

-- ctx = { file = path, pos = positions, owner = 'bottle "web"' | nil, home = HOME }
local function fail(ctx, at, path, problem)
   at = at or {}
   local parts = { string.format("%s:%d:%d: ", ctx.file, at.line or 1, at.col or 1) }
   if ctx.owner then parts[#parts + 1] = ctx.owner .. ": " end
   if path and path ~= "" then parts[#parts + 1] = path .. ": " end
   parts[#parts + 1] = problem
   error(setmetatable({ message = table.concat(parts) }, Failure), 0)
end

-- Where key `k` of table `t` is written (or where `t` starts).
local function at_key(ctx, t, k)
   local p = ctx.pos and ctx.pos[t]
   if p and p.at and p.at[k] then return p.at[k] end
   return p
end

local function at_table(ctx, t)
   return ctx.pos and ctx.pos[t]
end

-- A key path such as egress.allowlist[2]; a key that is not a plain word
-- (a hostile one, say) is quoted and escaped.
local function join(path, key)
   if type(key) == "number" then return path .. "[" .. key .. "]" end
   if not key:match("^[%w_.*-]+$") then return path .. "[" .. quote(key) .. "]" end
   if path == "" then return key end
   return path .. "." .. key
end

-- Keys of a mapping in the order they are written, so that the first error
-- reported is the first one in the file.
local function keys_in_order(ctx, t)
   local keys = {}
   for k in pairs(t) do keys[#keys + 1] = k end
   local p = ctx.pos and ctx.pos[t]
   local at = p and p.at or {}
   table.sort(keys, function(a, b)
      local pa, pb = at[a], at[b]
      local la, lb = pa and pa.line or math.huge, pb and pb.line or math.huge
      if la ~= lb then return la < lb end
      local ca, cb = pa and pa.col or math.huge, pb and pb.col or math.huge
      if ca ~= cb then return ca < cb end
      return tostring(a) < tostring(b)
   end)
   return keys
end

local function unknown_key(ctx, t, k, path, known)
   local hint
   if RENAMED[k] then
      hint = "the original claude-bottle's " .. quote(k) .. " is now " .. quote(RENAMED[k])
   else
      local best, best_d
      local lk = k:lower()
      for _, name in ipairs(known) do
         local d = levenshtein(lk, name)
         if d <= 2 and (not best_d or d < best_d) then best, best_d = name, d end
      end
      if best then
         hint = "did you mean " .. quote(best) .. "?"
      elseif BELONGS_UNDER[k] then
         hint = quote(k) .. " belongs under " .. BELONGS_UNDER[k] .. ":"
      else
         hint = "known keys here: " .. table.concat(known, ", ")
      end
   end
   fail(ctx, at_key(ctx, t, k), join(path, k), "unknown key " .. quote(k) .. "; " .. hint)
end

local function check_keys(ctx, t, path, known)
   local set = {}
   for _, name in ipairs(known) do set[name] = true end
   for _, k in ipairs(keys_in_order(ctx, t)) do
      if not set[k] then unknown_key(ctx, t, k, path, known) end
   end
end

-- Type checks on `t[k]`; `what` completes "expected ...".
local function want_string(ctx, t, k, path, what)
   local v = t[k]
   if type(v) ~= "string" then
      fail(ctx, at_key(ctx, t, k), join(path, k),
           "expected " .. (what or "a string") .. ", found " .. describe(v))
   end
   return v
end

local function want_bool(ctx, t, k, path)
   local v = t[k]
   if type(v) ~= "boolean" then
      local fix = type(v) == "string" and "; YAML reads " .. quote(v) ..
         " as text, write true or false without quotes" or "; write true or false"
      fail(ctx, at_key(ctx, t, k), join(path, k),
           "expected true or false, found " .. describe(v) .. fix)
   end
   return v
end

local function want_map(ctx, t, k, path, what)
   local v = t[k]
   if not is_map(v) then
      fail(ctx, at_key(ctx, t, k), join(path, k),
           "expected " .. (what or "a mapping") .. ", found " .. describe(v))
   end
   return v
end

local function want_list(ctx, t, k, path, what)
   local v = t[k]
   if not is_seq(v) then
      fail(ctx, at_key(ctx, t, k), join(path, k),
           "expected " .. (what or "a list") .. ", found " .. describe(v))
   end
   return v
end

local function has_control(s)
   return s:find("[%z\1-\31\127]") ~= nil
end

-- -------------------------------------------------------------- the names

local NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$"

local function check_name(ctx, t, k, path, kind, max)
   if type(k) ~= "string" or not k:match(NAME_PATTERN) or #k > max then
      fail(ctx, at_key(ctx, t, k), join(path, k),
           kind .. " name " .. quote(k) .. " is not valid; use 1 to " .. max ..
           " lowercase letters, digits, '-' or '_', starting with a letter or digit")
   end
end

-- ---------------------------------------------------------------- hosts

-- One host through the core's rules; `exact` refuses wildcards.
local function check_host(ctx, at, path, host, exact)
   local normal, msg = core.host_check(host)
   if not normal then fail(ctx, at, path, msg) end
   if exact and normal:sub(1, 2) == "*." then
      fail(ctx, at, path, quote(normal) .. " is a wildcard; name one host")
   end
   return normal
end

local function check_host_list(ctx, t, k, path)
   local list = want_list(ctx, t, k, path, "a list of host names")
   local out, seen = seq {}, {}
   for i, host in ipairs(list) do
      local at = at_key(ctx, list, i)
      local p = join(join(path, k), i)
      if type(host) ~= "string" then
         fail(ctx, at, p, "expected a host name, found " .. describe(host))
      end
      local normal = check_host(ctx, at, p, host, false)
      if not seen[normal] then
         seen[normal] = true
         out[#out + 1] = normal
      end
   end
   return out
end

local function is_ipv4(s)
   local parts = { s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
   if #parts ~= 4 then return false end
   for _, p in ipairs(parts) do
      if #p > 3 or (#p > 1 and p:sub(1, 1) == "0") or tonumber(p) > 255 then
         return false
      end
   end
   return true
end

-- ------------------------------------------------------------------- env

local ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
local HOST_VAR = "^%${([A-Za-z_][A-Za-z0-9_]*)}$"

-- Classify one env value.  Messages here never quote the value.
local function env_entry(ctx, env, name, path)
   local at = at_key(ctx, env, name)
   local p = join(path, name)
   if not name:match(ENV_NAME) then
      fail(ctx, at, p, "env name " .. quote(name) ..
           " is not valid; use letters, digits and '_', not starting with a digit")
   end
   if M.RESERVED_ENV[name] then
      fail(ctx, at, p, quote(name) .. " is set by the launcher (proxy and CA settings); remove it")
   end
   local v = env[name]
   if type(v) ~= "string" then
      fail(ctx, at, p, "expected a string, found " .. describe(v) ..
           "; quote the value (env values are always text)")
   end
   if v:sub(1, 1) == "?" then
      local prompt = v:sub(2):match("^%s*(.-)%s*$")
      if has_control(prompt) then
         fail(ctx, at, p, "the prompt text contains a control character; write it on one line")
      end
      return { name = name, kind = "prompt", prompt = prompt ~= "" and prompt or nil }
   end
   if v:find("${", 1, true) then
      local var = v:match(HOST_VAR)
      if not var then
         fail(ctx, at, p, "a value containing \"${\" must be exactly ${NAME} " ..
              "(one host variable, NAME of letters, digits and '_', nothing around it)")
      end
      return { name = name, kind = "host", from = var }
   end
   if v:find("[\n\r%z]") then
      fail(ctx, at, p, "the value contains a newline, carriage return or NUL, " ..
           "which an env-file cannot hold; use a prompt (\"?\") or ${VAR} for it")
   end
   if not utf8.len(v) then
      fail(ctx, at, p, "the value is not valid UTF-8")
   end
   return { name = name, kind = "literal", value = v }
end

local function check_env(ctx, bottle, path)
   local env = want_map(ctx, bottle, "env", path, "a mapping of NAME: value")
   local out = seq {}
   for _, name in ipairs(keys_in_order(ctx, env)) do
      out[#out + 1] = env_entry(ctx, env, name, join(path, "env"))
   end
   table.sort(out, function(a, b) return a.name < b.name end)
   return out
end

-- ---------------------------------------------------------------- egress

-- Ports pipelock may open beyond 80 and 443 (the firewall under it drops
-- every other one, whatever pipelock allows).
local function check_ports(ctx, eg, k, path)
   local list = want_list(ctx, eg, k, path, "a list of port numbers")
   local out, seen = seq {}, {}
   for i, port in ipairs(list) do
      if math.type(port) ~= "integer" or port < 1 or port > 65535 then
         fail(ctx, at_key(ctx, list, i), join(join(path, k), i),
              "expected a port number from 1 to 65535, found " .. (type(port) == "number" and tostring(port) or describe(port)))
      end
      if not seen[port] then seen[port] = true; out[#out + 1] = port end
   end
   return out
end

-- What pipelock inspects, each default turned down on purpose (the
-- defaults and their figures: csrc/pipelock_inspection.c).
local INSPECTION_CHOICES = { headers = { "all", "sensitive" }, responses = { "block", "strip", "warn" } }

local function check_inspection(ctx, eg, path)
   local t = want_map(ctx, eg, "inspection", path, "a mapping (headers:, responses:, blocklist:, gitleaks:, websocket:)")
   local p = join(path, "inspection")
   check_keys(ctx, t, p, KEYS.inspection)
   local out = {}
   for _, k in ipairs(keys_in_order(ctx, t)) do
      local choices = INSPECTION_CHOICES[k]
      if choices then
         local v = want_string(ctx, t, k, p, table.concat(choices, " or "))
         local ok = false
         for _, c in ipairs(choices) do ok = ok or c == v end
         if not ok then
            fail(ctx, at_key(ctx, t, k), join(p, k), quote(v) .. " is not a choice; write " .. table.concat(choices, " or "))
         end
         out[k] = v
      else
         out[k] = want_bool(ctx, t, k, p)
      end
   end
   return out
end

local function check_egress(ctx, bottle, path)
   local eg = want_map(ctx, bottle, "egress", path)
   local p = join(path, "egress")
   check_keys(ctx, eg, p, KEYS.egress)
   local out = { allowlist = seq {}, dlp_action = "block", tls_interception = true,
                 passthrough = seq {} }
   for _, k in ipairs(keys_in_order(ctx, eg)) do
      if k == "allowlist" or k == "passthrough" then
         out[k] = check_host_list(ctx, eg, k, p)
      elseif k == "dlp_action" then
         local v = want_string(ctx, eg, k, p, "block or warn")
         if v ~= "block" and v ~= "warn" then
            fail(ctx, at_key(ctx, eg, k), join(p, k),
                 quote(v) .. " is not a DLP action; write block or warn")
         end
         out.dlp_action = v
      elseif k == "tls_interception" then
         out.tls_interception = want_bool(ctx, eg, k, p)
      elseif k == "ports" then
         out.ports = check_ports(ctx, eg, k, p)
      elseif k == "inspection" then
         out.inspection = check_inspection(ctx, eg, p)
      end
   end
   return out
end

-- ------------------------------------------------------------- resources

-- A scalar as the message shows it: numbers as written, text quoted.
local function shown(v)
   if type(v) == "number" then return tostring(v) end
   if type(v) == "string" then return quote(v) end
   return describe(v)
end

local function check_resources(ctx, bottle, path)
   local r = want_map(ctx, bottle, "resources", path, "a mapping (memory:, cpus:, pids:, disk:)")
   local p = join(path, "resources")
   check_keys(ctx, r, p, KEYS.resources)
   local out = {}
   for _, k in ipairs(keys_in_order(ctx, r)) do
      local v, at = r[k], at_key(ctx, r, k)
      if k == "memory" or k == "disk" then
         local bytes = limits.parse_size(v)
         if not bytes then
            fail(ctx, at, join(p, k), "expected a size such as 4g or 512m (k, m, g or t), found " .. shown(v))
         end
         local min = k == "memory" and limits.MIN_MEMORY or limits.MIN_DISK
         if bytes < min then
            fail(ctx, at, join(p, k), ("%s is below the smallest %s a bottle can run with (%s)")
               :format(limits.size_text(bytes), k, limits.size_text(min)))
         end
         out[k] = bytes
      elseif k == "cpus" then
         if type(v) ~= "number" or v ~= v or v < 0.1 or v > 1024 then
            fail(ctx, at, join(p, k), "expected a number of CPUs from 0.1 to 1024 (such as 2 or 0.5), found " ..
                 shown(v))
         end
         out.cpus = v
      elseif k == "pids" then
         if math.type(v) ~= "integer" or v < limits.MIN_PIDS or v > limits.MAX_PIDS then
            fail(ctx, at, join(p, k), ("expected a whole number of processes from %d to %d, found %s")
               :format(limits.MIN_PIDS, limits.MAX_PIDS, shown(v)))
         end
         out.pids = v
      end
   end
   return out
end

-- ------------------------------------------------------------------- git

local GIT_NAME = "^[A-Za-z0-9._-]+$"
local GIT_USER = "^[A-Za-z0-9._-]+$"
local URL_PATH = "^[A-Za-z0-9._~/+@:%%-]+$"

-- Parse an upstream into {user=, host=, port=, path=}, or nil, problem.
local function parse_upstream(ctx, at, p, s)
   local user, host, port, path
   local rest = s:match("^ssh://(.*)$")
   if rest then
      local authority
      authority, path = rest:match("^([^/]*)(/.*)$")
      if not authority or authority == "" then
         return nil, "no host; write ssh://git@host[:port]/path"
      end
      local u, a = authority:match("^(.-)@(.*)$")
      if u then user, authority = u, a end
      host, port = authority:match("^(.-):(%d*)$")
      if not host then
         host = authority
      elseif port == "" then
         return nil, "empty port; write ssh://git@host:PORT/path or leave the port out"
      end
      if path == "/" then return nil, "no repository path after the host" end
   elseif s:match("^[%a][%w+.-]*://") then
      return nil, "only ssh:// upstreams go through the git gate; write ssh://git@host/path"
   else
      user, host, path = s:match("^([^@/:]+)@([^/:]+):(.+)$")
      if not user then
         return nil, "not an ssh URL; write ssh://[user@]host[:port]/path or user@host:path"
      end
      if path:match("^%d+/") then
         return nil, "the scp-like form has no port (this path starts with a number); " ..
            "write ssh://user@host:PORT/path"
      end
   end
   if user and not user:match(GIT_USER) then
      return nil, "the user " .. quote(user) .. " is not valid; use letters, digits, '.', '_' or '-'"
   end
   if port then
      local n = tonumber(port)
      if #port > 5 or n < 1 or n > 65535 then
         return nil, "port " .. port .. " is out of range; use 1 to 65535"
      end
      port = n
   else
      port = 22
   end
   host = check_host(ctx, at, p, host, true)
   if not path:match(URL_PATH) then
      return nil, "the path contains characters a git URL should not; " ..
         "use letters, digits and . _ ~ / + @ : % -"
   end
   return { user = user, host = host, port = port, path = path }
end

-- "<keytype> <base64> [comment]" → "<keytype> <base64>", or nil, problem.
local function parse_host_key(s)
   local fields = {}
   for f in s:gmatch("%S+") do fields[#fields + 1] = f end
   local fix = "write \"KEYTYPE BASE64\" as printed by ssh-keyscan (without the host name)"
   if #fields >= 3 and M.HOST_KEY_TYPES[fields[2]] then
      return nil, "this looks like a known_hosts line; drop the leading host name"
   end
   if #fields < 2 then return nil, "expected a key type and a base64 key; " .. fix end
   local ktype, b64 = fields[1], fields[2]
   if not M.HOST_KEY_TYPES[ktype] then
      local names = {}
      for n in pairs(M.HOST_KEY_TYPES) do names[#names + 1] = n end
      table.sort(names)
      return nil, "unknown key type " .. quote(ktype) .. "; use one of " .. table.concat(names, ", ")
   end
   local blob = #b64 % 4 == 0 and b64:match("^[A-Za-z0-9+/]+=?=?$") and base64.decode(b64)
   if not blob or #blob < 4 then return nil, "the key is not valid base64; " .. fix end
   -- An SSH public key blob starts with its own key type, length-prefixed.
   local n = string.unpack(">I4", blob)
   if blob:sub(5, 4 + n) ~= ktype then
      return nil, "the base64 key is not a " .. ktype .. " key; copy the type and key from the same line"
   end
   return ktype .. " " .. b64
end

local function expand_identity(ctx, at, p, s)
   local path = s
   if s == "~" or s:sub(1, 2) == "~/" then
      if not ctx.home or ctx.home == "" then
         fail(ctx, at, p, "cannot expand \"~\": HOME is not set; write an absolute path")
      end
      path = ctx.home .. s:sub(2)
   elseif s:sub(1, 1) == "~" then
      fail(ctx, at, p, "only \"~/\" is expanded; write an absolute path")
   end
   if path:sub(1, 1) ~= "/" then
      fail(ctx, at, p, "identity must be an absolute path or start with ~/")
   end
   local st, msg = core.stat(path)
   if not st then
      fail(ctx, at, p, "identity file cannot be read: " .. tostring(msg) .. "; check the path")
   end
   if st.type == "link" then
      fail(ctx, at, p, "identity file " .. quote(path) ..
           " is a symbolic link; point identity at the key file itself")
   end
   if st.type ~= "file" then
      fail(ctx, at, p, "identity " .. quote(path) .. " is not a regular file")
   end
   if st.mode & 63 ~= 0 then
      fail(ctx, at, p, string.format(
         "identity file %s has mode %03o, readable by others; run chmod 600 %s",
         quote(path), st.mode & 511, quote(path)))
   end
   return path
end

local function check_branch_glob(ctx, at, p, g)
   if type(g) ~= "string" or g == "" then
      fail(ctx, at, p, "expected a non-empty branch name or glob, found " .. describe(g))
   end
   if g:sub(1, 5) == "refs/" then
      fail(ctx, at, p, "write the branch name alone (without refs/heads/)")
   end
   if g:find("[%s%c~^:\\]") or g:find("..", 1, true) or g:find("@{", 1, true)
      or g:sub(1, 1) == "/" or g:sub(-1) == "/" or g:sub(1, 1) == "-" then
      fail(ctx, at, p, quote(g) .. " is not a valid branch glob; " ..
           "use branch names with * wildcards such as agent/*")
   end
end

local function check_push(ctx, entry, p)
   local push = want_map(ctx, entry, "push", p)
   local pp = join(p, "push")
   check_keys(ctx, push, pp, KEYS.push)
   local out = { branches = seq { "*" }, force = false, delete = false, tags = false }
   for _, k in ipairs(keys_in_order(ctx, push)) do
      if k == "branches" then
         local list = want_list(ctx, push, k, pp, "a list of branch globs")
         out.branches = seq {}
         for i, g in ipairs(list) do
            check_branch_glob(ctx, at_key(ctx, list, i), join(join(pp, k), i), g)
            out.branches[i] = g
         end
      else
         out[k] = want_bool(ctx, push, k, pp)
      end
   end
   return out
end

local GIT_REQUIRED = {
   { "name", "add name: (the repository's alias in the gate)" },
   { "upstream", "add upstream: ssh://git@host/path.git" },
   { "identity", "add identity: ~/.ssh/KEY (the SSH key the gate pushes with)" },
   { "host_key", "add host_key: \"KEYTYPE BASE64\" (from ssh-keyscan HOST; " ..
                 "the gate never trusts on first use)" },
}

local function check_git_entry(ctx, entry, p, hosts_seen)
   check_keys(ctx, entry, p, KEYS.git)
   for _, req in ipairs(GIT_REQUIRED) do
      if entry[req[1]] == nil then
         fail(ctx, at_table(ctx, entry), p, "missing required key " .. quote(req[1]) .. "; " .. req[2])
      end
   end
   local out = { push = { branches = seq { "*" }, force = false, delete = false, tags = false },
                 extra_hosts = {} }
   for _, k in ipairs(keys_in_order(ctx, entry)) do
      local at = at_key(ctx, entry, k)
      local kp = join(p, k)
      if k == "name" then
         local v = want_string(ctx, entry, k, p)
         if not v:match(GIT_NAME) or v == "." or v == ".." or v:sub(1, 1) == "-" or #v > 100 then
            fail(ctx, at, kp, quote(v) .. " is not a valid git name; " ..
                 "use letters, digits, '.', '_' or '-' (it names /git/<name>.git in the gate)")
         end
         out.name = v
      elseif k == "upstream" then
         local v = want_string(ctx, entry, k, p, "an ssh URL")
         local u, problem = parse_upstream(ctx, at, kp, v)
         if not u then fail(ctx, at, kp, quote(v) .. ": " .. problem) end
         out.upstream, out.user, out.host, out.port, out.path = v, u.user, u.host, u.port, u.path
      elseif k == "identity" then
         local v = want_string(ctx, entry, k, p, "a path to an SSH private key")
         out.identity = expand_identity(ctx, at, kp, v)
      elseif k == "host_key" then
         local v = want_string(ctx, entry, k, p, "\"KEYTYPE BASE64\"")
         local key, problem = parse_host_key(v)
         if not key then fail(ctx, at, kp, problem) end
         out.host_key = key
      elseif k == "extra_hosts" then
         local map = want_map(ctx, entry, k, p, "a mapping of host: IPv4 address")
         for _, h in ipairs(keys_in_order(ctx, map)) do
            local hat, hp = at_key(ctx, map, h), join(kp, h)
            local host = check_host(ctx, hat, hp, h, true)
            local ip = map[h]
            if type(ip) ~= "string" or not is_ipv4(ip) then
               fail(ctx, hat, hp, "expected an IPv4 address such as 10.0.0.2, found " ..
                    (type(ip) == "string" and quote(ip) or describe(ip)))
            end
            if hosts_seen[host] and hosts_seen[host] ~= ip then
               fail(ctx, hat, hp, quote(host) .. " is already pinned to " .. hosts_seen[host] ..
                    " in this bottle; use one address per host")
            end
            hosts_seen[host] = ip
            out.extra_hosts[host] = ip
         end
      elseif k == "push" then
         out.push = check_push(ctx, entry, p)
      elseif k == "user_name" or k == "user_email" then
         local v = want_string(ctx, entry, k, p)
         if v == "" or has_control(v) then
            fail(ctx, at, kp, "expected one line of text")
         end
         out[k] = v
      end
   end
   return out
end

local function check_git(ctx, bottle, path)
   local list = want_list(ctx, bottle, "git", path, "a list of git entries")
   local p = join(path, "git")
   local out, names, hosts_seen = seq {}, {}, {}
   for i, entry in ipairs(list) do
      local ep = join(p, i)
      if not is_map(entry) then
         fail(ctx, at_key(ctx, list, i), ep, "expected a mapping with name:, upstream:, " ..
              "identity: and host_key:, found " .. describe(entry))
      end
      local g = check_git_entry(ctx, entry, ep, hosts_seen)
      if names[g.name] then
         fail(ctx, at_key(ctx, entry, "name"), join(ep, "name"), "git name " .. quote(g.name) ..
              " is already used by git[" .. names[g.name] .. "]; names must be unique in a bottle")
      end
      names[g.name] = i
      out[#out + 1] = g
   end
   return out
end

-- --------------------------------------------------------------- bottles

local function empty_bottle(name, source)
   return {
      name = name, source = source, env = seq {}, git = seq {},
      egress = { allowlist = seq {}, dlp_action = "block", tls_interception = true,
                 passthrough = seq {} },
   }
end

local function check_bottle(ctx, bottles, name)
   check_name(ctx, bottles, name, "bottles", "bottle", M.BOTTLE_NAME_MAX)
   local at = at_key(ctx, bottles, name)
   ctx.owner = "bottle " .. quote(name)
   local b = bottles[name]
   if not is_map(b) then
      fail(ctx, at, "", "expected a mapping (env:, egress:, git:, resources:), found " .. describe(b) ..
           "; write " .. name .. ": {} for a bottle with the defaults")
   end
   check_keys(ctx, b, "", KEYS.bottle)
   local out = empty_bottle(name, { file = ctx.file, line = at and at.line or 1, col = at and at.col or 1 })
   for _, k in ipairs(keys_in_order(ctx, b)) do
      if k == "env" then out.env = check_env(ctx, b, "")
      elseif k == "egress" then out.egress = check_egress(ctx, b, "")
      elseif k == "git" then out.git = check_git(ctx, b, "")
      elseif k == "resources" then out.resources = check_resources(ctx, b, "") end
   end
   ctx.owner = nil
   return out
end

-- ---------------------------------------------------------------- agents

local SKILL_NAME = "^[A-Za-z0-9._-]+$"
local IMAGE_REF = "^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"

-- Agents are checked against `bottles` (the bottles visible to this file).
local function check_agent(ctx, agents, name, bottles)
   check_name(ctx, agents, name, "agents", "agent", M.AGENT_NAME_MAX)
   local at = at_key(ctx, agents, name)
   ctx.owner = "agent " .. quote(name)
   local a = agents[name]
   if not is_map(a) then
      fail(ctx, at, "", "expected a mapping with at least bottle:, found " .. describe(a))
   end
   check_keys(ctx, a, "", KEYS.agent)
   if a.bottle == nil then
      fail(ctx, at, "bottle", "missing required key \"bottle\"; name the bottle this agent runs in")
   end
   local out = { name = name, skills = seq {},
                 source = { file = ctx.file, line = at and at.line or 1, col = at and at.col or 1 } }
   for _, k in ipairs(keys_in_order(ctx, a)) do
      local kat = at_key(ctx, a, k)
      if k == "bottle" then
         local v = want_string(ctx, a, k, "", "a bottle name")
         if not bottles[v] then
            local known = {}
            for n in pairs(bottles) do known[#known + 1] = n end
            table.sort(known)
            fail(ctx, kat, k, "bottle " .. quote(v) .. " is not defined; define it under bottles: " ..
                 "or use one of: " .. table.concat(known, ", "))
         end
         out.bottle = v
      elseif k == "prompt" then
         local v = want_string(ctx, a, k, "")
         if v:find("%z") then fail(ctx, kat, k, "the prompt contains a NUL byte") end
         out.prompt = v
      elseif k == "skills" then
         local list = want_list(ctx, a, k, "", "a list of skill names")
         local seen = {}
         for i, s in ipairs(list) do
            local sat, sp = at_key(ctx, list, i), join(k, i)
            if type(s) ~= "string" or not s:match(SKILL_NAME) or s == "." or s == ".." then
               fail(ctx, sat, sp, (type(s) == "string" and quote(s) or describe(s)) ..
                    " is not a skill name; use the name of a directory in ~/.claude/skills/ " ..
                    "(letters, digits, '.', '_', '-')")
            end
            if seen[s] then fail(ctx, sat, sp, "skill " .. quote(s) .. " is listed twice") end
            seen[s] = true
            out.skills[i] = s
            -- where it is written, for the plan's "skill not found"
            out.skill_at = out.skill_at or {}
            out.skill_at[i] = { file = ctx.file, line = sat and sat.line or 1, col = sat and sat.col or 1 }
         end
      elseif k == "image" then
         local v = want_string(ctx, a, k, "", "an image reference")
         if not v:match(IMAGE_REF) or #v > 255 then
            fail(ctx, kat, k, quote(v) .. " is not an image reference; write e.g. claude-bottle:latest")
         end
         out.image = v
      end
   end
   ctx.owner = nil
   return out
end

-- ------------------------------------------------------------- the files

function M.default()
   local source = { file = M.BUILTIN_FILE, line = 1, col = 1 }
   return {
      files = seq {},
      bottles = { [M.DEFAULT_BOTTLE] = empty_bottle(M.DEFAULT_BOTTLE, source) },
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
   local xdg = env.XDG_CONFIG_HOME
   if not xdg or xdg:sub(1, 1) ~= "/" then  -- the XDG spec ignores relative values
      xdg = env.HOME and env.HOME ~= "" and env.HOME .. "/.config" or nil
   end
   if xdg then user = xdg .. "/" .. M.USER_FILE end
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
         m.bottles[name] = check_bottle(ctx, bottles, name)
      end
   end
   if doc.agents ~= nil then
      local agents = want_map(ctx, doc, "agents", "", "a mapping of agent names to agents")
      for _, name in ipairs(keys_in_order(ctx, agents)) do
         m.agents[name] = check_agent(ctx, agents, name, m.bottles)
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
      m.agents[name] = check_agent(ctx, agents, name, m.bottles)
      -- The image runs with the bottle's secrets and git remotes: a cloned
      -- repository must not choose it.
      local body = agents[name]
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
