-- A real Kubernetes control plane for the kubernetes backend's end-to-end
-- specs, on loopback: etcd, kube-apiserver and kube-controller-manager (its
-- namespace and serviceaccount controllers: a Namespace's deletion and its
-- `default` ServiceAccount need them) built from their Go modules by
-- images/test/kube.sh.  No kind, no k3s, no image: the binaries, a CA, a
-- serving certificate and a token file made here with openssl, and a
-- kubeconfig for the launcher.  There is no node: Pods stay Pending.
--
-- K.unavailable() → nil | why (for pending()); K.start() → cluster;
-- cluster:stop().  cluster = {server, dir, kubeconfig, ca_pem, tokens = {admin, nobody},
-- conn(user) → a connection for the backend}.
local core = require "bottle.core"
local U = require "testlib.util"

local K = {}

K.KUBE_VERSION = os.getenv("KUBE_VERSION") or "v1.37.2"
K.ETCD_VERSION = os.getenv("ETCD_VERSION") or "v3.7.0"
K.BINARIES = { "etcd", "kube-apiserver", "kube-controller-manager" }
K.READY_TIMEOUT = 120

function K.bin_dir()
   local env = os.getenv("CLAUDE_BOTTLE_KUBE_BIN")
   if env and env ~= "" then return env end
   local cache = os.getenv("XDG_CACHE_HOME")
   if not cache or cache == "" then cache = (os.getenv("HOME") or "/root") .. "/.cache" end
   return ("%s/claude-bottle/kube/%s-etcd-%s/bin"):format(cache, K.KUBE_VERSION, K.ETCD_VERSION)
end

function K.unavailable()
   local dir = K.bin_dir()
   for _, b in ipairs(K.BINARIES) do
      local st = core.stat(dir .. "/" .. b)
      if not st or st.type ~= "file" then
         return ("%s/%s is not built: run images/test/kube.sh (make test-kube)"):format(dir, b)
      end
   end
   if os.execute("command -v openssl >/dev/null 2>&1") ~= true then return "openssl is not installed" end
   return nil
end

local function sh(cmd)
   local ok = os.execute("(" .. cmd .. ") >/dev/null 2>&1")
   assert(ok, "failed: " .. cmd)
end

