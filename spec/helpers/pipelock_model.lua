-- A model of pipelock 2.3.0's own config rules, written in Lua from the
-- research notes (/work/shared/reference/pipelock-2.3.0.md §2 and §3), not
-- from csrc/pipelock_check.c: strict keys and YAML 1.2 types over the
-- schema generated from pipelock's Config struct (csrc/pipelock_schema.h),
-- and the rules of validate.go the notes list.  The property spec feeds it
-- what the launcher would write, decoded as pipelock's yaml.v3 reads it.
-- It models what pipelock refuses; the launcher's own invariants (strict
-- mode, enforce on...) are not pipelock's and are not here.
local core = require "bottle.core"

local M = {}

local function load_schema()
   local f = assert(io.open("csrc/pipelock_schema.h"))
   local schema = {}
   for path, kind in f:read("a"):gmatch('{ "([^"]+)", BC_K_(%u+) }') do schema[path] = kind end
   f:close()
   return schema
end
local SCHEMA = load_schema()

local ENUMS = {
   mode = { strict = 1, balanced = 1, audit = 1 },
   ["response_scanning.action"] = { strip = 1, warn = 1, block = 1, ask = 1 },
   ["response_scanning.sse_streaming.action"] = { block = 1, warn = 1 },
   ["request_body_scanning.action"] = { warn = 1, block = 1 },
   ["request_body_scanning.header_mode"] = { sensitive = 1, all = 1 },
   ["logging.format"] = { json = 1, text = 1 },
   ["logging.output"] = { stdout = 1, file = 1, both = 1 },
   ["dlp.patterns[].validator"] = { luhn = 1, mod97 = 1, aba = 1, wif = 1 },
}

local CORE_DLP = { ["AWS Access ID"] = 1, ["AWS Secret Key"] = 1, ["GCP service-account JSON"] = 1,
   ["GitHub Token"] = 1, ["GitHub fine-grained PAT"] = 1, ["GitLab PAT"] = 1, ["Slack Token"] = 1,
   ["Private Key Header"] = 1 }

