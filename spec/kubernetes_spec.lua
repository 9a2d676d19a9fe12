-- The kubernetes backend's pure parts: the kubeconfig reader (files made
-- here, a real exec credential plugin script), the object builders, and
-- the interface.  The objects against a real API server are in
-- kubernetes_e2e_spec.lua.
local core = require "bottle.core"
local cjson = require "cjson"
local U = require "testlib.util"
local kubeconfig = require "bottle.backend.kubernetes.kubeconfig"
local objects = require "bottle.backend.kubernetes.objects"
local kube = require "bottle.backend.kubernetes"

local TOKEN = "tok-" .. "Zq3xVb7Nw2Lk9Hd4Rt6Yp8Ms"

local function b64(s)
   return (U.command("printf %s " .. U.q(s) .. " | base64 -w0"):gsub("%s+", ""))
end

describe("kubernetes kubeconfig", function()
   local dir
   before_each(function() dir = core.mkdtemp("/tmp/claude-bottle-kubeconfig.") end)
   after_each(function() core.rmtree(dir) end)

   local function config(users, extra)
      return ("apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster:\n"
         .. "    server: https://127.0.0.1:6443/\n    certificate-authority-data: %s\ncontexts:\n"
         .. "- name: a\n  context: {cluster: c, user: u, namespace: team}\n"
         .. "- name: b\n  context: {cluster: c, user: v}\nusers:\n%s%s"):format(b64("CA PEM\n"), users, extra or "")
   end

   it("reads the current context, its cluster's CA and a bearer token", function()
      local path = U.write(dir .. "/config", config("- name: u\n  user: {token: " .. TOKEN .. "}\n"))
      local conn = assert(kubeconfig.connection { paths = { path } })
      assert.equals("https://127.0.0.1:6443", conn.server)
      assert.equals("CA PEM\n", conn.ca_pem)
      assert.equals(TOKEN, conn.token)
      assert.equals("team", conn.namespace)
      assert.equals("a", conn.context)
   end)

   it("takes --context, client certificate files relative to the kubeconfig, and a tokenFile", function()
      U.write(dir .. "/cl.pem", "CERT\n")
      U.write(dir .. "/cl-key.pem", "KEY\n", tonumber("600", 8))
      U.write(dir .. "/token", TOKEN .. "\n", tonumber("600", 8))
      local path = U.write(dir .. "/config", config("- name: u\n  user: {tokenFile: token}\n"
         .. "- name: v\n  user: {client-certificate: cl.pem, client-key: cl-key.pem}\n"))
      local a = assert(kubeconfig.connection { paths = { path } })
      assert.equals(TOKEN, a.token)
      local b = assert(kubeconfig.connection { paths = { path }, context = "b" })
      assert.equals("CERT\n", b.client_cert_pem)
      assert.equals("KEY\n", b.client_key_pem)
      assert.is_nil(b.token)
   end)

   it("merges KUBECONFIG's files: the first that names a thing wins", function()
      local first = U.write(dir .. "/one", "apiVersion: v1\nkind: Config\ncurrent-context: b\nusers:\n"
         .. "- name: v\n  user: {token: first}\n")
      local second = U.write(dir .. "/two", config("- name: u\n  user: {token: x}\n- name: v\n  user: {token: second}\n"))
      local paths = kubeconfig.paths(function(n) return n == "KUBECONFIG" and (first .. ":" .. second) or nil end)
      assert.same({ first, second }, paths)
      local conn = assert(kubeconfig.connection { paths = paths })
      assert.equals("b", conn.context)
      assert.equals("first", conn.token)
   end)

   it("runs an exec credential plugin and parses its ExecCredential", function()
      U.write(dir .. "/plugin.sh", '#!/bin/sh\ncase "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) exit 3;; esac\n'
         .. '[ "$1" = --flag ] && [ "$FROM_ENV" = yes ] || exit 4\n'
         .. 'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",\\n'
         .. ' "status":{"token":"%s"}}\\n\' "$TOKEN_OUT"\n', tonumber("700", 8))
      local path = U.write(dir .. "/config", config("- name: u\n  user:\n    exec:\n"
         .. "      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n      args: [--flag]\n"
         .. "      env: [{name: FROM_ENV, value: 'yes'}, {name: TOKEN_OUT, value: " .. TOKEN .. "}]\n"))
      local conn = assert(kubeconfig.connection { paths = { path } })
      assert.equals(TOKEN, conn.token)
   end)

   it("refuses a plugin's output that is not an ExecCredential of its apiVersion, quoting nothing of it", function()
      local v = "client.authentication.k8s.io/v1"
      assert.is_nil((kubeconfig.parse_exec_credential("not json " .. TOKEN, v, "p")))
      local _, msg = kubeconfig.parse_exec_credential(cjson.encode { kind = "Other", status = { token = TOKEN } }, v, "p")
      assert.truthy(msg:find("not ExecCredential", 1, true))
      assert.is_nil(msg:find(TOKEN, 1, true))
      _, msg = kubeconfig.parse_exec_credential(cjson.encode { kind = "ExecCredential",
         apiVersion = "client.authentication.k8s.io/v1beta1", status = { token = TOKEN } }, v, "p")
      assert.truthy(msg:find("apiVersion", 1, true))
      _, msg = kubeconfig.parse_exec_credential(cjson.encode { kind = "ExecCredential", apiVersion = v, status = {} }, v, "p")
      assert.truthy(msg:find("neither", 1, true))
      local cred = assert(kubeconfig.parse_exec_credential(cjson.encode { kind = "ExecCredential", apiVersion = v,
         status = { clientCertificateData = "C", clientKeyData = "K" } }, v, "p"))
      assert.equals("C", cred.client_cert_pem)
   end)

   it("says which plugin failed and how, without its output", function()
      U.write(dir .. "/plugin.sh", "#!/bin/sh\necho " .. TOKEN .. "\nexit 7\n", tonumber("700", 8))
      local path = U.write(dir .. "/config", config("- name: u\n  user:\n    exec:\n"
         .. "      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n"))
      local ok, msg, code = kubeconfig.connection { paths = { path } }
      assert.is_nil(ok)
      assert.equals("credentials", code)
      assert.truthy(msg:find("exited with status 7", 1, true))
      assert.is_nil(msg:find(TOKEN, 1, true))
   end)

   it("names the file and the fix for a missing context, cluster, or an insecure cluster", function()
      local path = U.write(dir .. "/config", config("- name: u\n  user: {token: " .. TOKEN .. "}\n"))
      local ok, msg, code = kubeconfig.connection { paths = { path }, context = "nope" }
      assert.is_nil(ok)
      assert.equals("usage", code)
      assert.truthy(msg:find('no context "nope"', 1, true) and msg:find("have: a, b", 1, true))
      local insecure = U.write(dir .. "/insecure", "clusters:\n- name: c\n  cluster: {server: 'https://x',"
         .. " insecure-skip-tls-verify: true}\ncontexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: a\n")
      ok, msg, code = kubeconfig.connection { paths = { insecure } }
      assert.is_nil(ok)
      assert.equals("invalid_config", code)
      assert.truthy(msg:find(insecure, 1, true) and msg:find("insecure-skip-tls-verify", 1, true))
      ok, msg = kubeconfig.connection { paths = { dir .. "/absent" } }
      assert.is_nil(ok)
      assert.truthy(msg:find("no kubeconfig", 1, true))
      local bad = U.write(dir .. "/bad", "clusters: [\n")
      ok, msg = kubeconfig.connection { paths = { bad } }
      assert.is_nil(ok)
      assert.truthy(msg:find(bad, 1, true) and msg:match("/bad:%d+:%d+: "))
   end)
end)

