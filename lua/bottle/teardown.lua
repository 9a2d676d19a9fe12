-- A last-in, first-out stack of undo actions.  Whoever creates a resource
-- pushes its removal first, so that a failure at any later point (or a
-- signal, or the end of the session) removes everything in reverse order of
-- creation: the agent before the networks it is attached to, the stage
-- directory (pushed first) last.
local T = {}

local Stack = {}
Stack.__index = Stack
Stack.__name = "bottle.teardown"

--- A new, empty stack.
function T.new()
   return setmetatable({ entries = {} }, Stack)
end

--- Registers `fn` to run at teardown.  `fn()` returns true, or nil and a
-- message; it may also raise.  `label` names the resource in logs and errors.
function Stack:push(label, fn)
   if type(label) ~= "string" or label == "" then
      error("teardown:push: label must be a non-empty string", 2)
   end
   if type(fn) ~= "function" then
      error("teardown:push: fn must be a function (label " .. label .. ")", 2)
   end
   self.entries[#self.entries + 1] = { label = label, fn = fn }
end

--- The labels in push order (for specs and for `--verbose` output).
function Stack:labels()
   local out = {}
   for i, e in ipairs(self.entries) do out[i] = e.label end
   return out
end

--- Runs every entry, newest first, each exactly once, even when some fail.
-- `log(line)` (optional) hears "removing LABEL" before each entry and the
-- reason when one fails.  Returns true, or nil,
-- "teardown: LABEL: message; LABEL: message", "teardown".
-- Entries are popped before they run, so a second run does nothing.
function Stack:run(log)
   if log ~= nil and type(log) ~= "function" then
      error("teardown:run: log must be a function or nil", 2)
   end
   local errors = {}
   while #self.entries > 0 do
      local e = table.remove(self.entries)
      if log then log("removing " .. e.label) end
      local ok, res, msg = pcall(e.fn)
      local problem
      if not ok then
         problem = tostring(res)
      elseif not res then
         problem = msg ~= nil and tostring(msg) or "failed without a message"
      end
      if problem then
         errors[#errors + 1] = e.label .. ": " .. problem
         if log then log("could not remove " .. e.label .. ": " .. problem) end
      end
   end
   if #errors > 0 then
      return nil, "teardown: " .. table.concat(errors, "; "), "teardown"
   end
   return true
end

return T
