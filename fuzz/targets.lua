-- The Lua side of the libFuzzer targets (harness.c embeds this file and calls
-- the function named by its FUZZ_TARGET with each input).  Each target calls
-- bottle.core as the launcher does and raises on anything docs/api.md rules
-- out; the sanitizers catch the rest.
local core = require "bottle.core"

local T = {}

local DECODE_CODES = {
   yaml_syntax = true, yaml_multiple_documents = true, yaml_alias = true,
   yaml_duplicate_key = true, yaml_key_type = true, yaml_tag = true, yaml_depth = true,
}

local function check (cond, fmt, ...)
   if not cond then error(fmt:format(...), 2) end
end

-- Deep equality for decoded values: integer vs float, NaN, array_mt.
local function same (a, b)
   if type(a) ~= type(b) then return false end
   if type(a) == "number" then
      return math.type(a) == math.type(b) and (a == b or (a ~= a and b ~= b))
   end
   if type(a) ~= "table" then return a == b end
   if (getmetatable(a) == core.array_mt) ~= (getmetatable(b) == core.array_mt) then
      return false
   end
   for k, v in pairs(a) do
      if not same(v, b[k]) then return false end
   end
   for k in pairs(b) do
      if a[k] == nil then return false end
   end
   return true
end

local function is_out_of_memory (err)
   return tostring(err):find("not enough memory", 1, true) ~= nil
end