-- n free TCP ports on loopback (the kernel picks them; Python is in `make deps`).
local function free_ports(n)
   local out = U.command(("python3 -c 'import socket\nss=[socket.socket() for _ in range(%d)]\n"
      .. "[s.bind((\"127.0.0.1\",0)) for s in ss]\nprint(\" \".join(str(s.getsockname()[1]) for s in ss))'"):format(n))
   local ports = {}
   for p in out:gmatch("%d+") do ports[#ports + 1] = tonumber(p) end
   assert(#ports == n, "no free ports: " .. out)
   return ports
end

-- Starts argv in the background (its own process group), output to log → pid.
local function start(argv, log)
   local words = {}
   for i, a in ipairs(argv) do words[i] = U.q(a) end
   local pid = U.command(("setsid %s >%s 2>&1 </dev/null & echo $!"):format(table.concat(words, " "), U.q(log)))
   return assert(tonumber(pid:match("%d+")), "could not start " .. argv[1])
end

local function alive(pid)
   return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

local function tail(path, n)
   local text = U.read(path) or ""
   local lines = {}
   for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
   return table.concat(lines, "\n", math.max(1, #lines - (n or 15) + 1))
end

local function b64(path)
   return (U.command("base64 -w0 " .. U.q(path)):gsub("%s+", ""))
end

local Cluster = {}
Cluster.__index = Cluster

function K.start()
   local dir = core.mkdtemp("/tmp/claude-bottle-kube.")
   local bin = K.bin_dir()
   local d = U.q(dir)
   -- a CA, the API server's serving pair (loopback), a client pair for the
   -- client-certificate kubeconfig, and the service-account signing pair
   sh("cd " .. d .. " && openssl ecparam -name prime256v1 -genkey -noout -out ca-key.pem"
      .. " && openssl req -x509 -new -key ca-key.pem -out ca.pem -days 2 -subj /CN=claude-bottle-test-kube-ca"
      .. " && openssl ecparam -name prime256v1 -genkey -noout -out serving-key.pem"
      .. " && openssl req -new -key serving-key.pem -out serving.csr -subj /CN=kube-apiserver"
      .. " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > serving.ext"
      .. " && openssl x509 -req -in serving.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2"
      .. " -extfile serving.ext -out serving.pem"
      .. " && openssl ecparam -name prime256v1 -genkey -noout -out client-key.pem"
      .. " && openssl req -new -key client-key.pem -out client.csr -subj /O=system:masters/CN=cert-admin"
      .. " && printf 'extendedKeyUsage=clientAuth\\n' > client.ext"
      .. " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2"
      .. " -extfile client.ext -out client.pem"
      .. " && openssl genrsa -out sa.key 2048 && openssl rsa -in sa.key -pubout -out sa.pub")
   local tokens = { admin = core.random_hex(16), nobody = core.random_hex(16) }
   U.write(dir .. "/tokens.csv", ('%s,admin,uid-admin,"system:masters"\n%s,nobody,uid-nobody\n')
      :format(tokens.admin, tokens.nobody), tonumber("600", 8))
   local ports = free_ports(3)
   local etcd_port, peer_port, api_port = ports[1], ports[2], ports[3]
   local self = setmetatable({ dir = dir, pids = {}, tokens = tokens, logs = {},
                               server = "https://127.0.0.1:" .. api_port }, Cluster)
   self.ca_pem = U.read(dir .. "/ca.pem")

   self.logs.etcd = dir .. "/etcd.log"
   self.pids.etcd = start({ bin .. "/etcd", "--name", "test", "--data-dir", dir .. "/etcd",
      "--listen-client-urls", "http://127.0.0.1:" .. etcd_port, "--advertise-client-urls", "http://127.0.0.1:" .. etcd_port,
      "--listen-peer-urls", "http://127.0.0.1:" .. peer_port,
      "--initial-advertise-peer-urls", "http://127.0.0.1:" .. peer_port,
      "--initial-cluster", "test=http://127.0.0.1:" .. peer_port, "--unsafe-no-fsync",
      "--listen-metrics-urls", "", "--log-level", "warn" }, self.logs.etcd)

   self.logs.apiserver = dir .. "/kube-apiserver.log"
   self.pids.apiserver = start({ bin .. "/kube-apiserver",
      "--etcd-servers", "http://127.0.0.1:" .. etcd_port,
      "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", tostring(api_port),
      "--tls-cert-file", dir .. "/serving.pem", "--tls-private-key-file", dir .. "/serving-key.pem",
      "--client-ca-file", dir .. "/ca.pem", "--token-auth-file", dir .. "/tokens.csv",
      "--authorization-mode", "RBAC", "--anonymous-auth=false",
      "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
      "--service-account-key-file", dir .. "/sa.pub", "--service-account-signing-key-file", dir .. "/sa.key",
      "--service-cluster-ip-range", "10.96.0.0/16", "--cert-dir", dir .. "/apiserver-certs",
      -- loopback is no address for the kubernetes Service's endpoints: no reconciler
      "--endpoint-reconciler-type=none",
      "--enable-priority-and-fairness=false", "--watch-cache=false", "--v", "1" }, self.logs.apiserver)

   local ok, why = self:wait_ready()
   if not ok then
      self:stop()
      error(why, 0)
   end

   -- the controller manager, with the admin token (its own kubeconfig)
   self.kubeconfig = self:write_kubeconfig("config", "token")
   self.logs.controller = dir .. "/kube-controller-manager.log"
   self.pids.controller = start({ bin .. "/kube-controller-manager",
      "--kubeconfig", self.kubeconfig, "--controllers", "namespace,serviceaccount",
      "--leader-elect=false", "--secure-port", "0", "--use-service-account-credentials=false",
      "--concurrent-namespace-syncs", "4", "--v", "1" }, self.logs.controller)
   return self
end

-- Waits for /readyz (with the admin token).
function Cluster:wait_ready()
   local deadline = core.monotonic() + K.READY_TIMEOUT
   local last
   while core.monotonic() < deadline do
      for name, pid in pairs(self.pids) do
         if not alive(pid) then
            return nil, ("%s exited before the API server was ready:\n%s"):format(name, tail(self.logs[name]))
         end
      end
      local status, headers_or_msg, body = core.http { url = self.server .. "/readyz", ca_pem = self.ca_pem,
                                          headers = { Authorization = "Bearer " .. self.tokens.admin },
                                          timeout_ms = 5000, proxy = "" }
      if status == 200 then return true end
      last = status and (status .. " " .. tostring(body)) or tostring(headers_or_msg)
      core.sleep(0.5)
   end
   return nil, ("kube-apiserver not ready after %ds (%s):\n%s"):format(K.READY_TIMEOUT, tostring(last),
      tail(self.logs.apiserver))
end

-- A kubeconfig for one user: "token" (admin's bearer token), "nobody"
-- (a token without RBAC), "cert" (a client certificate in system:masters),
-- "exec" (an exec credential plugin printing admin's token).
function Cluster:write_kubeconfig(name, user)
   local dir = self.dir
   local users = {
      token = ("    token: %s\n"):format(self.tokens.admin),
      nobody = ("    token: %s\n"):format(self.tokens.nobody),
      cert = ("    client-certificate-data: %s\n    client-key-data: %s\n"):format(b64(dir .. "/client.pem"),
         b64(dir .. "/client-key.pem")),
      exec = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./credential-plugin.sh\n"
         .. "      interactiveMode: Never\n      env:\n      - name: PLUGIN_SAYS\n        value: ExecCredential\n",
   }
   if user == "exec" then
      U.write(dir .. "/credential-plugin.sh", ('#!/bin/sh\n'
         .. '# proves it got KUBERNETES_EXEC_INFO and its env entry\n'
         .. 'case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) exit 3 ;; esac\n'
         .. '[ "$PLUGIN_SAYS" = ExecCredential ] || exit 4\n'
         .. 'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
         .. '"status":{"token":"%s"}}\\n\'\n'):format(self.tokens.admin), tonumber("700", 8))
   end
   local text = ("apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n"
      .. "    server: %s\n    certificate-authority-data: %s\ncontexts:\n- name: test\n  context:\n"
      .. "    cluster: test\n    user: u\nusers:\n- name: u\n  user:\n%s"):format(self.server, b64(dir .. "/ca.pem"),
      users[user] or error("no such user " .. tostring(user)))
   return U.write(dir .. "/" .. name, text, tonumber("600", 8))
end

--- A kubernetes backend instance for this cluster, through a kubeconfig
-- for `user` (default "token"); opts go to its new().
function Cluster:backend(user, opts)
   local path = self:write_kubeconfig(("config-%s-%s"):format(user or "token", core.random_hex(3)), user or "token")
   local conn = assert(require("bottle.backend.kubernetes.kubeconfig").connection { paths = { path } })
   local o = { conn = conn, wait = false }
   for k, v in pairs(opts or {}) do o[k] = v end
   return assert(require("bottle.backend").new("kubernetes", o)), conn
end

--- A client with the admin token, for the specs' own looks at the server.
function Cluster:client()
   return require("bottle.backend.kubernetes.client").new {
      server = self.server, ca_pem = self.ca_pem, token = self.tokens.admin }
end

function Cluster:stop()
   for _, name in ipairs { "controller", "apiserver", "etcd" } do
      local pid = self.pids[name]
      if pid then
         os.execute("kill " .. pid .. " 2>/dev/null")
         for _ = 1, 50 do
            if not alive(pid) then break end
            core.sleep(0.1)
         end
         if alive(pid) then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
         self.pids[name] = nil
      end
   end
   if self.dir and os.getenv("CLAUDE_BOTTLE_KEEP_KUBE") ~= "1" then core.rmtree(self.dir) end
end

return K
