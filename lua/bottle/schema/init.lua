-- The bottle schema, in one place: the keys a manifest may write and their
-- order, defaults and enums, name rules, the variables the launcher owns,
-- the ports and names of the sidecars, and where the user's files live.
-- bottle.manifest checks against it, bottle.policy derives what a policy
-- sees and may change from it, and the plan and backends take their
-- constants from it.  A new bottle key is one entry here and its use where it
-- takes effect (docs/schema.md).
local core = require "bottle.core"
local git = require "bottle.schema.git"

local M = {}

local function seq(t)
   return setmetatable(t or {}, core.array_mt)
end
M.seq = seq

-------------------------------------------------------------------- names

M.APP = "claude-bottle"
M.DEFAULT_BOTTLE = "default"
M.DEFAULT_AGENT = "claude"
-- Bottle names become part of container names, which are also DNS labels on
-- the bottle's network (at most 63 characters); an agent's name shares its
-- label with "claude-bottle-git-gate-" and a random suffix.
M.NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$"
M.BOTTLE_NAME_MAX = 63
M.AGENT_NAME_MAX = 24
M.ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
M.HOST_VAR = "^%${([A-Za-z_][A-Za-z0-9_]*)}$"
M.SKILL_NAME = "^[A-Za-z0-9._-]+$"
M.IMAGE_REF = "^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"
M.IMAGE_REF_MAX = 255

-- Set by the launcher in every agent: neither a manifest nor a policy may set them.
M.RESERVED_ENV = {
   HTTPS_PROXY = true, HTTP_PROXY = true, https_proxy = true, http_proxy = true,
   NO_PROXY = true, no_proxy = true, NODE_EXTRA_CA_CERTS = true,
   SSL_CERT_FILE = true, REQUESTS_CA_BUNDLE = true, GIT_SSL_CAINFO = true,
   CLAUDE_BOTTLE_WEBSOCKET_PROXY = true,
   -- the credential proxy's route for Claude Code, and gVisor's JIT switch
   ANTHROPIC_BASE_URL = true, BUN_JSC_useJIT = true,
}

-- What an env entry is: a literal for the env-file, a prompt at launch, or
-- the launcher's own variable of that name.
M.ENV_KINDS = { literal = true, prompt = true, host = true }

-- The SSH host key types the gate pins (manifest, gate).
M.HOST_KEY_TYPES = {
   ["ssh-ed25519"] = true, ["ecdsa-sha2-nistp256"] = true,
   ["ecdsa-sha2-nistp384"] = true, ["ecdsa-sha2-nistp521"] = true,
   ["ssh-rsa"] = true,
}

------------------------------------------------------------ the sidecars

-- The label keys every resource of a bottle carries, on either backend:
-- what `down`, `list` and `cleanup` find a bottle's resources by.
M.LABELS = {
   LABEL = "claude-bottle", SLUG = "claude-bottle.slug", ROLE = "claude-bottle.role",
   AGENT = "claude-bottle.agent", BOTTLE = "claude-bottle.bottle", DETACHED = "claude-bottle.detached",
   LAUNCHER = "claude-bottle.launcher",
}

M.PROXY_PORT = 8888                 -- pipelock's listener, the agent's only way out
M.CRED_PROXY_PORT = 9099            -- the credential proxy's listener (bottle.cred_proxy)
M.GATE_HOST = "git-gate"            -- the gate's name on the internal network
M.GATE_PORT = 9418
M.GATE_URL = "git://" .. M.GATE_HOST .. "/%s.git"

function M.gate_url(name)
   return M.GATE_URL:format(name)
end

----------------------------------------------------------------- the keys

-- A field: key, kind, default, and what a policy may do with it (policy =
-- "hosts" any valid hosts, builtin ones always kept; "free" any valid value;
-- nil: a policy does not see it).  view orders what a policy sees and the
-- change summary.  Kinds: "hosts", "enum" (values, noun), "bool"; other
-- kinds name a rule of their own in bottle.manifest.bottle.
M.EGRESS = {
   { key = "allowlist", kind = "hosts", policy = "hosts", view = 1, builtin = "DEFAULT_ALLOWLIST" },
   { key = "dlp_action", kind = "enum", values = { "block", "warn" }, noun = "a DLP action",
     default = "block", policy = "free", view = 3 },
   { key = "tls_interception", kind = "bool", default = true, policy = "free", view = 4 },
   { key = "passthrough", kind = "hosts", policy = "hosts", view = 2, builtin = "DEFAULT_PASSTHROUGH" },
   { key = "ports", kind = "ports" },
   { key = "inspection", kind = "inspection" },
}

