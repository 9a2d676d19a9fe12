-- core.pipelock_check: the gaps a red-team pass found, one regression spec
-- each (NUL bytes, ranges, internal, listeners and ports, regexes, numbers,
-- raw access), and the C API's smaller faults.
local core = require "bottle.core"

local function base()
   return assert(core.pipelock_config({ egress = { allowlist = { "example.com" } } },
      { ca_cert = "/etc/pipelock-ca.pem", ca_key = "/etc/pipelock-ca-key.pem" }))
end

local function list(t) return setmetatable(t, core.array_mt) end

local function refused(change, pattern)
   local cfg = base()
   change(cfg)
   local ok, msg, code = core.pipelock_check(cfg)
   assert.is_nil(ok, "accepted: " .. pattern)
   assert.equals("invalid_config", code)
   assert.matches(pattern, msg)
   -- and pipelock_yaml, which writes the file, refuses it too
   assert.is_nil((core.pipelock_yaml(cfg)))
   return msg
end

describe("pipelock_check: NUL bytes #core", function()
   it("refuses a NUL in a value the invariants compare", function()
      refused(function(c) c.mode = "strict\0audit" end, '^mode: "strict\\x00audit" contains a NUL byte')
      refused(function(c) c.fetch_proxy.listen = "0.0.0.0:8888\0" end, "^fetch_proxy%.listen: .* contains a NUL byte")
   end)

   it("refuses a NUL in a key", function()
      refused(function(c) c["enforce\0"] = false end, '^%(config%): has a key with a NUL byte %("enforce\\x00"%)')
      refused(function(c) c.forward_proxy["enabled\0x"] = false end, "^forward_proxy: has a key with a NUL byte")
   end)

   it("refuses a NUL in an enum, a host, a CIDR, a path and a free string", function()
      refused(function(c) c.request_body_scanning.action = "block\0" end, "contains a NUL byte")
      refused(function(c) c.api_allowlist[1] = "example.com\0evil.com" end, "^api_allowlist%[1%]")
      refused(function(c) c.ssrf = { ip_allowlist = list { "10.0.0.0/8\0" } } end, "contains a NUL byte")
      refused(function(c) c.tls_interception.ca_key = "/etc/key\0.pem" end, "contains a NUL byte")
      refused(function(c) c.fetch_proxy.user_agent = "agent\0" end, "^fetch_proxy%.user_agent: .*NUL")
   end)
end)

describe("pipelock_check: SSRF ranges #core", function()
   it("refuses two /1 ranges that together cover IPv4", function()
      refused(function(c) c.ssrf = { ip_allowlist = list { "0.0.0.0/1", "128.0.0.0/1" } } end,
         '^ssrf%.ip_allowlist%[1%]: "0%.0%.0%.0/1" is wider than /8')
   end)

   it("refuses any range wider than /8, IPv4 or IPv6", function()
      refused(function(c) c.ssrf = { ip_allowlist = list { "10.0.0.0/7" } } end, "wider than /8")
      refused(function(c) c.ssrf = { ip_allowlist = list { "2000::/3" } } end, "wider than /8")
   end)

   it("refuses IPv4-mapped IPv6 ranges, which Go applies to IPv4", function()
      refused(function(c) c.ssrf = { ip_allowlist = list { "::ffff:0.0.0.0/96" } } end, "IPv4%-mapped")
      refused(function(c) c.ssrf = { ip_allowlist = list { "::ffff:10.0.0.0/104" } } end, "IPv4%-mapped")
   end)

   it("accepts internal ranges a policy may open", function()
      local cfg = base()
      cfg.ssrf = { ip_allowlist = list { "10.0.0.0/8", "172.18.0.0/16", "fd00::/8", "192.168.1.10/32" } }
      assert.is_true(core.pipelock_check(cfg))
   end)
end)

