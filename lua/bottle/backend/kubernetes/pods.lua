-- Waiting for a bottle's Pods: a bounded wait for the Ready condition that
-- fails early on what will not heal (an image that cannot be pulled, a
-- container that keeps crashing, a Pod that failed) and, at the deadline,
-- says why: no node scheduled the Pod (the API-server-only test cluster
-- has none), or what its containers wait for.  Then pipelock's startup
-- lines must say strict mode and the forward proxy, as on Docker.
local core = require "bottle.core"
local client_mod = require "bottle.backend.kubernetes.client"
local docker_pipelock = require "bottle.backend.docker.pipelock"   -- its banner checks are pure

local M = {}

M.READY_TIMEOUT = tonumber(os.getenv("BOTTLE_KUBE_READY_TIMEOUT") or "") or 180
M.POLL_INTERVAL = 0.5

local FATAL_WAITING = { ErrImagePull = true, ImagePullBackOff = true, InvalidImageName = true,
                        CrashLoopBackOff = true, CreateContainerConfigError = true, CreateContainerError = true,
                        RunContainerError = true }

local function condition(pod, kind)
   for _, c in ipairs(pod.status and pod.status.conditions or {}) do
      if c.type == kind then return c end
   end
end

-- Fixed words and the server's reasons (CamelCase words) only.
local function word(s)
   return (tostring(s or ""):gsub("[^%w%-%.]", ""):sub(1, 64))
end

--- state_of(pod) → "ready" | "failed", why | "waiting", why
function M.state_of(pod)
   local ready = condition(pod, "Ready")
   if ready and ready.status == "True" then return "ready" end
   local phase = pod.status and pod.status.phase
   if phase == "Failed" or phase == "Succeeded" then return "failed", "phase " .. word(phase) end
   for _, list in ipairs { "initContainerStatuses", "containerStatuses" } do
      for _, cs in ipairs(pod.status and pod.status[list] or {}) do
         local w = cs.state and cs.state.waiting
         if w and FATAL_WAITING[w.reason] then
            return "failed", ("container %s: %s"):format(word(cs.name), word(w.reason))
         end
      end
   end
   if not (pod.spec and pod.spec.nodeName) then
      local sched = condition(pod, "PodScheduled")
      if sched and sched.status == "False" then
         return "waiting", "no node scheduled it (" .. word(sched.reason) .. ")"
      end
      return "waiting", "no node scheduled it (no scheduler has looked at it: a control plane without nodes?)"
   end
   for _, list in ipairs { "initContainerStatuses", "containerStatuses" } do
      for _, cs in ipairs(pod.status and pod.status[list] or {}) do
         local w = cs.state and cs.state.waiting
         if w then return "waiting", ("container %s: %s"):format(word(cs.name), word(w.reason)) end
      end
   end
   return "waiting", "phase " .. word(phase or "Pending") .. ", not Ready"
end

--- wait_ready(c, namespace, names [, timeout]) → true | nil, message, code
function M.wait_ready(c, namespace, names, timeout)
   timeout = timeout or M.READY_TIMEOUT
   local deadline = core.monotonic() + timeout
   while true do
      local waiting
      for _, name in ipairs(names) do
         local pod, msg, code = c:get(client_mod.path("v1", "pods", namespace, name))
         if not pod then return nil, msg, code end
         local st, why = M.state_of(pod)
         if st == "failed" then return nil, ("pod %s failed: %s"):format(name, why), "not_ready" end
         if st ~= "ready" then waiting = { name, why }; break end
      end
      if not waiting then return true end
      if core.monotonic() >= deadline then
         return nil, ("pod %s is not ready after %gs: %s"):format(waiting[1], timeout, waiting[2]), "not_ready"
      end
      local sig = core.signal_pending()
      if sig then return nil, "interrupted by " .. sig, "interrupted" end
      core.sleep(M.POLL_INTERVAL)
   end
end

--- check_pipelock(c, namespace, name, yaml) → true once its log says strict
-- mode, the forward proxy, and the startup event of exactly this config.
function M.check_pipelock(c, namespace, name, yaml)
   local text, msg, code = c:get(client_mod.path("v1", "pods", namespace, name) .. "/log", { raw = true,
                                                                                          accept = "*/*" })
   if not text then return nil, msg, code end
   local ok, problem = docker_pipelock.check_banner(text)
   if ok then ok, problem = docker_pipelock.check_startup(text, yaml) end
   if not ok then return nil, problem, "not_ready" end
   return true
end

return M
