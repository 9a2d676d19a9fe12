-- Random pipelock configs as a policy could change them, for the property
-- spec (spec/pipelock_property_spec.lua) and the differential check against
-- the real pipelock (scripts/pipelock_differential.lua): the launcher's own
-- config, then 1 to 3 keys from the schema set to values from pools of the
-- forms that fooled the check before (NUL bytes, ports Go reads
-- differently, wide or mapped ranges, bad regexes, NaN...).
local core = require "bottle.core"
local model = require "spec.helpers.pipelock_model"

local M = {}

local function list(t) return setmetatable(t, core.array_mt) end

local STRINGS = { "strict", "balanced", "audit", "strict\0audit", "", " padded ", "warn", "block", "strip",
   "json", "text", "file", "both", "stdout", "0.0.0.0:8888", "0.0.0.0:08888", "0.0.0.0:+8888", "127.0.0.1:9091",
   ":9092", "0.0.0.0:9091", "10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/1", "::ffff:0.0.0.0/96", "10.1.2.3/8",
   "fd00::/8", "0.0.0.0/0", "(?=x)y", "a**", "[a-z]+", "(a)\\1", "ACME-[0-9]{8}", "24h", "0s", "1d", "90m",
   "example.org", "*.example.com", "*", "*.com", "a.com:443", "\255", "enforce\0", "/etc/x.pem", "rel.pem",
   "luhn", "GitHub Token", "sensitive", "all", "https://hooks.example.com/x" }
local NUMBERS = { 0, 1, -1, 7200, 1.5, 0 / 0, math.huge, -math.huge, 13, 12, 24, 65536, 2 }

local function pick(t) return t[math.random(#t)] end

-- Mostly keys of the sections a bottle's config may hold (the check
-- refuses the others whole), some from anywhere in the schema.
local ALLOWED = { api_allowlist = 1, dlp = 1, enforce = 1, explain_blocks = 1, fetch_proxy = 1,
   forward_proxy = 1, internal = 1, logging = 1, metrics_listen = 1, mode = 1, request_body_scanning = 1,
   response_scanning = 1, seed_phrase_detection = 1, sentry = 1, ssrf = 1, tls_interception = 1,
   trusted_domains = 1, version = 1 }
local SCALARS, ANYWHERE = {}, {}
for path, kind in pairs(model.SCHEMA) do
   if kind ~= "LIST" and kind ~= "MAP" and kind ~= "STRUCT" and not path:find("^agents") then
      local top = path:match("^[^.%[{]+")
      if ALLOWED[top] then SCALARS[#SCALARS + 1] = path else ANYWHERE[#ANYWHERE + 1] = path end
   end
end
table.sort(ANYWHERE)
table.sort(SCALARS)
local FOCUS = { "mode", "enforce", "fetch_proxy.listen", "metrics_listen", "internal[]", "ssrf.ip_allowlist[]",
   "dlp.patterns[].regex", "dlp.patterns[].name", "dlp.patterns[].action", "response_scanning.patterns[].regex",
   "response_scanning.patterns[].name", "fetch_proxy.monitoring.entropy_threshold", "tls_interception.cert_ttl",
   "logging.output", "logging.file", "trusted_domains[]", "request_body_scanning.action", "sentry.sample_rate",
   "seed_phrase_detection.min_words", "fetch_proxy.monitoring.max_requests_per_minute", "kill_switch.api_listen",
   "reverse_proxy.listen" }

local PATH = "/etc/x.pem"   -- M.random(ca, path) changes it

local function value_for(kind)
   local r = math.random(10)
   if r == 1 then return pick(NUMBERS) end             -- sometimes the wrong type
   if r == 2 then return math.random(2) == 1 end
   if kind == "BOOL" then return math.random(2) == 1 end
   if kind == "INT" or kind == "UINT" or kind == "FLOAT" then return pick(NUMBERS) end
   local v = pick(STRINGS)
   return v == "/etc/x.pem" and PATH or v
end

-- Sets path (schema form, with [] for a list element) in cfg to v.
local function set(cfg, path, v)
   local t = cfg
   local parts = {}
   for part in path:gmatch("[^.]+") do parts[#parts + 1] = (part:gsub("{}", ".x")) end
   path = table.concat(parts, ".")
   parts = {}
   for part in path:gmatch("[^.]+") do parts[#parts + 1] = part end
   for i, part in ipairs(parts) do
      local name, is_list = part:match("^(.-)(%[%])$")
      name = name or part
      local last = i == #parts
      if is_list then
         if type(t[name]) ~= "table" then t[name] = list {} end
         local l = t[name]
         if last then l[#l + 1] = v; return end
         if type(l[1]) ~= "table" then l[1] = {} end
         t = l[1]
      elseif last then
         t[name] = v
      else
         if type(t[name]) ~= "table" then t[name] = {} end
         t = t[name]
      end
   end
end

function M.base(ca)
   return assert(core.pipelock_config({ egress = { allowlist = { "example.com" } } },
      ca or { ca_cert = "/etc/pipelock-ca.pem", ca_key = "/etc/pipelock-ca-key.pem" }))
end


-- → cfg, changes (one "path = value" text per change).  path: the absolute
-- path the values may name (default /etc/x.pem).
function M.random(ca, path)
   PATH = path or "/etc/x.pem"
   local cfg, changes = M.base(ca), {}
   for _ = 1, math.random(3) do
      local r = math.random(10)
      local key = r == 1 and pick(ANYWHERE) or r <= 5 and pick(SCALARS) or pick(FOCUS)
      local v = value_for(model.SCHEMA[key] or "STRING")
      set(cfg, key, v)
      changes[#changes + 1] = ("%s = %q"):format(key, type(v) == "string" and v or tostring(v))
   end
   return cfg, changes
end

return M
