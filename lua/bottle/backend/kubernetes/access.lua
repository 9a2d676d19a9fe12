-- What the user may do, asked of the server itself: one
-- SelfSubjectAccessReview per verb and resource a bottle needs, all at once.
local M = {}

M.REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

-- {group, resource, verbs, subresource}: cluster-scoped when namespaced is false.
M.NEEDED = {
   { group = "", resource = "namespaces", verbs = { "create", "delete", "get", "list" }, cluster = true },
   { group = "", resource = "pods", verbs = { "create", "delete", "get", "list" } },
   { group = "", resource = "pods", subresource = "exec", verbs = { "create" } },
   { group = "", resource = "pods", subresource = "log", verbs = { "get" } },
   { group = "", resource = "services", verbs = { "create" } },
   { group = "", resource = "configmaps", verbs = { "create" } },
   { group = "", resource = "secrets", verbs = { "create" } },
   { group = "networking.k8s.io", resource = "networkpolicies", verbs = { "create" } },
}

local function name_of(n)
   local r = (n.group ~= "" and (n.resource .. "." .. n.group) or n.resource)
   if n.subresource then r = r .. "/" .. n.subresource end
   return r
end

--- check(c, namespace) → {{what = "create pods", allowed = bool, reason}} | nil, message, code
function M.check(c, namespace)
   local calls, whats = {}, {}
   for _, n in ipairs(M.NEEDED) do
      for _, verb in ipairs(n.verbs) do
         calls[#calls + 1] = { "POST", M.REVIEWS, { json = {
            apiVersion = "authorization.k8s.io/v1", kind = "SelfSubjectAccessReview",
            spec = { resourceAttributes = { namespace = not n.cluster and namespace or nil, verb = verb,
                                            group = n.group, resource = n.resource, subresource = n.subresource } },
         } } }
         whats[#whats + 1] = verb .. " " .. name_of(n)
      end
   end
   local out = {}
   for i, r in ipairs(c:many(calls)) do
      if not r[1] then return nil, r[2], r[3] end
      local st = r[1].status or {}
      out[#out + 1] = { what = whats[i], allowed = st.allowed == true }
   end
   return out
end

--- denied(results) → "create pods, delete namespaces" | nil
function M.denied(results)
   local no = {}
   for _, r in ipairs(results) do
      if not r.allowed then no[#no + 1] = r.what end
   end
   return #no > 0 and table.concat(no, ", ") or nil
end

return M
