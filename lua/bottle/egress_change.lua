-- Live egress changes (`bottle allow`, `bottle deny`, `bottle egress`),
-- backend-neutral: the record `up` keeps in the stage directory, the new
-- config built the way a launch builds one, its diff, and the apply with
-- its proof and its rollback.  The backend only reads and writes the
-- running proxy's config (egress_read, egress_apply: docs/backends.md).
--
-- The record (<stage dir>/egress.json, 0600) holds what plan.egress_config
-- needs to build the config again (plan.egress_inputs: the bottle's egress
-- as resolved from the manifest, env names and kinds, the git remotes'
-- policy fields, the policy context), the config last written, and the
-- live changes: hosts allowed and denied since `up`, and a log of changes.
-- Never a value, never a secret, never the user's manifest.
--
-- A change is one file written and one reload: pipelock swaps its whole
-- config at once, so a bottle runs the old config or the new, never a mix.
-- An allow writes a wider allowlist, a deny a narrower one; a change that
-- is not proven in time is undone by writing the old bytes back, which is
-- again one swap.  The walls under pipelock do not depend on the allowlist
-- (they open egress.ports to any address, and ssrf.ip_allowlist, which no
-- live change touches), so they stay as they are.
local core = require "bottle.core"
local cjson = require "cjson"
local planner = require "bottle.plan"
local sha256 = require "bottle.sha256"
local same = require "bottle.same"

local M = {}

M.RECORD = "egress.json"
M.VERSION = 1
local MODE_600 = tonumber("600", 8)
-- A comment line that makes every write's bytes (and so pipelock's
-- config_hash) unique: pipelock skips a reload of bytes it loaded < 2 s ago.
local MARK = "# claude-bottle live egress write "

-- cjson gives every number as a float; the config and the bottle had integers.
local function integers(v)
   if type(v) == "number" then return math.tointeger(v) or v end
   if type(v) ~= "table" then return v end
   local out = {}
   for k, x in pairs(v) do out[k] = integers(x) end
   return out
end

local function list(t)
   local out = {}
   for i, v in ipairs(type(t) == "table" and t or {}) do out[i] = v end
   return out
end

local function set_of(t)
   local s = {}
   for _, v in ipairs(t or {}) do s[v] = true end
   return s
end

local function path_of(stage_dir) return stage_dir .. "/" .. M.RECORD end

-- Writes the record whole: a temporary file (0600, created exclusively),
-- then a rename over the old one.
local function write_record(stage_dir, rec)
   local path = path_of(stage_dir)
   local tmp = path .. ".tmp-" .. core.random_hex(4)
   local ok, err, code = core.write_file(tmp, cjson.encode(rec), MODE_600)
   if not ok then return nil, err, code end
   local renamed, rerr = os.rename(tmp, path)
   if not renamed then
      core.rmtree(tmp)
      return nil, "cannot write " .. path .. ": " .. tostring(rerr), "io"
   end
   return true
end

--- M.record(stage_dir, plan) → true | nil, message, code: what `up` keeps.
function M.record(stage_dir, plan)
   if type(plan.egress_inputs) ~= "table" then error("egress_change.record: plan.egress_inputs missing", 2) end
   return write_record(stage_dir, {
      version = M.VERSION, slug = plan.slug,
      inputs = plan.egress_inputs,
      config = plan.pipelock.config,
      live = { allowed = setmetatable({}, core.array_mt), denied = setmetatable({}, core.array_mt) },
      changes = setmetatable({}, core.array_mt),
   })
end

--- M.load(stage_dir) → record | nil, message, code ("not_found" without one).
function M.load(stage_dir)
   local path = path_of(stage_dir)
   local text, err = core.read_file(path, { max_bytes = 1024 * 1024, within = stage_dir, follow = false })
   if not text then
      if not core.stat(path) then
         return nil, ("no egress record in %s (a bottle launched before live changes existed, or not a bottle)")
            :format(stage_dir), "not_found"
      end
      return nil, tostring(err), "io"
   end
   local ok, rec = pcall(cjson.decode, text)
   if not ok or type(rec) ~= "table" or rec.version ~= M.VERSION or type(rec.inputs) ~= "table"
      or type(rec.config) ~= "table" then
      return nil, path .. " is not an egress record this launcher can read", "invalid_config"
   end
   rec = integers(rec)
   rec.live = rec.live or {}
   rec.live.allowed, rec.live.denied = list(rec.live.allowed), list(rec.live.denied)
   rec.changes = list(rec.changes)
   return rec
