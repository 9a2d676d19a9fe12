-- Finding bottles by label (never by name) and removing them: a bottle is
-- its Namespace, labelled claude-bottle=1 and claude-bottle.slug=<slug>;
-- everything else lives inside it.  A removal deletes the agent's Pod first
-- (the agent must never outlive the policies that confine it, and the
-- namespace controller deletes a namespace's contents in no set order),
-- then the Namespace, and waits until the server has forgotten it.
local core = require "bottle.core"
local client_mod = require "bottle.backend.kubernetes.client"
local objects = require "bottle.backend.kubernetes.objects"

local M = {}

M.DELETE_TIMEOUT = tonumber(os.getenv("BOTTLE_KUBE_DELETE_TIMEOUT") or "") or 120
M.POLL_INTERVAL = 0.25

local function selector(slug)
   local s = objects.LABEL .. "=1"
   if slug then s = s .. "," .. objects.SLUG .. "=" .. slug end
   return s
end
M.selector = selector

--- find(c [, slug]) → array of Namespace objects | nil, message, code
function M.find(c, slug)
   local list, msg, code = c:get("/api/v1/namespaces", { query = { labelSelector = selector(slug) } })
   if not list then return nil, msg, code end
   local out = {}
   for _, ns in ipairs(list.items or {}) do
      local labels = ns.metadata and ns.metadata.labels or {}
      -- only what carries both labels, and a slug that is one
      if labels[objects.LABEL] == "1" and type(labels[objects.SLUG]) == "string"
         and labels[objects.SLUG]:match("^[a-z0-9][a-z0-9-]*$") then
         out[#out + 1] = ns
      end
   end
   table.sort(out, function(a, b) return a.metadata.name < b.metadata.name end)
   return out
end

--- pods(c, namespace) → {role = pod} of the bottle's labelled Pods.
function M.pods(c, namespace)
   local list, msg, code = c:get(client_mod.path("v1", "pods", namespace),
                                 { query = { labelSelector = selector() } })
   if not list then return nil, msg, code end
   local out = {}
   for _, p in ipairs(list.items or {}) do
      local role = p.metadata.labels and p.metadata.labels[objects.ROLE]
      if role then out[role] = p end
   end
   return out
end

-- Deletes one object, accepting one that is not there (or, for a
-- Namespace, one already being deleted: the server answers 409).
local function delete(c, path, grace, going_ok)
   local ok, msg, code = c:delete(path, { query = grace and { gracePeriodSeconds = grace } or nil })
   if ok or code == "not_found" or (going_ok and code == "conflict") then return true end
   return nil, msg, code
end

--- The agent's Pod, at once (grace 0).
function M.delete_agent(c, namespace)
   return delete(c, client_mod.path("v1", "pods", namespace, objects.NAMES.agent), 0)
end

--- wait_gone(c, names [, timeout]) → true once every Namespace is gone.
function M.wait_gone(c, names, timeout)
   local deadline = core.monotonic() + (timeout or M.DELETE_TIMEOUT)
   local pending = {}
   for _, n in ipairs(names) do pending[#pending + 1] = n end
   while #pending > 0 do
      local left = {}
      for _, n in ipairs(pending) do
         local ns, msg, code = c:get(client_mod.path("v1", "namespaces", nil, n))
         if ns then
            left[#left + 1] = n
         elseif code ~= "not_found" then
            return nil, msg, code
         end
      end
      pending = left
      if #pending == 0 then break end
      if core.monotonic() >= deadline then
         return nil, ("namespace %s is still terminating after %gs (does the cluster run its namespace controller?"
            .. " `kubectl get namespace %s -o yaml` shows what holds it)"):format(pending[1],
            timeout or M.DELETE_TIMEOUT, pending[1]), "timeout"
      end
      if core.signal_pending() then return nil, "interrupted by " .. core.signal_pending(), "interrupted" end
      core.sleep(M.POLL_INTERVAL)
   end
   return true
end

M.SERVICE_ACCOUNT_TIMEOUT = 30

--- wait_service_account(c, namespace) → true once its `default` ServiceAccount exists.
function M.wait_service_account(c, namespace, timeout)
   timeout = timeout or M.SERVICE_ACCOUNT_TIMEOUT
   local deadline = core.monotonic() + timeout
   while true do
      local sa, msg, code = c:get(client_mod.path("v1", "serviceaccounts", namespace, "default"))
      if sa then return true end
      if code ~= "not_found" then return nil, msg, code end
      if core.monotonic() >= deadline then
         return nil, ("namespace %s has no default ServiceAccount after %gs (does the cluster run its"
            .. " serviceaccount controller?)"):format(namespace, timeout), "timeout"
      end
      local sig = core.signal_pending()
      if sig then return nil, "interrupted by " .. sig, "interrupted" end
      core.sleep(0.1)
   end
end

--- remove(c, names [, timeout]) → true: agent Pods first, then the
-- Namespaces (foreground: their contents go before they do), then waits.
function M.remove(c, names, timeout)
   local problems = {}
   for _, n in ipairs(names) do
      local ok, msg = M.delete_agent(c, n)
      if not ok then problems[#problems + 1] = msg end
   end
   for _, n in ipairs(names) do
      local ok, msg = delete(c, client_mod.path("v1", "namespaces", nil, n), nil, true)
      if not ok then problems[#problems + 1] = msg end
   end
   if #problems > 0 then return nil, table.concat(problems, "; "), "api" end
   return M.wait_gone(c, names, timeout)
end

return M
