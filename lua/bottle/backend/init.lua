-- Backend selection and the backend interface (docs/backends.md).  A backend
-- is a module of plain functions; launch.lua owns the ordering, rollback and
-- progress around them, so every backend fits the same shape.
local B = {}

-- Every function a backend must provide, in the order launch uses them.
B.INTERFACE = { "prepare", "up", "provision", "attach", "down", "list", "cleanup", "doctor", "logs" }

-- Known backends by name.  A name is looked up here, never turned into a
-- module path, so `--backend` cannot load an arbitrary module.
B.KNOWN = { docker = "bottle.backend.docker" }

local function known_names()
   local names = {}
   for name in pairs(B.KNOWN) do names[#names + 1] = name end
   table.sort(names)
   return table.concat(names, ", ")
end

--- Raises unless `mod` provides every interface function; returns `mod`.
-- `name` (optional) is used in the error.
function B.check(mod, name)
   name = name or "?"
   if type(mod) ~= "table" then
      error(("backend %q: expected a module table, got %s"):format(name, type(mod)), 2)
   end
   local missing = {}
   for _, fn in ipairs(B.INTERFACE) do
      if type(mod[fn]) ~= "function" then missing[#missing + 1] = fn end
   end
   if #missing > 0 then
      error(("backend %q: missing interface function(s): %s (see docs/backends.md)")
         :format(name, table.concat(missing, ", ")), 2)
   end
   return mod
end

--- `B.get(name)` → backend module | nil, message, "usage".
function B.get(name)
   if type(name) ~= "string" then error("backend.get: name must be a string", 2) end
   local modname = B.KNOWN[name]
   if not modname then
      return nil, ("unknown backend %q (known: %s)"):format(name, known_names()), "usage"
   end
   return B.check(require(modname), name)
end

return B