describe("kubernetes objects", function()
   local plan = {
      slug = "k-abc123", agent = "k", bottle = "b",
      names = { agent = "claude-bottle-k-abc123", pipelock = "claude-bottle-pipelock-k-abc123" },
      images = { agent = "agent:1", pipelock = "pipelock:2.3.0" },
      resources = { agent = { memory = 1024, cpus = 1.5, pids = 10 }, pipelock = { memory = 512, cpus = 1, pids = 5 } },
      agent_env = { HTTPS_PROXY = "http://claude-bottle-pipelock-k-abc123:8888" },
      ca = { sidecar_cert = "/etc/pipelock-ca.pem", sidecar_key = "/etc/pipelock-ca-key.pem",
             agent_cert = "/usr/local/share/ca-certificates/claude-bottle-ca.crt" },
      pipelock = { config_path = "/etc/pipelock.yaml", yaml = "mode: strict\n",
                   config = { ssrf = { ip_allowlist = { "172.17.0.0/16" } } } },
      egress = { ports = { 80, 443, 8443 } },
      prompt = { text = "be careful", path = "/home/node/.claude-bottle/prompt.md" },
   }
   local facts = { launch = { detached = true, launcher = "boot/1/2" }, literals = { MODE = "dev" },
                   secrets = { API_KEY = TOKEN }, ca = { cert_pem = "PUBLIC CERT", key_pem = "CA PRIVATE KEY" },
                   cluster_ranges = { "10.96.0.0/16", "192.0.2.7" }, service_ips = { pipelock = "10.96.0.20" } }
   local all = kube.objects(plan, facts)
   local function find(kind, name)
      for _, o in ipairs(all) do if o.kind == kind and o.metadata.name == name then return o end end
   end

   it("labels everything for `list`, `down` and `cleanup`, in the bottle's namespace", function()
      for _, o in ipairs(all) do
         assert.equals("1", o.metadata.labels["claude-bottle"])
         assert.equals("k-abc123", o.metadata.labels["claude-bottle.slug"])
         if o.kind ~= "Namespace" then assert.equals("claude-bottle-k-abc123", o.metadata.namespace) end
      end
      assert.equals("Namespace", all[1].kind)
      assert.equals("restricted", all[1].metadata.labels["pod-security.kubernetes.io/enforce"])
   end)

   it("denies everything first, then opens one path per policy; the agent gets no DNS", function()
      local deny = find("NetworkPolicy", "default-deny")
      assert.same({}, deny.spec.podSelector)
      assert.same({ "Ingress", "Egress" }, deny.spec.policyTypes)
      assert.is_nil(deny.spec.ingress)
      assert.is_nil(deny.spec.egress)
      local agent = find("NetworkPolicy", "agent-egress")
      assert.same({ { to = { { podSelector = { matchLabels = { ["claude-bottle.role"] = "pipelock" } } } },
                      ports = { { protocol = "TCP", port = 8888 } } } }, agent.spec.egress)
      local pe = find("NetworkPolicy", "pipelock-egress")
      local out = pe.spec.egress[1]
      assert.same({ { protocol = "TCP", port = 80 }, { protocol = "TCP", port = 443 }, { protocol = "TCP", port = 8443 } },
                  out.ports)
      assert.equals("0.0.0.0/0", out.to[1].ipBlock.cidr)
      local except = {}
      for _, c in ipairs(out.to[1].ipBlock.except) do except[c] = true end
      assert.is_true(except["169.254.0.0/16"] and except["10.0.0.0/8"] and except["10.96.0.0/16"]
                     and except["192.0.2.7/32"])
      -- the trusted range is its own peer
      assert.equals("172.17.0.0/16", out.to[2].ipBlock.cidr)
      assert.same(objects.DNS_PEER, pe.spec.egress[2].to[1])
   end)

   it("hardens both Pods and keeps every value out of their specs", function()
      for _, name in ipairs { "pipelock", "agent" } do
         local pod = find("Pod", name)
         assert.is_false(pod.spec.automountServiceAccountToken)
         assert.equals("RuntimeDefault", pod.spec.securityContext.seccompProfile.type)
         local c = pod.spec.containers[1]
         assert.same({ "ALL" }, c.securityContext.capabilities.drop)
         assert.is_false(c.securityContext.allowPrivilegeEscalation)
         assert.is_true(c.securityContext.runAsNonRoot)
         assert.truthy(c.resources.limits.memory and c.resources.limits.cpu)
         local text = cjson.encode(pod)
         for _, secret in ipairs { TOKEN, "dev", "CA PRIVATE KEY" } do
            assert.is_nil(text:find(secret, 1, true), name .. " holds " .. secret)
         end
      end
      local p = find("Pod", "pipelock")
      assert.is_true(p.spec.containers[1].securityContext.readOnlyRootFilesystem)
      assert.equals(65534, p.spec.containers[1].securityContext.runAsUser)
      assert.equals("/health", p.spec.containers[1].readinessProbe.httpGet.path)
      local a = find("Pod", "agent")
      assert.equals("None", a.spec.dnsPolicy)
      assert.same({ { ip = "10.96.0.20", hostnames = { plan.names.pipelock } } }, a.spec.hostAliases)
      assert.same({ { secretRef = { name = "agent-env" } }, { secretRef = { name = "agent-secrets" } } },
                  a.spec.containers[1].envFrom)
   end)

   it("puts the CA key in pipelock's Secret only, and the values in the agent's Secrets", function()
      for _, o in ipairs(all) do
         local text = cjson.encode(o)
         if o.metadata.name ~= "pipelock-ca" then assert.is_nil(text:find("CA PRIVATE KEY", 1, true), o.metadata.name) end
         if o.metadata.name ~= "agent-secrets" then assert.is_nil(text:find(TOKEN, 1, true), o.metadata.name) end
      end
      assert.equals("CA PRIVATE KEY", find("Secret", "pipelock-ca").stringData["ca-key.pem"])
      assert.equals(TOKEN, find("Secret", "agent-secrets").stringData.API_KEY)
      assert.equals("dev", find("Secret", "agent-env").stringData.MODE)
      assert.equals("PUBLIC CERT", find("ConfigMap", "agent-files").data["ca.crt"])
      assert.equals("mode: strict\n", find("ConfigMap", "pipelock-config").data["pipelock.yaml"])
   end)

   it("tells which ranges lie inside others", function()
      assert.is_true(objects.cidr_within("10.96.0.0/16", "10.0.0.0/8"))
      assert.is_false(objects.cidr_within("10.0.0.0/8", "10.0.0.0/8"))
      assert.is_false(objects.cidr_within("11.0.0.0/16", "10.0.0.0/8"))
      assert.is_true(objects.cidr_within("192.0.2.7", "0.0.0.0/0"))
   end)

   it("is a backend instance with the whole interface", function()
      local b = require("bottle.backend").new("kubernetes", { conn = { server = "https://127.0.0.1:1" } })
      for _, fn in ipairs(require("bottle.backend").INTERFACE) do assert.is_function(b[fn], fn) end
      assert.is_function(b.check)
   end)

   it("refuses a workspace in prepare, before any call to the server; the credential proxy is no longer refused", function()
      -- the server address is closed: a call would fail with another message
      local b = require("bottle.backend").new("kubernetes", { conn = { server = "https://127.0.0.1:1" } })
      local ok, msg, code = b:prepare({ slug = "x-1", credentials = {}, workspace = { mode = "copy" } }, {})
      assert.is_nil(ok)
      assert.equals("unsupported", code)
      assert.matches("--no-workspace", msg, 1, true)
      -- with routes, prepare goes on to the server (closed here)
      ok, msg, code = b:prepare({ slug = "x-1", credentials = { { name = "anthropic", host = "api.anthropic.com",
         port = 443, header = "Authorization", scheme = "Bearer" } } }, {})
      assert.is_nil(ok)
      assert.are_not.equal("unsupported", code, msg)
   end)
end)

