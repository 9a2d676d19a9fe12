-- The credential proxy: routes (a path prefix each, one fixed upstream
-- `https://host[:port]`), the agent's variables that point at them, and the
-- proxy's config, rendered for Debian's nginx.  Pure functions of the plan's
-- routes and the values: no engine, no file.
--
-- The values never enter the main config: they are rendered into a second
-- file of `geo` blocks (one variable per route, a literal string that nginx
-- never interpolates: `$`, braces and `;` stay text), which the launcher
-- hands to the sidecar through its stdin and the sidecar keeps on a tmpfs.
-- A value that could not be an HTTP header value (CR, LF, NUL, any other
-- control character) is refused, naming the credential and never the value.
local M = {}

M.PORT = require("bottle.schema").CRED_PROXY_PORT
M.CONFIG_DIR = "/etc/claude-bottle-cred-proxy"
M.CONFIG_PATH = M.CONFIG_DIR .. "/nginx.conf"
M.ENTRYPOINT = M.CONFIG_DIR .. "/entrypoint.sh"
M.RUN_DIR = "/run/cred-proxy"                       -- a tmpfs in the sidecar
M.CREDENTIALS_PATH = M.RUN_DIR .. "/credentials.conf"
M.RESOLVER_PATH = M.RUN_DIR .. "/resolver.conf"    -- written by the entrypoint's --mounted mode
M.HEALTH_PATH = "/_claude_bottle_health"
M.SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"
M.TIMEOUT = "3600s"     -- an hour: Claude's streams may run that long
M.MAX_BODY = "512m"

-- What the agent sends that may carry a credential: every one is removed.
M.STRIPPED = { "Authorization", "X-Api-Key", "Proxy-Authorization", "Cookie" }

-- The oauth beta Anthropic's API expects with an OAuth token.
M.OAUTH_BETA = "oauth-2025-04-20"

-- Non-secret placeholders in the variables Claude Code reads, so that it
-- sends its requests without asking for a login; the proxy replaces them.
M.PLACEHOLDER = "claude-bottle-placeholder-credential"

-- The built-in route, and the launcher variables the default bottle takes
-- it from, in order: OAuth tokens first (what `claude setup-token` makes).
M.ANTHROPIC = "anthropic"
M.ANTHROPIC_UPSTREAM = "https://api.anthropic.com"
M.DEFAULT_SOURCES = {
   { var = "CLAUDE_CODE_OAUTH_TOKEN", auth = "oauth" },
   { var = "CLAUDE_BOTTLE_OAUTH_TOKEN", auth = "oauth" },
   { var = "ANTHROPIC_API_KEY", auth = "api_key" },
}

M.NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$"
M.NAME_MAX = 32
M.HEADER_PATTERN = "^[A-Za-z0-9][A-Za-z0-9-]*$"
M.SCHEME_PATTERN = "^[A-Za-z][A-Za-z0-9._-]*$"

--- parse_upstream(s) → {url, host, port} | nil, problem.  Only
-- https://host[:port] (an optional trailing "/"); the host is checked by
-- the caller (core.host_check).
function M.parse_upstream(s)
   if type(s) ~= "string" then return nil, "must be a string https://host[:port]" end
   local rest = s:match("^https://(.+)$")
   if not rest then return nil, "must start with https:// (the proxy speaks TLS to every upstream)" end
   rest = rest:gsub("/$", "")
   local host, port = rest:match("^([^:/?#@]+):(%d+)$")
   if not host then
      host = rest:match("^([^:/?#@]+)$")
      port = "443"
   end
   if not host then return nil, "must be https://host[:port], with no user, path or query" end
   port = tonumber(port)
   if not port or port < 1 or port > 65535 then return nil, "has a port outside 1 to 65535" end
   local url = "https://" .. host:lower() .. (port ~= 443 and (":" .. port) or "")
   return { url = url, host = host:lower(), port = math.tointeger(port) }
end

