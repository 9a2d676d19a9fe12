-- The kubernetes backend end to end, against a real kube-apiserver (with
-- etcd and kube-controller-manager) that testlib/kube.lua starts on
-- loopback from the binaries images/test/kube.sh builds.  The server's own
-- schema, defaulting, admission (Pod Security "restricted" among them) and
-- validation judge every object.  There is no node, so Pods stay Pending:
-- these bottles are brought up with wait = false (BOTTLE_KUBE_WAIT=0), and
-- one spec shows the bounded wait saying that no node scheduled the Pod.
-- Pending (with the reason) when the binaries are not built.
local core = require "bottle.core"
local cjson = require "cjson"
local E = require "testlib.e2e"
local K = require "testlib.kube"
local U = require "testlib.util"
local launch = require "bottle.launch"
local base64 = require "bottle.base64"

local SECRET = "sk-" .. "Zq3xVb7Nw2Lk9Hd4Rt6Yp8Ms1Jc5Fg0Ae"   -- a fake, key-shaped value
local LITERAL = "literal-" .. core.random_hex(6)
local unavailable = K.unavailable()

local function skip()
   if unavailable then pending("needs the Kubernetes test binaries: " .. unavailable) return true end
   return false
end

describe("#e2e kubernetes backend against a real kube-apiserver", function()
   local cluster, api, backend

   setup(function()
      if unavailable then return end
      cluster = K.start()
      api = cluster:client()
      backend = cluster:backend("token")
   end)

   local roots = {}
   local function stage_root()
      local dir = core.mkdtemp("/tmp/claude-bottle-kube-e2e.")
      roots[#roots + 1] = dir
      return dir
   end

   teardown(function()
      if cluster then cluster:stop() end
      for _, dir in ipairs(roots) do core.rmtree(dir) end
   end)

   local function plan_for(agent, opts)
      opts = opts or {}
      opts.agent = agent
      opts.env = opts.env or { { name = "MODE", kind = "literal" }, { name = "API_KEY", kind = "prompt" } }
      local plan = E.plan(opts)
      plan.backend = "kubernetes"
      return plan
   end

   local function up(plan, opts)
      opts = opts or {}
      local lines = {}
      local root = opts.stage_root or stage_root()
      local res, msg, code = launch.up(plan, {
         backend = opts.backend or backend, detach = true, stage_root = root,
         literals = { { name = "MODE", value = LITERAL } }, secrets = { API_KEY = SECRET },
         progress = E.progress(lines), log = function(line) lines[#lines + 1] = line end,
      })
      return res, msg, code, root, lines
   end

   local function ns_of(plan) return "claude-bottle-" .. plan.slug end

   -- Every object of the bottle's kinds in its namespace, as the server holds them.
   local function everything(ns)
      local out = {}
      for _, kind in ipairs { { "v1", "pods" }, { "v1", "services" }, { "v1", "configmaps" }, { "v1", "secrets" },
                              { "networking.k8s.io/v1", "networkpolicies" }, { "v1", "serviceaccounts" } } do
         local path = require("bottle.backend.kubernetes.client").path(kind[1], kind[2], ns)
         local list = assert(api:get(path))
         for _, item in ipairs(list.items) do
            item.kind = item.kind or kind[2]
            out[#out + 1] = { resource = kind[2], name = item.metadata.name, object = item }
         end
      end
      return out
   end

   local function find(all, resource, name)
      for _, o in ipairs(all) do if o.resource == resource and o.name == name then return o.object end end
   end

   local function namespace_gone(plan)
      local ns, _, code = api:get("/api/v1/namespaces/" .. ns_of(plan))
      return ns == nil and code == "not_found"
   end

   local function labelled_namespaces()
      local list = assert(api:get("/api/v1/namespaces", { query = { labelSelector = "claude-bottle=1" } }))
      local names = {}
      for _, n in ipairs(list.items) do names[#names + 1] = n.metadata.name end
      return names
   end

   describe("a detached bottle", function()
      local plan, root, all

      setup(function()
         if unavailable then return end
         plan = plan_for("kube-e2e", { prompt = { text = "prompt text" } })
         local res, msg
         local _
         res, msg, _, root = up(plan)
         assert(res, msg)
         all = everything(ns_of(plan))
      end)

      it("has every object, accepted and defaulted by the server", function()
         if skip() then return end
         local ns = assert(api:get("/api/v1/namespaces/" .. ns_of(plan)))
         assert.equals(plan.slug, ns.metadata.labels["claude-bottle.slug"])
         assert.equals("restricted", ns.metadata.labels["pod-security.kubernetes.io/enforce"])
         for _, want in ipairs { { "networkpolicies", "default-deny" }, { "networkpolicies", "agent-egress" },
                                 { "networkpolicies", "pipelock-ingress" }, { "networkpolicies", "pipelock-egress" },
                                 { "secrets", "pipelock-ca" }, { "configmaps", "pipelock-config" },
                                 { "pods", "pipelock" }, { "services", "pipelock" }, { "secrets", "agent-env" },
                                 { "secrets", "agent-secrets" }, { "configmaps", "agent-files" }, { "pods", "agent" } } do
            local o = find(all, want[1], want[2])
            assert.is_table(o, want[1] .. "/" .. want[2] .. " is missing")
            assert.equals("1", o.metadata.labels["claude-bottle"], want[2])
            assert.is_string(o.metadata.uid)   -- stored by the server
         end
         -- the server's defaulting ran on what it stored
         local pod = find(all, "pods", "pipelock")
         assert.equals("File", pod.spec.containers[1].terminationMessagePolicy)
         assert.equals("Pending", pod.status.phase)
         local svc = find(all, "services", "pipelock")
         assert.matches("^10%.96%.%d+%.%d+$", svc.spec.clusterIP)
      end)

      it("says what the plan says: the config, the policies, the agent's names and resolver", function()
         if skip() then return end
         local cm = find(all, "configmaps", "pipelock-config")
         assert.equals(plan.pipelock.yaml, cm.data["pipelock.yaml"])
         assert.truthy(cm.data["pipelock.yaml"]:find("allowed.test", 1, true))
         local deny = find(all, "networkpolicies", "default-deny")
         assert.same({}, deny.spec.podSelector)
         assert.same({ "Ingress", "Egress" }, deny.spec.policyTypes)
         assert.is_nil(deny.spec.egress)
         local agent_policy = find(all, "networkpolicies", "agent-egress")
         assert.equals(1, #agent_policy.spec.egress)
         assert.same({ { protocol = "TCP", port = 8888 } }, agent_policy.spec.egress[1].ports)
         assert.equals("pipelock", agent_policy.spec.egress[1].to[1].podSelector.matchLabels["claude-bottle.role"])
         -- no policy opens port 53 to the agent
         for _, o in ipairs(all) do
            if o.resource == "networkpolicies" then
               local sel = o.object.spec.podSelector.matchLabels
               if sel and sel["claude-bottle.role"] == "agent" then
                  for _, rule in ipairs(o.object.spec.egress or {}) do
                     for _, p in ipairs(rule.ports or {}) do assert.are_not.equal(53, p.port) end
                  end
               end
            end
         end
         local pe = find(all, "networkpolicies", "pipelock-egress")
         local ports = {}
         for _, p in ipairs(pe.spec.egress[1].ports) do ports[#ports + 1] = p.port end
         assert.same(plan.egress.ports, ports)
         local except = {}
         for _, c in ipairs(pe.spec.egress[1].to[1].ipBlock.except) do except[c] = true end
         assert.is_true(except["169.254.0.0/16"] and except["10.96.0.0/16"], "metadata and service ranges refused")
         local agent = find(all, "pods", "agent")
         local svc = find(all, "services", "pipelock")
         assert.same({ { ip = svc.spec.clusterIP, hostnames = { plan.names.pipelock } } }, agent.spec.hostAliases)
         assert.equals("None", agent.spec.dnsPolicy)
         assert.same({ "127.0.0.1" }, agent.spec.dnsConfig.nameservers)
         assert.is_false(agent.spec.automountServiceAccountToken)
         for _, pod in ipairs { agent, find(all, "pods", "pipelock") } do
            for _, c in ipairs(pod.spec.containers) do
               assert.same({ "ALL" }, c.securityContext.capabilities.drop)
               assert.is_false(c.securityContext.allowPrivilegeEscalation)
               assert.equals("RuntimeDefault", c.securityContext.seccompProfile.type)
               -- no service-account token was mounted by admission
               for _, m in ipairs(c.volumeMounts or {}) do
                  assert.is_nil(m.mountPath:find("serviceaccount", 1, true))
               end
            end
         end
         local agent_files = find(all, "configmaps", "agent-files")
         assert.equals("prompt text", agent_files.data["prompt.md"])
         assert.equals(U.read(root .. "/" .. plan.slug .. "/ca.pem"), agent_files.data["ca.crt"])
      end)

      it("has no secret value in any object but the Secret meant for it, and the CA key only in pipelock's", function()
         if skip() then return end
         local ca_key = assert(U.read(root .. "/" .. plan.slug .. "/ca-key.pem"))
         assert.truthy(ca_key:find("EC PRIVATE KEY", 1, true))
         local function decoded(o)
            local parts = { cjson.encode(o) }
            for _, v in pairs(o.data or {}) do parts[#parts + 1] = base64.decode(v) or "" end
            return table.concat(parts, "\n")
         end
         local key_body = ca_key:match("KEY%-%-%-%-%-\n([^\n]+)")
         for _, o in ipairs(all) do
            local text = decoded(o.object)
            local where = o.resource .. "/" .. o.name
            if where ~= "secrets/agent-secrets" then assert.is_nil(text:find(SECRET, 1, true), where) end
            if where ~= "secrets/agent-env" then assert.is_nil(text:find(LITERAL, 1, true), where) end
            if where ~= "secrets/pipelock-ca" then assert.is_nil(text:find(key_body, 1, true), where) end
         end
         assert.equals(SECRET, base64.decode(find(all, "secrets", "agent-secrets").data.API_KEY))
         assert.equals(LITERAL, base64.decode(find(all, "secrets", "agent-env").data.MODE))
         assert.equals(ca_key, base64.decode(find(all, "secrets", "pipelock-ca").data["ca-key.pem"]))
         -- the CA Secret is mounted into pipelock only
         for _, name in ipairs { "agent", "pipelock" } do
            local uses = false
            for _, v in ipairs(find(all, "pods", name).spec.volumes or {}) do
               if v.secret and v.secret.secretName == "pipelock-ca" then uses = true end
            end
            assert.equals(name == "pipelock", uses, name)
         end
      end)

      it("is in `list`, with its Pods waiting for a node", function()
         if skip() then return end
         local bottles = assert(launch.list { backend = backend })
         local mine
         for _, b in ipairs(bottles) do if b.slug == plan.slug then mine = b end end
         assert.is_table(mine)
         assert.equals("kube-e2e", mine.agent)
         assert.equals("pending", mine.state)
         assert.truthy(mine.reason:find("no node scheduled it", 1, true))
         assert.is_number(mine.created)
      end)

      it("is not taken by cleanup: its launcher (this process) lives", function()
         if skip() then return end
         local report = assert(launch.cleanup { backend = backend, stage_root = root })
         for _, s in ipairs(report.slugs or {}) do assert.are_not.equal(plan.slug, s) end
      end)

      it("goes with `down`, and nothing of it is left", function()
         if skip() then return end
         local removed = assert(launch.down({ slug = plan.slug }, { backend = backend, stage_root = root }))
         assert.same({ plan.slug }, removed.slugs)
         assert.is_true(namespace_gone(plan))
         for _, n in ipairs(labelled_namespaces()) do assert.are_not.equal(ns_of(plan), n) end
         local pods = assert(api:get("/api/v1/pods", { query = { labelSelector = "claude-bottle.slug=" .. plan.slug } }))
         assert.equals(0, #pods.items)
         local secrets = assert(api:get("/api/v1/secrets", { query = { labelSelector = "claude-bottle.slug=" .. plan.slug } }))
         assert.equals(0, #secrets.items)
         assert.is_nil(core.stat(root .. "/" .. plan.slug))
      end)
   end)

   it("leaves nothing when a failure is injected at any step", function()
      if skip() then return end
      for _, step in ipairs { "namespace", "policies", "ca", "pipelock", "agent",
                              "ready (not waited for: BOTTLE_KUBE_WAIT=0)", "provision" } do
         local plan = plan_for("kube-fail")
         local res, msg, code, root = up(plan, { backend = E.failing_at(backend, step) })
         assert.is_nil(res, step)
         assert.equals("injected", code, step .. ": " .. tostring(msg))
         assert.is_true(namespace_gone(plan), step)
         assert.is_nil(core.stat(root .. "/" .. plan.slug), step)
      end
      assert.same({}, labelled_namespaces())
   end)

   it("waits for readiness a bounded time, says that no node scheduled the Pod, and leaves nothing", function()
      if skip() then return end
      local waiting = cluster:backend("token", { wait = true, ready_timeout = 2 })
      local plan = plan_for("kube-wait")
      local res, msg, code = up(plan, { backend = waiting })
      assert.is_nil(res)
      assert.equals("not_ready", code)
      assert.truthy(msg:find("pod pipelock is not ready after 2s: no node scheduled it", 1, true), msg)
      assert.is_true(namespace_gone(plan))
   end)

   it("finds with `cleanup` what a killed launch left, and removes it", function()
      if skip() then return end
      local root = stage_root()
      local kc = cluster:write_kubeconfig("config-killed-" .. core.random_hex(3), "token")
      local script = U.write(cluster.dir .. "/killed.lua", ([[
package.path = "lua/?.lua;lua/?/init.lua;./?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local core = require "bottle.core"
local E = require "testlib.e2e"
local plan = E.plan { agent = "kube-killed" }
local conn = assert(require("bottle.backend.kubernetes.kubeconfig").connection { paths = { %q } })
local b = assert(require("bottle.backend").new("kubernetes", { conn = conn, wait = false }))
require("bottle.launch").up(plan, { backend = b, detach = true, stage_root = %q,
   progress = function(name, fn, ...)
      if name == "agent" then io.stdout:write(plan.slug, "\n"); io.stdout:flush(); core.sleep(600) end
      return fn(...)
   end })
]]):format(kc, root))
      local child = assert(io.popen("echo $$; exec lua5.4 " .. U.q(script)))
      local pid = child:read("l")
      local slug = child:read("l")
      assert.truthy(slug and slug:match("^kube%-killed%-"), "the child did not get to the agent step")
      os.execute("kill -9 " .. pid)
      child:close()
      local found = assert(launch.cleanup { backend = backend, stage_root = root })
      local seen = false
      for _, s in ipairs(found.slugs) do if s == slug then seen = true end end
      assert.is_true(seen, "cleanup did not find " .. slug)
      assert.same({ root .. "/" .. slug }, found.stage_dirs)
      assert(launch.cleanup { backend = backend, stage_root = root, apply = true })
      local ns, _, code = api:get("/api/v1/namespaces/claude-bottle-" .. slug)
      assert.is_nil(ns)
      assert.equals("not_found", code)
      assert.is_nil(core.stat(root .. "/" .. slug))
   end)

   it("backs `plan --check` with a server-side dry run that stores nothing, and that refuses a bad object", function()
      if skip() then return end
      local plan = plan_for("kube-check")
      local results = assert(backend:check(plan))
      assert.is_true(#results >= 12)
      for _, r in ipairs(results) do assert.is_true(r.ok, r.kind .. " " .. r.name .. ": " .. tostring(r.detail)) end
      assert.is_true(namespace_gone(plan))
      local cms = assert(api:get("/api/v1/namespaces/default/configmaps"))
      for _, cm in ipairs(cms.items) do assert.are_not.equal("pipelock-config", cm.metadata.name) end
      plan.resources.agent.memory = -1
      results = assert(backend:check(plan))
      local refused
      for _, r in ipairs(results) do if not r.ok then refused = r end end
      assert.is_table(refused)
      assert.equals("Pod", refused.kind)
      assert.truthy(refused.detail:find("HTTP 422", 1, true), refused.detail)
   end)

   it("refuses in prepare, naming the verbs, a user whose RBAC is not enough, and creates nothing", function()
      if skip() then return end
      local nobody = cluster:backend("nobody")
      local plan = plan_for("kube-rbac")
      local res, msg, code = up(plan, { backend = nobody })
      assert.is_nil(res)
      assert.equals("not_ready", code)
      assert.truthy(msg:find("does not let you: create namespaces", 1, true), msg)
      assert.is_true(namespace_gone(plan))
      local checks = assert(nobody:doctor())
      assert.is_true(checks[1].ok)
      assert.is_false(checks[2].ok)
   end)

   it("carries the git gate: its Secret mounted into the gate only, its policies, the agent's gitconfig", function()
      if skip() then return end
      local dir = stage_root()
      assert(os.execute(("ssh-keygen -q -t ed25519 -N '' -C id -f %s/id_app && ssh-keygen -q -t ed25519 -N '' -C host"
         .. " -f %s/host_key"):format(dir, dir)))
      local host_key = U.read(dir .. "/host_key.pub"):match("^(%S+ %S+)")
      U.write(dir .. "/bottles.yaml", ([[
bottles:
  gated:
    git:
      - name: app
        upstream: ssh://git@upstream.test:2222/srv/git/app.git
        identity: %s/id_app
        host_key: "%s"
        extra_hosts:
          upstream.test: 192.0.2.10
        user_name: Gate Kube
        user_email: gate-kube@example.test
agents:
  kube-gate:
    bottle: gated
]]):format(dir, host_key), tonumber("600", 8))
      local m = assert(require("bottle.manifest").load { manifest = dir .. "/bottles.yaml", env = { HOME = dir, cwd = dir } })
      local plan, extras = require("bottle.plan").build { manifest = m, agent = "kube-gate", options = {
         backend = "kubernetes", home = dir, cwd = dir, env_names = {}, pipelock_image = E.PIPELOCK_IMAGE,
         agent_image = E.AGENT_IMAGE, git_gate_image = "claude-bottle-test/git-gate:latest" } }
      assert(plan, extras)
      -- the dry run first, then a real up
      for _, r in ipairs(assert(backend:check(plan))) do assert.is_true(r.ok, r.name .. ": " .. tostring(r.detail)) end
      local lines = {}
      local res, msg = launch.up(plan, { backend = backend, detach = true, stage_root = dir,
         identities = extras.identities, literals = {}, secrets = {}, progress = E.progress(lines),
         log = function(line) lines[#lines + 1] = line end })
      assert(res, msg)
      local all = everything(ns_of(plan))
      local key = U.read(dir .. "/id_app")
      local key_line = key:match("KEY%-%-%-%-%-\n([^\n]+)")
      for _, o in ipairs(all) do
         local text = cjson.encode(o.object)
         for _, v in pairs(o.object.data or {}) do text = text .. (base64.decode(v) or "") end
         if o.resource .. "/" .. o.name ~= "secrets/git-gate-files" then
            assert.is_nil(text:find(key_line, 1, true), o.resource .. "/" .. o.name .. " holds the identity")
         end
      end
      local gate_secret = find(all, "secrets", "git-gate-files")
      local found_key = false
      for _, v in pairs(gate_secret.data) do if base64.decode(v) == key then found_key = true end end
      assert.is_true(found_key)
      for _, name in ipairs { "agent", "pipelock", "git-gate" } do
         local uses = false
         for _, v in ipairs(find(all, "pods", name).spec.volumes or {}) do
            if v.secret and v.secret.secretName == "git-gate-files" then uses = true end
         end
         assert.equals(name == "git-gate", uses, name)
      end
      local gate = find(all, "pods", "git-gate")
      assert.same({ { ip = "192.0.2.10", hostnames = { "upstream.test" } } }, gate.spec.hostAliases)
      local svc = find(all, "services", "git-gate")
      local agent = find(all, "pods", "agent")
      assert.same({ ip = svc.spec.clusterIP, hostnames = { "git-gate", plan.names.git_gate } }, agent.spec.hostAliases[2])
      local agent_policy = find(all, "networkpolicies", "agent-egress")
      assert.same({ { protocol = "TCP", port = 9418 } }, agent_policy.spec.egress[2].ports)
      local ge = find(all, "networkpolicies", "git-gate-egress")
      assert.same({ { protocol = "TCP", port = 2222 } }, ge.spec.egress[1].ports)
      local last = ge.spec.egress[1].to[#ge.spec.egress[1].to]
      assert.equals("192.0.2.10/32", last.ipBlock.cidr)
      local gitconfig = find(all, "configmaps", "agent-files").data.gitconfig
      assert.truthy(gitconfig:find('[url "git://git-gate/app.git"]\n\tinsteadOf = "ssh://git@upstream.test:2222/srv/git/app.git"',
         1, true), gitconfig)
      assert.truthy(gitconfig:find('name = "Gate Kube"', 1, true), gitconfig)
      assert(launch.down({ slug = plan.slug }, { backend = backend, stage_root = dir }))
      assert.is_true(namespace_gone(plan))
      -- a failure injected at the gate's step leaves nothing either
      plan.slug = plan.slug:gsub("%-%x+$", "-" .. core.random_hex(3))
      res, msg = launch.up(plan, { backend = E.failing_at(backend, "git-gate"), detach = true, stage_root = dir,
         identities = extras.identities, literals = {}, secrets = {}, progress = E.progress(lines),
         log = function(line) lines[#lines + 1] = line end })
      assert.is_nil(res)
      assert.equals("git-gate: injected failure", msg)
      assert.is_true(namespace_gone(plan))
      assert.is_nil(core.stat(dir .. "/" .. plan.slug))
   end)

   it("carries the credential proxy: its value in its Secret only, mounted into it only, its policies", function()
      if skip() then return end
      local cred_proxy = require "bottle.cred_proxy"
      local MARK = "cbkube" .. core.random_hex(8)
      -- the launcher's environment, where the values come from; nginx's and
      -- the shell's special characters in them stay text
      local launcher_env = { E2E_KUBE_OAUTH = MARK .. [[-oauth $x ${y} "q" {b};]], E2E_KUBE_API = MARK .. "-api\\" }
      local plan = plan_for("kube-cred", { credentials = {
         { name = "anthropic", upstream = "https://allowed.test", value = "${E2E_KUBE_OAUTH}" },
         { name = "api", upstream = "https://allowed.test:8443", scheme = "Bearer", value = "${E2E_KUBE_API}",
           env = "E2E_API_URL" },
      } })
      local values = assert(cred_proxy.resolve(plan.credentials, { environ = function(k) return launcher_env[k] end }))
      for _, r in ipairs(assert(backend:check(plan))) do assert.is_true(r.ok, r.name .. ": " .. tostring(r.detail)) end
      local lines = {}
      local res, msg = launch.up(plan, { backend = backend, detach = true, stage_root = stage_root(),
         literals = {}, secrets = {}, credentials = values, progress = E.progress(lines),
         log = function(line) lines[#lines + 1] = line end })
      assert(res, msg)
      local all = everything(ns_of(plan))
      for _, want in ipairs { { "secrets", "cred-proxy-files" }, { "pods", "cred-proxy" }, { "services", "cred-proxy" },
                              { "networkpolicies", "cred-proxy-ingress" }, { "networkpolicies", "cred-proxy-egress" } } do
         local o = find(all, want[1], want[2])
         assert.is_table(o, want[1] .. "/" .. want[2] .. " is missing")
         assert.is_string(o.metadata.uid)
      end
      -- the value: in the proxy's Secret, nowhere else
      for _, o in ipairs(all) do
         local text = cjson.encode(o.object)
         for _, v in pairs(o.object.data or {}) do text = text .. "\n" .. (base64.decode(v) or "") end
         if o.resource .. "/" .. o.name ~= "secrets/cred-proxy-files" then
            assert.is_nil(text:find(MARK, 1, true), o.resource .. "/" .. o.name .. " holds the value")
         end
      end
      local secret = find(all, "secrets", "cred-proxy-files")
      assert.equals(cred_proxy.credentials(plan.credentials, values), base64.decode(secret.data["credentials.conf"]))
      assert.is_nil(base64.decode(secret.data["nginx.conf"]):find(MARK, 1, true))
      for _, name in ipairs { "agent", "pipelock", "cred-proxy" } do
         local uses = false
         for _, v in ipairs(find(all, "pods", name).spec.volumes or {}) do
            if v.secret and v.secret.secretName == "cred-proxy-files" then uses = true end
         end
         assert.equals(name == "cred-proxy", uses, name)
      end
      -- the proxy's Pod as the server stored it
      local pod = find(all, "pods", "cred-proxy")
      local c = pod.spec.containers[1]
      assert.equals(65534, c.securityContext.runAsUser)
      assert.is_true(c.securityContext.readOnlyRootFilesystem)
      assert.same({ "ALL" }, c.securityContext.capabilities.drop)
      assert.is_false(c.securityContext.allowPrivilegeEscalation)
      assert.equals("RuntimeDefault", c.securityContext.seccompProfile.type)
      assert.is_false(pod.spec.automountServiceAccountToken)
      assert.equals(cred_proxy.HEALTH_PATH, c.readinessProbe.httpGet.path)
      assert.is_string(c.resources.limits.memory)
      -- the policies: the agent to the proxy's port; the proxy from the agent
      -- only, out to its routes' ports outside the cluster, and DNS
      local agent_policy = find(all, "networkpolicies", "agent-egress")
      assert.same({ { protocol = "TCP", port = cred_proxy.PORT } }, agent_policy.spec.egress[2].ports)
      assert.equals("cred-proxy", agent_policy.spec.egress[2].to[1].podSelector.matchLabels["claude-bottle.role"])
      local ing = find(all, "networkpolicies", "cred-proxy-ingress")
      assert.equals(1, #ing.spec.ingress)
      assert.equals("agent", ing.spec.ingress[1].from[1].podSelector.matchLabels["claude-bottle.role"])
      local eg = find(all, "networkpolicies", "cred-proxy-egress")
      assert.same({ { protocol = "TCP", port = 443 }, { protocol = "TCP", port = 8443 } }, eg.spec.egress[1].ports)
      local except = {}
      for _, cidr in ipairs(eg.spec.egress[1].to[1].ipBlock.except) do except[cidr] = true end
      assert.is_true(except["169.254.0.0/16"] and except["10.96.0.0/16"], "metadata and service ranges refused")
      assert.same({ { protocol = "UDP", port = 53 }, { protocol = "TCP", port = 53 } }, eg.spec.egress[2].ports)
      -- the agent: the proxy's name, its variables, Claude Code's settings
      local agent = find(all, "pods", "agent")
      local svc = find(all, "services", "cred-proxy")
      assert.same({ ip = svc.spec.clusterIP, hostnames = { plan.names.cred_proxy } }, agent.spec.hostAliases[2])
      local env = {}
      for _, e in ipairs(agent.spec.containers[1].env) do env[e.name] = e.value end
      assert.equals(plan.cred_proxy.url .. "/anthropic", env.ANTHROPIC_BASE_URL)
      assert.equals(cred_proxy.PLACEHOLDER, env.CLAUDE_CODE_OAUTH_TOKEN)
      assert.equals(plan.cred_proxy.url .. "/api", env.E2E_API_URL)
      local settings = cjson.decode(find(all, "configmaps", "agent-files").data["claude.json"])
      assert.is_true(settings.hasCompletedOnboarding)
      for _, line in ipairs(lines) do assert.is_nil(line:find(MARK, 1, true), line) end
      assert(launch.down({ slug = plan.slug }, { backend = backend, stage_root = stage_root() }))
      assert.is_true(namespace_gone(plan))
      -- a failure injected at the proxy's step leaves nothing either
      plan.slug = plan.slug:gsub("%-%x+$", "-" .. core.random_hex(3))
      local root = stage_root()
      res, msg = launch.up(plan, { backend = E.failing_at(backend, "cred-proxy"), detach = true, stage_root = root,
         literals = {}, secrets = {}, credentials = values, progress = E.progress(lines),
         log = function(line) lines[#lines + 1] = line end })
      assert.is_nil(res)
      assert.equals("cred-proxy: injected failure", msg)
      assert.is_true(namespace_gone(plan))
      assert.is_nil(core.stat(root .. "/" .. plan.slug))
      -- and a hostile value is refused before anything is made, naming the route only
      plan.slug = plan.slug:gsub("%-%x+$", "-" .. core.random_hex(3))
      res, msg = launch.up(plan, { backend = backend, detach = true, stage_root = root, literals = {}, secrets = {},
         credentials = { anthropic = MARK .. "\nproxy_pass evil;", api = "x" }, progress = E.progress(lines),
         log = function(line) lines[#lines + 1] = line end })
      assert.is_nil(res)
      assert.truthy(msg:find("credential anthropic", 1, true), msg)
      assert.is_nil(msg:find(MARK, 1, true))
      assert.is_true(namespace_gone(plan))
   end)

   it("works from the command line: plan --check, up --detach, list, down", function()
      if skip() then return end
      local home = stage_root()
      local kc = cluster:write_kubeconfig("config-cli-" .. core.random_hex(3), "token")
      -- an OAuth token in the launcher's environment: the default bottle gets
      -- the anthropic route (read from a file by the shell, so that it is on
      -- no command line)
      local token = "cbkubecli" .. core.random_hex(8)
      local token_file = U.write(home .. "/token", token, tonumber("600", 8))
      local env = ("HOME=%s KUBECONFIG=%s BOTTLE_KUBE_WAIT=0 BOTTLE_AGENT_IMAGE=%s BOTTLE_PIPELOCK_IMAGE=%s XDG_STATE_HOME= "
         .. "XDG_CONFIG_HOME= NO_COLOR=1 CLAUDE_BOTTLE_OAUTH_TOKEN=\"$(cat %s)\" env -u CLAUDE_CODE_OAUTH_TOKEN ")
         :format(U.q(home), U.q(kc), E.AGENT_IMAGE, E.PIPELOCK_IMAGE, U.q(token_file))
      local function run(args)
         local p = assert(io.popen(env .. "lua5.4 bottle.lua " .. args .. " 2>&1; echo \"rc=$?\""))
         local out = p:read("a")
         p:close()
         return out, tonumber(out:match("rc=(%d+)%s*$"))
      end
      -- run from this checkout, a git work tree: its copy as the workspace is
      -- Docker's only, and refused before anything is made
      local out, rc = run("up --backend kubernetes --yes --detach </dev/null")
      assert.equals(1, rc, out)
      assert.truthy(out:find("cannot copy a workspace yet: pass --no-workspace", 1, true), out)
      out, rc = run("plan --backend kubernetes --check --no-workspace")
      assert.equals(0, rc, out)
      assert.truthy(out:find("0 refused by the server", 1, true), out)
      out, rc = run("up --backend kubernetes --yes --detach --no-workspace </dev/null")
      assert.equals(0, rc, out)
      local slug = out:match("\n(claude%-[0-9a-f]+)\n")
      assert.is_string(slug, out)
      assert.truthy(out:find("its Pods were not waited for", 1, true), out)
      assert.is_table(api:get("/api/v1/namespaces/claude-bottle-" .. slug))
      assert.is_nil(out:find(token, 1, true))
      -- the token from the launcher's environment is in the proxy's Secret, and in no other object
      local all = everything("claude-bottle-" .. slug)
      local held = {}
      for _, o in ipairs(all) do
         local text = cjson.encode(o.object)
         for _, v in pairs(o.object.data or {}) do text = text .. "\n" .. (base64.decode(v) or "") end
         if text:find(token, 1, true) then held[#held + 1] = o.resource .. "/" .. o.name end
      end
      assert.same({ "secrets/cred-proxy-files" }, held)
      assert.is_table(find(all, "pods", "cred-proxy"))
      out, rc = run("list --backend kubernetes")
      assert.equals(0, rc, out)
      assert.truthy(out:find(slug, 1, true), out)
      out, rc = run("down --backend kubernetes " .. slug)
      assert.equals(0, rc, out)
      local ns, _, code = api:get("/api/v1/namespaces/claude-bottle-" .. slug)
      assert.is_nil(ns)
      assert.equals("not_found", code)
      -- doctor reports a context that is not there as a failed check
      out, rc = run("doctor --backend kubernetes --context nope")
      assert.equals(1, rc, out)
      assert.truthy(out:find('FAIL kubeconfig%s+no context "nope"'), out)
      -- and up refuses it as bad usage before anything is made
      out, rc = run("up --backend kubernetes --context nope --yes --detach --no-workspace </dev/null")
      assert.equals(2, rc, out)
      assert.truthy(out:find('no context "nope"', 1, true), out)
   end)

   it("connects with a client certificate and with an exec credential plugin", function()
      if skip() then return end
      for _, user in ipairs { "cert", "exec" } do
         local b = cluster:backend(user)
         assert.is_table(assert(b:list()), user)
         local checks = assert(b:doctor())
         assert.is_true(checks[1].ok, user)
         assert.truthy(checks[1].detail:find("Kubernetes v1.", 1, true), checks[1].detail)
         assert.is_true(checks[2].ok, user .. ": " .. checks[2].detail)
      end
   end)
end)
