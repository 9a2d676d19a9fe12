-- The credential proxy without an engine: the manifest's `credentials:`,
-- the default bottle's anthropic route, the plan (names and upstreams only),
-- what policies may do with routes, the preflight, the rendered nginx config
-- and credentials file (hostile values included), the firewall ruleset and
-- the docker sidecar's container config.
local core = require "bottle.core"
local cjson = require "cjson"
local manifest = require "bottle.manifest"
local policy = require "bottle.policy"
local planner = require "bottle.plan"
local preflight = require "bottle.preflight"
local cred_proxy = require "bottle.cred_proxy"
local firewall = require "bottle.firewall"
local H = require "spec.helpers"

local SECRET = "sk-ant-oat01-CRED-CANARY-77a1"

local function has(list, value)
   for _, v in ipairs(list or {}) do if v == value then return true end end
   return false
end

-- nginx's config tokenizer (ngx_conf_read_token), as far as a quoted
-- argument goes: words split at white space, `;`, `{`, `}`; inside "..." a
-- backslash takes the next character (\" \\ unescaped, \t \r \n turned into
-- controls, any other pair kept whole).  Enough to show what a rendered line means.
local function nginx_tokens(text)
   local tokens, i, n = {}, 1, #text
   while i <= n do
      local ch = text:sub(i, i)
      if ch:match("%s") then
         i = i + 1
      elseif ch == ";" or ch == "{" or ch == "}" then
         tokens[#tokens + 1] = ch
         i = i + 1
      elseif ch == '"' then
         local buf, j = {}, i + 1
         while true do
            local c = text:sub(j, j)
            assert(c ~= "", "unterminated string")
            if c == "\\" then
               local d = text:sub(j + 1, j + 1)
               local map = { ['"'] = '"', ["'"] = "'", ["\\"] = "\\", t = "\t", r = "\r", n = "\n" }
               buf[#buf + 1] = map[d] or ("\\" .. d)
               j = j + 2
            elseif c == '"' then
               break
            else
               buf[#buf + 1] = c
               j = j + 1
            end
         end
         tokens[#tokens + 1] = { quoted = table.concat(buf) }
         i = j + 1
      else
         local word = text:match("^[^%s;{}\"]+", i)
         tokens[#tokens + 1] = word
         i = i + #word
      end
   end
   return tokens
end

describe("credentials", function()
   local dir
   setup(function() dir = core.mkdtemp("/tmp/cred-spec.") end)
   teardown(function() if dir then core.rmtree(dir) end end)

   local function load(text)
      local file = dir .. "/bottles-" .. H.random_name() .. ".yaml"
      H.write(file, text)
      return manifest.load { manifest = file, env = { HOME = dir, cwd = dir } }
   end

   local function build(text, opts)
      opts = opts or {}
      local m, msg, code
      if text then
         m, msg, code = load(text)
         if not m then return nil, msg, code end
      else
         m = manifest.default()
      end
      local paths = {}
      for i, src in ipairs(opts.policies or {}) do
         paths[i] = dir .. "/policy-" .. i .. "-" .. H.random_name() .. ".lua"
         H.write(paths[i], src)
      end
      local loaded, lmsg, lcode = policy.load(paths)
      if not loaded then return nil, lmsg, lcode end
      local p, extras, pcode = planner.build {
         manifest = m, agent = opts.agent, policies = loaded,
         options = { backend = "docker", cwd = dir, home = dir, env_names = opts.env_names or {},
                     random_hex = function() return "abc123" end },
      }
      policy.close(loaded)
      return p, extras, pcode
   end

   local WEB = [[
bottles:
  web:
    credentials:
      - name: anthropic
        value: "${CLAUDE_BOTTLE_OAUTH_TOKEN}"
      - name: github
        upstream: https://api.github.com
        header: Authorization
        scheme: Bearer
        value: "${GH_TOKEN}"
        env: GITHUB_API_URL
agents:
  claude:
    bottle: web
]]

   describe("in the manifest", function()
      it("reads the built-in anthropic route and a route of the user's", function()
         local m = assert(load(WEB))
         local routes = m.bottles.web.credentials
         assert.equal(2, #routes)
         local a, g = routes[1], routes[2]
         assert.same({ kind = "host", from = "CLAUDE_BOTTLE_OAUTH_TOKEN" }, a.source)
         assert.equal("https://api.anthropic.com", a.upstream)
         assert.equal("Authorization", a.header)
         assert.equal("Bearer", a.scheme)
         assert.equal("oauth", a.auth)
         assert.is_true(a.oauth_beta)
         assert.equal("api.github.com", g.host)
         assert.equal(443, g.port)
         assert.equal("GITHUB_API_URL", g.env)
      end)

      it("sends an API key as x-api-key", function()
         local m = assert(load("bottles:\n  b:\n    credentials:\n      - name: anthropic\n"
            .. "        value: \"${ANTHROPIC_API_KEY}\"\n"))
         local a = m.bottles.b.credentials[1]
         assert.equal("x-api-key", a.header)
         assert.is_nil(a.scheme)
         assert.equal("api_key", a.auth)
      end)

      local bad = {
         { "a literal value", 'value: "sk-ant-123"', "never written in a manifest" },
         { "a value around a variable", 'value: "x${TOKEN}"', "never written in a manifest" },
         { "an http upstream", 'upstream: http://api.example.com\n        value: "${T}"', "https://" },
         { "an upstream with a path", 'upstream: https://api.example.com/v1\n        value: "${T}"', "no user, path" },
         { "an upstream with a user", 'upstream: https://u@api.example.com\n        value: "${T}"', "no user, path" },
         { "a route without an upstream", 'value: "${T}"', "no upstream" },
         { "a header with a space", 'upstream: https://a.example\n        header: "X Key"\n        value: "${T}"',
           "not a header name" },
         { "a reserved env", 'upstream: https://a.example\n        env: HTTPS_PROXY\n        value: "${T}"',
           "none the launcher sets" },
      }
      for _, case in ipairs(bad) do
         it("refuses " .. case[1] .. " with file:line:col", function()
            local m, msg, code = load("bottles:\n  b:\n    credentials:\n      - name: other\n        "
               .. case[2] .. "\n")
            assert.is_nil(m)
            assert.equal("invalid_manifest", code)
            assert.matches("bottles%-[%w]+%.yaml:%d+:%d+: ", msg)
            assert.truthy(msg:find(case[3], 1, true), msg)
            assert.is_nil(msg:find("sk-ant-123", 1, true), "the value is in the message")
         end)
      end

      it("refuses a route listed twice and a route name that is no path prefix", function()
         local _, msg = load("bottles:\n  b:\n    credentials:\n      - {name: x, upstream: https://a.example, "
            .. "value: \"${T}\"}\n      - {name: x, upstream: https://b.example, value: \"${T}\"}\n")
         assert.matches("listed twice", msg)
         _, msg = load("bottles:\n  b:\n    credentials:\n      - {name: ../x, upstream: https://a.example, "
            .. "value: \"${T}\"}\n")
         assert.matches("route name", msg)
      end)
   end)

   describe("the default bottle", function()
      for _, case in ipairs {
         { { "ANTHROPIC_API_KEY", "CLAUDE_BOTTLE_OAUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN" }, "CLAUDE_CODE_OAUTH_TOKEN" },
         { { "ANTHROPIC_API_KEY", "CLAUDE_BOTTLE_OAUTH_TOKEN" }, "CLAUDE_BOTTLE_OAUTH_TOKEN" },
         { { "ANTHROPIC_API_KEY" }, "ANTHROPIC_API_KEY" },
      } do
         it("takes the anthropic route from " .. case[2] .. " when it is the first one set", function()
            local p = assert(build(nil, { env_names = case[1] }))
            assert.equal(1, #p.credentials)
            local r = p.credentials[1]
            assert.equal("anthropic", r.name)
            assert.same({ kind = "host", from = case[2] }, r.source)
            local api_key = case[2] == "ANTHROPIC_API_KEY"
            assert.equal(api_key and "x-api-key" or "Authorization", r.header)
            local env = p.agent_env
            assert.equal("http://claude-bottle-cred-proxy-claude-abc123:9099/anthropic", env.ANTHROPIC_BASE_URL)
            assert.equal(cred_proxy.PLACEHOLDER, api_key and env.ANTHROPIC_API_KEY or env.CLAUDE_CODE_OAUTH_TOKEN)
            if api_key then assert.is_nil(env.CLAUDE_CODE_OAUTH_TOKEN) else assert.is_nil(env.ANTHROPIC_API_KEY) end
            assert.equal("localhost,127.0.0.1,claude-bottle-cred-proxy-claude-abc123", env.NO_PROXY)
            assert.equal(env.NO_PROXY, env.no_proxy)
            local text = preflight.render(p)
            assert.matches("credentials +: anthropic: https://api.anthropic.com via [^\n]*from " .. case[2], text)
            -- api.anthropic.com is reached through the route only
            assert.is_false(has(p.egress.hosts, "api.anthropic.com"))
            assert.is_false(has(p.egress.passthrough, "api.anthropic.com"))
            assert.is_nil(p.pipelock.yaml:find("- api.anthropic.com\n", 1, true))
            assert.truthy(p.pipelock.yaml:find("- statsig.anthropic.com\n", 1, true))
         end)
      end

      it("says Claude Code will ask for a login when no credential is set", function()
         local p = assert(build(nil, { env_names = { "HOME" } }))
         assert.same({}, p.credentials)
         assert.is_nil(p.cred_proxy)
         assert.is_nil(p.agent_env.ANTHROPIC_BASE_URL)
         assert.is_true(has(p.egress.hosts, "api.anthropic.com"))
         assert.matches("credentials +: none: CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_BOTTLE_OAUTH_TOKEN and "
            .. "ANTHROPIC_API_KEY are not set, so Claude Code will ask for a login", preflight.render(p))
      end)
   end)

   describe("in the plan", function()
      it("holds names, upstreams and variable names, never a value", function()
         local p = assert(build(WEB, { env_names = { "CLAUDE_BOTTLE_OAUTH_TOKEN", "GH_TOKEN" } }))
         local json = cjson.encode(p)
         assert.is_nil(json:find(SECRET, 1, true))
         assert.equal("claude-bottle-cred-proxy-claude-abc123", p.names.cred_proxy)
         assert.equal("claude-bottle-cred-proxy:latest", p.images.cred_proxy)
         assert.equal("http://claude-bottle-cred-proxy-claude-abc123:9099/github", p.agent_env.GITHUB_API_URL)
         assert.equal("https://api.github.com", p.credentials[2].upstream)
         assert.is_nil(p.credentials[2].value)
         p = assert(build(WEB, { env_names = { "CLAUDE_BOTTLE_OAUTH_TOKEN" } }))
         assert.matches("github: [^\n]*from GH_TOKEN, which is not set, so up will refuse", preflight.render(p))
      end)

      it("refuses an env entry that a route sets", function()
         local text = WEB:gsub("    credentials:", "    env:\n      GITHUB_API_URL: x\n    credentials:", 1)
         local p, msg, code = build(text)
         assert.is_nil(p)
         assert.equal("invalid_manifest", code)
         assert.matches("GITHUB_API_URL is set by the launcher", msg)
      end)
   end)

   describe("and policies", function()
      it("see routes by name and upstream only", function()
         local p, extras = build(WEB, { policies = { [[
return { bottle = function(b, ctx)
   for _, r in ipairs(b.credentials) do
      local keys = {}
      for k in pairs(r) do keys[#keys + 1] = k end
      table.sort(keys)
      ctx.log(r.name .. " " .. r.upstream .. " " .. table.concat(keys, ","))
   end
   return b
end }]] } })
         assert(p, extras)
         assert.equal(2, #p.credentials)
         assert.equal(2, #extras.policy_logs)
         assert.matches(": anthropic https://api.anthropic.com name,upstream$", extras.policy_logs[1])
         assert.matches(": github https://api.github.com name,upstream$", extras.policy_logs[2])
      end)

      it("may remove a route", function()
         local p = assert(build(WEB, { policies = { [[
return { bottle = function(b) table.remove(b.credentials, 2) return b end }]] } }))
         assert.equal(1, #p.credentials)
         assert.equal("anthropic", p.credentials[1].name)
         assert.is_nil(p.agent_env.GITHUB_API_URL)
         assert.matches("credentials%[github%]", table.concat(p.policy_changes, "\n"))
      end)

      it("may not add a route or change an upstream", function()
         local p, msg, code = build(WEB, { policies = { [[
return { bottle = function(b)
   b.credentials[#b.credentials + 1] = { name = "evil", upstream = "https://evil.example" }
   return b
end }]] } })
         assert.is_nil(p)
         assert.equal("invalid_policy", code)
         assert.matches("cannot add a credential route", msg)
         p, msg = build(WEB, { policies = { [[
return { bottle = function(b) b.credentials[2].upstream = "https://evil.example" return b end }]] } })
         assert.is_nil(p)
         assert.matches("upstream is read%-only", msg)
      end)

      it("may put a routed host back in pipelock's allowlist, and the preflight warns", function()
         local p = assert(build(nil, { env_names = { "CLAUDE_BOTTLE_OAUTH_TOKEN" }, policies = { [[
return { config = function(cfg) table.insert(cfg.api_allowlist, "api.anthropic.com") end }]] } }))
         assert.is_true(has(p.egress.hosts, "api.anthropic.com"))
         assert.matches("warning +: api.anthropic.com is back in pipelock's allowlist %(a policy put it there%): "
            .. "the agent can reach it with any key", preflight.render(p))
      end)

      it("warns, on kubernetes only, that the values are stored in the cluster while the bottle lives", function()
         local p = assert(build(nil, { env_names = { "CLAUDE_BOTTLE_OAUTH_TOKEN" } }))
         assert.is_nil(preflight.render(p):find("stored in the cluster", 1, true))
         p.backend = "kubernetes"
         assert.matches("warning +: on kubernetes the credentials are stored in the cluster %(a Secret in etcd",
                        preflight.render(p))
      end)
   end)

   describe("the rendered proxy", function()
      local routes = {
         { name = "anthropic", host = "api.anthropic.com", port = 443, header = "Authorization", scheme = "Bearer",
           oauth_beta = true },
         { name = "keyed", host = "api.example.com", port = 8443, header = "X-Api-Key" },
      }

      it("has no value in its config, a fixed upstream per prefix, and removes the agent's credentials", function()
         local conf = cred_proxy.config(routes)
         assert.truthy(conf:find("include " .. cred_proxy.CREDENTIALS_PATH .. ";", 1, true))
         assert.truthy(conf:find("location /anthropic/ {", 1, true))
         assert.truthy(conf:find('set $cred_upstream_1 "api.anthropic.com:443";', 1, true))
         assert.truthy(conf:find('set $cred_upstream_2 "api.example.com:8443";', 1, true))
         assert.truthy(conf:find("proxy_set_header Host api.example.com:8443;", 1, true))
         for _, h in ipairs { "X-Api-Key", "Proxy-Authorization", "Cookie" } do
            assert.truthy(conf:find("proxy_set_header " .. h .. ' "";', 1, true), h)
         end
         assert.truthy(conf:find("proxy_set_header Authorization $cred_1;", 1, true))
         assert.truthy(conf:find("proxy_set_header X-Api-Key $cred_2;", 1, true))
         assert.truthy(conf:find("proxy_set_header anthropic-beta $cred_oauth_beta;", 1, true))
         for _, d in ipairs { "proxy_buffering off;", "proxy_request_buffering off;", "proxy_ssl_verify on;",
                              "proxy_ssl_server_name on;", "proxy_read_timeout 3600s;" } do
            assert.truthy(conf:find(d, 1, true), d)
         end
         -- a path that is no route's prefix goes nowhere
         assert.truthy(conf:find('location / { default_type application/json; return 404', 1, true))
         assert.is_nil(conf:find("proxy_pass $", 1, true))
      end)

      local hostile = {
         "tok$en", "${cred_1}", 'a"b', "a'b", "{x}", "a;b", "a\\b", "a\\", "\\\"", "$$ ;{}\\\"'",
         "include /etc/passwd;", '"; } server { listen 1; location / { return 200 "x',
      }
      for _, v in ipairs(hostile) do
         it("keeps the hostile value " .. ("%q"):format(v) .. " one literal argument", function()
            local file = assert(cred_proxy.credentials(routes, { anthropic = v, keyed = v }))
            local lines = {}
            for line in file:gmatch("[^\n]+") do
               if not line:match("^#") then lines[#lines + 1] = line end
            end
            assert.equal(2, #lines)
            for i, line in ipairs(lines) do
               local t = nginx_tokens(line)
               assert.equal(7, #t, line)
               assert.same({ "geo", "$cred_" .. i, "{", "default" }, { t[1], t[2], t[3], t[4] })
               assert.same({ ";", "}" }, { t[6], t[7] })
               assert.equal(i == 1 and ("Bearer " .. v) or v, t[5].quoted)
            end
            -- the main config does not depend on the values at all
            assert.equal(cred_proxy.config(routes), cred_proxy.config(routes))
         end)
      end

      for _, case in ipairs { { "a newline", "a\nb" }, { "a carriage return", "a\rb" }, { "a NUL", "a\0b" },
                              { "an escape", "a\27b" }, { "a DEL", "a\127b" }, { "an empty value", "" } } do
         it("refuses " .. case[1] .. ", naming the credential and never the value", function()
            local v = SECRET .. case[2]
            if case[2] == "" then v = "" end
            local file, msg, code = cred_proxy.credentials(routes, { anthropic = v, keyed = "ok" })
            assert.is_nil(file)
            assert.equal("invalid_credential", code)
            assert.matches("^credential anthropic: ", msg)
            assert.is_nil(msg:find("CANARY", 1, true))
         end)
      end

      it("resolves values from the environment, naming an unset variable", function()
         local rs = { { name = "a", source = { kind = "host", from = "TOK_A" } } }
         assert.same({ a = "v" }, cred_proxy.resolve(rs, { environ = function(n) return n == "TOK_A" and "v" or nil end }))
         local v, msg, code = cred_proxy.resolve(rs, { environ = function() return nil end })
         assert.is_nil(v)
         assert.equal("env_unset", code)
         assert.matches("TOK_A is not set", msg)
         v, msg = cred_proxy.resolve(rs, { environ = function() return SECRET .. "\n" end })
         assert.is_nil(v)
         assert.is_nil(msg:find("CANARY", 1, true))
      end)

      it("provisions Claude Code's settings: onboarding done, the placeholder approved", function()
         local s = cred_proxy.claude_settings { { name = "anthropic" } }
         assert.is_true(s.hasCompletedOnboarding)
         assert.same({ cred_proxy.PLACEHOLDER:sub(-20) }, s.customApiKeyResponses.approved)
         assert.is_nil(cred_proxy.claude_settings { { name = "github" } })
      end)
   end)

   describe("the sidecar's walls and container", function()
      it("lets the proxy reach its routes' ports only, outside the blocked ranges", function()
         local rules = firewall.cred_proxy { listen_port = 9099, from = "172.30.0.0/24", ports = { 443, 8443 },
                                             blocked = { "172.17.0.0/16" }, host = { "192.168.1.5" } }
         assert.truthy(rules:find("ip saddr 172.30.0.0/24 tcp dport 9099 accept", 1, true))
         assert.truthy(rules:find("meta nfproto ipv4 tcp dport { 443, 8443 } accept", 1, true))
         assert.truthy(rules:find("172.17.0.0/16", 1, true))
         assert.truthy(rules:find("169.254.0.0/16", 1, true))
         assert.truthy(rules:find("ip daddr @host", 1, true))
         assert.is_nil(rules:find("dport { 80", 1, true))
      end)

      it("lets the agent reach the proxy's port", function()
         local rules = firewall.agent { allow = { { addr = "172.30.0.2", port = 8888 }, { addr = "172.30.0.4", port = 9099 } } }
         assert.truthy(rules:find("ip daddr 172.30.0.4 tcp dport 9099 accept", 1, true))
      end)

      it("creates the container with stdin open, a tmpfs for the values, and no value in its config", function()
         local docker_cp = require "bottle.backend.docker.cred_proxy"
         local p = assert(build(WEB, { env_names = { "CLAUDE_BOTTLE_OAUTH_TOKEN", "GH_TOKEN" } }))
         local state = { plan = p, docker = { launch_labels = {} }, credentials = { anthropic = SECRET, github = SECRET } }
         local cfg = docker_cp.config(state)
         assert.is_true(cfg.OpenStdin and cfg.StdinOnce and cfg.AttachStdin)
         assert.equal("cred-proxy", cfg.Labels["claude-bottle.role"])
         assert.equal("65534:65534", cfg.User)
         assert.matches("mode=0700", cfg.HostConfig.Tmpfs[cred_proxy.RUN_DIR])
         assert.same({ "ALL" }, cfg.HostConfig.CapDrop)
         assert.is_nil(cjson.encode(cfg):find("CANARY", 1, true))
         assert.is_nil(docker_cp.files(state):find("CANARY", 1, true))
      end)
   end)
end)
