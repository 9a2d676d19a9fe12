-- What the bottle's egress will really do, read from the final pipelock
-- config (after every policy's bottle and config hooks), and which
-- policies changed each part of it.  The preflight and the plan JSON show
-- this, never the bottle as the manifest wrote it: the y/N question is
-- about the config that will be written.
local same = require "bottle.same"

local M = {}

-- The parts shown, in preflight order.
M.FIELDS = { "hosts", "tls_interception", "passthrough", "body_scanning", "dlp_action", "dlp_patterns" }

local function list(t)
   local out = {}
   for i, v in ipairs(type(t) == "table" and t or {}) do out[i] = v end
   return out
end

-- cfg (a checked pipelock config) → facts
function M.facts(cfg)
   local tls = type(cfg.tls_interception) == "table" and cfg.tls_interception or {}
   local body = type(cfg.request_body_scanning) == "table" and cfg.request_body_scanning or {}
   local dlp = type(cfg.dlp) == "table" and cfg.dlp or {}
   local on = tls.enabled == true
   -- The launcher's own patterns (named "gitleaks ..." and "titus ...",
   -- and its Environment Variable Secret; shown on the preflight's
   -- inspection lines) are not custom ones; a policy's are.
   local custom, from = 0, { gitleaks = 0, titus = 0 }
   for _, p in ipairs(list(dlp.patterns)) do
      local name = type(p) == "table" and type(p.name) == "string" and p.name or ""
      local set = name:match("^(%l+) ")
      if from[set] then
         from[set] = from[set] + 1
      elseif name ~= "Environment Variable Secret" then
         custom = custom + 1
      end
   end
   -- pipelock 2.3.0: omitted means on for body scanning, built-ins and scan_env
   return {
      hosts = list(cfg.api_allowlist),
      tls_interception = on,
      passthrough = on and list(tls.passthrough_domains) or {},
      body_scanning = body.enabled ~= false,
      dlp_action = body.action,
      dlp_patterns = {
         builtin = dlp.include_defaults ~= false,
         custom = custom,
         gitleaks = from.gitleaks,
         titus = from.titus,
         scan_env = dlp.scan_env ~= false,
      },
   }
end

-- steps: array of {policy = NAME, facts = facts after that policy}, in the
-- order the hooks ran, after `start`.  → {field = {NAME, ...}} for every
-- field some policy changed.
function M.changed_by(start, steps)
   local out, prev = {}, start
   for _, s in ipairs(steps) do
      for _, f in ipairs(M.FIELDS) do
         if not same(prev[f], s.facts[f]) then
            out[f] = out[f] or {}
            local names = out[f]
            if names[#names] ~= s.policy then names[#names + 1] = s.policy end
         end
      end
      prev = s.facts
   end
   return out
end

-- The part of the facts a bottle hook's view (policy.bottle_view) decides,
-- to compare one view with the next (a view leaves out the defaults that
-- always apply, so it is never compared with a config).
function M.view_facts(view)
   local eg = view.egress or {}
   local tls = eg.tls_interception ~= false
   return { hosts = list(eg.allowlist), tls_interception = tls,
            passthrough = tls and list(eg.passthrough) or {}, dlp_action = eg.dlp_action }
end

return M
