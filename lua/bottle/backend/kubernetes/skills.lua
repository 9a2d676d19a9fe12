-- The agent's skills as files of its ConfigMap: each regular file under a
-- skill's host directory becomes one key ("skill-<i>-<j>") mounted at its
-- path under ~/.claude/skills/<name>/.  A ConfigMap holds text and at most
-- 1 MiB in all, so a binary file or a larger set is refused with the
-- skill's name (the Docker backend copies anything).
local core = require "bottle.core"

local M = {}

M.MAX_TOTAL = 768 * 1024

local function walk(dir, rel, out)
   local names, err, code = core.listdir(dir)
   if not names then return nil, err, code end
   for _, name in ipairs(names) do
      local path, r = dir .. "/" .. name, rel == "" and name or (rel .. "/" .. name)
      local st = core.stat(path)
      if st and st.type == "dir" then
         local ok, werr, wcode = walk(path, r, out)
         if not ok then return nil, werr, wcode end
      elseif st and st.type == "file" then
         out[#out + 1] = { host = path, rel = r }
      end
   end
   return true
end

--- files(plan) → {{key, path, data}} | nil, message, code
function M.files(plan)
   local out, total = {}, 0
   for i, s in ipairs(plan.skills or {}) do
      local found = {}
      local ok, err, code = walk(s.host_path, "", found)
      if not ok then return nil, ("skill %q: %s"):format(s.name, err), code end
      for j, f in ipairs(found) do
         local data, rerr, rcode = core.read_file(f.host, { max_bytes = M.MAX_TOTAL, within = s.host_path })
         if not data then return nil, ("skill %q: %s"):format(s.name, rerr), rcode end
         if not utf8.len(data) then
            return nil, ("skill %q: %s is not UTF-8 text: the kubernetes backend carries skills in a ConfigMap,"
               .. " which holds text only"):format(s.name, f.rel), "unsupported"
         end
         total = total + #data
         if total > M.MAX_TOTAL then
            return nil, ("the skills hold more than %d KiB: too much for the agent's ConfigMap"):format(M.MAX_TOTAL // 1024),
               "unsupported"
         end
         out[#out + 1] = { key = ("skill-%d-%d"):format(i, j), path = s.path .. "/" .. f.rel, data = data }
      end
   end
   return out
end

return M