describe("pipelock_check: internal #core", function()
   local DEFAULTS = { "0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
      "169.254.0.0/16", "100.64.0.0/10", "224.0.0.0/4", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8" }

   it("refuses an empty table, which would be written as a mapping", function()
      refused(function(c) c.internal = {} end, "^internal: is an empty table that is not marked as a list")
   end)

   it("refuses an empty list, which turns the DNS SSRF check off", function()
      refused(function(c) c.internal = list {} end, "^internal: must keep pipelock's default range 0%.0%.0%.0/8")
   end)

   it("refuses a list that drops one default", function()
      local without = {}
      for i = 2, #DEFAULTS do without[#without + 1] = DEFAULTS[i] end
      refused(function(c) c.internal = list(without) end, "default range 0%.0%.0%.0/8")
   end)

   it("accepts the defaults plus more", function()
      local cfg = base()
      local more = { table.unpack(DEFAULTS) }
      more[#more + 1] = "198.18.0.0/15"
      cfg.internal = list(more)
      assert.is_true(core.pipelock_check(cfg))
   end)
end)

describe("pipelock_check: listeners and ports #core", function()
   it("refuses metrics_listen on the proxy's port, and the sections that add listeners", function()
      refused(function(c) c.metrics_listen = "127.0.0.1:8888" end, "^metrics_listen: .*proxy's port")
      for _, section in ipairs { "reverse_proxy", "kill_switch", "scan_api" } do
         refused(function(c) c[section] = { listen = "0.0.0.0:8888" } end, "^" .. section .. ": is a pipelock section")
      end
   end)

   -- /metrics and /stats tell the agent which of its requests were blocked,
   -- and by which scanner: they stay on the sidecar's own loopback.
   it("keeps metrics_listen on the sidecar's loopback", function()
      for _, v in ipairs { "0.0.0.0:9091", "[::]:9091", ":9091", "172.18.0.2:9091", "127.1:9091", "127.0.0.1.5:9091" } do
         refused(function(c) c.metrics_listen = v end, "^metrics_listen: .*not on the sidecar's loopback")
      end
      for _, v in ipairs { "127.0.0.1:9091", "127.0.0.2:9191", "localhost:9091", "[::1]:9091" } do
         local cfg = base()
         cfg.metrics_listen = v
         assert.is_true(core.pipelock_check(cfg), v)
      end
   end)

   it("refuses 08888 and +8888, which Go reads as 8888", function()
      for _, p in ipairs { "08888", "+8888", "-8888", "8888 ", "" } do
         refused(function(c) c.metrics_listen = "127.0.0.1:" .. p end, "^metrics_listen: .*port from 1 to 65535")
      end
      refused(function(c) c.metrics_listen = "127.0.0.1:65536" end, "port from 1 to 65535")
   end)

end)

describe("pipelock_check: patterns and numbers #core", function()
   it("refuses a DLP regex Go cannot compile", function()
      for regex, why in pairs {
         ["(?=x)secret"] = "lookaround",
         ["(a)\\1"] = "backreference",
         ["[a-"] = "without its ]",
         ["(abc"] = "without its %)",
         ["abc)"] = "without its %(",
         ["a**"] = "repetition of a repetition",
         ["*a"] = "nothing to repeat",
         ["a{2,1}"] = "m < n",
         ["a{1001}"] = "more than 1000",
         ["(a{100}){100}"] = "count past 1000",
         ["(?P<n>a)(?P<n>b)"] = "names two groups alike",
         [("(?:" .. ("x"):rep(200) .. "){1000}")] = "too large for Go",
         ["\255"] = "UTF%-8",
         [""] = "is empty",
      } do
         refused(function(c) c.dlp.patterns = list { { name = "p", regex = regex } } end, why)
      end
   end)

   it("accepts the regexes real DLP patterns use", function()
      for _, regex in ipairs { "ACME-[0-9]{8}", "(?i)bearer\\s+[a-z0-9._-]{20,}", "AKIA[0-9A-Z]{16}",
                               "-----BEGIN (?:RSA |EC )?PRIVATE KEY-----", "ghp_[A-Za-z0-9]{36}",
                               "[[:alpha:]]+\\.[[:digit:]]", "(?P<id>x{2,3}|y*?)$", "\\x41\\x{263a}é",
                               "BEGIN\\ PRIVATE\\ KEY" } do   -- an escaped space is a space to Go
         local cfg = base()
         cfg.dlp.patterns = list { { name = "p", regex = regex } }
         assert.is_true(core.pipelock_check(cfg), regex)
      end
   end)

   it("refuses dlp.secrets_file, which the sidecar never has", function()
      refused(function(c) c.dlp.secrets_file = "/etc/pipelock-secrets" end, "^dlp%.secrets_file: .*no secrets file")
   end)

   it("refuses a pattern without a name, and action on a DLP pattern", function()
      refused(function(c) c.dlp.patterns = list { { regex = "x" } } end, "needs a non%-empty name")
      refused(function(c) c.dlp.patterns = list { { name = "GitHub Token", regex = "x", action = "warn" } } end,
         "built%-in pattern names")
   end)

   it("refuses NaN and infinite thresholds", function()
      refused(function(c) c.fetch_proxy.monitoring.entropy_threshold = 0 / 0 end, "finite number, not NaN")
      refused(function(c) c.fetch_proxy.monitoring.entropy_threshold = math.huge end, "not infinite")
      refused(function(c) c.fetch_proxy.monitoring.subdomain_entropy_threshold = -math.huge end, "not infinite")
   end)

   it("refuses a cert_ttl that is not a positive Go duration", function()
      for _, ttl in ipairs { "24", "0h", "-1h", "1d", "h", "" } do
         refused(function(c) c.tls_interception.cert_ttl = ttl end, "^tls_interception%.cert_ttl")
      end
      local cfg = base()
      cfg.tls_interception.cert_ttl = "1h30m"
      assert.is_true(core.pipelock_check(cfg))
   end)
end)

describe("pipelock_check: no route out of the sidecar past the allowlist #core", function()
   it("refuses Sentry, pipelock's own emitters and the reverse proxy", function()
      refused(function(c) c.sentry = { enabled = true } end, "^sentry%.enabled: would let pipelock send")
      refused(function(c) c.sentry.dsn = "https://k@sentry.example/1" end, "^sentry%.dsn")
      refused(function(c) c.emit = { webhook = { url = "https://collector.example/x" } } end, "^emit: is a pipelock section")
      refused(function(c) c.reverse_proxy = { enabled = true, upstream = "http://x.example" } end,
         "^reverse_proxy: is a pipelock section")
   end)

   it("accepts Sentry off, as the launcher writes it", function()
      local cfg = base()
      cfg.sentry = { enabled = false, dsn = "" }
      assert.is_true(core.pipelock_check(cfg))
   end)
end)

describe("pipelock_check: what is checked is what is written #core", function()
   it("reads values raw, never through __index", function()
      local cfg = base()
      cfg.mode = nil
      setmetatable(cfg, { __index = { mode = "strict" } })
      local ok, msg = core.pipelock_check(cfg)
      assert.is_nil(ok)
      assert.matches("^mode: must be strict", msg)
      cfg = base()
      local fp = cfg.forward_proxy
      fp.enabled = nil
      setmetatable(fp, { __index = { enabled = true } })
      assert.matches("^forward_proxy%.enabled", select(2, core.pipelock_check(cfg)))
   end)

   it("refuses a list marked where a mapping belongs", function()
      refused(function(c) c.sentry = list {} end, "^sentry: must be a mapping, not a list")
   end)
end)

describe("the core's smaller faults #core", function()
   it("core.allowlist takes its second argument as optional", function()
      assert.same({ "a.com" }, core.allowlist({ "a.com" }))
      assert.same({ "a.com", "b.com" }, core.allowlist({ "a.com" }, { "b.com" }))
   end)

   it("an empty list from core.allowlist is checked, not raised on", function()
      local cfg = base()
      cfg.api_allowlist = core.allowlist({}, {})
      local ok, msg = core.pipelock_check(cfg)
      assert.is_nil(ok)
      assert.matches("^api_allowlist: must list at least one host", msg)
      cfg.trusted_domains = core.allowlist({}, {})
      cfg.api_allowlist = core.allowlist({ "a.com" })
      assert.is_true(core.pipelock_check(cfg))
   end)
end)
