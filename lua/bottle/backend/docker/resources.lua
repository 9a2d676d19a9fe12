-- The labels every resource of a bottle carries, and finding and removing
-- resources by those labels (never by name prefix): what `down`, `list` and
-- `cleanup` work from, and what a teardown entry checks before it removes.
local core = require "bottle.core"
local schema = require "bottle.schema"

local M = {}

-- M.LABEL, M.SLUG, M.ROLE, M.AGENT, M.BOTTLE, M.DETACHED, M.LAUNCHER
for k, v in pairs(schema.LABELS) do M[k] = v end

-- Containers go in this order (agent first: nothing uses it), then networks.
M.CONTAINER_ORDER = { firewall = 0, agent = 1, ["git-gate"] = 2, ["cred-proxy"] = 2, ca = 3, pipelock = 4 }

-- "<boot id>/<pid>/<start time>" of this process when /proc tells us, so that
-- `cleanup` can tell an attached session whose launcher died from a live one.
function M.launcher_id(pid)
   local f = io.open("/proc/" .. (pid or "self") .. "/stat", "r")
   if not f then return nil end
   local stat = f:read("l") or ""
   f:close()
   -- Fields after the parenthesised command name; starttime is field 22.
   local after = stat:match(".*%) (.*)$")     -- after the last ")": comm may hold one
   local this_pid = stat:match("^(%d+)")
   if not after or not this_pid then return nil end
   local fields = {}
   for word in after:gmatch("%S+") do fields[#fields + 1] = word end
   local start = fields[20]
   local b = io.open("/proc/sys/kernel/random/boot_id", "r")
   local boot = b and b:read("l") or "?"
   if b then b:close() end
   if not start then return nil end
   return boot .. "/" .. this_pid .. "/" .. start
end

-- Is the launcher named by `id` still running? nil when we cannot tell.
function M.launcher_alive(id)
   local boot, pid = tostring(id or ""):match("^([^/]+)/(%d+)/%d+$")
   if not boot then return nil end
   local b = io.open("/proc/sys/kernel/random/boot_id", "r")
   if not b then return nil end
   local here = b:read("l")
   b:close()
   if here ~= boot then return false end   -- rebooted since
   local f = io.open("/proc/" .. pid .. "/stat", "r")
   local stat = f and f:read("l")
   if f then f:close() end
   -- A killed launcher may linger as a zombie until its parent reaps it.
   if not stat or stat:match(".*%) (%a)") == "Z" then return false end
   return M.launcher_id(pid) == id
end

-- The labels every resource of one launch gets on top of the plan's: whether
-- it was launched detached, and which process launches it.  Kept in the
-- launch's state (state.docker.launch_labels), never in the module.
function M.launch_labels(detached)
   return { [M.DETACHED] = detached and "1" or "0", [M.LAUNCHER] = M.launcher_id() }
end

-- labels(state, role [, extra]) → a fresh table: the plan's labels, the role,
-- the launch's labels.
function M.labels(state, role, extra)
   local plan = state.plan
   local out = {}
   for k, v in pairs(plan.labels or {}) do out[k] = tostring(v) end
   out[M.LABEL] = "1"
   out[M.SLUG] = plan.slug
   out[M.ROLE] = role
   for k, v in pairs(state.docker and state.docker.launch_labels or {}) do out[k] = v end
   for k, v in pairs(extra or {}) do out[k] = v end
   return out
end

-- A teardown function that removes the container or network `name` only if it
-- belongs to this bottle (its slug label), so that a failed create (a name
-- taken by someone else) never removes someone else's resource.
function M.remover(api, kind, name, slug)
   return function()
      local inspect = kind == "network" and api.network_inspect or api.container_inspect
      local info, msg, code = inspect(api, name)
      if not info then
         if code == "not_found" then return true end
         return nil, msg, code
      end
      local labels = kind == "network" and info.Labels or info.Config and info.Config.Labels
      if type(labels) ~= "table" then labels = {} end
      if labels[M.SLUG] ~= slug then return true end
      if kind == "network" then return M.remove_network(api, info.Id) end
      return api:container_remove(info.Id)
   end
end

-- Registers the removal of this bottle's `kind` ("container" or "network")
-- named `name` on the launch's teardown stack, before it is made.
function M.push_removal(api, state, kind, name)
   state.teardown:push(kind .. " " .. name, M.remover(api, kind, name, state.plan.slug))
end

-- Removes a network, first disconnecting whatever is still attached to it (a
-- network with endpoints cannot be removed). A missing network is not an error.
function M.remove_network(api, id)
   local ok, msg, code = api:network_remove(id)
   if ok or code ~= "engine" then return ok, msg, code end
   local info = api:network_inspect(id)
   if not info then return nil, msg, code end
   for endpoint in pairs(info.Containers or {}) do
      api:call("disconnect " .. endpoint .. " from " .. id, "POST", "/networks/" .. id .. "/disconnect",
               { json = { Container = endpoint, Force = true } })
   end
   return api:network_remove(id)
end

local function label_filter(slug)
   local f = { label = { M.LABEL .. "=1" } }
   if slug then f.label[2] = M.SLUG .. "=" .. slug end
   return f
end

-- find(api, slug) → {containers = {...}, networks = {...}} of this slug (or of
-- every bottle when slug is nil), each {id, name, slug, role, state, status,
-- created, labels} (status: the engine's "Exited (2) 3 seconds ago").
function M.find(api, slug)
   local filters = label_filter(slug)
   local calls = api:many {
      { "list containers", "GET", "/containers/json", { query = { all = true, filters = filters } } },
      { "list networks", "GET", "/networks", { query = { filters = filters } } },
   }
   for _, r in ipairs(calls) do
      if not r[1] then return nil, r[2], r[3] end
   end
   local found = { containers = {}, networks = {} }
   for _, c in ipairs(calls[1][1] == true and {} or calls[1][1]) do
      local labels = type(c.Labels) == "table" and c.Labels or {}
      found.containers[#found.containers + 1] = {
         id = c.Id, name = (c.Names and c.Names[1] or c.Id):gsub("^/", ""),
         slug = labels[M.SLUG], role = labels[M.ROLE], state = c.State, status = c.Status,
         created = c.Created, labels = labels,
      }
   end
   for _, n in ipairs(calls[2][1] == true and {} or calls[2][1]) do
      local labels = type(n.Labels) == "table" and n.Labels or {}
      found.networks[#found.networks + 1] = {
         id = n.Id, name = n.Name, slug = labels[M.SLUG], role = labels[M.ROLE], labels = labels,
      }
   end
   table.sort(found.containers, function(a, b)
      local oa, ob = M.CONTAINER_ORDER[a.role] or 9, M.CONTAINER_ORDER[b.role] or 9
      if oa ~= ob then return oa < ob end
      return a.name < b.name
   end)
   table.sort(found.networks, function(a, b) return a.name < b.name end)
   return found
end

-- remove(api, found [, timings]) → true | nil, message, code: every container
-- (at once, with force: the engine kills and removes in one call, so there is
-- no stop to wait for), then every network (at once). Each failure is
-- reported; none stops the rest. `timings` gets the seconds each batch took.
function M.remove(api, found, timings)
   local problems = {}
   local function batch(items, method, query)
      if #items == 0 then return end
      local calls = {}
      for i, item in ipairs(items) do
         local path = (method == "container" and "/containers/" or "/networks/") .. item.id
         calls[i] = { "remove " .. method .. " " .. item.name, "DELETE", path, { query = query } }
      end
      for i, r in ipairs(api:many(calls)) do
         if not r[1] and r[3] ~= "not_found" then problems[#problems + 1] = r[2] end
         items[i].removed = r[1] ~= nil or r[3] == "not_found"
      end
   end
   local t0 = core.monotonic()
   batch(found.containers, "container", { force = true, v = true })
   local t1 = core.monotonic()
   batch(found.networks, "network")
   if timings then
      timings.containers, timings.networks = t1 - t0, core.monotonic() - t1
   end
   -- A network that still has endpoints (a container outside the bottle was
   -- connected to it): disconnect them and try again.
   if #problems > 0 then
      problems = {}
      for _, n in ipairs(found.networks) do
         if not n.removed then
            local ok, msg = M.remove_network(api, n.id)
            if not ok then problems[#problems + 1] = msg end
         end
      end
      for _, c in ipairs(found.containers) do
         if not c.removed then
            local ok, msg = api:container_remove(c.id)
            if not ok then problems[#problems + 1] = msg end
         end
      end
   end
   if #problems > 0 then return nil, table.concat(problems, "; "), "engine" end
   return true
end

return M
