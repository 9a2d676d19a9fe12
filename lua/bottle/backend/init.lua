-- Backend selection and the backend interface (docs/backends.md).  A backend
-- is an instance made by its module's `new(opts)`, with one method per
-- interface function, called as backend:method(...) and holding no state
-- outside itself; launch.lua owns the ordering, rollback and progress
-- around them, so every backend fits the same shape.
local B = {}

-- Every function a backend must provide, in the order launch uses them.
B.INTERFACE = { "prepare", "up", "provision", "attach", "down", "list", "cleanup", "doctor", "logs" }
-- Functions a backend may provide: live egress changes (bottle.egress_change).
B.OPTIONAL = { "egress_read", "egress_apply" }

-- The workspace's pair (docs/backends.md): optional, but a plan that copies a
-- workspace needs both (bottle.workspace refuses a backend without them).
B.WORKSPACE_INTERFACE = { "copy_in", "copy_out" }

-- Known backends by name.  A name is looked up here, never turned into a
-- module path, so `--backend` cannot load an arbitrary module.
B.KNOWN = { docker = "bottle.backend.docker", kubernetes = "bottle.backend.kubernetes" }

local function known_names()
   local names = {}
   for name in pairs(B.KNOWN) do names[#names + 1] = name end
   table.sort(names)
   return table.concat(names, ", ")
end

--- Raises unless `inst` provides every interface method; returns `inst`.
-- `name` (optional) is used in the error.
function B.check(inst, name)
   name = name or "?"
   local mod = inst
   if type(mod) ~= "table" then
      error(("backend %q: expected a backend instance, got %s"):format(name, type(mod)), 2)
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

--- `B.names()` → the known backends' names, sorted.
function B.names()
   local names = {}
   for name in pairs(B.KNOWN) do names[#names + 1] = name end
   table.sort(names)
   return names
end

--- `B.new(name, opts)` → a backend instance | nil, message, "usage".
-- opts go to the backend's `new` (docker: client, images).
function B.new(name, opts)
   if type(name) ~= "string" then error("backend.new: name must be a string", 2) end
   local modname = B.KNOWN[name]
   if not modname then
      return nil, ("unknown backend %q (known: %s)"):format(name, known_names()), "usage"
   end
   return B.check(require(modname).new(opts or {}), name)
end

return B
