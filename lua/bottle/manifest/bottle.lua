-- The manifest's bottles: env, egress and resources, and the git list
-- (bottle.manifest.git), with the defaults a bottle starts from.
local limits = require "bottle.limits"
local git = require "bottle.manifest.git"
local check = require "bottle.manifest.check"
local seq, quote, is_map, describe, fail, at_key, join, keys_in_order, check_keys, want_string, want_bool,
   want_map, want_list, has_control, check_name, check_host_list, shown =
   check.seq, check.quote, check.is_map, check.describe, check.fail, check.at_key, check.join,
   check.keys_in_order, check.check_keys, check.want_string, check.want_bool, check.want_map,
   check.want_list, check.has_control, check.check_name, check.check_host_list, check.shown
local KEYS = check.KEYS

local M = {}

M.NAME_MAX = 63

-- Set by the launcher in every agent: a manifest may not override them.
M.RESERVED_ENV = {
   HTTPS_PROXY = true, HTTP_PROXY = true, https_proxy = true, http_proxy = true,
   NO_PROXY = true, no_proxy = true, NODE_EXTRA_CA_CERTS = true,
   SSL_CERT_FILE = true, REQUESTS_CA_BUNDLE = true, GIT_SSL_CAINFO = true,
   CLAUDE_BOTTLE_WEBSOCKET_PROXY = true,
}

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

-- --------------------------------------------------------------- bottles

local function empty_bottle(name, source)
   return {
      name = name, source = source, env = seq {}, git = seq {},
      egress = { allowlist = seq {}, dlp_action = "block", tls_interception = true,
                 passthrough = seq {} },
   }
end

local function check_bottle(ctx, bottles, name)
   check_name(ctx, bottles, name, "bottles", "bottle", M.NAME_MAX)
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
      elseif k == "git" then out.git = git.check(ctx, b, "")
      elseif k == "resources" then out.resources = check_resources(ctx, b, "") end
   end
   ctx.owner = nil
   return out
end
M.empty = empty_bottle
M.check = check_bottle

return M
