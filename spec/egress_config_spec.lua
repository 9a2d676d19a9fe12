-- What pipelock inspects in the rendered config (csrc/pipelock_inspection.c,
-- csrc/pipelock_patterns.c), a bottle's egress.inspection choices, the
-- gitleaks patterns against pipelock's own check, and the egress corpus's
-- shape.  The figures behind the defaults: docs/reliability.md section 6.
local core = require "bottle.core"

local CA = { ca_cert = "/etc/pipelock-ca.pem", ca_key = "/etc/pipelock-ca-key.pem" }
local PIPELOCK = os.getenv("PIPELOCK_BIN") or "/opt/pipelock/pipelock"

local function config(inspection, opts)
   return core.pipelock_config({ egress = { allowlist = { "api.example.com" }, inspection = inspection } },
                               opts or CA)
end

local function set(list)
   local s = {}
   for _, v in ipairs(list or {}) do s[v] = true end
   return s
end

local function run(cmd)
   local p = assert(io.popen(cmd .. " 2>&1"))
   local out = p:read("a")
   local ok = p:close()
   return out, ok
end

local function executable(path)
   local _, ok = run("test -x '" .. path .. "'")
   return ok
end

describe("egress inspection defaults #core", function()
   local cfg = assert(config())

   it("scans every request header but the ones a proxy must read", function()
      local rbs = cfg.request_body_scanning
      assert.equals("all", rbs.header_mode)
      local ignored = set(rbs.ignore_headers)
      assert.is_true(ignored.Host and ignored["Content-Length"] and ignored.Connection)
      for _, h in ipairs { "User-Agent", "Accept", "Content-Type", "Referer", "X-Debug-Token", "Authorization" } do
         assert.is_nil(ignored[h], h .. " must be scanned")
      end
      assert.equals(getmetatable(rbs.ignore_headers), core.array_mt)
   end)

   it("blocks injected responses, with injection patterns of its own on top of pipelock's", function()
      local rs = cfg.response_scanning
      assert.is_true(rs.enabled)
      assert.equals("block", rs.action)
      assert.is_nil(rs.include_defaults)   -- pipelock's 25 stay
      assert.equals(getmetatable(rs.patterns), core.array_mt)
      local names = {}
      for _, p in ipairs(rs.patterns) do
         assert.matches("^claude%-bottle %u", p.name)
         -- pipelock puts no (?i) in front of a response pattern
         assert.equals("(?i)", p.regex:sub(1, 4), p.name)
         assert.is_nil(names[p.name], p.name)
         names[p.name] = true
         assert.is_string(p.regex)
      end
      assert.equals(6, #rs.patterns)
   end)

   it("blocks paste sites, file drops, request catchers, tunnels and OAST catchers", function()
      local list = cfg.fetch_proxy.monitoring.blocklist
      local hosts = set(list)
      -- pipelock's own six come first
      assert.same({ "*.pastebin.com", "*.hastebin.com", "*.paste.ee", "*.transfer.sh", "*.file.io", "*.requestbin.com" },
                  { table.unpack(list, 1, 6) })
      for _, h in ipairs { "*.webhook.site", "*.ngrok-free.app", "*.trycloudflare.com", "*.oast.fun", "*.0x0.st",
                           "*.pipedream.net", "*.interact.sh", "*.nip.io" } do
         assert.is_true(hosts[h], h)
      end
      for _, h in ipairs(list) do
         assert.matches("^%*%.[%w%-]+%.[%w%.%-]+$", h)
         assert(core.host_check(h:sub(3)))
      end
      local distinct = 0
      for _ in pairs(hosts) do distinct = distinct + 1 end
      assert.equals(#list, distinct)
      assert.equals(6000, cfg.fetch_proxy.monitoring.max_requests_per_minute)
   end)

   it("replaces pipelock's Environment Variable Secret with one that lets placeholders in words by", function()
      local p = cfg.dlp.patterns[1]
      assert.equals("Environment Variable Secret", p.name)
      -- a value is a run of 8 or more without blanks or "=", a digit in it
      assert.matches("[^\\s=]{7,}[0-9]|", p.regex, 1, true)
      assert.matches("|[0-9][^\\s=]{7})", p.regex, 1, true)
   end)

   it("adds gitleaks' and Titus' rules to pipelock's built-in DLP patterns, each named once", function()
      assert.is_true(cfg.dlp.include_defaults)
      local names, from = {}, { gitleaks = 0, titus = 0 }
      for i = 2, #cfg.dlp.patterns do
         local p = cfg.dlp.patterns[i]
         local source = p.name:match("^(%l+) [%w%-%._]+")
         assert.is_truthy(from[source], p.name)
         from[source] = from[source] + 1
         assert.is_nil(names[p.name], p.name)
         names[p.name] = true
         assert.is_string(p.regex)
      end
      assert.is_true(from.gitleaks > 100 and from.titus > 100)
      -- gitleaks' come first: pipelock reports the first names that match
      assert.matches("^gitleaks ", cfg.dlp.patterns[2].name)
      assert.is_true(names["gitleaks shopify-access-token"] and names["gitleaks postman-api-token"]
                     and names["gitleaks grafana-service-account-token"])
      assert.is_true(names["titus kingfisher.discord.1"] and names["titus np.groq.1"])
      -- a rule that matches any 40 hex digits without its keyword is not there
      assert.is_nil(names["gitleaks sourcegraph-access-token"])
      assert.is_nil(names["gitleaks generic-api-key"])
   end)

   it("offers pipelock's WebSocket proxy, the scanned WebSocket path", function()
      assert.same({ enabled = true, max_connection_seconds = 86400, idle_timeout_seconds = 3600 }, cfg.websocket_proxy)
   end)

   it("holds with TLS interception off too (plain HTTP is still inspected)", function()
      local plain = assert(config(nil, {}))
      assert.equals("all", plain.request_body_scanning.header_mode)
      assert.equals("block", plain.response_scanning.action)
      assert.is_true(core.pipelock_check(plain))
   end)

   it("passes the schema check and renders", function()
      assert.is_true(core.pipelock_check(cfg))
      local yaml = assert(core.pipelock_yaml(cfg))
      assert.matches("\n  header_mode: all\n", yaml, 1, true)
      assert.matches("response_scanning:\n  action: block\n", yaml, 1, true)
   end)
end)

describe("egress.inspection choices #core", function()
   it("turns each default down", function()
      local cfg = assert(config { headers = "sensitive", responses = "strip", blocklist = false, gitleaks = false,
                                  websocket = false, injection_patterns = false, titus = false })
      assert.equals("sensitive", cfg.request_body_scanning.header_mode)
      assert.is_nil(cfg.request_body_scanning.ignore_headers)
      assert.equals("strip", cfg.response_scanning.action)
      assert.is_nil(cfg.fetch_proxy.monitoring.blocklist)
      assert.same({ "Environment Variable Secret" }, { cfg.dlp.patterns[1].name, cfg.dlp.patterns[2] })
      assert.is_nil(cfg.response_scanning.patterns)
      assert.is_nil(cfg.websocket_proxy)
      assert.is_true(core.pipelock_check(cfg))
      assert.equals("warn", assert(config { responses = "warn" }).response_scanning.action)
   end)

   it("refuses a value that is not a choice, naming the key", function()
      local cfg, msg, code = config { responses = "ask" }
      assert.is_nil(cfg)
      assert.equals("invalid_config", code)
      assert.matches("egress.inspection.responses", msg, 1, true)
      cfg, msg, code = config { headers = "some" }
      assert.is_nil(cfg)
      assert.equals("invalid_config", code)
      assert.matches("egress.inspection.headers", msg, 1, true)
   end)

   it("raises on the wrong types (a caller's bug)", function()
      assert.has_error(function() config { blocklist = "no" } end)
      assert.has_error(function() config { responses = 1 } end)
      assert.has_error(function() core.pipelock_config({ egress = { inspection = "all" } }, CA) end)
   end)
end)

describe("the plan of the embedded default bottle #core", function()
   it("tells the agent where the scanned WebSocket path is", function()
      local cjson = require "cjson"
      local dir = core.mkdtemp("/tmp/claude-bottle-egress-plan.")
      local p = assert(io.popen(("cd %s && XDG_CONFIG_HOME=%s XDG_STATE_HOME=%s lua5.4 %s/bottle.lua plan --json "
         .. "2>/dev/null"):format(dir, dir, dir, os.getenv("PWD") or ".")))
      local out = p:read("a")
      p:close()
      core.rmtree(dir)
      local plan = cjson.decode(out)
      assert.equals("ws://claude-bottle-pipelock-" .. plan.slug .. ":8888/ws?url=",
                    plan.agent_env.CLAUDE_BOTTLE_WEBSOCKET_PROXY)
   end)
end)

describe("egress.inspection in a manifest #core", function()
   local function plan_with(inspection)
      local dir = core.mkdtemp("/tmp/claude-bottle-egress-manifest.")
      assert(core.write_file(dir .. "/m.yaml", "bottles:\n  web:\n    egress:\n      inspection: " .. inspection
         .. "\nagents:\n  claude:\n    bottle: web\n", tonumber("600", 8)))
      local p = assert(io.popen(("cd %s && XDG_CONFIG_HOME=%s XDG_STATE_HOME=%s lua5.4 %s/bottle.lua plan --manifest "
         .. "m.yaml 2>&1; echo \"exit $?\""):format(dir, dir, dir, os.getenv("PWD") or ".")))
      local out = p:read("a")
      p:close()
      core.rmtree(dir)
      return out
   end

   it("turns a default down, and the preflight says what applies", function()
      local out = plan_with("{ headers: sensitive, responses: strip, blocklist: false, gitleaks: false, titus: false, "
                            .. "injection_patterns: false, websocket: false }")
      assert.matches("exit 0", out, 1, true)
      assert.matches("inspection    : headers: pipelock's sensitive list only", out, 1, true)
      assert.matches("responses: strip", out, 1, true)
      assert.matches("blocklist: none", out, 1, true)
      assert.matches("injection patterns: pipelock's 25\n", out)
      assert.matches("dlp patterns: pipelock's 48\n", out)
      assert.not_matches("%d+ custom", out)
      assert.matches("websocket: no scanned path", out, 1, true)
   end)

   it("shows a policy's change of the same keys in the preflight", function()
      local dir = core.mkdtemp("/tmp/claude-bottle-egress-policy.")
      assert(core.write_file(dir .. "/p.lua", "return { config = function(cfg) "
         .. "cfg.response_scanning.action = 'warn'; cfg.request_body_scanning.header_mode = 'sensitive' end }\n",
         tonumber("600", 8)))
      local p = assert(io.popen(("cd %s && XDG_CONFIG_HOME=%s XDG_STATE_HOME=%s lua5.4 %s/bottle.lua plan --policy p.lua "
         .. "2>&1; echo \"exit $?\""):format(dir, dir, dir, os.getenv("PWD") or ".")))
      local out = p:read("a")
      p:close()
      core.rmtree(dir)
      assert.matches("exit 0", out, 1, true)
      assert.matches("responses: warn (an injection is logged, the page delivered)", out, 1, true)
      assert.matches("headers: pipelock's sensitive list only", out, 1, true)
   end)

   it("refuses an unknown key or value with the file, line and the fix", function()
      local out = plan_with("{ responses: ask }")
      assert.matches("exit 2", out, 1, true)
      assert.matches('m.yaml:4:%d+: bottle "web": egress.inspection.responses: "ask" is not a choice', out)
      out = plan_with("{ header: all }")
      assert.matches("exit 2", out, 1, true)
      assert.matches('did you mean "headers"', out, 1, true)
      out = plan_with("{ blocklist: no }")
      assert.matches("exit 2", out, 1, true)
      assert.matches("write true or false", out, 1, true)
   end)
end)

describe("pipelock_check on DLP and response patterns #core", function()
   local function with_pattern(section, p)
      local cfg = assert(config())
      if section == "dlp" then
         cfg.dlp.patterns = setmetatable({ p }, core.array_mt)
      else
         cfg.response_scanning.patterns = setmetatable({ p }, core.array_mt)
      end
      return core.pipelock_check(cfg)
   end

   it("accepts RE2 syntax, classes holding ( ? = included", function()
      assert.is_true(with_pattern("dlp", { name = "x", regex = "tok_[a-z0-9]{8}(?:[(?=]|$)" }))
      assert.is_true(with_pattern("dlp", { name = "x", regex = "a[[:alpha:]]+(?i:b)\\(?=" }))
   end)

   for _, case in ipairs {
      { "(?=abc)x", "lookaround" }, { "x(?!abc)", "lookaround" }, { "(?<=abc)x", "lookaround" },
      { "(?<!a)x", "lookaround" }, { "(?>ab)", "unknown group flag" }, { "(a)\\1", "backreference" },
      { "a++", "repetition of a repetition" }, { "a{2}+", "repetition of a repetition" },
   } do
      it("refuses " .. case[1] .. " (" .. case[2] .. ")", function()
         local ok, msg, code = with_pattern("dlp", { name = "x", regex = case[1] })
         assert.is_nil(ok)
         assert.equals("invalid_config", code)
         assert.matches("dlp.patterns[1].regex: ", msg, 1, true)
         assert.matches(case[2], msg, 1, true)
      end)
   end

   it("refuses a pattern without a name or a regex", function()
      local ok, msg = with_pattern("dlp", { name = "", regex = "abc" })
      assert.is_nil(ok)
      assert.matches("dlp.patterns[1]: needs a non-empty name", msg, 1, true)
      ok, msg = with_pattern("response", { name = "x" })
      assert.is_nil(ok)
      assert.matches("response_scanning.patterns[1]: needs a non-empty regex", msg, 1, true)
   end)
end)

describe("the rendered config under pipelock 2.3.0's own check #core", function()
   it("is valid, with every gitleaks pattern compiled by Go's regexp", function()
      if not executable(PIPELOCK) then
         pending("no pipelock 2.3.0 binary at " .. PIPELOCK .. " (set PIPELOCK_BIN)")
         return
      end
      local dir = core.mkdtemp("/tmp/claude-bottle-egress-check.")
      local ok, err = pcall(function()
         local _, made = run(("openssl ecparam -name prime256v1 -genkey -noout -out %s/ca-key.pem && openssl req -x509 "
            .. "-new -key %s/ca-key.pem -out %s/ca.pem -days 1 -subj /CN=spec -addext basicConstraints=critical,CA:TRUE "
            .. "-addext keyUsage=critical,keyCertSign,cRLSign && chmod 600 %s/ca-key.pem"):format(dir, dir, dir, dir))
         assert.is_true(made, "openssl could not make a CA")
         local cfg = assert(config(nil, { ca_cert = dir .. "/ca.pem", ca_key = dir .. "/ca-key.pem" }))
         assert(core.write_file(dir .. "/pipelock.yaml", assert(core.pipelock_yaml(cfg)), tonumber("600", 8)))
         local out, passed = run(PIPELOCK .. " check --config " .. dir .. "/pipelock.yaml")
         assert.is_true(passed, out)
         assert.matches("Config validation: OK", out, 1, true)
         assert.matches("DLP patterns:%s+" .. (48 + #cfg.dlp.patterns - 1) .. " rules", out)
         assert.matches("Blocklist:%s+" .. #cfg.fetch_proxy.monitoring.blocklist .. " patterns", out)
      end)
      core.rmtree(dir)
      assert(ok, err)
   end)
end)

describe("csrc/dlp_gitleaks.h #core", function()
   it("is what scripts/gitleaks-dlp.py makes of gitleaks v8.30.1", function()
      local modcache = (run("go env GOMODCACHE 2>/dev/null")):gsub("%s+$", "")
      local toml = modcache .. "/github.com/zricethezav/gitleaks/v8@v8.30.1/config/gitleaks.toml"
      local f = modcache ~= "" and io.open(toml, "r")
      if not f then
         pending("gitleaks v8.30.1 is not in the Go module cache (go mod download github.com/zricethezav/gitleaks/v8@v8.30.1)")
         return
      end
      f:close()
      local made, ok = run("python3 scripts/gitleaks-dlp.py '" .. toml .. "'")
      assert.is_true(ok, made)
      local have = assert(io.open("csrc/dlp_gitleaks.h", "r")):read("a")
      assert.equals(have, made)
   end)
end)

describe("the egress corpus #core", function()
   package.path = "./?.lua;" .. package.path
   local corpus = require "reliability.egress.corpus"
   local cases = corpus.load()

   -- every mixed category of a set holds malicious and benign cases
   local function both_kinds(list)
      local kinds = {}
      for _, c in ipairs(list) do
         kinds[c.category] = kinds[c.category] or {}
         kinds[c.category][c.malicious] = true
      end
      for _, cat in ipairs { "header", "encoding", "url", "hostname", "dropsite", "response", "websocket" } do
         assert.is_true(kinds[cat][true] and kinds[cat][false], cat)
      end
   end

   it("loads, each case with a category, and both kinds in the mixed categories", function()
      assert.is_true(#cases > 150)
      both_kinds(cases)
   end)

   local shapes = { "gh[pousr]_%w%w%w%w%w%w%w%w%w%w%w%w%w%w%w%w", "AKIA[%u%d][%u%d][%u%d][%u%d][%u%d][%u%d]",
                    "xox[bpa]%-%d%d%d", "sk_live_%w%w%w%w", "glpat%-%w%w%w%w", "BEGIN RSA PRIVATE" }

   it("holds no credential-shaped literal in its files (values are built at load time)", function()
      for _, name in ipairs(corpus.FILES) do
         local text = assert(io.open("reliability/egress/corpus/" .. name .. ".lua")):read("a")
         for _, shape in ipairs(shapes) do assert.is_nil(text:find(shape), name .. ": " .. shape) end
      end
      local formats = assert(io.open("reliability/egress/formats.lua")):read("a")
      for _, shape in ipairs(shapes) do assert.is_nil(formats:find(shape), "formats.lua: " .. shape) end
      -- and the values it builds do have the shapes
      local seen = 0
      for _, c in ipairs(cases) do
         if (c.body or ""):find(shapes[1]) then seen = seen + 1 end
      end
      assert.is_true(seen > 3)
   end)

   -- Each hold-out: its id prefix and the shapes its files must not hold
   -- beyond the corpus's (the formats it adds).
   local HOLDOUTS = {
      { set = "holdout", prefix = "h", more = {
           "sk%-ant%-%w+%-%w%w%w%w%w%w%w%w", "gl[pdr]t?t%-%w%w%w%w%w%w", "ATBB%w%w%w%w%w%w", "dckr_pat_%w%w%w%w",
           "BEGIN [%u ]*PRIVATE KEY", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9%.eyJ" } },
      { set = "holdout2", prefix = "h2", more = {
           "sk%-ant%-%w+%-%w%w%w%w%w%w%w%w", "sk%-admin%-%w%w%w%w", "gl[pdr]t?t%-%w%w%w%w%w%w",
           "xoxe%.xoxp%-1%-[%w_%-]", "xoxe%-1%-[%w_%-]", "xoxd%-[%w%%]", "ABSK[%w+/]", "CCIPAT_%w%w%w%w",
           "dt0c01%.%w%w%w%w", "xkeysib%-%x%x%x%x", "shippo_live_%x%x%x%x", "access_token%$production%$%w%w%w%w",
           "BEGIN [%u ]*PRIVATE KEY", "PuTTY%-User%-Key%-File", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9%.eyJ",
           "AIza[%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-]",
           "%d%d%d%d%d%d%d%d:AA[%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-]" } },
   }

   it("and its hold-outs: \"all\" is the three sets, no id shared", function()
      local n = #cases
      for _, h in ipairs(HOLDOUTS) do n = n + #corpus.load(nil, h.set) end
      assert.equals(n, #corpus.load(nil, "all"))   -- "all" errors on a shared id
   end)

   for _, h in ipairs(HOLDOUTS) do
      describe("and its " .. h.set, function()
         local held = corpus.load(nil, h.set)

         it("loads, ids " .. h.prefix .. "-..., the corpus's categories, both kinds in the mixed ones", function()
            assert.is_true(#held > 150)
            local categories = {}
            for _, c in ipairs(cases) do categories[c.category] = true end
            for _, c in ipairs(held) do
               assert.equals(h.prefix .. "-", c.id:sub(1, #h.prefix + 1), c.id)
               assert.is_true(categories[c.category], c.id .. ": a category of the corpus")
            end
            both_kinds(held)
         end)

         it("holds no credential-shaped literal in its files either", function()
            local all = {}
            for _, shape in ipairs(h.more) do all[#all + 1] = shape end
            for _, shape in ipairs(shapes) do all[#all + 1] = shape end
            local files = { "formats" }
            for _, name in ipairs(corpus.FILES) do files[#files + 1] = name end
            for _, name in ipairs(files) do
               local path = "reliability/egress/" .. h.set .. "/" .. name .. ".lua"
               local text = assert(io.open(path)):read("a")
               for _, shape in ipairs(all) do assert.is_nil(text:find(shape), path .. ": " .. shape) end
            end
            -- and the values it builds do have the shapes
            local seen = 0
            for _, c in ipairs(held) do
               local text = (c.body or "") .. (c.frame or "")
               for _, v in pairs(c.headers or {}) do text = text .. v end
               for _, shape in ipairs(all) do
                  if text:find(shape) then seen = seen + 1; break end
               end
            end
            assert.is_true(seen > 3)
         end)
      end)
   end
end)