-- Runs f(...) with only a few allocations to spare, now and then (the
-- input's length decides how few), then collects, so that the core's
-- cleanup on a Lua error is exercised and LeakSanitizer sees its result.
local function under_memory_pressure (data, f, ...)
   if #data % 4 ~= 0 then return end
   local ok, err = fuzz_limit(#data // 4 % 64, f, ...)
   check(ok or is_out_of_memory(err), "failed other than for memory: %s", tostring(err))
   collectgarbage()
end

local function check_failure (v, msg, code, codes)
   if v ~= nil then return end
   check(type(msg) == "string" and type(code) == "string",
         "failure without a message and code: %s %s", tostring(msg), tostring(code))
   check(codes[code], "unknown code %s (%s)", code, msg)
end

-- yaml_decode: any input gives a value or nil, "fuzz:L:C: problem", code.
function T.yaml_decode (data)
   local v, msg, code = core.yaml_decode(data, { name = "fuzz", positions = #data % 2 == 0 })
   check_failure(v, msg, code, DECODE_CODES)
   if v == nil then
      check(msg:match("^fuzz:%d+:%d+: ."), "message without a position: %s", msg)
   end
   under_memory_pressure(data, core.yaml_decode, data, { positions = true })
end

-- yaml_roundtrip: whatever decodes encodes, and decodes back to the same.
function T.yaml_roundtrip (data)
   local v = core.yaml_decode(data)
   if v == nil then return end
   local opts
   if type(v) == "table" and #data % 3 == 0 then
      local order = {}
      for k in pairs(v) do
         if type(k) == "string" and #order < 4 then order[#order + 1] = k end
      end
      opts = { key_order = order }
   end
   local text, msg, code = core.yaml_encode(v, opts)
   check(text, "a decoded value did not encode: %s %s", tostring(msg), tostring(code))
   local w, msg2 = core.yaml_decode(text)
   check(w ~= nil, "encoded text did not decode: %s\n%s", tostring(msg2), text)
   check(same(v, w), "decode(encode(v)) differs from v:\n%s", text)
   check(core.yaml_encode(w, opts) == text, "encoding is not stable:\n%s", text)
   under_memory_pressure(data, core.yaml_encode, v, opts)
end

-- host_check / allowlist: a host either normalises to a fixed point of
-- host_check or is refused with invalid_host; allowlist gives a sorted,
-- deduplicated array of normal forms.
function T.host_check (data)
   local h, msg, code = core.host_check(data)
   if h == nil then
      check(code == "invalid_host" and type(msg) == "string", "bad failure %s %s",
            tostring(msg), tostring(code))
   else
      check(type(h) == "string" and #h <= 253, "bad normal form")
      check(not h:find("[^a-z0-9.*-]"), "normal form with odd characters: %q", h)
      check(core.host_check(h) == h, "host_check is not idempotent on %q", h)
   end
   local extra = {}
   for line in (data .. "\n"):gmatch("([^\n]*)\n") do extra[#extra + 1] = line end
   local list, msg2, code2 = core.allowlist(core.DEFAULT_ALLOWLIST, extra)
   if list == nil then
      check(code2 == "invalid_host" and type(msg2) == "string", "bad allowlist failure")
      return
   end
   for i, host in ipairs(list) do
      check(core.host_check(host) == host, "allowlist entry %q is not a normal form", host)
      check(i == 1 or list[i - 1] < host, "allowlist not sorted and unique at %d", i)
   end
end

-- pipelock_check: any table is checked without raising; a config that
-- passes, and any config pipelock_config builds, writes as YAML that reads
-- back the same and passes again.
local function check_written_config (cfg)
   local text, msg, code = core.pipelock_yaml(cfg)
   check(text, "a checked config did not write: %s %s", tostring(msg), tostring(code))
   local back, msg2 = core.yaml_decode(text)
   check(back ~= nil, "pipelock_yaml's output did not decode: %s", tostring(msg2))
   check(same(back, cfg) or same(back, core.yaml_decode(core.yaml_encode(cfg))),
         "pipelock_yaml's output reads back different:\n%s", text)
   check(core.pipelock_check(back) == true, "re-read config fails the check:\n%s", text)
end

function T.pipelock_check (data)
   local v = core.yaml_decode(data)
   if type(v) ~= "table" then return end
   local ok, msg, code = core.pipelock_check(v)
   if ok == true then
      check_written_config(v)
   else
      check(ok == nil and type(msg) == "string" and type(code) == "string",
            "bad failure %s %s %s", tostring(ok), tostring(msg), tostring(code))
   end
   -- the same table read as a bottle: what pipelock_config builds must pass
   local built, cfg = pcall(core.pipelock_config, v, {})
   if built and type(cfg) == "table" then
      check(core.pipelock_check(cfg) == true, "pipelock_config built a config that fails the check")
      check_written_config(cfg)
   end
end

-- manifest_load: the manifest loader through Lua (lua/bottle/manifest/,
-- embedded by the harness), on real files written from the input into a
-- scratch directory (FUZZ_TMPDIR, a tmpfs when the Makefile finds one).  An
-- input with a line "%%" is a user file (above) and a project file (below),
-- loaded as the launcher finds them; any other input is one --manifest file.
-- Whatever the input: load returns a validated manifest or nil, a message
-- that starts "FILE:LINE:COL: " and "invalid_manifest", and never raises;
-- a loaded manifest builds a plan (bottle.plan, no policies) or fails with a
-- message, and the plan's pipelock config passes the check.  Then the same
-- input with every literal env value marked: no message and no plan may
-- hold a marked value (docs: no error message ever contains an env value).
local manifest = require "bottle.manifest"
local planner = require "bottle.plan"

local MARK = "Fz9SecretLiteral"
local NAME = "^[a-z0-9][a-z0-9_-]*$"
local KINDS = { literal = true, prompt = true, host = true }
local PLAN_CODES = { invalid_manifest = true, usage = true, invalid_host = true, invalid_config = true,
                     invalid_policy = true }

local scratch   -- {dir, env, single, user, project}, made on first use

local function put (path, text)
   os.remove(path)
   if text == nil then return end
   local f = assert(io.open(path, "wb"))
   f:write(text)
   f:close()
end

local function scratch_dir ()
   if scratch then return scratch end
   local dir = core.mkdtemp((os.getenv("FUZZ_TMPDIR") or "/tmp") .. "/manifest.")
   for _, d in ipairs { "/config", "/config/claude-bottle", "/project", "/.claude", "/.claude/skills",
                        "/.claude/skills/reviewer" } do
      assert(core.mkdir(dir .. d))
   end
   -- what an input can name: identity ~/id (0600) and skill "reviewer"
   assert(core.write_file(dir .. "/id", "not a key\n", tonumber("600", 8)))
   scratch = {
      dir = dir,
      env = { HOME = dir, XDG_CONFIG_HOME = dir .. "/config", cwd = dir .. "/project" },
      single = dir .. "/bottles.yaml",
      user = dir .. "/config/" .. manifest.USER_FILE,
      project = dir .. "/project/" .. manifest.PROJECT_FILE,
   }
   return scratch
end

-- Every string (keys too) in a table tree, to f.
local function each_string (v, f, seen)
   seen = seen or {}
   if type(v) == "string" then return f(v) end
   if type(v) ~= "table" or seen[v] then return end
   seen[v] = true
   for k, x in pairs(v) do
      each_string(k, f, seen)
      each_string(x, f, seen)
   end
end

local function check_loaded (m)
   check(type(m) == "table" and type(m.bottles) == "table" and type(m.agents) == "table",
         "load returned no manifest table")
   for name, b in pairs(m.bottles) do
      check(type(name) == "string" and name:match(NAME) and #name <= manifest.BOTTLE_NAME_MAX,
            "bottle name %q passed", tostring(name))
      for _, e in ipairs(b.env) do
         check(KINDS[e.kind], "env %s has kind %s", tostring(e.name), tostring(e.kind))
         if e.kind == "literal" then
            check(type(e.value) == "string" and not e.value:find("[\n\r%z]"),
                  "env %s: a literal an env-file cannot hold passed", e.name)
         end
      end
      for _, k in ipairs { "allowlist", "passthrough" } do
         for _, h in ipairs(b.egress[k]) do
            check(core.host_check(h) == h, "bottle %s: egress.%s entry %q is not a normal form", name, k, h)
         end
      end
      check(b.egress.dlp_action == "block" or b.egress.dlp_action == "warn", "bad dlp_action passed")
      check(type(b.egress.tls_interception) == "boolean", "tls_interception is not a boolean")
   end
   for name, a in pairs(m.agents) do
      check(type(name) == "string" and name:match(NAME) and #name <= manifest.AGENT_NAME_MAX,
            "agent name %q passed", tostring(name))
      check(m.bottles[a.bottle] ~= nil, "agent %s names bottle %s, which is not loaded", name, tostring(a.bottle))
   end
end

-- Plans for (at most two of) the manifest's agents; `mark`, when given,
-- must appear in no failure message and nowhere in a plan.
local function check_plans (m, mark)
   local names = {}
   for name in pairs(m.agents) do names[#names + 1] = name end
   table.sort(names)
   for i = 1, math.min(2, #names) do
      local plan, msg, code = planner.build {
         manifest = m, agent = names[i], policies = {},
         options = { backend = "docker", cwd = scratch.env.cwd, home = scratch.dir, env_names = {},
                     random_hex = function () return "f0f0f0" end },
      }
      if plan then
         check(core.pipelock_check(plan.pipelock.config) == true, "agent %s: the plan's config fails the check",
               names[i])
         check(core.yaml_decode(plan.pipelock.yaml) ~= nil, "agent %s: the plan's YAML does not decode", names[i])
         if mark then
            each_string(plan, function (s)
               check(not s:find(mark, 1, true), "agent %s: a literal env value is in the plan: %q", names[i], s)
            end)
         end
      else
         check(type(msg) == "string" and PLAN_CODES[code], "plan.build failed with %s %s", tostring(msg),
               tostring(code))
         check(not (mark and msg:find(mark, 1, true)), "a literal env value is in a plan message: %s", msg)
      end
   end
end

local function load (data)
   local s = scratch_dir()
   local user, project = data:match("^(.-)\n%%%%\n(.*)$")
   if user then
      put(s.user, user ~= "" and user or nil)
      put(s.project, project)
      local m, msg, code = manifest.load { env = s.env }
      return m, msg, code, { s.user, s.project }
   end
   put(s.single, data)
   local m, msg, code = manifest.load { manifest = s.single, env = s.env }
   return m, msg, code, { s.single }
end

local function check_load (data, mark)
   local m, msg, code, files = load(data)
   if m == nil then
      check(code == "invalid_manifest" and type(msg) == "string", "load failed with %s %s", tostring(msg),
            tostring(code))
      local file = msg:match("^(.-):%d+:%d+: .")
      check(file == files[1] or file == files[2], "message without FILE:LINE:COL: %s", msg)
      check(not (mark and msg:find(mark, 1, true)), "a literal env value is in the message: %s", msg)
      return
   end
   check_loaded(m)
   check_plans(m, mark)
end

-- The input with MARK in front of every literal env value (values that
-- would be prompts or host variables are left as they are).
local function marked (data)
   local user, project = data:match("^(.-)\n%%%%\n(.*)$")
   local text = user or data
   local doc = core.yaml_decode(text)
   if type(doc) ~= "table" or type(doc.bottles) ~= "table" then return nil end
   local changed = false
   for _, b in pairs(doc.bottles) do
      if type(b) == "table" and type(b.env) == "table" then
         for k, v in pairs(b.env) do
            if type(v) == "string" and v:sub(1, 1) ~= "?" and not v:find("${", 1, true) then
               b.env[k] = MARK .. v
               changed = true
            end
         end
      end
   end
   if not changed then return nil end
   local out = core.yaml_encode(doc)
   if not out then return nil end
   return user and (out .. "\n%%\n" .. project) or out
end

function T.manifest_load (data)
   check_load(data)
   if data:find(MARK, 1, true) then return end
   local m = marked(data)
   if m then check_load(m, MARK) end
end

return T
