-- The values of a bottle's env entries (classified by bottle.manifest; the
-- kinds are schema.ENV_KINDS):
--   literal  "value"           → written to the 0600 env-file;
--   prompt   "?" / "?text"     → read from the TTY without echo;
--   host     "${VAR}"          → taken from the launcher's own environment.
-- Prompted and host values stay in memory: they are handed to the engine by
-- name only, never written to a file, a command line, the plan or a log.
-- Messages name variables, never any part of a value.
local core = require "bottle.core"
local schema = require "bottle.schema"

local M = {}


-- The entries without literal values: what a plan or preflight may show.
function M.entries(bottle)
   local out = {}
   for i, e in ipairs(bottle.env or {}) do
      out[i] = { name = e.name, kind = e.kind, prompt = e.prompt, from = e.from }
   end
   return out
end

-- { NAME = "literal" | "prompt" | "host" }
function M.kinds(bottle)
   local out = {}
   for _, e in ipairs(bottle.env or {}) do out[e.name] = e.kind end
   return out
end

local function prompt_text(e, bottle)
   local text = e.prompt or (e.name .. " for bottle " .. tostring(bottle.name))
   if not text:match("[:?]%s*$") then text = text .. ": " end
   if not text:match("%s$") then text = text .. " " end
   return text
end

-- opts.environ(name) → value | nil (default os.getenv)
-- opts.read_secret(prompt) → value | nil, message (default core.read_tty without echo)
-- → { literals = { {name=, value=}, ... }, secrets = { NAME = value } } | nil, message, code
function M.resolve(bottle, opts)
   opts = opts or {}
   local environ = opts.environ or os.getenv
   local read_secret = opts.read_secret or function(p) return core.read_tty(p, false) end
   local literals, secrets = {}, {}
   for _, e in ipairs(bottle.env or {}) do
      if not schema.ENV_KINDS[e.kind] then
         error("env entry " .. tostring(e.name) .. " has unknown kind " .. tostring(e.kind), 2)
      end
      if e.kind == "literal" then
         literals[#literals + 1] = { name = e.name, value = e.value }
      elseif e.kind == "host" then
         local v = environ(e.from)
         if v == nil then
            return nil, string.format(
               "env %s: the host variable %s is not set; export %s before launching " ..
               "or change bottle %s's env entry", e.name, e.from, e.from, tostring(bottle.name)),
               "env_unset"
         end
         secrets[e.name] = v
      elseif e.kind == "prompt" then
         local v, msg, code = read_secret(prompt_text(e, bottle))
         if v == nil then
            return nil, string.format(
               "env %s: cannot read a value from the terminal (%s); run from a terminal, " ..
               "or use ${VAR} to take it from the environment", e.name, tostring(msg)),
               code or "env_prompt"
         end
         if v == "" then
            return nil, string.format("env %s: no value entered; launch again and type it", e.name),
               "env_prompt"
         end
         secrets[e.name] = v
      end
   end
   return { literals = literals, secrets = secrets }
end

return M
