-- A FAKE backend instance, for the unit specs of lua/bottle/launch.lua only.  It talks
-- to no engine: "creating" a network or a container adds an entry to
-- `fake.resources`, removing it deletes the entry.  It implements the whole
-- interface of docs/backends.md, records every call in `fake.calls` and every
-- create/remove in `fake.events`, and pushes its teardown entries the way a
-- real backend must: before creating each resource, in creation order.
--
-- R.new{
--   fail_at = "prepare" | "up:networks" | "up:ca" | "up:pipelock" | "up:git-gate"
--             | "up:agent" | "provision" | "attach" | "down" | "list" | "cleanup" | ...,
--   raise = true,          -- raise a Lua error at fail_at instead of returning nil
--   message = "...", code = "...",   -- the failure returned at fail_at
--   teardown_fail = { pipelock = true },  -- these removals fail (resource stays)
--   in_step = function(step) end,        -- called inside each step of up, after creating,
--                                        -- and inside attach ("attach")
--   on_remove = function(label) end,     -- called by each teardown entry first; nil, msg fails it
--   after_step = function(step) end,     -- called after each step succeeded
--   exit_status = 0,       -- what attach returns
--   order = { "networks", "ca", "pipelock", "git-gate", "agent" },  -- up's sub-steps
-- }
local R = {}

R.FAIL_STEPS = { "prepare", "up:networks", "up:ca", "up:pipelock", "up:git-gate", "up:agent",
                 "provision", "attach" }

local function exists(path)
   local f = io.open(path, "r")
   if f then f:close() return true end
   return false
end

