-- The bottle hook's data: the view of a resolved bottle a policy sees, the
-- check that a policy only narrowed it, and the bottle with the view applied.
local core = require "bottle.core"
local schema = require "bottle.schema"
local schema_git = require "bottle.schema.git"
local data = require "bottle.policy.data"
local printable, a_type, quoted, key_text, is_sequence, copy_in =
   data.printable, data.a_type, data.quoted, data.key_text, data.is_sequence, data.copy_in
local format, find, match = string.format, string.find, string.match
local concat, sort = table.concat, table.sort

local M = {}

local function copy_list(t)
   local c = {}
   for i, v in ipairs(t or {}) do c[i] = v end
   return c
end

-- The part of a resolved bottle (see bottle.manifest) a bottle hook sees.
-- Env values and prompt texts are left out: a policy sees names and kinds.
function M.bottle_view(bottle)
   if type(bottle) ~= "table" then error("policy.bottle_view: bottle must be a table", 2) end
   local eg = bottle.egress or {}
   local view = { name = bottle.name, egress = {}, env = {}, git = {}, credentials = {} }
   for _, f in ipairs(schema.POLICY_EGRESS) do
      local v = eg[f.key]
      if f.kind == "hosts" then v = copy_list(v)
      elseif f.kind == "bool" then v = (f.default and v ~= false) or (not f.default and v == true)
      else v = v or f.default end
      view.egress[f.key] = v
   end
   for _, e in ipairs(bottle.env or {}) do view.env[e.name] = e.kind end
   for i, g in ipairs(bottle.git or {}) do
      local push = g.push or {}
      local vg = {}
      for k in pairs(schema_git.POLICY_KEYS) do vg[k] = g[k] end
      vg.push = { branches = copy_list(push.branches) }
      for _, k in ipairs(schema_git.PUSH_SWITCHES) do vg.push[k] = push[k] == true end
      view.git[i] = vg
   end
   -- routes by name and upstream: never where their values come from
   for i, r in ipairs(bottle.credentials or {}) do
      view.credentials[i] = { name = r.name, upstream = r.upstream }
   end
   return view
end