-- What pipelock inspects, each default turned down on purpose (the defaults
-- and their figures: csrc/pipelock_inspection.c); unset means the default.
M.INSPECTION = {
   { key = "headers", kind = "enum", values = { "all", "sensitive" }, noun = "a choice" },
   { key = "responses", kind = "enum", values = { "block", "strip", "warn" }, noun = "a choice" },
   { key = "injection_patterns", kind = "bool" },
   { key = "blocklist", kind = "bool" },
   { key = "gitleaks", kind = "bool" },
   { key = "titus", kind = "bool" },
   { key = "websocket", kind = "bool" },
}

-- A bottle's own keys, in the order messages list them; a policy sees
-- name, egress, env and git (each with a rule of its own in bottle.policy.bottle).
M.BOTTLE = {
   { key = "env", kind = "env", policy = "env", view = 3 },
   { key = "egress", kind = "egress", policy = "egress", view = 2 },
   { key = "git", kind = "git", policy = "git", view = 4 },
   { key = "resources", kind = "resources" },
   -- the credential proxy's routes: a policy sees names and upstreams and may only remove routes
   { key = "credentials", kind = "credentials", policy = "credentials", view = 5 },
}

local function keys_of(fields)
   local out = {}
   for i, f in ipairs(fields) do out[i] = f.key end
   return out
end

M.KEYS = {
   top = { "bottles", "agents" },
   bottle = keys_of(M.BOTTLE),
   egress = keys_of(M.EGRESS),
   inspection = keys_of(M.INSPECTION),
   resources = { "memory", "cpus", "pids", "disk" },
   git = git.KEYS,
   push = { "branches", table.unpack(git.PUSH_SWITCHES) },
   agent = { "bottle", "prompt", "skills", "image", "workspace", "workspace_include", "workspace_push" },
}

-- Push rules when a git entry has none: any branch, nothing destructive.
function M.push_default()
   local push = { branches = seq { "*" } }
   for _, k in ipairs(git.PUSH_SWITCHES) do push[k] = false end
   return push
end
M.git = git

-- The egress a bottle has when its manifest says nothing.
function M.egress_default()
   local out = {}
   for _, f in ipairs(M.EGRESS) do
      if f.kind == "hosts" then out[f.key] = seq {}
      elseif f.default ~= nil then out[f.key] = f.default end
   end
   return out
end

function M.empty_bottle(name, source)
   return { name = name, source = source, env = seq {}, git = seq {}, egress = M.egress_default(),
            credentials = seq {} }
end

-- The fields a policy sees, in view order: { {key=, ...}, ... }.
local function viewed(fields)
   local out = {}
   for _, f in ipairs(fields) do
      if f.policy or f.view then
         assert(f.policy and f.view, "bottle.schema: " .. f.key .. " needs both policy and view, or neither")
         out[#out + 1] = f
      end
   end
   table.sort(out, function(a, b) return a.view < b.view end)
   return out
end
M.POLICY_BOTTLE = viewed(M.BOTTLE)
M.POLICY_EGRESS = viewed(M.EGRESS)

-- Key sets of the policy's view, and the order its change summary follows.
local function key_set(fields, s)
   for _, f in ipairs(fields) do s[f.key] = true end
   return s
end
M.POLICY_BOTTLE_KEYS = key_set(M.POLICY_BOTTLE, { name = true })
M.POLICY_EGRESS_KEYS = key_set(M.POLICY_EGRESS, {})
M.POLICY_ORDER = { name = 1 }
for _, f in ipairs(M.POLICY_BOTTLE) do M.POLICY_ORDER[f.key] = f.view end
for _, f in ipairs(M.POLICY_EGRESS) do M.POLICY_ORDER[f.key] = f.view end

-- An agent's workspace (bottle.workspace): copied in (the default),
-- none, or the project itself mounted (not from a project file).
M.WORKSPACE_VALUES = { "copy", "none", "mount" }

------------------------------------------------------------- the XDG paths

M.USER_FILE = M.APP .. "/bottles.yaml"     -- under the config home
M.POLICY_DIR = M.APP .. "/policies"        -- under the config home
M.PROJECT_FILE = ".claude-bottle.yaml"     -- in the current directory

-- env = {XDG_CONFIG_HOME=, HOME=} → the config home | nil.  The XDG spec
-- ignores an unset, empty or relative value.
function M.config_home(env)
   local xdg = env.XDG_CONFIG_HOME
   if type(xdg) == "string" and xdg:sub(1, 1) == "/" then return xdg end
   if type(env.HOME) == "string" and env.HOME ~= "" then return env.HOME .. "/.config" end
   return nil
end

-- getenv(name) → the launcher's state directory | nil (neither
-- XDG_STATE_HOME nor HOME is absolute).
function M.state_dir(getenv)
   local xdg = getenv("XDG_STATE_HOME")
   if xdg and xdg:sub(1, 1) == "/" then return (xdg:gsub("/+$", "")) .. "/" .. M.APP end
   local home = getenv("HOME")
   if home and home:sub(1, 1) == "/" then return (home:gsub("/+$", "")) .. "/.local/state/" .. M.APP end
   return nil
end

return M
