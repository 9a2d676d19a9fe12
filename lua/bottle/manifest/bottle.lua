-- The manifest's bottles: env, egress and resources, and the git list
-- (bottle.manifest.git); keys, defaults and enums come from bottle.schema.
local limits = require "bottle.limits"
local schema = require "bottle.schema"
local git = require "bottle.manifest.git"
local credentials = require "bottle.manifest.credentials"
local check = require "bottle.manifest.check"
local seq, quote, is_map, describe, fail, at_key, join, keys_in_order, check_keys, want_string, want_bool,
   want_map, want_list, has_control, check_name, check_host_list, shown =
   check.seq, check.quote, check.is_map, check.describe, check.fail, check.at_key, check.join,
   check.keys_in_order, check.check_keys, check.want_string, check.want_bool, check.want_map,
   check.want_list, check.has_control, check.check_name, check.check_host_list, check.shown
local KEYS = schema.KEYS

local M = {}

-- ------------------------------------------------------------------- env

-- Classify one env value.  Messages here never quote the value.
local function env_entry(ctx, env, name, path)
   local at = at_key(ctx, env, name)
   local p = join(path, name)
   if not name:match(schema.ENV_NAME) then
      fail(ctx, at, p, "env name " .. quote(name) ..
           " is not valid; use letters, digits and '_', not starting with a digit")
   end
   if schema.RESERVED_ENV[name] then
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
      local var = v:match(schema.HOST_VAR)
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

local function index(fields)
   local by = {}
   for _, f in ipairs(fields) do by[f.key] = f end
   return by
end
local EGRESS, INSPECTION = index(schema.EGRESS), index(schema.INSPECTION)

-- "a mapping (a:, b:)" for the keys of a section.
local function mapping_of(keys)
   return "a mapping (" .. table.concat(keys, ":, ") .. ":)"
end

-- One field of the schema by its kind; kinds with rules of their own are
-- handled by the caller.
local function check_field(ctx, t, f, p)
   local k = f.key
   if f.kind == "hosts" then return check_host_list(ctx, t, k, p) end
   if f.kind == "bool" then return want_bool(ctx, t, k, p) end
   if f.kind ~= "enum" then error("manifest: no rule for a field of kind " .. tostring(f.kind), 2) end
   local choices = table.concat(f.values, " or ")
   local v = want_string(ctx, t, k, p, choices)
   for _, c in ipairs(f.values) do
      if c == v then return v end
   end
   fail(ctx, at_key(ctx, t, k), join(p, k), quote(v) .. " is not " .. f.noun .. "; write " .. choices)
end

local function check_inspection(ctx, eg, path)
   local t = want_map(ctx, eg, "inspection", path, mapping_of(KEYS.inspection))
   local p = join(path, "inspection")
   check_keys(ctx, t, p, KEYS.inspection)
   local out = {}
   for _, k in ipairs(keys_in_order(ctx, t)) do
      out[k] = check_field(ctx, t, INSPECTION[k], p)
   end
   return out
end

local function check_egress(ctx, bottle, path)
   local eg = want_map(ctx, bottle, "egress", path)
   local p = join(path, "egress")
   check_keys(ctx, eg, p, KEYS.egress)
   local out = schema.egress_default()
   for _, k in ipairs(keys_in_order(ctx, eg)) do
      local f = EGRESS[k]
      if f.kind == "ports" then
         out.ports = check_ports(ctx, eg, k, p)
      elseif f.kind == "inspection" then
         out.inspection = check_inspection(ctx, eg, p)
      else
         out[k] = check_field(ctx, eg, f, p)
      end
   end
   return out
end

-- ------------------------------------------------------------- resources

local function check_resources(ctx, bottle, path)
   local r = want_map(ctx, bottle, "resources", path, mapping_of(KEYS.resources))
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

-- The rule of each bottle key (schema.BOTTLE).
local RULES = { env = check_env, egress = check_egress, git = git.check, resources = check_resources,
                credentials = credentials.check }
for _, f in ipairs(schema.BOTTLE) do
   assert(RULES[f.key], "bottle.manifest.bottle: no rule for the bottle key " .. f.key)
end

local function check_bottle(ctx, bottles, name)
   check_name(ctx, bottles, name, "bottles", "bottle", schema.BOTTLE_NAME_MAX)
   local at = at_key(ctx, bottles, name)
   ctx.owner = "bottle " .. quote(name)
   local b = bottles[name]
   if not is_map(b) then
      fail(ctx, at, "", "expected " .. mapping_of(KEYS.bottle) .. ", found " .. describe(b) ..
           "; write " .. name .. ": {} for a bottle with the defaults")
   end
   check_keys(ctx, b, "", KEYS.bottle)
   local out = schema.empty_bottle(name, { file = ctx.file, line = at and at.line or 1, col = at and at.col or 1 })
   for _, k in ipairs(keys_in_order(ctx, b)) do
      out[k] = RULES[k](ctx, b, "")
   end
   ctx.owner = nil
   return out
end
M.check = check_bottle

return M
