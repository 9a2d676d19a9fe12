-- The pipelock configs the egress corpus is played against.  Each differs
-- from `before` (claude-bottle's config before issue 16) in one setting, so
-- that a figure says what that setting does; `defaults` is what
-- core.pipelock_config builds now; `reference` is pipelock's own strict
-- preset (configs/strict.yaml of the v2.3.0 source), adapted only as far as
-- a bottle needs.
local core = require "bottle.core"
local E = require "testlib.e2e"

local S = {}

local function arr(t) return setmetatable(t, core.array_mt) end

-- What E.plan renders for the test bottle (the bottle's egress, plus the
-- test policy's trusted_domains and ssrf.ip_allowlist), as a fresh table.
local function current(plan)
   return assert(core.yaml_decode(plan.pipelock.yaml))
end

-- claude-bottle's config before issue 16: whatever the core adds for it
-- taken out again.
local function before(plan)
   local cfg = current(plan)
   if cfg.request_body_scanning then
      cfg.request_body_scanning.header_mode = nil
      cfg.request_body_scanning.ignore_headers = nil
   end
   cfg.response_scanning = nil
   if cfg.fetch_proxy and cfg.fetch_proxy.monitoring then cfg.fetch_proxy.monitoring.blocklist = nil end
   if cfg.dlp then cfg.dlp.patterns = nil end
   cfg.websocket_proxy = nil
   return cfg
end
S.before = before

-- The blocklist pipelock 2.3.0 applies when it runs without a config file
-- (internal/config/defaults.go, Defaults()).
S.PIPELOCK_NO_FILE_BLOCKLIST = { "*.pastebin.com", "*.hastebin.com", "*.paste.ee", "*.transfer.sh", "*.file.io",
                                 "*.requestbin.com" }

S.REFERENCE_FILE = os.getenv("PIPELOCK_REFERENCE_CONFIG") or "/tmp/pl-src/configs/strict.yaml"

-- pipelock's strict preset with what a bottle needs: the bottle's
-- allowlist, listen address, forward proxy, TLS interception with the
-- bottle's CA and passthrough, the test policy's SSRF trust, the decision
-- log as JSON on stdout, no error reports to the maintainer's Sentry, and a
-- rate limit the corpus does not trip (30 a minute would refuse most cases
-- with 429 whatever they carry).
local function reference(plan)
   local f = assert(io.open(S.REFERENCE_FILE, "r"), "no pipelock reference config at " .. S.REFERENCE_FILE)
   local cfg = assert(core.yaml_decode(f:read("a")))
   f:close()
   local ours = current(plan)
   cfg.api_allowlist = ours.api_allowlist
   cfg.fetch_proxy.listen = ours.fetch_proxy.listen
   cfg.fetch_proxy.monitoring.max_requests_per_minute = ours.fetch_proxy.monitoring.max_requests_per_minute
   cfg.forward_proxy.enabled = true
   cfg.tls_interception.enabled = true
   cfg.tls_interception.ca_cert = ours.tls_interception.ca_cert
   cfg.tls_interception.ca_key = ours.tls_interception.ca_key
   cfg.tls_interception.passthrough_domains = ours.tls_interception.passthrough_domains
   cfg.trusted_domains = ours.trusted_domains
   cfg.ssrf = ours.ssrf
   cfg.logging = ours.logging
   cfg.sentry = { enabled = false }
   cfg.metrics_listen = ours.metrics_listen
   return cfg
end

-- The preset keeps state across requests: adaptive enforcement denies the
-- whole session after three blocks (measured: every case after the third
-- malicious one refused, benign ones too), and cross-request detection
-- adds up entropy and fragments over five minutes.  A corpus played in one
-- session then measures the order of its cases, not what each carries; so
-- the per-case figure turns those three off and keeps everything else.
local function reference_per_case(plan)
   local cfg = reference(plan)
   cfg.session_profiling = { enabled = false }
   cfg.adaptive_enforcement = { enabled = false }
   cfg.cross_request_detection = { enabled = false }
   return cfg
end

-- The defaults now without Titus' DLP patterns: the second round of issue
-- 16 (f9c824e).
local function round2(plan)
   local cfg = current(plan)
   local kept = arr {}
   for _, p in ipairs(cfg.dlp.patterns) do
      if not p.name:match("^titus ") then kept[#kept + 1] = p end
   end
   cfg.dlp.patterns = kept
   return cfg
end

-- The defaults of f1b75b5 (issue 16's first round): round2 without what
-- it added (the wider blocklist, claude-bottle's injection patterns, the
-- placeholder-tolerant Environment Variable Secret).
local function round1(plan)
   local cfg = round2(plan)
   cfg.fetch_proxy.monitoring.blocklist = arr(S.PIPELOCK_NO_FILE_BLOCKLIST)
   cfg.response_scanning.patterns = nil
   table.remove(cfg.dlp.patterns, 1)
   assert(cfg.dlp.patterns[1].name:match("^gitleaks "))
   return cfg
end

-- round1 with one of the second round's additions taken from the defaults.
local function round1_with(edit)
   return function(plan)
      local cfg = round1(plan)
      edit(cfg, current(plan))
      return cfg
   end
end

local function with(edit)
   return function(plan)
      local cfg = before(plan)
      edit(cfg)
      return cfg
   end
end

S.list = {
   { name = "before", what = "claude-bottle's config before issue 16", config = before },
   { name = "header-all", what = "before + request_body_scanning.header_mode: all",
     config = with(function(cfg) cfg.request_body_scanning.header_mode = "all" end) },
   { name = "header-all-ignore", what = "before + header_mode: all with the core's ignore_headers",
     config = function(plan)
        local cfg, now = before(plan), current(plan)
        cfg.request_body_scanning.header_mode = "all"
        cfg.request_body_scanning.ignore_headers = now.request_body_scanning.ignore_headers
        return cfg
     end },
   { name = "gitleaks", what = "before + the core's DLP patterns from gitleaks",
     config = function(plan)
        local cfg = before(plan)
        cfg.dlp.patterns = current(plan).dlp.patterns
        return cfg
     end },
   { name = "response-block", what = "before + response_scanning.action: block",
     config = with(function(cfg) cfg.response_scanning = { enabled = true, action = "block" } end) },
   { name = "response-strip", what = "before + response_scanning.action: strip",
     config = with(function(cfg) cfg.response_scanning = { enabled = true, action = "strip" } end) },
   { name = "blocklist", what = "before + pipelock's no-file blocklist",
     config = with(function(cfg) cfg.fetch_proxy.monitoring.blocklist = arr(S.PIPELOCK_NO_FILE_BLOCKLIST) end) },
   { name = "reference", what = "pipelock's strict preset (configs/strict.yaml), adapted to the bottle, "
       .. "without the state it keeps across requests", config = reference_per_case },
   { name = "reference-session", what = "pipelock's strict preset as it is (adaptive enforcement on)",
     config = reference },
   { name = "round1", what = "the defaults of f1b75b5 (the first round of issue 16)", config = round1 },
   { name = "round1+drop-sites", what = "round1 + the wider blocklist (csrc/drop_sites.h)",
     config = round1_with(function(cfg, now) cfg.fetch_proxy.monitoring.blocklist = now.fetch_proxy.monitoring.blocklist end) },
   { name = "round1+injection", what = "round1 + claude-bottle's injection patterns",
     config = round1_with(function(cfg, now) cfg.response_scanning.patterns = now.response_scanning.patterns end) },
   { name = "round1+env-placeholder", what = "round1 + the placeholder-tolerant Environment Variable Secret",
     config = round1_with(function(cfg, now) table.insert(cfg.dlp.patterns, 1, now.dlp.patterns[1]) end) },
   { name = "round2", what = "the defaults of f9c824e (the second round): now without Titus' patterns",
     config = round2 },
   { name = "defaults", what = "core.pipelock_config as it is now", config = current },
   { name = "defaults-strip", what = "defaults with response_scanning.action: strip",
     config = function(plan)
        local cfg = current(plan)
        cfg.response_scanning.action = "strip"
        return cfg
     end },
}

function S.find(name)
   for _, s in ipairs(S.list) do if s.name == name then return s end end
   return nil
end

S.E = E
return S
