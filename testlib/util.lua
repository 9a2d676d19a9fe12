-- Small things the specs, the reliability scripts and the demo all need:
-- files, a shell word, a fresh name, a command's output, a table's keys.
local core = require "bottle.core"

local U = {}

--- The whole file, or nil when it cannot be read.
function U.read(path)
   local f = io.open(path, "rb")
   if not f then return nil end
   local d = f:read("a")
   f:close()
   return d
end

--- Writes `data` to `path` (mode 0644 unless given); raises on failure.
function U.write(path, data, mode)
   assert(core.write_file(path, data, mode or tonumber("644", 8)))
   return path
end

--- A word for sh, single-quoted.
function U.q(s)
   return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- A fresh lowercase name (8 hex digits), for files, containers, networks.
function U.random_name()
   return core.random_hex(4)
end

--- The stdout of a shell command.
function U.command(cmd)
   local p = assert(io.popen(cmd, "r"))
   local out = p:read("a")
   p:close()
   return out
end

--- A table's keys, sorted.
function U.keys(t)
   local out = {}
   for k in pairs(t) do out[#out + 1] = k end
   table.sort(out)
   return out
end

return U
