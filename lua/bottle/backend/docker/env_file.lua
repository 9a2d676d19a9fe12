-- The session's literal env values in Docker's --env-file format, written
-- into the launch's 0600 stage directory: `attach` hands the file to
-- `docker exec --env-file`, so no value is ever in a container's config.
local core = require "bottle.core"

local M = {}

M.NAME = "agent.env"

-- One NAME=value per line.  Docker takes everything after the first "="
-- verbatim (no quoting, no escapes, trailing spaces kept), so values are
-- written as they are; the manifest has already refused values with a
-- newline, CR or NUL, which this format cannot hold.
-- → text | nil, message, code
function M.render(literals)
   local lines = {}
   for i, l in ipairs(literals or {}) do
      if type(l.name) ~= "string" or not l.name:match("^[A-Za-z_][A-Za-z0-9_]*$") then
         error("literal " .. i .. " has no valid name", 2)
      end
      if type(l.value) ~= "string" then
         error("literal " .. l.name .. " has no string value", 2)
      end
      if l.value:find("[\n\r%z]") then
         return nil, "env " .. l.name .. ": the value contains a newline, carriage return or NUL, " ..
            "which an env-file cannot hold", "invalid_env"
      end
      lines[#lines + 1] = l.name .. "=" .. l.value .. "\n"
   end
   return table.concat(lines)
end

--- write(dir, literals) → path of `<dir>/agent.env` (mode 0600, never
-- replacing a file) | nil, message, code
function M.write_file(dir, literals)
   local text, msg, code = M.render(literals)
   if not text then return nil, msg, code end
   local path = dir .. "/" .. M.NAME
   local ok
   ok, msg, code = core.write_file(path, text, tonumber("600", 8))
   if not ok then return nil, msg, code end
   return path
end

--- write(state) → true: the launch's literals (state.literals) into its
-- stage directory, state.stage.env_file set; nothing when there are none.
function M.write(state)
   if not state.stage or not state.stage.dir then return true end
   if #(state.literals or {}) == 0 then return true end
   local path, msg, code = M.write_file(state.stage.dir, state.literals)
   if not path then return nil, "stage: " .. msg, code end
   state.stage.env_file = path
   return true
end

return M
