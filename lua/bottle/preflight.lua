-- The preflight: what `plan`, `up --dry-run` and the y/N question show.
-- Aligned `label : value` lines, names and kinds only, never a value.
local limits = require "bottle.limits"
local sanitize = require "bottle.sanitize"

local M = {}

-- The egress summary: "9 hosts allowed (a, b, c, +6 more)".
function M.hosts_summary(hosts)
   local n = #hosts
   if n == 0 then return "0 hosts allowed (none)" end
   local show = n > 5 and 3 or n
   local shown = table.concat(hosts, ", ", 1, show)
   if n > show then
      return ("%d hosts allowed (%s, +%d more)"):format(n, shown, n - show)
   end
   return ("%d hosts allowed (%s)"):format(n, shown)
end

local function push_policy(p)
   if not p then return "" end
   local branches = p.branches or {}
   local bits = { #branches > 0 and "push " .. table.concat(branches, ",") or "no branch may be pushed" }
   bits[#bits + 1] = p.force and "force allowed" or "no force"
   bits[#bits + 1] = p.delete and "delete allowed" or "no delete"
   bits[#bits + 1] = p.tags and "tags allowed" or "no tags"
   return table.concat(bits, ", ")
end

local function runtime_text(plan, found)
   if found and found.runtime then
      return found.runtime == "runsc" and "runsc (gVisor)" or found.runtime
   end
   if plan.runtime == "auto" then return "auto (gVisor runsc when the engine offers it, else runc)" end
   if plan.runtime == "runsc" then return "runsc (gVisor)" end
   return plan.runtime
end

-- -> array of {label, value} rows (several rows may share an empty label);
-- logs: the lines policies wrote with ctx.log, if any
-- found: what the backend's checks resolved ({runtime}), when they ran
function M.rows(plan, logs, found)
   local rows = {}
   local function add(label, value) rows[#rows + 1] = { label, value } end
   local function add_many(label, values, none)
      if #values == 0 then return add(label, none or "none") end
      for i, v in ipairs(values) do add(i == 1 and label or "", v) end
   end

   add("agent", plan.agent)
   add("bottle", plan.bottle)
   add("slug", plan.slug)
   add("image", plan.images.agent)
   add("pipelock", plan.images.pipelock)
   add("backend", plan.backend)
   add("runtime", runtime_text(plan, found))
   local env = {}
   for _, e in ipairs(plan.env) do
      if e.unset then
         env[#env + 1] = ("%s (host: %s is not set, so up will refuse)"):format(e.name, e.from or e.name)
      else
         env[#env + 1] = ("%s (%s)"):format(e.name, e.kind)
      end
   end
   add("env", #env > 0 and table.concat(env, ", ") or "none")
   local skills = {}
   for _, s in ipairs(plan.skills) do skills[#skills + 1] = s.name end
   add("skills", #skills > 0 and table.concat(skills, ", ") or "none")
   add("prompt", plan.prompt and ("%d characters, appended to the system prompt"):format(#plan.prompt.text) or "none")
   -- the egress as the final config has it; a part a policy changed says so
   local eg = plan.egress
   local changed = eg.changed_by or {}
   local function marked(value, ...)
      local names, seen = {}, {}
      for _, field in ipairs { ... } do
         for _, n in ipairs(changed[field] or {}) do
            if not seen[n] then names[#names + 1] = n; seen[n] = true end
         end
      end
      if #names == 0 then return value end
      return ("%s [changed by policy %s]"):format(value, table.concat(names, ", "))
   end
   add("egress", marked(M.hosts_summary(eg.hosts), "hosts"))
   add("tls intercept", marked(eg.tls_interception
      and "pipelock (per-launch CA, generated at launch)" or "off (HTTPS bodies are not scanned)",
      "tls_interception"))
   if eg.tls_interception then
      add("passthrough", marked(#eg.passthrough > 0 and table.concat(eg.passthrough, ", ") or "none", "passthrough"))
   end
   add("dlp action", marked(eg.body_scanning == false and "off (request bodies are not scanned)"
      or tostring(eg.dlp_action), "body_scanning", "dlp_action"))
   local dp = eg.dlp_patterns
   if dp and (not dp.builtin or dp.custom > 0 or not dp.scan_env) then
      local bits = { dp.builtin and "built-in patterns" or "built-in patterns off (the 8 core ones still run)" }
      if dp.custom > 0 then bits[#bits + 1] = ("%d custom"):format(dp.custom) end
      if not dp.scan_env then bits[#bits + 1] = "scan_env off" end
      add("dlp patterns", marked(table.concat(bits, ", "), "dlp_patterns"))
   end
   if plan.pipelock and plan.pipelock.config then
      add_many("inspection", require("bottle.inspection").lines(plan.pipelock.config))
   end
   local ports = {}
   for _, p in ipairs(plan.egress.ports or {}) do ports[#ports + 1] = tostring(p) end
   local added = {}
   for _, p in ipairs(plan.egress.added_ports or {}) do added[#added + 1] = tostring(p) end
   if #ports > 0 then
      add("ports", "TCP " .. table.concat(ports, ", ") .. " only (firewall under pipelock)"
         .. (#added > 0 and ("; added by the manifest: " .. table.concat(added, ", ")) or ""))
   end
   if plan.resources then
      add("resources", "agent: " .. limits.text(plan.resources.agent))
      local side = {}
      for _, role in ipairs { "pipelock", "git-gate", "cred-proxy" } do
         local l = plan.resources[role]
         if l and (role ~= "git-gate" or plan.images.git_gate)
            and (role ~= "cred-proxy" or #(plan.credentials or {}) > 0) then
            side[#side + 1] = ("%s: memory %s, pids %d"):format(role, limits.size_text(l.memory), l.pids)
         end
      end
      if #side > 0 then add("", table.concat(side, "; ")) end
   end
   local git = {}
   for _, g in ipairs(plan.git) do
      git[#git + 1] = ("%s: %s via %s (gate forwards to %s:%d); %s"):format(
         g.name, g.upstream, g.gate_url, g.host, g.port, push_policy(g.push))
   end
   add_many("git", git)
   add_many("credentials", M.credential_lines(plan))
   for _, w in ipairs(M.credential_warnings(plan)) do add("warning", w) end
   if plan.workspace then
      for i, line in ipairs(require("bottle.workspace").preflight_lines(plan)) do
         rows[#rows + 1] = { i == 1 and "workspace" or "", line[1], line[2] }
      end
   end
   -- change lines read "policy FILE: ..."; the label already says policy
   local changes = {}
   for _, c in ipairs(plan.policy_changes) do changes[#changes + 1] = (c:gsub("^policy ", "")) end
   add_many("policies", changes)
   if logs and #logs > 0 then add_many("policy log", logs) end
   return rows
end

-- The credential proxy's routes: name, upstream, the header set and where
-- the value comes from (a variable's name or a prompt), never a value.
local function default_sources()
   local names = {}
   for _, s in ipairs(require("bottle.cred_proxy").DEFAULT_SOURCES) do names[#names + 1] = s.var end
   return names
end

function M.credential_lines(plan)
   local out = {}
   for _, r in ipairs(plan.credentials or {}) do
      local from = r.source.kind == "host" and ("from " .. r.source.from) or "asked at launch"
      if r.unset then from = ("from %s, which is not set, so up will refuse"):format(r.source.from) end
      out[#out + 1] = ("%s: %s via %s (%s%s set by the proxy, %s; the agent's own credentials are removed)")
         :format(r.name, r.upstream, r.url, r.header, r.scheme and (" " .. r.scheme) or "", from)
   end
   if #out == 0 and plan.default_credential == false then
      local names = default_sources()
      out[1] = ("none: %s and %s are not set, so Claude Code will ask for a login")
         :format(table.concat(names, ", ", 1, #names - 1), names[#names])
   end
   return out
end

-- A routed host a policy put back in pipelock's allowlist or passthrough:
-- the agent reaches it there with any key.
function M.credential_warnings(plan)
   local out = {}
   local open = {}
   for _, h in ipairs(plan.egress and plan.egress.hosts or {}) do open[h] = "allowlist" end
   for _, h in ipairs(plan.egress and plan.egress.passthrough or {}) do open[h] = open[h] or "passthrough" end
   for _, r in ipairs(plan.credentials or {}) do
      if open[r.host] then
         out[#out + 1] = ("%s is back in pipelock's %s (a policy put it there): the agent can reach it "
            .. "with any key, not only through the %s route"):format(r.host, open[r.host], r.name)
      end
   end
   if plan.backend == "kubernetes" and #(plan.credentials or {}) > 0 then
      out[#out + 1] = "on kubernetes the credentials are stored in the cluster (a Secret in etcd, mounted into the "
         .. "proxy's Pod only) while the bottle lives; on Docker they stay in memory"
   end
   return out
end

-- colour: a function(text, kind) -> text, or nil for plain output.
-- Values quote the manifest, policies and their logs: each is sanitised.
-- found: what the backend's checks resolved ({runtime}), when they ran.
function M.render(plan, colour, logs, found)
   local rows = M.rows(plan, logs, found)
   local width = 0
   for _, r in ipairs(rows) do width = math.max(width, #r[1]) end
   local out = {}
   for _, r in ipairs(rows) do
      local label = r[1] .. string.rep(" ", width - #r[1])
      if colour then label = colour(label, "label") end
      local value = sanitize.line(r[2])
      -- a row with a kind of its own (the mount's warning) stands out
      if colour and r[3] then value = colour(value, r[3]) end
      out[#out + 1] = ("%s : %s"):format(label, value)
   end
   return table.concat(out, "\n") .. "\n"
end

return M
