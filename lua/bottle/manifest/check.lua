-- The toolkit the manifest's rules are written with: positions
-- (file:line:col), key paths, the messages' wording of types, and the
-- did-you-mean of an unknown key.  A rule calls fail() at the first problem;
-- the Failure it raises becomes manifest.load's nil, message.
local core = require "bottle.core"
local schema = require "bottle.schema"

local M = {}


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
local seq = schema.seq

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

local function check_name(ctx, t, k, path, kind, max)
   if type(k) ~= "string" or not k:match(schema.NAME_PATTERN) or #k > max then
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

-- A scalar as the message shows it: numbers as written, text quoted.
local function shown(v)
   if type(v) == "number" then return tostring(v) end
   if type(v) == "string" then return quote(v) end
   return describe(v)
end

M.Failure = Failure
M.seq = seq
M.is_seq = is_seq
M.is_map = is_map
M.describe = describe
M.fail = fail
M.at_key = at_key
M.at_table = at_table
M.join = join
M.keys_in_order = keys_in_order
M.check_keys = check_keys
M.want_string = want_string
M.want_bool = want_bool
M.want_map = want_map
M.want_list = want_list
M.has_control = has_control
M.check_name = check_name
M.check_host = check_host
M.check_host_list = check_host_list
M.is_ipv4 = is_ipv4
M.shown = shown

return M
