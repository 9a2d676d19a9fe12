-- Property: every config core.pipelock_check accepts is one pipelock 2.3.0
-- accepts, by its own rules as the research notes describe them
-- (spec/helpers/pipelock_model.lua).  The configs are the launcher's own,
-- changed at random as a policy could change them: keys from the schema,
-- values from pools of the forms that fooled the check before (NUL bytes,
-- ports Go reads differently, wide or mapped ranges, bad regexes, NaN).
-- Seeded, so a failure reproduces; SEED=n picks another run.
local core = require "bottle.core"
local model = require "spec.helpers.pipelock_model"

local SEED = tonumber(os.getenv("SEED") or "") or 20261201
local RUNS = tonumber(os.getenv("RUNS") or "") or 4000

local function list(t) return setmetatable(t, core.array_mt) end

local STRINGS = { "strict", "balanced", "audit", "strict\0audit", "", " padded ", "warn", "block", "strip",
   "json", "text", "file", "both", "stdout", "0.0.0.0:8888", "0.0.0.0:08888", "0.0.0.0:+8888", "127.0.0.1:9091",
   ":9092", "0.0.0.0:9091", "10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/1", "::ffff:0.0.0.0/96", "10.1.2.3/8",
   "fd00::/8", "0.0.0.0/0", "(?=x)y", "a**", "[a-z]+", "(a)\\1", "ACME-[0-9]{8}", "24h", "0s", "1d", "90m",
   "example.org", "*.example.com", "*", "*.com", "a.com:443", "\255", "enforce\0", "/etc/x.pem", "rel.pem",
   "luhn", "GitHub Token", "sensitive", "all", "https://hooks.example.com/x" }
local NUMBERS = { 0, 1, -1, 7200, 1.5, 0 / 0, math.huge, -math.huge, 13, 12, 24, 65536, 2 }

local function pick(t) return t[math.random(#t)] end

local SCALARS = {}
for path, kind in pairs(model.SCHEMA) do
   if kind ~= "LIST" and kind ~= "MAP" and kind ~= "STRUCT" and not path:find("^agents") then
      SCALARS[#SCALARS + 1] = path
   end
end
table.sort(SCALARS)
local FOCUS = { "mode", "enforce", "fetch_proxy.listen", "metrics_listen", "kill_switch.api_listen",
   "kill_switch.api_token", "scan_api.listen", "reverse_proxy.listen", "internal[]", "ssrf.ip_allowlist[]",
   "dlp.patterns[].regex", "dlp.patterns[].name", "dlp.patterns[].action", "response_scanning.patterns[].regex",
   "fetch_proxy.monitoring.entropy_threshold", "tls_interception.cert_ttl", "logging.output", "logging.file",
   "trusted_domains[]", "request_body_scanning.action", "sentry.sample_rate", "seed_phrase_detection.min_words",
   "fetch_proxy.monitoring.max_requests_per_minute", "default_agent_identity", "mcp_tool_policy.enabled" }

local function value_for(kind)
   local r = math.random(10)
   if r == 1 then return pick(NUMBERS) end             -- sometimes the wrong type
   if r == 2 then return math.random(2) == 1 end
   if kind == "BOOL" then return math.random(2) == 1 end
   if kind == "INT" or kind == "UINT" or kind == "FLOAT" then return pick(NUMBERS) end
   return pick(STRINGS)
end

-- Sets path (schema form, with [] for a list element) in cfg to v.
local function set(cfg, path, v)
   local t = cfg
   local parts = {}
   for part in path:gmatch("[^.]+") do parts[#parts + 1] = part end
   for i, part in ipairs(parts) do
      local name, is_list = part:match("^(.-)(%[%])$")
      name = name or part
      local last = i == #parts
      if is_list then
         if type(t[name]) ~= "table" then t[name] = list {} end
         local l = t[name]
         if last then l[#l + 1] = v; return end
         if type(l[1]) ~= "table" then l[1] = {} end
         t = l[1]
      elseif last then
         t[name] = v
      else
         if type(t[name]) ~= "table" then t[name] = {} end
         t = t[name]
      end
   end
end

local function base()
   return assert(core.pipelock_config({ egress = { allowlist = { "example.com" } } },
      { ca_cert = "/etc/pipelock-ca.pem", ca_key = "/etc/pipelock-ca-key.pem" }))
end

describe("pipelock_check against pipelock's rules #core", function()
   it(("accepts only configs pipelock accepts (%d random configs, seed %d)"):format(RUNS, SEED), function()
      math.randomseed(SEED)
      local accepted, refused = 0, 0
      for run = 1, RUNS do
         local cfg, changes = base(), {}
         for _ = 1, math.random(3) do
            local path = math.random(3) == 1 and pick(SCALARS) or pick(FOCUS)
            local kind = model.SCHEMA[path] or "STRING"
            local v = value_for(kind)
            set(cfg, path, v)
            changes[#changes + 1] = ("%s = %q"):format(path, type(v) == "string" and v or tostring(v))
         end
         if core.pipelock_check(cfg) then
            accepted = accepted + 1
            local yaml = assert(core.pipelock_yaml(cfg))
            local decoded = assert(core.yaml_decode(yaml))
            local ok, why = model.accepts(decoded)
            assert(ok, ("run %d: the check accepted a config pipelock refuses (%s) after: %s")
               :format(run, tostring(why), table.concat(changes, "; ")))
         else
            refused = refused + 1
         end
      end
      -- the generator reaches both sides
      assert.is_true(accepted > RUNS // 10, "accepted " .. accepted)
      assert.is_true(refused > RUNS // 10, "refused " .. refused)
   end)

   it("the model itself refuses the attacks (so the property can fail)", function()
      local function yaml_of(cfg) return assert(core.yaml_decode(assert(core.yaml_encode(cfg)))) end
      local c = yaml_of(base())
      assert.is_true(model.accepts(c))
      c.mode = "strict\0audit"
      assert.is_nil(model.accepts(c))
      c = yaml_of(base())
      c["enforce\0"] = false
      assert.is_nil(model.accepts(c))
      c = yaml_of(base())
      c.metrics_listen = "0.0.0.0:+8888"
      assert.is_nil(model.accepts(c))
      c = yaml_of(base())
      c.dlp.patterns = list { { name = "x", regex = "(?=a)" } }
      assert.is_nil(model.accepts(c))
   end)
end)