end

--- M.lock(stage_dir) → unlock() | nil, message, "busy": one change at a time
-- per bottle (two at once would each restore the other's config).  The lock
-- file names its process; one whose process is gone is taken over.
function M.lock(stage_dir)
   local path = stage_dir .. "/egress.lock"
   local stat = io.open("/proc/self/stat", "r")
   local me = stat and stat:read("l"):match("^(%d+)") or "0"
   if stat then stat:close() end
   for _ = 1, 2 do
      if core.write_file(path, me, MODE_600) then
         return function() core.rmtree(path) end
      end
      local holder = core.read_file(path, { max_bytes = 64, within = stage_dir, follow = false })
      local pid = tostring(holder or ""):match("^(%d+)$")
      if pid and core.stat("/proc/" .. pid) then
         return nil, ("another egress change of this bottle is under way (process %s)"):format(pid), "busy"
      end
      core.rmtree(path)
   end
   return nil, "cannot take the lock " .. path, "busy"
end

--- M.summary(rec) → {added = n, removed = n, changes = n} for `list`.
function M.summary(rec)
   return { added = #rec.live.allowed, removed = #rec.live.denied, changes = #rec.changes }
end

-- The hosts, each through the core's rules (as the manifest's are).
local function checked_hosts(hosts)
   if type(hosts) ~= "table" or #hosts == 0 then return nil, "name at least one host", "usage" end
   local out, seen = {}, {}
   for _, h in ipairs(hosts) do
      local normal, msg = core.host_check(tostring(h))
      if not normal then return nil, msg, "invalid_host" end
      if not seen[normal] then seen[normal] = true; out[#out + 1] = normal end
   end
   return out
end

-- a ∪ b (a's order, then b's), minus `without`.
local function merged(a, b, without)
   local out, seen = {}, {}
   for _, src in ipairs { a, b } do
      for _, h in ipairs(src) do
         if not seen[h] and not (without and without[h]) then seen[h] = true; out[#out + 1] = h end
      end
   end
   return out
end

local function passthrough_of(cfg)
   local tls = type(cfg.tls_interception) == "table" and cfg.tls_interception or {}
   return list(tls.passthrough_domains)
end

--- M.diff(old_cfg, new_cfg) → {added, removed, passthrough_added,
-- passthrough_removed, other = {top-level keys that differ otherwise}}.
function M.diff(old, new)
   local function delta(a, b)
      local sa, sb, plus, minus = set_of(a), set_of(b), {}, {}
      for _, h in ipairs(b) do if not sa[h] then plus[#plus + 1] = h end end
      for _, h in ipairs(a) do if not sb[h] then minus[#minus + 1] = h end end
      return plus, minus
   end
   local d = {}
   d.added, d.removed = delta(list(old.api_allowlist), list(new.api_allowlist))
   d.passthrough_added, d.passthrough_removed = delta(passthrough_of(old), passthrough_of(new))
   d.other = {}
   local keys = {}
   for k in pairs(old) do keys[k] = true end
   for k in pairs(new) do keys[k] = true end
   for k in pairs(keys) do
      local a, b = old[k], new[k]
      if k == "tls_interception" and type(a) == "table" and type(b) == "table" then
         -- its passthrough list is shown on its own
         local ca, cb = {}, {}
         for x, v in pairs(a) do if x ~= "passthrough_domains" then ca[x] = v end end
         for x, v in pairs(b) do if x ~= "passthrough_domains" then cb[x] = v end end
         a, b = ca, cb
      end
      if k ~= "api_allowlist" and not same(a, b) then d.other[#d.other + 1] = k end
   end
   table.sort(d.other)
   return d
end

--- M.build(rec, change, opts) → proposal | nil, message, code.
-- change = {allow = {hosts}} or {deny = {hosts}}.  opts.policies (loaded,
-- run as at a launch), opts.env_names.  The hosts go through
-- core.host_check, the bottle through the policies' hooks and
-- core.pipelock_config, the result through core.pipelock_check.  A denied
-- host is then taken out of the final config (allowlist and passthrough)
-- whoever put it there, defaults and policies included: a deny only narrows.
-- proposal = {cfg, yaml, diff, live = {allowed, denied}, hosts, kind, policy_logs}
function M.build(rec, change, opts)
   opts = opts or {}
   local kind = change.allow and "allow" or change.deny and "deny"
   if not kind then error("egress_change.build: change must be {allow = hosts} or {deny = hosts}", 2) end
   local hosts, err, code = checked_hosts(change[kind])
   if not hosts then return nil, err, code end
   local named = set_of(hosts)
   local allowed, denied
   if kind == "allow" then
      allowed = merged(rec.live.allowed, hosts)
      denied = merged(rec.live.denied, {}, named)
   else
      allowed = merged(rec.live.allowed, {}, named)
      denied = merged(rec.live.denied, hosts)
   end
   local denied_set = set_of(denied)

   -- the bottle as the launch saw it, with the live hosts
   local bottle = integers(rec.inputs.bottle)
   bottle.egress = bottle.egress or {}
   bottle.egress.allowlist = setmetatable(merged(list(bottle.egress.allowlist), allowed, denied_set), core.array_mt)
   local c = rec.inputs.ctx or {}
   local logs = {}
   local ctx = { agent = c.agent, bottle = c.bottle, backend = c.backend, cwd = c.cwd,
                 env_names = opts.env_names, logs = logs }
   local eg
   eg, err, code = planner.egress_config(bottle, opts.policies or {}, ctx)
   if not eg then return nil, err, code end
   local cfg = eg.cfg
   cfg.api_allowlist = setmetatable(merged(list(cfg.api_allowlist), {}, denied_set), core.array_mt)
   if type(cfg.tls_interception) == "table" and cfg.tls_interception.passthrough_domains then
      cfg.tls_interception.passthrough_domains =
         setmetatable(merged(passthrough_of(cfg), {}, denied_set), core.array_mt)
   end
   local ok, cerr = core.pipelock_check(cfg)
   if not ok then return nil, "the new config fails the check: " .. tostring(cerr), "invalid_config" end
   local yaml, yerr, ycode = core.pipelock_yaml(cfg)
   if not yaml then return nil, yerr, ycode end

   local d = M.diff(rec.config, cfg)
   -- pipelock 2.3.0 refuses, in strict mode, a reload that adds passthrough
   -- domains (a downgrade: those tunnels bypass inspection); say so here
   if #d.passthrough_added > 0 then
      return nil, ("the change would add passthrough domain(s) %s, which pipelock only takes at a start:"
         .. " `bottle down` and `up` with them in egress.passthrough"):format(table.concat(d.passthrough_added, ", ")),
         "unsupported"
   end
   return { kind = kind, hosts = hosts, cfg = cfg, yaml = yaml, diff = d, policy_logs = logs,
            live = { allowed = allowed, denied = denied } }
end

--- M.empty(proposal) → true when the config would not change.
function M.empty(p)
   local d = p.diff
   return #d.added == 0 and #d.removed == 0 and #d.passthrough_removed == 0 and #d.other == 0
end

--- M.render(slug, proposal) → the preflight text (plain; the caller sanitises).
function M.render(slug, p)
   local d = p.diff
   local out = { ("egress change for bottle %s (%s %s):"):format(slug, p.kind, table.concat(p.hosts, " ")) }
   for _, h in ipairs(d.added) do out[#out + 1] = "  + allow       " .. h end
   for _, h in ipairs(d.removed) do out[#out + 1] = "  - allow       " .. h end
   for _, h in ipairs(d.passthrough_removed) do out[#out + 1] = "  - passthrough " .. h .. " (now inspected)" end
   if #d.other > 0 then
      out[#out + 1] = "  policies also change: " .. table.concat(d.other, ", ")
   end
   if M.empty(p) then out[#out + 1] = "  (no change: the config would stay as it is)" end
   for _, line in ipairs(p.policy_logs or {}) do out[#out + 1] = "  policy: " .. tostring(line) end
   out[#out + 1] = "  applied by writing the new config into the running pipelock and reloading it;"
   out[#out + 1] = "  open connections stay open, new requests meet the new config. The manifest is not changed."
   return table.concat(out, "\n") .. "\n"
end

-- The bytes to write: the YAML plus a unique comment line.
function M.stamped(yaml)
   return (yaml:gsub("\n" .. MARK:gsub("%p", "%%%0") .. "[^\n]*\n?$", "\n")) .. MARK .. core.random_hex(6) .. "\n"
end

--- M.apply(backend, slug, stage_dir, rec, proposal [, opts]) → result | nil, message, code.
-- Reads the running config, writes the new one and waits for the proof
-- (backend:egress_apply); when that fails, writes the old bytes back (and
-- waits for that proof too).  result = {sha256, seconds}.  The record is
-- updated only once the new config is proven loaded.
function M.apply(backend, slug, stage_dir, rec, p, opts)
   opts = opts or {}
   if type(backend.egress_read) ~= "function" or type(backend.egress_apply) ~= "function" then
      return nil, "this backend cannot change egress live", "unsupported"
   end
   local old, err, code = backend:egress_read(slug)
   if not old then return nil, err, code end
   local done
   done, err, code = backend:egress_apply(slug, M.stamped(p.yaml), opts)
   if not done then
      -- the old bytes back; pipelock may still log refusals of the new
      -- ones (it reloads on the write and on the signal), so only the proof
      -- that it loaded the old bytes counts
      local back_opts = { ignore_refusals = true }
      for k, v in pairs(opts) do back_opts[k] = v end
      local back, berr = backend:egress_apply(slug, M.stamped(old.yaml), back_opts)
      if back then
         return nil, ("%s; the old config is in force again (pipelock reloaded it)"):format(err), code
      end
      return nil, ("%s; writing the old config back failed too: %s (`bottle egress %s` shows what runs)")
         :format(err, tostring(berr), slug), code
   end
   rec.config = p.cfg
   rec.live = { allowed = setmetatable(p.live.allowed, core.array_mt),
                denied = setmetatable(p.live.denied, core.array_mt) }
   rec.changes[#rec.changes + 1] = { time = os.time(), kind = p.kind, hosts = setmetatable(p.hosts, core.array_mt),
                                     added = setmetatable(p.diff.added, core.array_mt),
                                     removed = setmetatable(p.diff.removed, core.array_mt),
                                     sha256 = done.sha256 }
   rec.changes = setmetatable(rec.changes, core.array_mt)
   local ok
   ok, err, code = write_record(stage_dir, rec)
   if not ok then
      return nil, "the new config is in force, but the record could not be written: " .. tostring(err), code
   end
   return done
end

--- M.view(rec, running) → {allowlist = { {host, live = "added"|nil} },
-- passthrough = {...}, denied = {hosts denied live}, in_sync = bool}: what
-- `bottle egress` shows, from the config the sidecar runs (`running`, a
-- decoded config) or, without it, the record's.
function M.view(rec, running)
   local cfg = running or rec.config
   local added = set_of(rec.live.allowed)
   local out = { allowlist = {}, passthrough = {}, denied = list(rec.live.denied),
                 in_sync = running == nil or same(M.comparable(running), M.comparable(rec.config)) }
   for _, h in ipairs(list(cfg.api_allowlist)) do
      out.allowlist[#out.allowlist + 1] = { host = h, live = added[h] and "added" or nil }
   end
   for _, h in ipairs(passthrough_of(cfg)) do out.passthrough[#out.passthrough + 1] = { host = h } end
   return out
end

-- A config without what a YAML round trip may change (empty lists).
function M.comparable(cfg)
   local function strip(v)
      if type(v) ~= "table" then return v end
      local out, n = {}, 0
      for k, x in pairs(v) do
         local s = strip(x)
         if not (type(s) == "table" and next(s) == nil) then out[k] = s; n = n + 1 end
      end
      return out
   end
   return strip(integers(cfg))
end

--- M.live_hosts(rec) → set of the hosts allowed live (for `logs`).
function M.live_hosts(rec)
   return set_of(rec.live.allowed)
end

M.sha256 = sha256.hex

return M