function R.new(opts)
   opts = opts or {}
   local fake = { calls = {}, events = {}, resources = {}, removals = {} }

   local function record(name, ...)
      fake.calls[#fake.calls + 1] = { name = name, args = table.pack(...) }
   end

   local function failure(step)
      if opts.fail_at ~= step then return nil end
      if opts.raise then error("fake engine exploded in " .. step) end
      return opts.message or ("fake engine refused " .. step), opts.code or "fake_refused"
   end

   local function create(kind, name, slug, role)
      fake.resources[name] = { kind = kind, slug = slug, role = role }
      fake.events[#fake.events + 1] = "create " .. kind .. " " .. name
   end

   local function remove(name)
      if fake.resources[name] then
         fake.resources[name] = nil
         fake.events[#fake.events + 1] = "remove " .. name
      end
   end

   -- The teardown entry for `label`: removes `names` (absent ones are fine,
   -- as "remove if exists" is for a real engine) and notes what it saw.
   local function removal(state, label, names)
      return function()
         fake.removals[#fake.removals + 1] = {
            label = label,
            stage_present = state.stage and exists(state.stage.dir) or false,
         }
         if opts.teardown_fail and opts.teardown_fail[label] then
            return nil, "fake engine cannot remove " .. label
         end
         if opts.on_remove then
            local ok, msg = opts.on_remove(label)
            if ok == nil and msg then return nil, msg end
         end
         for i = #names, 1, -1 do remove(names[i]) end
         return true
      end
   end

   local function done(step)
      if opts.after_step then opts.after_step(step) end
   end

   function fake:prepare(plan, state)
      record("prepare", plan, state)
      fake.state = state
      local msg, code = failure("prepare")
      if msg then return nil, msg, code end
      done("prepare")
      return { runtime = "runc" }
   end

   -- One sub-step of up: push the removal, create, then maybe fail (so a
   -- failure always happens with the resource already made).
   local function resource_step(state, progress, step, label, items)
      return progress(step, function()
         local names = {}
         for i, it in ipairs(items) do names[i] = it[2] end
         if label then state.teardown:push(label, removal(state, label, names)) end
         for _, it in ipairs(items) do create(it[1], it[2], state.plan.slug, it[3]) end
         if not label then
            -- A throwaway container (`pipelock tls init`) cleans itself up.
            for _, it in ipairs(items) do remove(it[2]) end
         end
         if opts.in_step then opts.in_step("up:" .. step) end
         local msg, code = failure("up:" .. step)
         if msg then return nil, msg, code end
         done("up:" .. step)
         return true
      end)
   end

   local function ca_step(state, progress)
      local slug = state.plan.slug
      local ok, err, code = resource_step(state, progress, "ca", nil,
         { { "container", "claude-bottle-ca-" .. slug, "ca" } })
      if not ok then return nil, err, code end
      -- The CA pair lives only in the stage directory.
      for _, f in ipairs({ "ca.pem", "ca-key.pem" }) do
         local h = assert(io.open(state.stage.dir .. "/" .. f, "w"))
         h:write("fake " .. f .. "\n")
         h:close()
      end
      return true
   end

   function fake:up(state, progress)
      record("up", state, progress)
      local plan = state.plan
      local names = plan.names
      local steps = {
         networks = function()
            return resource_step(state, progress, "networks", "networks", {
               { "network", "claude-bottle-net-" .. plan.slug, "internal" },
               { "network", "claude-bottle-egress-" .. plan.slug, "egress" } })
         end,
         ca = function() return ca_step(state, progress) end,
         pipelock = function()
            return resource_step(state, progress, "pipelock", "pipelock",
               { { "container", names.pipelock, "pipelock" } })
         end,
         ["git-gate"] = function()
            return resource_step(state, progress, "git-gate", "git-gate",
               { { "container", names.git_gate, "git-gate" } })
         end,
         agent = function()
            return resource_step(state, progress, "agent", "agent",
               { { "container", names.agent, "agent" } })
         end,
      }
      -- Any order a backend may choose (launch must not depend on it); the
      -- gate only for a plan with git remotes.
      for _, step in ipairs(opts.order or { "networks", "ca", "pipelock", "git-gate", "agent" }) do
         if steps[step] and (step ~= "git-gate" or (plan.git and #plan.git > 0)) then
            local ok, err, code = steps[step]()
            if not ok then return nil, err, code end
         end
      end
      return true
   end

   function fake:provision(state)
      record("provision", state)
      local msg, code = failure("provision")
      if msg then return nil, msg, code end
      done("provision")
      return true
   end

   function fake:attach(state)
      record("attach", state)
      fake.labels_at_attach = state.teardown:labels()
      fake.literals_at_attach = state.literals
      if opts.in_step then opts.in_step("attach") end
      local msg, code = failure("attach")
      if msg then return nil, msg, code end
      done("attach")
      return opts.exit_status or 0
   end

   local function slugs_of_resources()
      local set = {}
      for _, r in pairs(fake.resources) do set[r.slug] = true end
      return set
   end

   function fake:down(target)
      record("down", target)
      local msg, code = failure("down")
      if msg then return nil, msg, code end
      local removed, seen = {}, {}
      for name, r in pairs(fake.resources) do
         if target.all or r.slug == target.slug then
            remove(name)
            if not seen[r.slug] then seen[r.slug] = true; removed[#removed + 1] = r.slug end
         end
      end
      table.sort(removed)
      return removed
   end

   function fake:list()
      record("list")
      local msg, code = failure("list")
      if msg then return nil, msg, code end
      local out = {}
      for slug in pairs(slugs_of_resources()) do
         local containers = {}
         for name, r in pairs(fake.resources) do
            if r.slug == slug and r.kind == "container" then containers[r.role] = name end
         end
         out[#out + 1] = { slug = slug, agent = "claude", bottle = "default",
                           state = containers.agent and "running" or "incomplete",
                           created = 0, containers = containers }
      end
      table.sort(out, function(a, b) return a.slug < b.slug end)
      return out
   end

   -- Leftovers: every resource of a slug that has no agent container.
   function fake:cleanup(copts)
      record("cleanup", copts)
      local msg, code = failure("cleanup")
      if msg then return nil, msg, code end
      local has_agent = {}
      for _, r in pairs(fake.resources) do
         if r.role == "agent" then has_agent[r.slug] = true end
      end
      local report = { containers = {}, networks = {} }
      for name, r in pairs(fake.resources) do
         if not has_agent[r.slug] then
            local list = r.kind == "network" and report.networks or report.containers
            list[#list + 1] = { name = name, slug = r.slug, role = r.role }
         end
      end
      if copts.apply then
         for _, list in pairs(report) do
            for _, e in ipairs(list) do remove(e.name) end
         end
      end
      return report
   end

   function fake:doctor()
      record("doctor")
      local msg, code = failure("doctor")
      if msg then return nil, msg, code end
      return { { check = "fake engine reachable", ok = true, detail = "recording backend" } }
   end

   function fake:logs(slug, lopts)
      record("logs", slug, lopts)
      local msg, code = failure("logs")
      if msg then return nil, msg, code end
      if lopts.on_line then lopts.on_line('{"slug":"' .. slug .. '","decision":"allow"}') end
      return true
   end

   --- Names of the calls made, in order.
   function fake.call_names()
      local out = {}
      for i, c in ipairs(fake.calls) do out[i] = c.name end
      return out
   end

   --- Number of resources that exist now.
   function fake.count()
      local n = 0
      for _ in pairs(fake.resources) do n = n + 1 end
      return n
   end

   return fake
end

return R
