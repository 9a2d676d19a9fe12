-- A git entry of a bottle: its fields, and the one checker every entry goes
-- through, in one of three modes:
--   "manifest"  the manifest's rules, with file:line:col (bottle.manifest.git);
--   "narrow"    what a policy returned may only narrow the manifest's entry
--               (bottle.policy.bottle);
--   "gate"      the gate's last check before the values reach its shell
--               scripts, file names and known_hosts (bottle.gitgate).
-- A mode is registered by the module whose messages it speaks, with a rule
-- (or false: not checked in that mode) for every field, so a new field
-- cannot be forgotten by one of them.
local M = {}

-- In the order messages list them.  required: the hint when the manifest
-- leaves it out; policy: what a policy may do ("key" names the entry,
-- "read_only", "narrow", "text"; nil: a policy does not see it).
M.FIELDS = {
   { key = "name", required = "add name: (the repository's alias in the gate)", policy = "key" },
   { key = "upstream", required = "add upstream: ssh://git@host/path.git", policy = "read_only" },
   { key = "identity", required = "add identity: ~/.ssh/KEY (the SSH key the gate pushes with)",
     policy = "read_only" },
   { key = "host_key", required = "add host_key: \"KEYTYPE BASE64\" (from ssh-keyscan HOST; " ..
                                  "the gate never trusts on first use)", policy = "read_only" },
   { key = "extra_hosts" },
   { key = "push", policy = "narrow" },
   { key = "user_name", policy = "text" },
   { key = "user_email", policy = "text" },
}

M.KEYS = {}
M.POLICY_KEYS = {}
for i, f in ipairs(M.FIELDS) do
   M.KEYS[i] = f.key
   if f.policy then M.POLICY_KEYS[f.key] = true end
end

-- The keys of the given policy role, in field order.
function M.with_policy(role)
   local out = {}
   for _, f in ipairs(M.FIELDS) do
      if f.policy == role then out[#out + 1] = f.key end
   end
   return out
end

-- The push keys besides branches are switches a policy may only turn off.
M.PUSH_SWITCHES = { "force", "delete", "tags" }
M.NAME_MAX = 100

local modes = {}

-- def = { start = fn(entry, ...) → state | nil, message, code,
--         order = { keys } | fn(state) → { keys },
--         rules = { [key] = fn(state, key) → true | nil, message, code, or false },
--         finish = fn(state) → result }
function M.mode(name, def)
   if type(name) ~= "string" or type(def) ~= "table" then error("schema.git.mode: name and def", 2) end
   for _, f in ipairs(M.FIELDS) do
      if def.rules[f.key] == nil then
         error(("schema.git.mode: mode %q has no rule for the field %q (false: not checked)")
            :format(name, f.key), 2)
      end
   end
   modes[name] = def
end

-- The checker: → the mode's result | nil, message, code.
function M.check(mode, entry, ...)
   local def = modes[mode]
   if not def then error(("schema.git.check: no mode %q"):format(tostring(mode)), 2) end
   local state, err, code = def.start(entry, ...)
   if not state then return nil, err, code end
   local order = def.order
   if type(order) == "function" then order = order(state) end
   for _, k in ipairs(order) do
      local rule = def.rules[k]
      if rule then
         local ok, rerr, rcode = rule(state, k)
         if not ok then return nil, rerr, rcode end
      end
   end
   return def.finish(state)
end

return M