describe("kubernetes credential proxy objects", function()
   local kcred = require "bottle.backend.kubernetes.cred_proxy"
   local cred_proxy = require "bottle.cred_proxy"
   -- nginx's and the shell's special characters in a value: they stay text
   local VALUE = "tok-" .. 'Hx9 $x ${y} "q" {b}; c \\ d'
   local routes = {
      { name = "anthropic", host = "api.anthropic.com", port = 443, header = "Authorization", scheme = "Bearer",
        oauth_beta = true, auth = "oauth" },
      { name = "gh", host = "api.github.test", port = 8443, header = "Authorization", scheme = "Bearer",
        env = "GITHUB_API_URL" },
   }
   local plan = {
      slug = "c-abc123", agent = "a", bottle = "b",
      names = { pipelock = "claude-bottle-pipelock-c-abc123", cred_proxy = "claude-bottle-cred-proxy-c-abc123" },
      images = { agent = "agent:1", pipelock = "pipelock:2.3.0", cred_proxy = "cred:1" },
      resources = { agent = { memory = 1024, cpus = 1 }, pipelock = { memory = 512, cpus = 1 },
                    ["cred-proxy"] = { memory = 256, cpus = 1 } },
      agent_env = cred_proxy.agent_env(routes, "http://claude-bottle-cred-proxy-c-abc123:9099"),
      pipelock = { config_path = "/etc/pipelock.yaml", yaml = "mode: strict\n", config = {} },
      egress = { ports = { 443 } }, credentials = routes,
   }
   local files = assert(kcred.files(plan, { anthropic = VALUE, gh = "gh-" .. "Tk2" }))
   local facts = { launch = {}, literals = {}, secrets = {}, cluster_ranges = { "10.96.0.0/16" },
                   service_ips = { pipelock = "10.96.0.20", cred_proxy = "10.96.0.30" }, cred_files = files }
   local all = kube.objects(plan, facts)
   local function find(kind, name)
      for _, o in ipairs(all) do if o.kind == kind and o.metadata.name == name then return o end end
   end

   it("puts the value in the proxy's Secret only, escaped as on Docker, and mounts that Secret into the proxy only", function()
      local secret = find("Secret", "cred-proxy-files")
      assert.equals(cred_proxy.credentials(routes, { anthropic = VALUE, gh = "gh-Tk2" }),
                    secret.stringData["credentials.conf"])
      assert.truthy(secret.stringData["credentials.conf"]:find(cred_proxy.quoted("Bearer " .. VALUE), 1, true))
      assert.is_nil(secret.stringData["nginx.conf"]:find(VALUE, 1, true))
      assert.truthy(secret.stringData["nginx.conf"]:find("include " .. cred_proxy.RESOLVER_PATH .. ";", 1, true))
      for _, o in ipairs(all) do
         if o.metadata.name ~= "cred-proxy-files" then
            assert.is_nil(cjson.encode(o):find("Hx9", 1, true), o.kind .. "/" .. o.metadata.name)
         end
         if o.kind == "Pod" then
            local uses = false
            for _, v in ipairs(o.spec.volumes or {}) do
               if v.secret and v.secret.secretName == "cred-proxy-files" then uses = true end
            end
            assert.equals(o.metadata.name == "cred-proxy", uses, o.metadata.name)
         end
      end
   end)

   it("refuses a value that could change the config's meaning, naming the route and not the value", function()
      local ok, msg, code = kcred.files(plan, { anthropic = "bad\nvalue-Qz7", gh = "x" })
      assert.is_nil(ok)
      assert.equals("invalid_credential", code)
      assert.truthy(msg:find("credential anthropic", 1, true))
      assert.is_nil(msg:find("Qz7", 1, true))
   end)

   it("hardens the proxy's Pod: non-root, nothing writable but memory, readiness on its health path", function()
      local pod = find("Pod", "cred-proxy")
      local c = pod.spec.containers[1]
      assert.same({ "/bin/sh", cred_proxy.ENTRYPOINT, "--mounted" }, c.command)
      assert.equals(65534, c.securityContext.runAsUser)
      assert.is_true(c.securityContext.readOnlyRootFilesystem)
      assert.is_false(c.securityContext.allowPrivilegeEscalation)
      assert.same({ "ALL" }, c.securityContext.capabilities.drop)
      assert.equals("RuntimeDefault", c.securityContext.seccompProfile.type)
      assert.is_false(pod.spec.automountServiceAccountToken)
      assert.equals(cred_proxy.HEALTH_PATH, c.readinessProbe.httpGet.path)
      assert.equals("256", c.resources.limits.memory)
      local by_path = {}
      for _, m in ipairs(c.volumeMounts) do by_path[m.mountPath] = m end
      assert.equals("credentials.conf", by_path[cred_proxy.CREDENTIALS_PATH].subPath)
      assert.is_true(by_path[cred_proxy.CONFIG_DIR].readOnly)
      assert.equals("Memory", pod.spec.volumes[3].emptyDir.medium)
      assert.equals(9099, find("Service", "cred-proxy").spec.ports[1].port)
   end)

   it("lets the agent reach the proxy's port, and the proxy its routes' ports outside the cluster, with DNS", function()
      local agent = find("NetworkPolicy", "agent-egress")
      assert.same({ to = { { podSelector = { matchLabels = { ["claude-bottle.role"] = "cred-proxy" } } } },
                    ports = { { protocol = "TCP", port = 9099 } } }, agent.spec.egress[2])
      local ing = find("NetworkPolicy", "cred-proxy-ingress")
      assert.same({ { from = { { podSelector = { matchLabels = { ["claude-bottle.role"] = "agent" } } } },
                      ports = { { protocol = "TCP", port = 9099 } } } }, ing.spec.ingress)
      local eg = find("NetworkPolicy", "cred-proxy-egress")
      assert.same({ { protocol = "TCP", port = 443 }, { protocol = "TCP", port = 8443 } }, eg.spec.egress[1].ports)
      local except = {}
      for _, cidr in ipairs(eg.spec.egress[1].to[1].ipBlock.except) do except[cidr] = true end
      assert.is_true(except["10.96.0.0/16"] and except["169.254.0.0/16"])
      assert.same(objects.DNS_PEER, eg.spec.egress[2].to[1])
   end)

   it("gives the agent the proxy's name, its variables and Claude Code's settings", function()
      local a = find("Pod", "agent")
      assert.same({ ip = "10.96.0.30", hostnames = { plan.names.cred_proxy } }, a.spec.hostAliases[2])
      local env = {}
      for _, e in ipairs(a.spec.containers[1].env) do env[e.name] = e.value end
      assert.equals("http://claude-bottle-cred-proxy-c-abc123:9099/anthropic", env.ANTHROPIC_BASE_URL)
      assert.equals(cred_proxy.PLACEHOLDER, env.CLAUDE_CODE_OAUTH_TOKEN)
      assert.equals("http://claude-bottle-cred-proxy-c-abc123:9099/gh", env.GITHUB_API_URL)
      local settings = cjson.decode(find("ConfigMap", "agent-files").data["claude.json"])
      assert.is_true(settings.hasCompletedOnboarding)
      assert.equals("sh", a.spec.containers[1].command[1])
      assert.equals(objects.CLAUDE_SETTINGS, a.spec.containers[1].command[5])
   end)

   it("installs the settings into a home that has none, and merges them into one that has", function()
      local home = core.mkdtemp("/tmp/claude-bottle-kube-settings.")
      local src = U.write(home .. "/settings.json", '{"hasCompletedOnboarding":true}')
      local script = objects.INSTALL_SETTINGS:gsub("exec sleep infinity$", "exit 0")
      local function run()
         return os.execute(("HOME=%s sh -c %s sh %s"):format(U.q(home), U.q(script), U.q(src)))
      end
      assert.is_true(run())
      assert.equals('{"hasCompletedOnboarding":true}', U.read(home .. "/.claude.json"))
      os.remove(home .. "/.claude.json")
      U.write(home .. "/.claude.json", '{"theme":"dark"}')
      assert.is_true(run())
      local has_node = os.execute("command -v node >/dev/null 2>&1")
      local merged = cjson.decode(U.read(home .. "/.claude.json"))
      core.rmtree(home)
      assert.equals("dark", merged.theme)
      if not has_node then pending("merging needs node (Claude Code's runtime), which this host lacks") return end
      assert.is_true(merged.hasCompletedOnboarding)
   end)
end)

