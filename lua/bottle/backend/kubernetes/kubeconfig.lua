-- The user's kubeconfig: `KUBECONFIG` (a colon-separated list, the first
-- file that names a thing wins, as kubectl merges them) or ~/.kube/config,
-- read with the core's YAML decoder; the current context or the one asked
-- for; and the credentials it names: client certificates (files or data),
-- a bearer token (inline or tokenFile), or an exec credential plugin
-- (spawned with core.spawn, its stdout parsed as the ExecCredential it is).
--
-- What this returns is a connection for client.lua: {server, ca_pem,
-- client_cert_pem, client_key_pem, token, namespace, context, path}.  No
-- error message quotes a credential: they name the file, the entry and the
-- key.
local core = require "bottle.core"
local cjson = require "cjson"
local base64 = require "bottle.base64"

local M = {}

M.MAX_BYTES = 4 * 1024 * 1024
M.EXEC_API_VERSIONS = { ["client.authentication.k8s.io/v1"] = true, ["client.authentication.k8s.io/v1beta1"] = true }

--- The kubeconfig paths in force: KUBECONFIG's entries, else ~/.kube/config.
function M.paths(getenv)
   getenv = getenv or os.getenv
   local list = getenv("KUBECONFIG")
   local out = {}
   if list and list ~= "" then
      for p in list:gmatch("[^:]+") do out[#out + 1] = p end
   end
   if #out == 0 then
      local home = getenv("HOME")
      if home and home ~= "" then out[1] = home .. "/.kube/config" end
   end
   return out
end

local function dirname(path)
   return path:match("^(.*)/[^/]*$") or "."
end

-- A path in a kubeconfig is relative to the file that names it.
local function resolve(path, file)
   if path:sub(1, 1) == "/" then return path end
   return dirname(file) .. "/" .. path
end

local function bad(file, what)
   return nil, ("%s: %s"):format(file, what), "invalid_config"
end

local function named_list(doc, key, file)
   local list = doc[key]
   if list == nil or list == core.null then return {} end
   if type(list) ~= "table" then return bad(file, key .. " must be a list") end
   for i, e in ipairs(list) do
      if type(e) ~= "table" or type(e.name) ~= "string" then
         return bad(file, ("%s[%d] needs a name"):format(key, i))
      end
   end
   return list
end

-- Loads and merges the files: {contexts, clusters, users = {name = {entry, file}}, current}.
function M.load(paths)
   local merged = { contexts = {}, clusters = {}, users = {}, files = {} }
   for _, path in ipairs(paths) do
      local st = core.stat(path)
      if st then
         local text, err, code = core.read_file(path, { max_bytes = M.MAX_BYTES, follow = true })
         if not text then return nil, err, code end
         local doc
         doc, err, code = core.yaml_decode(text, { name = path })
         if doc == nil then return nil, err, code or "invalid_config" end
         if doc == core.null then doc = {} end
         if type(doc) ~= "table" then return bad(path, "not a kubeconfig (expected a mapping)") end
         merged.files[#merged.files + 1] = path
         for _, kind in ipairs { "contexts", "clusters", "users" } do
            local list, lerr, lcode = named_list(doc, kind, path)
            if not list then return nil, lerr, lcode end
            for _, e in ipairs(list) do
               if not merged[kind][e.name] then merged[kind][e.name] = { entry = e, file = path } end
            end
         end
         local cur = doc["current-context"]
         if merged.current == nil and type(cur) == "string" and cur ~= "" then merged.current = cur end
      end
   end
   if #merged.files == 0 then
      return nil, ("no kubeconfig: none of %s exists (set KUBECONFIG or write ~/.kube/config)")
         :format(table.concat(paths, ", ")), "not_ready"
   end
   return merged
end

-- PEM text from `<key>-data` (base64) or `<key>` (a file path).
local function pem_of(section, key, file)
   local data = section[key .. "-data"]
   if type(data) == "string" and data ~= "" then
      local pem = base64.decode((data:gsub("%s+", "")))
      if not pem then return bad(file, key .. "-data is not base64") end
      return pem
   end
   local path = section[key]
   if type(path) == "string" and path ~= "" then
      local text, err, code = core.read_file(resolve(path, file), { max_bytes = M.MAX_BYTES, follow = true })
      if not text then return nil, ("%s: %s: %s"):format(file, key, err), code end
      return text
   end
   return nil
end

-- The ExecCredential a plugin printed: status.token or a client pair.
function M.parse_exec_credential(out, api_version, what)
   local ok, cred = pcall(cjson.decode, out or "")
   if not ok or type(cred) ~= "table" then
      return nil, what .. " did not print an ExecCredential (JSON)", "credentials"
   end
   if cred.kind ~= "ExecCredential" then
      return nil, what .. " printed JSON whose kind is not ExecCredential", "credentials"
   end
   if cred.apiVersion ~= api_version then
      return nil, ("%s printed an ExecCredential of apiVersion %s, not %s"):format(what,
         tostring(cred.apiVersion):sub(1, 80), api_version), "credentials"
   end
   local status = type(cred.status) == "table" and cred.status or {}
   local out_cred = {}
   if type(status.token) == "string" and status.token ~= "" then out_cred.token = status.token end
   if type(status.clientCertificateData) == "string" and type(status.clientKeyData) == "string" then
      out_cred.client_cert_pem, out_cred.client_key_pem = status.clientCertificateData, status.clientKeyData
   end
   if not out_cred.token and not out_cred.client_cert_pem then
      return nil, what .. "'s ExecCredential has neither status.token nor clientCertificateData and clientKeyData",
         "credentials"
   end
   out_cred.expires = type(status.expirationTimestamp) == "string" and status.expirationTimestamp or nil
   return out_cred
end

-- Runs an exec credential plugin: argv from command and args, its env
-- entries and KUBERNETES_EXEC_INFO added to ours, stdout captured.
function M.run_exec(exec, file, spawn)
   spawn = spawn or core.spawn
   local what = ("%s: the exec credential plugin %q"):format(file, tostring(exec.command))
   if type(exec.command) ~= "string" or exec.command == "" then
      return bad(file, "users[].user.exec.command is required")
   end
   local api_version = exec.apiVersion
   if not M.EXEC_API_VERSIONS[api_version] then
      return bad(file, ("users[].user.exec.apiVersion %s is not one this launcher speaks (%s)")
         :format(tostring(api_version), "client.authentication.k8s.io/v1 or v1beta1"))
   end
   local command = exec.command
   if command:find("/", 1, true) then command = resolve(command, file) end
   local argv = { command }
   for _, a in ipairs(type(exec.args) == "table" and exec.args or {}) do argv[#argv + 1] = tostring(a) end
   local env = {}
   for _, e in ipairs(type(exec.env) == "table" and exec.env or {}) do
      if type(e) == "table" and type(e.name) == "string" then env[e.name] = tostring(e.value or "") end
   end
   env.KUBERNETES_EXEC_INFO = cjson.encode {
      apiVersion = api_version, kind = "ExecCredential", spec = { interactive = false },
   }
   local status, out, code = spawn(argv, { env = env, stdin = "null", stdout = "capture" })
   if not status then return nil, what .. ": " .. tostring(out), code end
   if status ~= 0 then
      return nil, ("%s exited with status %d"):format(what, status), "credentials"
   end
   return M.parse_exec_credential(out, api_version, what)
end

--- M.connection(opts) → {server, ca_pem, client_cert_pem, client_key_pem,
-- token, namespace, context, paths} | nil, message, code.
-- opts: context (else current-context), paths (else M.paths()), spawn.
function M.connection(opts)
   opts = opts or {}
   local paths = opts.paths or M.paths(opts.getenv)
   local cfg, err, code = M.load(paths)
   if not cfg then return nil, err, code end
   local name = opts.context or cfg.current
   if not name then
      return nil, ("%s: no current-context: pass --context NAME"):format(cfg.files[1]), "usage"
   end
   local ctx = cfg.contexts[name]
   if not ctx then
      local have = {}
      for n in pairs(cfg.contexts) do have[#have + 1] = n end
      table.sort(have)
      return nil, ("no context %q in %s (have: %s)"):format(name, table.concat(cfg.files, ", "),
         #have > 0 and table.concat(have, ", ") or "none"), "usage"
   end
   local c = type(ctx.entry.context) == "table" and ctx.entry.context or {}
   local cluster = cfg.clusters[c.cluster or ""]
   if not cluster then
      return bad(ctx.file, ("context %q names cluster %q, which is not defined"):format(name, tostring(c.cluster)))
   end
   local cl = type(cluster.entry.cluster) == "table" and cluster.entry.cluster or {}
   local server = cl.server
   if type(server) ~= "string" or not server:match("^https?://[^%s]+$") then
      return bad(cluster.file, ("cluster %q: server must be an http(s) URL"):format(cluster.entry.name))
   end
   if cl["insecure-skip-tls-verify"] == true then
      return bad(cluster.file, ("cluster %q: insecure-skip-tls-verify is refused: give certificate-authority-data")
         :format(cluster.entry.name))
   end
   local conn = { server = server:gsub("/+$", ""), context = name, namespace = c.namespace, paths = paths }
   conn.ca_pem, err, code = pem_of(cl, "certificate-authority", cluster.file)
   if err then return nil, err, code end

   local user = c.user and cfg.users[c.user]
   if c.user and not user then
      return bad(ctx.file, ("context %q names user %q, which is not defined"):format(name, tostring(c.user)))
   end
   local u = user and type(user.entry.user) == "table" and user.entry.user or {}
   local ufile = user and user.file or ctx.file
   conn.client_cert_pem, err, code = pem_of(u, "client-certificate", ufile)
   if err then return nil, err, code end
   conn.client_key_pem, err, code = pem_of(u, "client-key", ufile)
   if err then return nil, err, code end
   if (conn.client_cert_pem == nil) ~= (conn.client_key_pem == nil) then
      return bad(ufile, ("user %q: a client certificate needs its key and the other way round"):format(c.user))
   end
   if type(u.token) == "string" and u.token ~= "" then
      conn.token = u.token
   elseif type(u.tokenFile) == "string" and u.tokenFile ~= "" then
      local text, terr, tcode = core.read_file(resolve(u.tokenFile, ufile), { max_bytes = 65536, follow = true })
      if not text then return nil, ("%s: tokenFile: %s"):format(ufile, terr), tcode end
      conn.token = text:gsub("%s+$", "")
   end
   if type(u.exec) == "table" then
      local cred, eerr, ecode = M.run_exec(u.exec, ufile, opts.spawn)
      if not cred then return nil, eerr, ecode end
      conn.token = cred.token or conn.token
      if cred.client_cert_pem then
         conn.client_cert_pem, conn.client_key_pem = cred.client_cert_pem, cred.client_key_pem
      end
   end
   if u["auth-provider"] then
      return bad(ufile, ("user %q: auth-provider plugins are not supported: use an exec credential plugin")
         :format(tostring(c.user)))
   end
   return conn
end

return M
