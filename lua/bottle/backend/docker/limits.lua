-- What every container of a bottle gets on Docker, whatever its role: no
-- capability, no privilege gained through exec (setuid binaries included),
-- no IPv6 and no forwarding in its network namespace, and the plan's
-- resource limits (memory without extra swap, CPUs, a process count).
-- Roles that need a capability would add it here with the reason; none does:
-- the agent's own processes run as its user, and the few root steps of
-- provisioning (update-ca-certificates, /etc/hosts) write root-owned files,
-- which needs no capability.
local limits = require "bottle.limits"

local M = {}

M.SYSCTLS = {
   ["net.ipv6.conf.all.disable_ipv6"] = "1",
   ["net.ipv6.conf.default.disable_ipv6"] = "1",
   ["net.ipv4.ip_forward"] = "0",
}

-- The role's limits: the plan's, else the defaults (a plan made by hand).
function M.of(plan, role)
   local r = plan.resources and plan.resources[role]
   if r then return r end
   return role == "agent" and limits.AGENT or limits.SIDECARS[role]
end

--- host_config(state, role, base) → base with the hardening and the limits
-- added (base is changed and returned).  The CPU count is kept to what the
-- engine has (state.docker.ncpu), which the engine itself insists on.
function M.host_config(state, role, base)
   local l = M.of(state.plan, role)
   base.CapDrop = { "ALL" }
   base.SecurityOpt = { "no-new-privileges" }
   local sysctls = {}
   for k, v in pairs(M.SYSCTLS) do sysctls[k] = v end
   base.Sysctls = sysctls
   base.Memory = math.floor(l.memory)
   base.MemorySwap = math.floor(l.memory)
   local ncpu = state.docker and state.docker.ncpu
   local cpus = ncpu and math.min(l.cpus, ncpu) or l.cpus
   base.NanoCpus = math.floor(cpus * 1e9 + 0.5)
   base.PidsLimit = math.floor(l.pids)
   if l.disk then base.StorageOpt = { size = tostring(math.floor(l.disk)) } end
   return base
end

-- Storage drivers that can cap a container's writable layer (StorageOpt
-- size); overlay2 only on xfs mounted with pquota, which the engine checks.
function M.disk_limit_supported(info)
   local driver = info and info.Driver
   if driver == "btrfs" or driver == "zfs" or driver == "devicemapper" then return true end
   if driver == "overlay2" then
      for _, kv in ipairs(info.DriverStatus or {}) do
         if kv[1] == "Backing Filesystem" and kv[2] == "xfs" then return true end
      end
   end
   return false
end

return M
