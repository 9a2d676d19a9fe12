-- A small Docker Engine API client: core.http over the engine's unix socket,
-- JSON through lua-cjson, API version pinned in the path (v1.41, Engine 20.10).
-- Every call returns its result, or nil, message, code where the message quotes
-- the engine's own words and code is "not_found" (404), "conflict" (409),
-- "engine" (another error status) or core.http's transport code.
local core = require "bottle.core"
local cjson = require "cjson"
local stream = require "bottle.backend.docker.stream"

local M = {}

M.API_VERSION = "1.41"
M.DEFAULT_SOCKET = "/var/run/docker.sock"

local STATUS_CODE = { [404] = "not_found", [409] = "conflict", [304] = "not_modified" }

-- endpoint([getenv]) → {socket = path, name} or {base = "http://host:port", name},
-- from DOCKER_HOST.
function M.endpoint(getenv)
   local host = (getenv or os.getenv)("DOCKER_HOST")
   if host == nil or host == "" then return { socket = M.DEFAULT_SOCKET, name = "unix://" .. M.DEFAULT_SOCKET } end
   local path = host:match("^unix://(/.+)$")
   if path then return { socket = path, name = host } end
   local hostport = host:match("^tcp://([^/]+)/?$")
   if hostport then return { base = "http://" .. hostport, name = host } end
   return nil, "DOCKER_HOST=" .. host .. " is not supported: use unix:///path/to/docker.sock"
      .. " (or tcp://host:port without TLS)", "usage"
end

local function urlencode(s)
   return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- query{a = 1, filters = {label = {...}}} → "?a=1&filters=%7B...": tables are JSON.
