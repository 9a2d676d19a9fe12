-- A Kubernetes API client over core.http: the connection from
-- kubeconfig.lua (server, CA, client pair or bearer token), JSON through
-- lua-cjson.  Every call returns the decoded body | nil, message, code.
--
-- Messages name the method and the path, the HTTP status and the server's
-- Status reason and message (the server's own words, for its validation
-- errors), never a request header or body: a Secret's values, a token.
-- For a Secret's path they keep the reason only.
local core = require "bottle.core"
local cjson = require "cjson"

local M = {}

M.TIMEOUT_MS = 30000
M.CONNECT_TIMEOUT_MS = 10000

local Client = {}
Client.__index = Client

--- M.new(conn) → a client.  conn: {server, ca_pem, client_cert_pem,
-- client_key_pem, token} (kubeconfig.connection).
function M.new(conn)
   if type(conn) ~= "table" or type(conn.server) ~= "string" then
      error("kubernetes client: conn.server is required", 2)
   end
   return setmetatable({ conn = conn }, Client)
end

local function urlencode(s)
   return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end
M.urlencode = urlencode

local function query_string(q)
   if not q then return "" end
   local keys = {}
   for k in pairs(q) do keys[#keys + 1] = k end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(q[k]) end
   return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end

local CODES = { [400] = "invalid", [401] = "unauthorized", [403] = "forbidden", [404] = "not_found",
                [409] = "conflict", [410] = "gone", [422] = "invalid", [429] = "throttled" }

-- The server's words, on one line and bounded (the caller sanitises).
local function status_text(body, secret_path)
   local ok, st = pcall(cjson.decode, body or "")
   if not ok or type(st) ~= "table" then return nil end
   local reason = type(st.reason) == "string" and st.reason or nil
   if secret_path then return reason end
   local msg = type(st.message) == "string" and st.message:gsub("[%c]", " "):sub(1, 600) or nil
   if reason and msg then return reason .. ": " .. msg end
   return msg or reason
end

function Client:request_args(method, path, opts)
   opts = opts or {}
   local conn = self.conn
   local headers = { Accept = opts.accept or "application/json" }
   if conn.token then headers.Authorization = "Bearer " .. conn.token end
   local body
   if opts.json ~= nil then
      body = cjson.encode(opts.json)
      headers["Content-Type"] = opts.content_type or "application/json"
   end
   return {
      method = method, url = conn.server .. path .. query_string(opts.query), headers = headers, body = body,
      ca_pem = conn.ca_pem, client_cert_pem = conn.client_cert_pem, client_key_pem = conn.client_key_pem,
      timeout_ms = opts.timeout_ms or M.TIMEOUT_MS, connect_timeout_ms = M.CONNECT_TIMEOUT_MS, proxy = "",
      on_data = opts.on_data,
   }
end

-- What went wrong with one response, or nil when it is a success.
local function failure(method, path, status, body)
   if status >= 200 and status < 300 then return nil end
   local secret_path = path:find("/secrets", 1, true) ~= nil
   local words = status_text(body, secret_path)
   return ("%s %s: HTTP %d%s"):format(method, path, status, words and (" " .. words) or ""),
      CODES[status] or "api"
end

--- c:request(method, path [, opts]) → decoded body | nil, message, code.
-- opts: query, json (encoded as the body), timeout_ms, accept, raw (return
-- the body text), on_data (stream the body; returns true).
function Client:request(method, path, opts)
   opts = opts or {}
   local status, headers, body = core.http(self:request_args(method, path, opts))
   if not status then
      local msg, code = headers, body
      if code == "interrupted" then return nil, msg, code end
      return nil, ("cannot reach the Kubernetes API server: %s"):format(tostring(msg)), code or "unreachable"
   end
   local msg, code = failure(method, path, status, body)
   if msg then return nil, msg, code end
   if opts.on_data then return true end
   if opts.raw then return body or "" end
   if body == nil or body == "" then return {} end
   local ok, value = pcall(cjson.decode, body)
   if not ok then return nil, ("%s %s: the server's answer is not JSON"):format(method, path), "api" end
   return value
end

function Client:get(path, opts) return self:request("GET", path, opts) end

function Client:create(path, object, opts)
   opts = opts or {}
   return self:request("POST", path, { json = object, query = opts.query })
end

function Client:delete(path, opts)
   opts = opts or {}
   return self:request("DELETE", path, { json = opts.json, query = opts.query })
end

--- c:many(calls) → {{value} | {nil, message, code}, ...}: the requests at
-- once.  calls: {{method, path, opts}, ...}.
function Client:many(calls)
   local reqs = {}
   for i, call in ipairs(calls) do reqs[i] = self:request_args(call[1], call[2], call[3]) end
   local results = core.http_many(reqs)
   local out = {}
   for i, r in ipairs(results) do
      local method, path = calls[i][1], calls[i][2]
      local status, _, body = r[1], r[2], r[3]
      if not status then
         out[i] = { nil, "cannot reach the Kubernetes API server: " .. tostring(r[2]), r[3] or "unreachable" }
      else
         local msg, code = failure(method, path, status, body)
         if msg then
            out[i] = { nil, msg, code }
         else
            local ok, value = pcall(cjson.decode, body ~= "" and body or "{}")
            out[i] = ok and { value } or { nil, method .. " " .. path .. ": the server's answer is not JSON", "api" }
         end
      end
   end
   return out
end

--- The API path of a kind: ("v1", "pods", "ns") → /api/v1/namespaces/ns/pods.
function M.path(api_version, resource, namespace, name)
   local base = api_version:find("/", 1, true) and ("/apis/" .. api_version) or ("/api/" .. api_version)
   local p = base
   if namespace then p = p .. "/namespaces/" .. urlencode(namespace) end
   p = p .. "/" .. resource
   if name then p = p .. "/" .. urlencode(name) end
   return p
end

-- The resource (plural) of each kind this backend makes.
M.RESOURCES = {
   Namespace = "namespaces", Pod = "pods", Service = "services", ConfigMap = "configmaps",
   Secret = "secrets", NetworkPolicy = "networkpolicies",
}

--- The collection path an object is created in.
function M.collection(object)
   local resource = M.RESOURCES[object.kind] or error("kubernetes: no resource for kind " .. tostring(object.kind))
   local ns = object.kind ~= "Namespace" and object.metadata.namespace or nil
   return M.path(object.apiVersion, resource, ns)
end

return M