--- check_value(name, value) → true | nil, message, "invalid_credential".
-- The message names the credential, never any part of the value.
function M.check_value(name, value)
   if type(value) ~= "string" or value == "" then
      return nil, ("credential %s: no value (its variable is empty)"):format(name), "invalid_credential"
   end
   if value:find("[%z\1-\8\10-\31\127]") then
      return nil, ("credential %s: the value holds a control character (CR, LF, NUL or another), "
         .. "which an HTTP header cannot carry; check how it was exported"):format(name), "invalid_credential"
   end
   if value:match("^[ \t]") or value:match("[ \t]$") then
      return nil, ("credential %s: the value starts or ends with white space, which HTTP drops; "
         .. "remove it"):format(name), "invalid_credential"
   end
   return true
end

-- "text" as an nginx double-quoted string: only \ and " are special inside
-- one (the values hold no control character: check_value).
local function quoted(s)
   return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end
M.quoted = quoted

-- The header value a route sends: "Scheme value" or the value alone.
local function header_value(route, value)
   if route.scheme then return route.scheme .. " " .. value end
   return value
end

local function var_of(i) return "$cred_" .. i end

--- credentials(routes, values) → the text of the credentials file | nil,
-- message, code.  values = {NAME = value}; every route needs one.
function M.credentials(routes, values)
   local lines = { "# The credentials of this bottle's routes: literal strings (geo values are never",
                   "# interpolated). Kept on the sidecar's tmpfs only." }
   for i, r in ipairs(routes) do
      local v = values[r.name]
      local ok, msg, code = M.check_value(r.name, v)
      if not ok then return nil, msg, code end
      lines[#lines + 1] = ("geo %s { default %s; }"):format(var_of(i), quoted(header_value(r, v)))
   end
   return table.concat(lines, "\n") .. "\n"
end

local function check_route(r, i)
   local where = ("cred_proxy: routes[%d]"):format(i)
   if type(r) ~= "table" then error(where .. " must be a table", 3) end
   if type(r.name) ~= "string" or not r.name:match(M.NAME_PATTERN) then error(where .. ".name is not a route name", 3) end
   if type(r.host) ~= "string" or not r.host:match("^[a-z0-9][a-z0-9.-]*$") then
      error(where .. ".host is not a host name", 3)
   end
   if math.type(r.port) ~= "integer" or r.port < 1 or r.port > 65535 then error(where .. ".port is not a port", 3) end
   if type(r.header) ~= "string" or not r.header:match(M.HEADER_PATTERN) then
      error(where .. ".header is not a header name", 3)
   end
   if r.scheme ~= nil and (type(r.scheme) ~= "string" or not r.scheme:match(M.SCHEME_PATTERN)) then
      error(where .. ".scheme is not an auth scheme", 3)
   end
end

-- One JSON line per request: what was asked and what came back, never a
-- header value, a query string or a body.
local LOG_FORMAT = table.concat {
   "'{\"time\":\"$time_iso8601\",\"event\":\"cred_proxy\",\"route\":\"$cred_route\",",
   "\"method\":\"$request_method\",\"path\":\"$uri\",\"status\":$status,",
   "\"bytes\":$bytes_sent,\"request_bytes\":$request_length,\"duration\":$request_time,",
   "\"upstream_status\":\"$upstream_status\"}'",
}

--- config(routes, opts) → the nginx.conf text (no value in it).
-- opts.resolver: the DNS server nginx asks for the upstreams' addresses at
-- request time (the docker backend: the engine's 127.0.0.11);
-- opts.resolver_file: include that file instead (the kubernetes backend:
-- the entrypoint writes it from the Pod's /etc/resolv.conf).
function M.config(routes, opts)
   opts = opts or {}
   if type(routes) ~= "table" or #routes == 0 then error("cred_proxy.config: routes required", 2) end
   for i, r in ipairs(routes) do check_route(r, i) end
   local run = M.RUN_DIR
   local L = {
      "# The credential proxy of a claude-bottle (rendered by lua/bottle/cred_proxy.lua).",
      "daemon off;",
      "worker_processes 1;",
      "pid " .. run .. "/nginx.pid;",
      "error_log stderr warn;",
      "events { worker_connections 1024; }",
      "http {",
      "  include " .. M.CREDENTIALS_PATH .. ";",
      "  log_format cred_json escape=json " .. LOG_FORMAT .. ";",
      "  access_log /dev/stdout cred_json;",
      "  server_tokens off;",
      "  client_body_temp_path " .. run .. "/tmp/body;",
      "  proxy_temp_path " .. run .. "/tmp/proxy;",
      "  fastcgi_temp_path " .. run .. "/tmp/fastcgi;",
      "  uwsgi_temp_path " .. run .. "/tmp/uwsgi;",
      "  scgi_temp_path " .. run .. "/tmp/scgi;",
      opts.resolver_file and ("  include " .. opts.resolver_file .. ";")
         or ("  resolver " .. (opts.resolver or "127.0.0.11") .. " ipv6=off valid=30s;"),
      "  resolver_timeout 10s;",
      "  client_max_body_size " .. M.MAX_BODY .. ";",
      "  client_body_timeout " .. M.TIMEOUT .. ";",
      "  send_timeout " .. M.TIMEOUT .. ";",
      "  keepalive_timeout 75s;",
      -- streamed both ways: Claude's API answers with server-sent events
      "  proxy_http_version 1.1;",
      "  proxy_buffering off;",
      "  proxy_request_buffering off;",
      "  proxy_cache off;",
      "  proxy_redirect off;",
      "  proxy_connect_timeout 30s;",
      "  proxy_read_timeout " .. M.TIMEOUT .. ";",
      "  proxy_send_timeout " .. M.TIMEOUT .. ";",
      "  proxy_ssl_verify on;",
      "  proxy_ssl_verify_depth 5;",
      "  proxy_ssl_trusted_certificate " .. M.SYSTEM_CAS .. ";",
      "  proxy_ssl_server_name on;",
      "  proxy_ssl_protocols TLSv1.2 TLSv1.3;",
   }
   local oauth = false
   for _, r in ipairs(routes) do oauth = oauth or r.oauth_beta == true end
   if oauth then
      -- Anthropic's OAuth beta added to whatever betas the client asked for.
      L[#L + 1] = "  map $http_anthropic_beta $cred_oauth_beta {"
      L[#L + 1] = '    "" "' .. M.OAUTH_BETA .. '";'
      L[#L + 1] = '    "~*' .. M.OAUTH_BETA:gsub("%-", "\\-") .. '" $http_anthropic_beta;'
      L[#L + 1] = '    default "$http_anthropic_beta,' .. M.OAUTH_BETA .. '";'
      L[#L + 1] = "  }"
   end
   L[#L + 1] = "  server {"
   L[#L + 1] = "    listen " .. M.PORT .. ";"
   L[#L + 1] = '    set $cred_route "";'
   L[#L + 1] = "    location = " .. M.HEALTH_PATH .. " { access_log off; return 200 \"ok\\n\"; }"
   -- no open proxying: a path that is no route's prefix is refused here
   L[#L + 1] = '    location / { default_type application/json; return 404 "{\\"error\\":\\"no such route\\"}\\n"; }'
   for i, r in ipairs(routes) do
      local hostport = r.port ~= 443 and (r.host .. ":" .. r.port) or r.host
      L[#L + 1] = "    location /" .. r.name .. "/ {"
      L[#L + 1] = '      set $cred_route "' .. r.name .. '";'
      -- the host is a literal: the variable only makes nginx resolve it per request
      L[#L + 1] = '      set $cred_upstream_' .. i .. ' "' .. r.host .. ":" .. r.port .. '";'
      L[#L + 1] = "      rewrite ^/" .. r.name .. "(/.*)$ $1 break;"
      L[#L + 1] = "      proxy_pass https://$cred_upstream_" .. i .. ";"
      L[#L + 1] = "      proxy_ssl_name " .. r.host .. ";"
      L[#L + 1] = "      proxy_set_header Host " .. hostport .. ";"
      L[#L + 1] = '      proxy_set_header Connection "";'
      local own = r.header:lower()
      for _, h in ipairs(M.STRIPPED) do
         if h:lower() ~= own then L[#L + 1] = "      proxy_set_header " .. h .. ' "";' end
      end
      L[#L + 1] = "      proxy_set_header " .. r.header .. " " .. var_of(i) .. ";"
      if r.oauth_beta then L[#L + 1] = "      proxy_set_header anthropic-beta $cred_oauth_beta;" end
      L[#L + 1] = "    }"
   end
   L[#L + 1] = "  }"
   L[#L + 1] = "}"
   return table.concat(L, "\n") .. "\n"
end

-- The sidecar's entrypoint: a fixed shell file beside this module
-- (lua/bottle/cred_proxy/entrypoint.sh, installed with the rock and linted),
-- read when a backend needs it (the manifest's checks load this module too).
function M.entrypoint_script()
   return require("bottle.shipped").read("bottle.cred_proxy", "entrypoint.sh")
end

--- The agent's side of the routes: the proxy's base URL and, per route,
-- the variables that point Claude Code (or the route's `env`) at it.
-- → {NAME = value} (no secret: the placeholder is a fixed word).
function M.agent_env(routes, base_url)
   local env = {}
   for _, r in ipairs(routes) do
      local url = base_url .. "/" .. r.name
      if r.name == M.ANTHROPIC then
         env.ANTHROPIC_BASE_URL = url
         if r.auth == "api_key" then env.ANTHROPIC_API_KEY = M.PLACEHOLDER
         else env.CLAUDE_CODE_OAUTH_TOKEN = M.PLACEHOLDER end
      end
      if r.env then env[r.env] = url end
   end
   return env
end

--- What Claude Code needs in ~/.claude.json to start working at once:
-- onboarding done, the placeholder API key approved (it asks about a key
-- from the environment otherwise), and the permission-skipping mode the
-- launcher starts it in accepted (the bottle is the sandbox).
function M.claude_settings(routes)
   for _, r in ipairs(routes or {}) do
      if r.name == M.ANTHROPIC then
         return {
            hasCompletedOnboarding = true,
            bypassPermissionsModeAccepted = true,
            customApiKeyResponses = { approved = { M.PLACEHOLDER:sub(-20) }, rejected = {} },
         }
      end
   end
   return nil
end

--- resolve(routes, opts) → {NAME = value} | nil, message, code.  The values
-- come from the launcher's environment (`${VAR}`) or the terminal (`?`);
-- each is checked (check_value).  opts.environ, opts.read_secret as in
-- bottle.env.
function M.resolve(routes, opts)
   opts = opts or {}
   local environ = opts.environ or os.getenv
   local read_secret = opts.read_secret or function(p) return require("bottle.core").read_tty(p, false) end
   local out = {}
   for _, r in ipairs(routes or {}) do
      local v
      if r.source.kind == "host" then
         v = environ(r.source.from)
         if v == nil then
            return nil, ("credential %s: the host variable %s is not set; export it before launching")
               :format(r.name, r.source.from), "env_unset"
         end
      else
         local prompt = r.source.prompt or ("credential " .. r.name)
         if not prompt:match("[:?]%s*$") then prompt = prompt .. ": " end
         local msg
         v, msg = read_secret(prompt)
         if v == nil then
            return nil, ("credential %s: cannot read a value from the terminal (%s)"):format(r.name, tostring(msg)),
               "env_prompt"
         end
      end
      local ok, msg, code = M.check_value(r.name, v)
      if not ok then return nil, msg, code end
      out[r.name] = v
   end
   return out
end

return M
