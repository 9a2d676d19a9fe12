-- Resource limits of a bottle's containers: the defaults, the manifest's
-- `resources:` block read into numbers, and their text for the preflight.
-- Backend-neutral: a backend maps these numbers onto its engine's knobs.
local M = {}

local KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
M.UNITS = { [""] = 1, b = 1, k = KiB, kb = KiB, kib = KiB, m = MiB, mb = MiB, mib = MiB,
            g = GiB, gb = GiB, gib = GiB, t = GiB * 1024, tb = GiB * 1024, tib = GiB * 1024 }

-- A coding agent builds and tests software: room for a compiler, a test
-- suite and Claude Code itself, but not the host's last PID or byte.
M.AGENT = { memory = 8 * GiB, cpus = 2, pids = 1024 }
-- The sidecars do one thing each; a runaway one is stopped well before the host.
M.SIDECARS = {
   pipelock = { memory = 1 * GiB, cpus = 1, pids = 512 },
   ["git-gate"] = { memory = 1 * GiB, cpus = 1, pids = 512 },
   ["cred-proxy"] = { memory = 256 * MiB, cpus = 1, pids = 128 },
}
M.MIN_MEMORY = 64 * MiB
M.MIN_PIDS = 32
M.MAX_PIDS = 1000000
M.MIN_DISK = 1 * GiB

--- "8g", "512MiB", "1073741824" → bytes | nil, problem.
function M.parse_size(s)
   if math.type(s) == "integer" then
      if s < 1 then return nil, "must be positive" end
      return s
   end
   if type(s) ~= "string" then return nil, "must be a size such as 4g or 512m" end
   local num, unit = s:lower():match("^%s*(%d+%.?%d*)%s*(%a*)%s*$")
   local mult = unit and M.UNITS[unit]
   if not num or not mult then
      return nil, "is not a size; write a number with k, m, g or t (such as 4g or 512m)"
   end
   local bytes = math.floor(tonumber(num) * mult)
   if bytes < 1 then return nil, "must be positive" end
   return bytes
end

--- Bytes as a short text: 8 GiB, 512 MiB.
function M.size_text(bytes)
   for _, u in ipairs { { GiB * 1024, "TiB" }, { GiB, "GiB" }, { MiB, "MiB" }, { KiB, "KiB" } } do
      if bytes >= u[1] then
         local v = bytes / u[1]
         return (v == math.floor(v) and ("%d %s"):format(math.floor(v), u[2])) or ("%.1f %s"):format(v, u[2])
      end
   end
   return bytes .. " B"
end

--- The plan's limits: the agent's from `resources` (a checked manifest
-- block: memory and disk in bytes, cpus, pids) over the defaults, and the
-- sidecars' defaults.  `set` names what the manifest chose.
function M.for_plan(resources)
   resources = resources or {}
   local agent = { set = {} }
   for k, v in pairs(M.AGENT) do agent[k] = v end
   for _, k in ipairs { "memory", "cpus", "pids", "disk" } do
      if resources[k] ~= nil then agent[k] = resources[k]; agent.set[k] = true end
   end
   local out = { agent = agent }
   for role, d in pairs(M.SIDECARS) do
      out[role] = { memory = d.memory, cpus = d.cpus, pids = d.pids }
   end
   return out
end

--- One line for the preflight.
function M.text(l)
   local cpus = math.type(l.cpus) == "integer" and tostring(l.cpus) or ("%g"):format(l.cpus)
   return ("memory %s, cpus %s, pids %d, disk %s"):format(M.size_text(l.memory), cpus, l.pids,
      l.disk and M.size_text(l.disk) or "not limited")
end

return M
