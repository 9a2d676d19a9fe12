-- pipelock's monitoring endpoints and the agent.  The launcher's config moves
-- /metrics and /stats onto the sidecar's loopback (metrics_listen, see
-- csrc/pipelock.c); /health stays on the proxy port, where the readiness
-- check reads it.  Unit: the config.  End to end (real pipelock 2.3.0): what
-- the agent gets on each, after it made a request pipelock blocked.
local core = require "bottle.core"
local E = require "testlib.e2e"
local launch = require "bottle.launch"
local docker = require("bottle.backend").new("docker")
local cjson = require "cjson"

describe("pipelock config: monitoring endpoints", function()
   it("puts /metrics and /stats on the sidecar's loopback, off the proxy's port", function()
      local cfg = assert(core.pipelock_config({ egress = { allowlist = { "api.github.com" } } }, {}))
      assert.equal("127.0.0.1:9091", cfg.metrics_listen)
      assert.equal("0.0.0.0:8888", cfg.fetch_proxy.listen)
      assert.is_true(core.pipelock_check(cfg))
      assert.matches('\nmetrics_listen: "127.0.0.1:9091"\n', assert(core.pipelock_yaml(cfg)), 1, true)
   end)
end)

local unavailable = E.unavailable()

-- What pipelock 2.3.0's /health tells anyone on the proxy port (proxy.go
-- handleHealth): a new key in a later version should be looked at.
local HEALTH_KEYS = { "dlp_patterns", "forward_proxy_enabled", "git_protection_enabled", "kill_switch_active",
                      "mode", "rate_limit_enabled", "request_body_scan_enabled", "response_scan_enabled", "status",
                      "tls_interception_enabled", "uptime_seconds", "version", "websocket_proxy_enabled" }

describe("#e2e pipelock monitoring endpoints from the agent", function()
   local plan, root

   setup(function()
      if unavailable then return end
      plan = E.plan { agent = "e2e-monitor" }
      root = E.stage_root()
      local res, msg = launch.up(plan, { backend = docker, detach = true, stage_root = root, literals = {},
                                         secrets = {}, progress = E.progress({}), log = function() end })
      assert(res, msg)
   end)

   teardown(function()
      if plan and root then
         launch.down({ slug = plan.slug }, { backend = docker, stage_root = root })
         core.rmtree(root)
      end
   end)

   -- curl from the agent straight to the sidecar (not through the proxy).
   local function get(port, path)
      return E.curl(plan, { "--noproxy", "*", ("http://%s:%d%s"):format(plan.names.pipelock, port, path) })
   end

   it("/metrics and /stats: 404 on the proxy port, and the loopback port is out of reach", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      -- something for the counters to count: a host pipelock refuses
      local denied = E.curl(plan, { "http://denied.test/" })
      assert.equal(403, denied.status, denied.body)
      for _, path in ipairs { "/metrics", "/stats" } do
         local r = get(8888, path)
         assert.equal(404, r.status, path .. ": " .. r.body)
         assert.is_nil(r.body:find("denied.test", 1, true), r.body)
         assert.is_nil(r.body:find("pipelock_", 1, true), r.body)
         local far = get(9091, path)
         assert.equal(0, far.status, path .. " on 9091: " .. far.body)
         assert.equal(7, far.exit, far.stderr)   -- curl: could not connect
      end
   end)

   it("the sidecar serves them on its own loopback (where nothing of the agent's reaches)", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local out, err = E.api():container_logs(plan.names.pipelock)
      assert.matches("metrics listening on 127.0.0.1:9091", (out or "") .. (err or ""), 1, true)
      -- pipelock's own health probe against that port: /health is not there, but something answers
      local r = assert(E.api():exec(plan.names.pipelock, { "/pipelock", "healthcheck", "--addr", "127.0.0.1:9091" }))
      assert.equal(1, r.exit)
      assert.matches("unhealthy: status 404", r.stderr .. r.stdout, 1, true)
   end)

   it("/health stays on the proxy port, for the readiness check, and tells only these keys", function()
      if unavailable then pending("e2e needs dockerd and the test images: " .. unavailable) return end
      local ready = assert(E.api():exec(plan.names.pipelock, { "/pipelock", "healthcheck", "--addr", "127.0.0.1:8888" }))
      assert.equal(0, ready.exit, ready.stderr)
      local r = get(8888, "/health")
      assert.equal(200, r.status, r.body)
      local health = cjson.decode(r.body)
      local keys = {}
      for k in pairs(health) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.same(HEALTH_KEYS, keys)
      assert.same({ "healthy", "2.3.0", "strict" }, { health.status, health.version, health.mode })
   end)
end)