-- The resolved bottle with a (checked) view applied: a new table; entries
-- the policy kept keep all their manifest fields.
function M.apply_bottle_view(bottle, view)
   if type(bottle) ~= "table" or type(view) ~= "table" then
      error("policy.apply_bottle_view: bottle and view must be tables", 2)
   end
   local out = {}
   for k, v in pairs(bottle) do out[k] = v end
   out.egress = {}
   for k, v in pairs(bottle.egress or {}) do out.egress[k] = v end
   for _, f in ipairs(schema.POLICY_EGRESS) do out.egress[f.key] = copy_in(view.egress[f.key]) end

   out.env = {}
   local had = {}
   for _, e in ipairs(bottle.env or {}) do
      -- kept only with its kind: a name one policy removed and another
      -- added back is the launcher's variable of that name ("host")
      if view.env[e.name] == e.kind then
         had[e.name] = true
         out.env[#out.env + 1] = e
      end
   end
   for name, kind in pairs(view.env) do
      if not had[name] then out.env[#out.env + 1] = { name = name, kind = kind, from = name } end
   end
   sort(out.env, function(a, b) return a.name < b.name end)

   out.git = {}
   local by_name = {}
   for _, g in ipairs(bottle.git or {}) do by_name[g.name] = g end
   for _, vg in ipairs(view.git) do
      local g = copy_in(by_name[vg.name])
      -- what a policy may change; the rest stays the manifest's
      g.push = copy_in(vg.push)
      for _, k in ipairs(schema_git.with_policy("text")) do g[k] = vg[k] end
      out.git[#out.git + 1] = g
   end

   -- the routes the policies kept, as the manifest (or the default) made them
   local routes = {}
   for _, r in ipairs(bottle.credentials or {}) do routes[r.name] = r end
   out.credentials = setmetatable({}, core.array_mt)
   for _, vr in ipairs(view.credentials or {}) do out.credentials[#out.credentials + 1] = routes[vr.name] end
   return out
end

local BOTTLE_KEYS, EGRESS_KEYS = schema.POLICY_BOTTLE_KEYS, schema.POLICY_EGRESS_KEYS
local GIT_KEYS = schema_git.POLICY_KEYS
local PUSH_KEYS = {}
for _, k in ipairs(schema.KEYS.push) do PUSH_KEYS[k] = true end

local function only_keys(t, known, where)
   for k in next, t do
      if not known[k] then
         local names = {}
         for n in pairs(known) do names[#names + 1] = n end
         sort(names)
         return format("%s: unknown key %s (known: %s)", where, key_text(k), concat(names, ", "))
      end
   end
end

local function default_set(list)
   local s = {}
   for _, h in ipairs(list or {}) do s[h] = true end
   return s
end

-- A list of hosts → normalised, deduplicated, defaults dropped | nil, message
local function check_hosts(list, where, defaults)
   if type(list) ~= "table" or not is_sequence(list) then
      return nil, format("%s: must be a list of hosts (use {} for none), not %s", where,
         type(list) == "table" and "a table with other keys" or a_type(list))
   end
   local out, seen = {}, {}
   for i, h in ipairs(list) do
      if type(h) ~= "string" then
         return nil, format("%s[%d]: must be a host name, not %s", where, i, a_type(h))
      end
      local norm, msg = core.host_check(h)
      if not norm then return nil, format("%s[%d] %q: %s", where, i, printable(h, 100), msg) end
      if not seen[norm] and not defaults[norm] then out[#out + 1] = norm end
      seen[norm] = true
   end
   return out
end

local RESERVED_ENV = schema.RESERVED_ENV

local function check_env(env, before)
   if type(env) ~= "table" then
      return nil, format("env: must be a table of NAME = kind (use {} for none), not %s", a_type(env))
   end
   local out = {}
   for name, kind in next, env do
      if type(name) ~= "string" or not match(name, schema.ENV_NAME) then
         return nil, format("env: %s is not a variable name", key_text(name))
      end
      local had = before[name]
      if RESERVED_ENV[name] then
         return nil, format("env.%s: is set by the launcher (proxy and CA settings), "
            .. "so a policy cannot forward it", name)
      end
      if had then
         if kind ~= had then
            return nil, format("env.%s: kind is %q and a policy cannot change it "
               .. "(remove the variable or leave it)", name, had)
         end
      elseif kind ~= "host" then
         return nil, format('env.%s: a policy may add a variable only as "host" '
            .. "(forwarded from the launcher's environment by the same name), not %s",
            name, quoted(kind, 40))
      end
      out[name] = kind
   end
   return out
end

local function check_push(push, before, where)
   if type(push) ~= "table" then return nil, format("%s.push: must be a table, not %s", where, a_type(push)) end
   local err = only_keys(push, PUSH_KEYS, where .. ".push")
   if err then return nil, err end
   local out = { branches = {} }
   local b = push.branches
   if type(b) ~= "table" or not is_sequence(b) then
      return nil, format("%s.push.branches: must be a list of branch patterns (use {} for none)", where)
   end
   local allowed = {}
   for _, pat in ipairs(before.branches) do allowed[pat] = true end
   for i, pat in ipairs(b) do
      if not allowed[pat] then
         return nil, format("%s.push.branches[%d] %s: a policy may only remove branch patterns, "
            .. "not add them (the manifest allows: %s)", where, i, quoted(pat, 80),
            #before.branches > 0 and concat(before.branches, ", ") or "none")
      end
      out.branches[#out.branches + 1] = pat
   end
   for _, k in ipairs(schema_git.PUSH_SWITCHES) do
      local v = push[k]
      if type(v) ~= "boolean" then
         return nil, format("%s.push.%s: must be true or false, not %s", where, k, a_type(v))
      end
      if v and not before[k] then
         return nil, format("%s.push.%s: a policy may tighten push rules, not widen them "
            .. "(the manifest has %s = false)", where, k, k)
      end
      out[k] = v
   end
   return out
end

-- The narrow mode of the git-entry checker (bottle.schema.git): a policy's
-- entry against the manifest's; st = { g = the policy's, old =, where =, out = }.
local function read_only(st, k)
   if st.g[k] ~= st.old[k] then
      return nil, format("%s.%s: is read-only in a policy (set it in the manifest)", st.where, k)
   end
   st.out[k] = st.old[k]
   return true
end

local function text(st, k)
   local v = st.g[k]
   if v ~= nil and type(v) ~= "string" then
      return nil, format("%s.%s: must be a string, not %s", st.where, k, a_type(v))
   elseif v ~= nil and find(v, "[%c\127]") then
      return nil, format("%s.%s: %s contains a control character; write it without one",
         st.where, k, quoted(v, 60))
   end
   st.out[k] = v
   return true
end

local NARROW_ORDER = {}
for _, role in ipairs { "read_only", "text", "narrow" } do
   for _, k in ipairs(schema_git.with_policy(role)) do NARROW_ORDER[#NARROW_ORDER + 1] = k end
end

schema_git.mode("narrow", {
   start = function(g, old, where)
      local err = only_keys(g, GIT_KEYS, where)
      if err then return nil, err end
      return { g = g, old = old, where = where, out = { name = g.name } }
   end,
   order = NARROW_ORDER,
   rules = {
      name = false, extra_hosts = false,   -- the entry's key; not a policy's to see
      upstream = read_only, identity = read_only, host_key = read_only,
      user_name = text, user_email = text,
      push = function(st)
         local push, err = check_push(st.g.push, st.old.push, st.where)
         if not push then return nil, err end
         st.out.push = push
         return true
      end,
   },
   finish = function(st) return st.out end,
})

local function check_git(git, before)
   if type(git) ~= "table" or not is_sequence(git) then
      return nil, "git: must be a list of remotes (use {} for none)"
   end
   local by_name = {}
   for _, g in ipairs(before) do by_name[g.name] = g end
   local out, seen = {}, {}
   for i, g in ipairs(git) do
      local where = format("git[%d]", i)
      if type(g) ~= "table" then return nil, format("%s: must be a table, not %s", where, a_type(g)) end
      local old = type(g.name) == "string" and by_name[g.name]
      if not old then
         return nil, format("%s: a policy cannot add a git remote (%s is not in the manifest); "
            .. "add it to the bottle's git list",
            where, type(g.name) == "string" and quoted(g.name, 60) or "it has no name")
      end
      if seen[g.name] then return nil, format("%s: remote %q is listed twice", where, g.name) end
      seen[g.name] = true
      where = format("git[%d] %q", i, g.name)
      local entry, gerr = schema_git.check("narrow", g, old, where)
      if not entry then return nil, gerr end
      out[#out + 1] = entry
   end
   return out
end

-- A policy may remove routes, never add one or change its upstream.
local function check_credentials(list, before)
   if type(list) ~= "table" or not is_sequence(list) then
      return nil, "credentials: must be a list of routes (use {} for none)"
   end
   local by_name = {}
   for _, r in ipairs(before) do by_name[r.name] = r end
   local out, seen = {}, {}
   for i, r in ipairs(list) do
      local where = format("credentials[%d]", i)
      if type(r) ~= "table" then return nil, format("%s: must be a table, not %s", where, a_type(r)) end
      local err = only_keys(r, { name = true, upstream = true }, where)
      if err then return nil, err end
      local old = type(r.name) == "string" and by_name[r.name]
      if not old then
         return nil, format("%s: a policy cannot add a credential route (%s is not in the bottle); "
            .. "add it to the bottle's credentials", where,
            type(r.name) == "string" and quoted(r.name, 60) or "it has no name")
      end
      if seen[r.name] then return nil, format("%s: route %q is listed twice", where, r.name) end
      seen[r.name] = true
      if r.upstream ~= old.upstream then
         return nil, format("%s %q: upstream is read-only in a policy (it stays %s)", where, r.name, old.upstream)
      end
      out[#out + 1] = { name = old.name, upstream = old.upstream }
   end
   return out
end

-- One egress value of the view by its kind. → value | nil, message
local function check_field(v, f, where)
   if f.kind == "hosts" then return check_hosts(v, where, default_set(core[f.builtin])) end
   if f.kind == "bool" then
      if type(v) ~= "boolean" then return nil, format("%s: must be true or false, not %s", where, a_type(v)) end
      return v
   end
   for _, c in ipairs(f.values) do
      if v == c then return v end
   end
   return nil, format('%s: must be "%s", not %s', where, concat(f.values, '" or "'), quoted(v, 40))
end

-- b: what the hook produced (sanitised); before: the view it was given.
local function check_bottle(b, before)
   local err = only_keys(b, BOTTLE_KEYS, "bottle")
   if err then return nil, err end
   if b.name ~= before.name then
      return nil, format("name: a policy cannot rename the bottle (%q)", before.name)
   end
   local eg = b.egress
   if type(eg) ~= "table" then return nil, format("egress: must be a table, not %s", a_type(eg)) end
   err = only_keys(eg, EGRESS_KEYS, "egress")
   if err then return nil, err end
   local out = { name = before.name, egress = {} }
   local msg
   for _, f in ipairs(schema.POLICY_EGRESS) do
      out.egress[f.key], msg = check_field(eg[f.key], f, "egress." .. f.key)
      if out.egress[f.key] == nil then return nil, msg end
   end
   out.env, msg = check_env(b.env, before.env)
   if not out.env then return nil, msg end
   out.git, msg = check_git(b.git, before.git)
   if not out.git then return nil, msg end
   out.credentials, msg = check_credentials(b.credentials or {}, before.credentials or {})
   if not out.credentials then return nil, msg end
   return out
end

M.check = check_bottle

return M
