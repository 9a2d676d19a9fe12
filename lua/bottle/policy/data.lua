-- Values between the launcher and a policy: copied in as plain tables,
-- sent to the policy's process as a Lua constructor, and what comes back
-- cleaned into launcher data; and how a policy's values are shown in a
-- message (escaped, bounded).
local core = require "bottle.core"
local sanitize = require "bottle.sanitize"

local format, sub, gsub, find, match = string.format, string.sub, string.gsub, string.find, string.match
local math_type, getmetatable_raw = math.type, debug.getmetatable
local ARRAY_MT = core.array_mt

local M = {}

---------------------------------------------------------------------------
-- Text helpers
---------------------------------------------------------------------------

-- A policy chooses the text of its errors, log lines and config values, and
-- they reach the terminal: escaped (bottle.sanitize), bounded length.
local function printable(s, limit)
   limit = limit or 2000
   if #s > limit then s = sub(s, 1, limit) .. "..." end
   return sanitize.line(s)
end

local function basename(path)
   return match(path, "([^/]*)/*$")
end

local function a_type(v)
   local t = type(v)
   if t == "nil" then return "nil" end
   return (find(t, "^[aeiou]") and "an " or "a ") .. t
end

-- A value a policy wrote, for a message: a quoted string or its type.
local function quoted(v, limit)
   if type(v) == "string" then return '"' .. printable((gsub(v, '["\\]', "\\%0")), limit) .. '"' end
   return a_type(v)
end

local function key_text(k)
   if type(k) == "string" then return quoted(k, 60) end
   return a_type(k) .. " key"
end

local function is_array_marked(t)
   return ARRAY_MT ~= nil and rawequal(getmetatable_raw(t), ARRAY_MT)
end

-- The launcher's data as a Lua table constructor for the runner, which
-- loads it (it is ours, so loading it is safe; the way back is JSON, read
-- as data).  %q writes every string, integer and float exactly.  A for
-- lists (marked with core.array_mt), N for core.null.
local function to_lua(v, out, depth)
   local t = type(v)
   if t == "string" or t == "number" or t == "boolean" then
      out[#out + 1] = format("%q", v)
   elseif rawequal(v, core.null) then
      out[#out + 1] = "N"
   elseif t == "table" then
      if depth > 64 then error("policy: data nested more than 64 levels deep", 0) end
      out[#out + 1] = is_array_marked(v) and "A{" or "{"
      for k, x in next, v do
         if (type(k) == "string" or type(k) == "number") and type(x) ~= "function"
            and type(x) ~= "thread" and (type(x) ~= "userdata" or rawequal(x, core.null)) then
            out[#out + 1] = "["
            out[#out + 1] = format("%q", k)
            out[#out + 1] = "]="
            to_lua(x, out, depth + 1)
            out[#out + 1] = ","
         end
      end
      out[#out + 1] = "}"
   else
      out[#out + 1] = "nil"
   end
   return out
end


local function is_sequence(t)
   local n = 0
   for k in next, t do
      if math_type(k) ~= "integer" or k < 1 then return false end
      n = n + 1
   end
   for i = 1, n do if rawget(t, i) == nil then return false end end
   return true
end

-- The launcher's data, copied for a policy: plain tables (sequences keep
-- core.array_mt), no functions or userdata other than core.null.
local function copy_in(v)
   local t = type(v)
   if t == "table" then
      local c = {}
      for k, x in next, v do
         local cx = copy_in(x)
         if cx ~= nil then c[k] = cx end
      end
      if is_array_marked(v) then setmetatable(c, ARRAY_MT) end
      return c
   elseif t == "function" or t == "thread" then
      return nil
   elseif t == "userdata" and not rawequal(v, core.null) then
      return nil
   end
   return v
end

local function join(path, k)
   if type(k) == "string" then
      return path == "" and k or path .. "." .. k
   end
   return path .. "[" .. tostring(k) .. "]"
end

-- What a policy produced, copied into plain launcher data: only raw access
-- (no metamethod, so no policy code runs after its call), no functions, no
-- cycles.  `like` is the value at the same place before the hook: a sequence
-- marked there stays marked, so an emptied list is still written as [].
local function clean_value(v, like, path, depth, seen)
   local t = type(v)
   if t == "string" or t == "number" or t == "boolean" or rawequal(v, core.null) then return v end
   if t ~= "table" then return nil, format("%s: %s is not data", path, a_type(v)) end
   if seen[v] then return nil, format("%s: a table that contains itself", path) end
   if depth > 32 then return nil, format("%s: nested more than 32 levels deep", path) end
   seen[v] = true
   local out = {}
   for k, x in next, v do
      if type(k) ~= "string" and math_type(k) ~= "integer" then
         return nil, format("%s: %s (keys are names or list positions)", path, key_text(k))
      end
      local c, err = clean_value(x, type(like) == "table" and rawget(like, k) or nil,
         join(path, k), depth + 1, seen)
      if c == nil then return nil, err end
      out[k] = c
   end
   seen[v] = nil
   if ARRAY_MT and is_sequence(out)
      and (next(out) ~= nil or is_array_marked(v) or (type(like) == "table" and is_array_marked(like))) then
      setmetatable(out, ARRAY_MT)
   end
   return out
end

M.printable = printable
M.basename = basename
M.a_type = a_type
M.quoted = quoted
M.key_text = key_text
M.is_array_marked = is_array_marked
M.to_lua = to_lua
M.is_sequence = is_sequence
M.copy_in = copy_in
M.join = join
M.clean_value = clean_value

return M
