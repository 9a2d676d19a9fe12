-- `doctor` for the kubernetes backend: the API server answers and its
-- version, RBAC enough for a bottle (SelfSubjectAccessReviews), the
-- RuntimeClasses (gVisor), the nodes, and the warning that NetworkPolicy
-- is only as good as the CNI that enforces it.
local access = require "bottle.backend.kubernetes.access"

local M = {}

local function clean(s)
   return (tostring(s or "?"):sub(1, 120):gsub("[^%w%.%+%-~_:/]", "?"))
end

-- c: a client; conn: its connection (for the server's URL and context).
function M.run(c, conn)
   local checks = {}
   local function add(check, ok, detail, extra)
      local entry = { check = check, ok = ok and true or false, detail = detail }
      for k, v in pairs(extra or {}) do entry[k] = v end
      checks[#checks + 1] = entry
   end
   local where = ("%s (context %s)"):format(clean(conn.server), clean(conn.context))
   local v, msg = c:get("/version")
   if not v then
      add("API server reachable", false, where .. ": " .. tostring(msg))
      return checks
   end
   add("API server reachable", true, ("%s: Kubernetes %s"):format(where, clean(v.gitVersion)))

   local reviews, rerr = access.check(c, "claude-bottle-doctor")
   if not reviews then
      add("RBAC for a bottle", false, "SelfSubjectAccessReview failed: " .. tostring(rerr))
   else
      local denied = access.denied(reviews)
      add("RBAC for a bottle", not denied, denied and ("denied: " .. denied)
          or ("allowed: %d verbs on namespaces, pods (exec, log), services, configmaps, secrets, networkpolicies")
             :format(#reviews))
   end

   local rcs, rcerr = c:get("/apis/node.k8s.io/v1/runtimeclasses")
   local names, gvisor = {}, false
   for _, rc in ipairs(rcs and rcs.items or {}) do
      names[#names + 1] = clean(rc.metadata.name) .. "=" .. clean(rc.handler)
      if rc.handler == "runsc" then gvisor = true end
   end
   add("RuntimeClass gVisor (runsc)", gvisor,
       rcs and (#names > 0 and ("RuntimeClasses: " .. table.concat(names, ", ")) or "no RuntimeClass: agents run"
          .. " with the nodes' default runtime (optional)") or ("cannot list RuntimeClasses: " .. tostring(rcerr)),
       { optional = true })

   local nodes = c:get("/api/v1/nodes")
   local ready, total = 0, 0
   for _, n in ipairs(nodes and nodes.items or {}) do
      total = total + 1
      for _, cond in ipairs(n.status and n.status.conditions or {}) do
         if cond.type == "Ready" and cond.status == "True" then ready = ready + 1 end
      end
   end
   add("nodes", ready > 0, nodes and ("%d of %d nodes Ready"):format(ready, total)
       or "cannot list nodes (no RBAC for it): not counted", { optional = true })

   add("NetworkPolicy enforcement", false,
       "enforced only by a CNI that implements NetworkPolicy (Calico, Cilium, kube-network-policies, ...):"
       .. " on one that does not, the policies are accepted and do nothing, and the agent's Pod can reach"
       .. " anything its node can; " .. (ready > 0 and "no probe is run yet: check your CNI's documentation"
       or "no node, so nothing to probe"),
       { optional = true })
   return checks
end

return M