describe("kubernetes git gate objects", function()
   local git_gate = require "bottle.backend.kubernetes.git_gate"
   local gitgate = require "bottle.gitgate"
   local plan = {
      slug = "g-abc123", names = { git_gate = "claude-bottle-git-gate-g-abc123" },
      images = { git_gate = "gate:1" }, resources = {},
      git = { { name = "app", upstream = 'ssh://git@h.test:2222/a"b.git', user = "git", host = "h.test", port = 2222,
                path = "/a", push = { branches = { "*" } }, host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB", extra_hosts = { ["h.test"] = "192.0.2.9" },
                user_name = 'A "quoted" \\ name' } },
   }
   local files = assert(gitgate.files(plan.git, { app = "-----BEGIN OPENSSH PRIVATE KEY-----\nK\n-----END OPENSSH PRIVATE KEY-----\n" }))

   it("mounts every rendered file from the gate's Secret, scripts executable, nothing writable", function()
      local pod = git_gate.pod(plan, files)
      local vol = pod.spec.volumes[1].secret
      assert.equals("git-gate-files", vol.secretName)
      local by_path = {}
      for _, item in ipairs(vol.items) do by_path[item.path] = item.mode end
      assert.equals(tonumber("550", 8), by_path["entrypoint.sh"])
      assert.equals(tonumber("550", 8), by_path["hooks/pre-receive"])
      assert.equals(tonumber("440", 8), by_path["keys/app"])
      assert.same({ "/bin/sh", gitgate.ENTRYPOINT }, pod.spec.containers[1].command)
      assert.same({ { ip = "192.0.2.9", hostnames = { "h.test" } } }, pod.spec.hostAliases)
      assert.is_false(pod.spec.automountServiceAccountToken)
      assert.same({ "ALL" }, pod.spec.containers[1].securityContext.capabilities.drop)
      assert.same({ 2222 }, git_gate.upstream_ports(plan))
      assert.same({ "192.0.2.9/32" }, git_gate.pinned(plan))
   end)

   it("quotes the agent's gitconfig values for git's config format", function()
      local text = git_gate.gitconfig(plan)
      assert.truthy(text:find('[url "git://git-gate/app.git"]\n\tinsteadOf = "ssh://git@h.test:2222/a\\"b.git"', 1, true),
                    text)
      assert.truthy(text:find('name = "A \\"quoted\\" \\\\ name"', 1, true), text)
   end)
end)