local function query_string(q)
   if not q then return "" end
   local keys = {}
   for k in pairs(q) do keys[#keys + 1] = k end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do
      local v = q[k]
      if type(v) == "table" then v = cjson.encode(v) end
      if type(v) == "boolean" then v = v and "1" or "0" end
      parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(v)
   end
   return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

local function decode_json(body)
   if body == nil or body == "" then return nil end
   local ok, value = pcall(cjson.decode, body)
   if ok then return value end
   return nil
end

-- The engine's error text: {"message": "..."} or the raw body, trimmed.
local function engine_message(body)
   local value = decode_json(body)
   local text = type(value) == "table" and type(value.message) == "string" and value.message or body or ""
   text = text:gsub("%s+$", "")
   if #text > 400 then text = text:sub(1, 400) .. "..." end
   return text
end

local Client = {}
Client.__index = Client

-- new{} → client | nil, message, code. opts.endpoint overrides DOCKER_HOST;
-- opts.http and opts.http_many replace core's (unit specs pass fakes).
function M.new(opts)
   opts = opts or {}
   local ep = opts.endpoint
   if not ep then
      local msg, code
      ep, msg, code = M.endpoint()
      if not ep then return nil, msg, code end
   end
   return setmetatable({ endpoint = ep, version = opts.version or M.API_VERSION,
                         timeout_ms = opts.timeout_ms or 60000,
                         http = opts.http or core.http,
                         http_many = opts.http_many or (not opts.http and core.http_many) or nil }, Client)
end

-- patient(ms) → a copy of this client whose calls wait up to `ms` unless
-- they say otherwise (a launch on a loaded engine: backend/docker/patience.lua).
function Client:patient(ms)
   local c = {}
   for k, v in pairs(self) do c[k] = v end
   c.timeout_ms = math.max(self.timeout_ms or 0, ms)
   return setmetatable(c, Client)
end

-- The core.http request table for one call.
function Client:build(method, path, opts)
   opts = opts or {}
   local req = {
      method = method,
      url = (self.endpoint.base or "http://docker") .. "/v" .. self.version .. path
         .. query_string(opts.query),
      unix_socket = self.endpoint.socket,
      timeout_ms = opts.timeout_ms or self.timeout_ms,
      connect_timeout_ms = 5000,
      headers = {},
   }
   if opts.json ~= nil then
      req.body = cjson.encode(opts.json)
      req.headers["Content-Type"] = "application/json"
   elseif opts.body ~= nil then
      req.body = opts.body
      req.headers["Content-Type"] = opts.content_type or "application/octet-stream"
   elseif method == "POST" or method == "PUT" then
      req.body = ""
   end
   for k, v in pairs(opts.headers or {}) do req.headers[k] = v end
   req.on_data = opts.on_data
   return req
end

-- Turns core.http's results into result, or nil, message, code. `what` names
-- the operation for the message ("create container claude-bottle-x").
local function interpret(what, status, headers, body, raw)
   if status == nil then
      return nil, what .. ": " .. tostring(headers), body   -- core.http's message, code
   end
   if status >= 400 then
      return nil, what .. ": " .. engine_message(body) .. " (HTTP " .. status .. ")",
         STATUS_CODE[status] or "engine", status
   end
   if raw then return body or "", status, headers end
   local ct = headers and headers["content-type"] or ""
   if ct:find("json", 1, true) then
      local value = decode_json(body)
      if value == nil and body ~= nil and body:match("%S") then
         return nil, what .. ": the engine answered with JSON that does not parse", "engine"
      end
      return value == nil and true or value, status, headers
   end
   if body == nil or body == "" then return true, status, headers end
   return body, status, headers
end

-- call(what, method, path, opts) → decoded JSON (or true / the body), status, headers.
-- opts: query, json, body, content_type, headers, raw (return the body as a
-- string), on_data (stream the body), timeout_ms.
function Client:call(what, method, path, opts)
   local status, headers, body = self.http(self:build(method, path, opts))
   return interpret(what, status, headers, body, opts and opts.raw)
end

-- many{ {what, method, path, opts}, ... } → array of {result, message, code}:
-- concurrently through core.http_many when the core has it.
function Client:many(calls)
   local results = {}
   if self.http_many then
      local reqs = {}
      for i, c in ipairs(calls) do reqs[i] = self:build(c[2], c[3], c[4]) end
      local answers = self.http_many(reqs)
      for i, c in ipairs(calls) do
         local a = answers[i]
         results[i] = table.pack(interpret(c[1], a[1], a[2], a[3], c[4] and c[4].raw))
      end
   else
      for i, c in ipairs(calls) do results[i] = table.pack(self:call(c[1], c[2], c[3], c[4])) end
   end
   return results
end

-- ------------------------------------------------------------ engine

function Client:ping()
   return self:call("ping the engine", "GET", "/_ping", { raw = true, timeout_ms = 5000 })
end

function Client:engine_version()
   return self:call("engine version", "GET", "/version")
end

function Client:info()
   return self:call("engine info", "GET", "/info")
end

function Client:image_inspect(name)
   return self:call("inspect image " .. name, "GET", "/images/" .. urlencode(name) .. "/json")
end

-- ------------------------------------------------------------ containers

function Client:container_create(name, config)
   return self:call("create container " .. name, "POST", "/containers/create",
                    { query = { name = name }, json = config })
end

-- `name` (optional) is what the message calls the container.
function Client:container_start(id, name)
   local ok, msg, code = self:call("start container " .. (name or id), "POST", "/containers/" .. id .. "/start")
   if not ok and code == "not_modified" then return true end
   return ok, msg, code
end

function Client:container_inspect(id)
   return self:call("inspect container " .. id, "GET", "/containers/" .. id .. "/json")
end

-- Waits for the container to stop → exit code.
function Client:container_wait(id, timeout_ms)
   local r, msg, code = self:call("wait for container " .. id, "POST", "/containers/" .. id .. "/wait",
                                  { timeout_ms = timeout_ms })
   if not r then return nil, msg, code end
   return math.tointeger(r.StatusCode) or r.StatusCode
end

-- Removes a container (killing it), volumes too. A missing one is not an error.
function Client:container_remove(id)
   local ok, msg, code = self:call("remove container " .. id, "DELETE", "/containers/" .. id,
                                   { query = { force = true, v = true } })
   if ok or code == "not_found" then return true end
   return nil, msg, code
end

-- Sends `signal` ("SIGHUP", ...) to the container's main process.
function Client:container_kill(id, signal)
   return self:call("signal " .. signal .. " to container " .. id, "POST", "/containers/" .. id .. "/kill",
                    { query = { signal = signal } })
end

function Client:container_list(filters)
   return self:call("list containers", "GET", "/containers/json", { query = { all = true, filters = filters } })
end

-- logs(id, opts) → stdout, stderr (whole, demultiplexed), or with opts.on_frame
-- streams frames to on_frame(stream_name, payload). opts: tail, follow, stdout, stderr,
-- since (a UNIX time: only lines logged from then on).
function Client:container_logs(id, opts)
   opts = opts or {}
   local q = { stdout = opts.stdout ~= false, stderr = opts.stderr ~= false,
               follow = opts.follow or false, tail = opts.tail or "all", since = opts.since }
   if opts.on_frame then
      local feed = stream.demuxer(opts.on_frame)
      local ok, msg, code = self:call("logs of " .. id, "GET", "/containers/" .. id .. "/logs",
                                      { query = q, raw = true, timeout_ms = opts.timeout_ms or 0,
                                        on_data = feed })
      if ok == nil then return nil, msg, code end
      return true
   end
   local body, msg, code = self:call("logs of " .. id, "GET", "/containers/" .. id .. "/logs",
                                     { query = q, raw = true })
   if not body then return nil, msg, code end
   return stream.split(body)
end

-- ------------------------------------------------------------ archive

-- Extracts a tar stream at `path` inside the container (created or running).
-- timeout_ms: for large streams (the workspace); the client's default otherwise.
function Client:archive_put(id, path, tar_stream, timeout_ms)
   return self:call("copy files into " .. id .. ":" .. path, "PUT", "/containers/" .. id .. "/archive",
                    { query = { path = path }, body = tar_stream, content_type = "application/x-tar",
                      timeout_ms = timeout_ms })
end

-- A tar stream of `path` inside the container.
function Client:archive_get(id, path, timeout_ms)
   return self:call("copy " .. id .. ":" .. path .. " out", "GET", "/containers/" .. id .. "/archive",
                    { query = { path = path }, raw = true, timeout_ms = timeout_ms })
end

-- ------------------------------------------------------------ exec

-- exec(id, argv, opts) → {exit = n, stdout = s, stderr = s} | nil, message, code.
-- opts.user ("0" for root), opts.env ({"K=V"}), opts.timeout_ms.
function Client:exec(id, argv, opts)
   opts = opts or {}
   local created, msg, code = self:call("exec " .. argv[1] .. " in " .. id, "POST",
      "/containers/" .. id .. "/exec",
      { json = { Cmd = argv, AttachStdout = true, AttachStderr = true, User = opts.user,
                 Env = opts.env } })
   if not created then return nil, msg, code end
   local body
   body, msg, code = self:call("run " .. argv[1] .. " in " .. id, "POST", "/exec/" .. created.Id .. "/start",
                               { json = { Detach = false, Tty = false }, raw = true,
                                 timeout_ms = opts.timeout_ms })
   if not body then return nil, msg, code end
   local state
   state, msg, code = self:call("exit status of " .. argv[1] .. " in " .. id, "GET",
                                "/exec/" .. created.Id .. "/json")
   if not state then return nil, msg, code end
   local out, err = stream.split(body)
   return { exit = math.tointeger(state.ExitCode) or state.ExitCode, stdout = out, stderr = err }
end

-- exec_detached(id, argv, opts) → exec id: starts argv without waiting for it.
function Client:exec_detached(id, argv, opts)
   opts = opts or {}
   local created, msg, code = self:call("exec " .. argv[1] .. " in " .. id, "POST",
      "/containers/" .. id .. "/exec", { json = { Cmd = argv, User = opts.user, Env = opts.env } })
   if not created then return nil, msg, code end
   local ok
   ok, msg, code = self:call("start " .. argv[1] .. " in " .. id, "POST", "/exec/" .. created.Id .. "/start",
                             { json = { Detach = true, Tty = false } })
   if not ok then return nil, msg, code end
   return created.Id
end

-- exec_wait(exec_id, timeout_s, poll_s) → exit code of a detached exec.
function Client:exec_wait(exec_id, timeout_s, poll_s)
   local deadline = core.monotonic() + (timeout_s or 60)
   while true do
      local state, msg, code = self:call("state of exec " .. exec_id, "GET", "/exec/" .. exec_id .. "/json")
      if not state then return nil, msg, code end
      if not state.Running and state.ExitCode ~= nil and state.ExitCode ~= cjson.null then
         return math.tointeger(state.ExitCode) or state.ExitCode
      end
      if core.monotonic() >= deadline then
         return nil, ("exec %s still running after %gs"):format(exec_id, timeout_s or 60), "timeout"
      end
      core.sleep(poll_s or 0.05)
   end
end

-- ------------------------------------------------------------ networks

function Client:network_create(name, config)
   config.Name = name
   return self:call("create network " .. name, "POST", "/networks/create", { json = config })
end

function Client:network_inspect(id)
   return self:call("inspect network " .. id, "GET", "/networks/" .. id)
end

function Client:network_connect(network, container)
   return self:call("connect " .. container .. " to network " .. network, "POST",
                    "/networks/" .. network .. "/connect", { json = { Container = container } })
end

-- Removes a network; a missing one is not an error.
function Client:network_remove(id)
   local ok, msg, code = self:call("remove network " .. id, "DELETE", "/networks/" .. id)
   if ok or code == "not_found" then return true end
   return nil, msg, code
end

function Client:network_list(filters)
   return self:call("list networks", "GET", "/networks", { query = { filters = filters } })
end

M.urlencode = urlencode
M.query_string = query_string
M.engine_message = engine_message

return M