local function is_list(t) return getmetatable(t) == core.array_mt or (#t > 0) end

-- Go's net.ParseCIDR: IPv4 dotted quad without leading zeros, or IPv6.
local function parse_cidr(s)
   local addr, bits = s:match("^([^/]+)/(%d+)$")
   if not addr or (#bits > 1 and bits:sub(1, 1) == "0") then return nil end
   bits = tonumber(bits)
   if addr:find(":") then
      if not addr:match("^[%x:.]+$") or bits > 128 then return nil end
      local v4 = addr:match(":(%d+%.%d+%.%d+%.%d+)$")
      return { v6 = true, bits = bits, mapped = addr:lower():find("^::ffff:") ~= nil, v4 = v4, addr = addr }
   end
   local o = { addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
   if #o ~= 4 or bits > 32 then return nil end
   local n = 0
   for _, x in ipairs(o) do
      if #x > 1 and x:sub(1, 1) == "0" then return nil end
      x = tonumber(x)
      if x > 255 then return nil end
      n = n * 256 + x
   end
   return { bits = bits, n = n }
end

-- Go's parsePort: an optional sign, then decimal digits.
local function go_port(listen)
   local p = listen:match(":([^:]*)$")
   if not p then return nil end
   local sign, digits = p:match("^([+-]?)(%d+)$")
   if not digits then return nil end
   local v = tonumber(digits)
   if sign == "-" then v = -v end
   return v
end

-- Go regexp, as far as the notes say: RE2, no lookaround, no backrefs,
-- balanced groups and classes, valid UTF-8.
local function go_regex_ok(re)
   if re == "" or not utf8.len(re) then return false end
   if re:find("%(%?[=!<]") then return false end
   local depth, i, n = 0, 1, #re
   while i <= n do
      local c = re:sub(i, i)
      if c == "\\" then
         local d = re:sub(i + 1, i + 1)
         if d == "" or d:match("[1-9]") then return false end
         i = i + 2
      elseif c == "[" then
         local j = i + 1
         if re:sub(j, j) == "^" then j = j + 1 end
         if re:sub(j, j) == "]" then j = j + 1 end
         while j <= n and re:sub(j, j) ~= "]" do
            if re:sub(j, j) == "\\" then j = j + 1 end
            if re:sub(j, j + 1) == "[:" then j = (re:find(":]", j + 2, true) or n) + 1 end
            j = j + 1
         end
         if j > n then return false end
         i = j + 1
      else
         if c == "(" then depth = depth + 1 elseif c == ")" then depth = depth - 1 end
         if depth < 0 then return false end
         i = i + 1
      end
   end
   return depth == 0
end

-- config.ValidateTrustedDomains (notes §3).
local function trusted_domain_ok(h)
   h = h:lower():gsub("^%s+", ""):gsub("%s+$", ""):gsub("%.$", "")
   if h == "" or h:find("://", 1, true) or h:find("[/:]") or h == "*" then return false end
   if h:sub(1, 2) == "*." then
      if not h:sub(3):find("%.") then return false end
      h = h:sub(3)
   end
   return not h:find("[*?%[%]]")
end

local function go_duration_positive(s)
   if s == "" then return false end
   local total, rest = 0, s
   while rest ~= "" do
      local num, unit, after = rest:match("^([%d.]+)(%a+)(.*)$")
      if not num or not tonumber(num) then return false end
      local scale = ({ ns = 1e-9, us = 1e-6, ["µs"] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 })[unit]
      if not scale then return false end
      total, rest = total + tonumber(num) * scale, after
   end
   return total > 0
end

local function type_ok(kind, v)
   if kind == "BOOL" then return type(v) == "boolean" end
   if kind == "INT" then return math.type(v) == "integer" end
   if kind == "UINT" then return math.type(v) == "integer" and v >= 0 end
   if kind == "FLOAT" then return type(v) == "number" end
   if kind == "STRING" then return type(v) == "string" end
   if kind == "LIST" then return type(v) == "table" and is_list(v) end
   if kind == "MAP" or kind == "STRUCT" then return type(v) == "table" and getmetatable(v) ~= core.array_mt end
   return true
end

-- Strict keys and types, and per-value rules.  → true | nil, reason
local function walk(v, spath, dpath)
   local kind = SCHEMA[spath]
   if not kind then return nil, dpath .. ": unknown field" end
   if v == core.null then return true end    -- yaml.v3: the zero value
   if not type_ok(kind, v) then return nil, dpath .. ": cannot unmarshal into " .. kind end
   if type(v) == "string" then
      if not utf8.len(v) then return nil, dpath .. ": invalid UTF-8" end
      local enum = ENUMS[spath]
      if enum and not enum[v] then return nil, dpath .. ": invalid value " .. ("%q"):format(v) end
      if spath:find("regex$") and not go_regex_ok(v) then return nil, dpath .. ": invalid regex" end
      if spath == "internal[]" or spath == "kill_switch.allowlist_ips[]" or spath == "ssrf.ip_allowlist[]" then
         local c = parse_cidr(v)
         if not c then return nil, dpath .. ": invalid CIDR" end
         if spath == "ssrf.ip_allowlist[]" and c.bits == 0 then return nil, dpath .. ": catch-all" end
      end
      -- the notes name five lists; any other *exempt_domains is assumed validated the same way
      if (spath == "trusted_domains[]" or spath:find("exempt_domains%[%]$")) and not trusted_domain_ok(v) then
         return nil, dpath .. ": invalid domain"
      end
      if spath == "tls_interception.cert_ttl" and not go_duration_positive(v) then
         return nil, dpath .. ": cert_ttl"
      end
   end
   if kind == "LIST" then
      for i, x in ipairs(v) do
         local ok, err = walk(x, spath .. "[]", dpath .. "[" .. i .. "]")
         if not ok then return nil, err end
      end
   elseif kind == "MAP" or kind == "STRUCT" then
      for k, x in pairs(v) do
         if type(k) ~= "string" then return nil, dpath .. ": key type" end
         local sp = kind == "MAP" and spath .. "{}" or (spath == "" and k or spath .. "." .. k)
         local ok, err = walk(x, sp, dpath == "" and k or dpath .. "." .. k)
         if not ok then return nil, err end
      end
   end
   return true
end

local function get(cfg, dotted)
   local v = cfg
   for part in dotted:gmatch("[^.]+") do
      if type(v) ~= "table" then return nil end
      v = v[part]
   end
   if v == core.null then return nil end
   return v
end

-- validate.go's rules that span keys (notes §2.4).  → true | nil, reason
local function rules(cfg)
   local mode = get(cfg, "mode") or "balanced"
   local allow = get(cfg, "api_allowlist")
   if mode == "strict" and (type(allow) ~= "table" or #allow == 0) then
      return nil, "strict mode requires at least one domain in api_allowlist"
   end
   if get(cfg, "dlp.action") ~= nil then return nil, "dlp.action is not supported" end
   for _, p in ipairs(get(cfg, "dlp.patterns") or {}) do
      if not p.name or p.name == "" then return nil, "DLP pattern missing name" end
      if not p.regex or p.regex == "" then return nil, "DLP pattern missing regex" end
      if p.action ~= nil and (p.action ~= "warn" or CORE_DLP[p.name]) then
         return nil, "DLP pattern action"
      end
   end
   for _, k in ipairs { "fetch_proxy.monitoring.max_requests_per_minute", "fetch_proxy.monitoring.max_data_per_minute" } do
      local v = get(cfg, k)
      if v and v < 0 then return nil, k .. " must be >= 0" end
   end
   if get(cfg, "request_body_scanning.enabled") ~= false then
      local m = get(cfg, "request_body_scanning.max_body_bytes")
      if m and m <= 0 then return nil, "max_body_bytes must be positive" end
   end
   for _, k in ipairs { "tls_interception.cert_cache_size", "tls_interception.max_response_bytes" } do
      local v = get(cfg, k)
      if v and v <= 0 then return nil, k .. " must be > 0" end
   end
   local w = get(cfg, "seed_phrase_detection.min_words")
   if w and not ({ [12] = 1, [15] = 1, [18] = 1, [21] = 1, [24] = 1 })[w] then return nil, "min_words" end
   local rate = get(cfg, "sentry.sample_rate")
   if rate and (rate ~= rate or rate < 0 or rate > 1) then return nil, "invalid sentry.sample_rate" end
   local out = get(cfg, "logging.output")
   if (out == "file" or out == "both") and (get(cfg, "logging.file") or "") == "" then
      return nil, "logging.file is required"
   end
   -- listeners: ports as Go parses them, against the proxy's
   local proxy_port = go_port(get(cfg, "fetch_proxy.listen") or "127.0.0.1:8888")
   for _, k in ipairs { "metrics_listen", "kill_switch.api_listen", "scan_api.listen", "reverse_proxy.listen" } do
      local l = get(cfg, k)
      if l and l ~= "" then
         local p = go_port(l)
         if not p then return nil, "invalid " .. k end
         if p == proxy_port then return nil, k .. " port collides with fetch_proxy.listen port" end
      end
   end
   if (get(cfg, "kill_switch.api_listen") or "") ~= "" and (get(cfg, "kill_switch.api_token") or "") == "" then
      return nil, "kill_switch.api_listen requires kill_switch.api_token to be set"
   end
   if get(cfg, "mcp_tool_policy.enabled") and #(get(cfg, "mcp_tool_policy.rules") or {}) == 0 then
      return nil, "mcp_tool_policy is enabled but has no rules"
   end
   if get(cfg, "redaction.enabled") and get(cfg, "request_body_scanning.enabled") == false then
      return nil, "redaction requires request_body_scanning"
   end
   for _, k in ipairs { "adaptive_enforcement.enabled", "airlock.enabled" } do
      if get(cfg, k) and not get(cfg, "session_profiling.enabled") then return nil, k .. " requires session_profiling" end
   end
   local id = get(cfg, "default_agent_identity")
   if id and id:find("^%s") or id and id:find("%s$") then return nil, "default_agent_identity whitespace" end
   if get(cfg, "bind_default_agent_identity") and (id or "") == "" then
      return nil, "bind_default_agent_identity requires default_agent_identity"
   end
   return true
end

-- decoded config → true | nil, reason
function M.accepts(cfg)
   if type(cfg) ~= "table" or getmetatable(cfg) == core.array_mt then return nil, "not a mapping" end
   for k, v in pairs(cfg) do
      if type(k) ~= "string" then return nil, "key type" end
      local ok, err = walk(v, k, k)
      if not ok then return nil, err end
   end
   return rules(cfg)
end

M.SCHEMA = SCHEMA
return M
