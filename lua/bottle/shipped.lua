-- Files that ship beside a module: shell scripts kept as the files they are
-- (so they can be linted and read as shell), installed with the rock under
-- the module's own name, e.g. lua/bottle/gitgate/pre-receive.sh beside
-- lua/bottle/gitgate.lua.
local M = {}

--- M.read(modname, name) → the text of `name` in the directory named after
-- module `modname`, found where package.path finds the module.  Raises when
-- it is missing: the installation is broken, not the input.
function M.read(modname, name)
   local file = package.searchpath(modname, package.path)
   if not file then error(("%s: cannot find the module to read %s beside it"):format(modname, name), 2) end
   local path = file:gsub("%.lua$", "") .. "/" .. name
   local f = io.open(path, "rb")
   if not f then error(("%s: cannot read %s (is the installation complete?)"):format(modname, path), 2) end
   local text = f:read("a")
   f:close()
   return text
end

return M
