-- The credential proxy's image in the layout the kubernetes backend gives
-- it, run for real: the control plane of kubernetes_e2e_spec.lua has no
-- node, so here the real dockerd stands in for the kubelet, with the same
-- mounts the Pod gets (the Secret's nginx.conf and entrypoint.sh read-only
-- at CONFIG_DIR, credentials.conf alone inside a tmpfs at RUN_DIR), the
-- same user, a read-only root and every capability dropped, and the
-- entrypoint's --mounted mode.  The real nginx must start, answer its
-- health path and serve the routes.  Pending without dockerd or the image.
local core = require "bottle.core"
local E = require "testlib.e2e"
local U = require "testlib.util"
local cred_proxy = require "bottle.cred_proxy"
local kcred = require "bottle.backend.kubernetes.cred_proxy"

local function unavailable()
   local why = E.unavailable()
   if why then return why end
   if not E.api():image_inspect(E.CRED_PROXY_IMAGE) then
      return E.CRED_PROXY_IMAGE .. " is not built: run images/test/cred-proxy.sh"
   end
   return nil
end
local why_not = unavailable()

describe("#e2e the credential proxy's image in its Kubernetes layout", function()
   local c, dir, name

   setup(function()
      if why_not then return end
      c = E.api()
      dir = core.mkdtemp("/tmp/claude-bottle-kube-cred.")
      name = "claude-bottle-test-kube-cred-" .. core.random_hex(4)
   end)

   teardown(function()
      if why_not then return end
      c:container_remove(name)
      core.rmtree(dir)
   end)

   it("starts nginx from the mounted files, writes the Pod's resolver, answers its health path and its routes", function()
      if why_not then pending(why_not) return end
      local plan = { credentials = {
         { name = "anthropic", host = "allowed.test", port = 443, header = "Authorization", scheme = "Bearer",
           oauth_beta = true },
      } }
      local files = assert(kcred.files(plan, { anthropic = "cbtest" .. core.random_hex(6) .. [[ $x {y}; "q"]] }))
      assert(core.mkdir(dir .. "/conf", tonumber("755", 8)))
      -- world-readable here (the Pod's are 0440 with its fsGroup): a test value
      U.write(dir .. "/conf/nginx.conf", files["nginx.conf"], tonumber("644", 8))
      U.write(dir .. "/conf/entrypoint.sh", files["entrypoint.sh"], tonumber("644", 8))
      U.write(dir .. "/credentials.conf", files["credentials.conf"], tonumber("644", 8))
      local uid = ("%d:%d"):format(kcred.UID, kcred.UID)
      assert(c:container_create(name, {
         Image = E.CRED_PROXY_IMAGE, User = uid,
         Entrypoint = { "/bin/sh" }, Cmd = { cred_proxy.ENTRYPOINT, "--mounted" },
         Labels = { [E.TEST_LABEL] = "1" },
         HostConfig = {
            NetworkMode = "none", ReadonlyRootfs = true, CapDrop = { "ALL" }, SecurityOpt = { "no-new-privileges" },
            Tmpfs = { [cred_proxy.RUN_DIR] = "rw,nosuid,nodev,noexec,size=16m,mode=0700,uid=65534,gid=65534" },
            Binds = { dir .. "/conf:" .. cred_proxy.CONFIG_DIR .. ":ro",
                      dir .. "/credentials.conf:" .. cred_proxy.CREDENTIALS_PATH .. ":ro" },
         },
      }))
      assert(c:container_start(name, name))
      local ready, last
      for _ = 1, 100 do
         last = c:exec(name, { "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                               "http://127.0.0.1:" .. cred_proxy.PORT .. cred_proxy.HEALTH_PATH }, { timeout_ms = 10000 })
         if last and last.exit == 0 and last.stdout == "200" then ready = true break end
         core.sleep(0.1)
      end
      local logs = c:container_logs(name, { tail = 20 }) or ""
      assert.is_true(ready, "not ready: " .. tostring(last and last.stderr) .. "\n" .. logs)
      local r = assert(c:exec(name, { "cat", cred_proxy.RESOLVER_PATH }, { timeout_ms = 10000 }))
      assert.matches("^resolver %d+%.%d+%.%d+%.%d+ ipv6=off valid=30s;\n$", r.stdout)
      -- a path that is no route's: refused by the proxy itself
      r = assert(c:exec(name, { "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                "http://127.0.0.1:" .. cred_proxy.PORT .. "/elsewhere/x" }, { timeout_ms = 10000 }))
      assert.equals("404", r.stdout)
      -- the route: forwarded, and with no network the upstream cannot be had
      r = assert(c:exec(name, { "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
                                "http://127.0.0.1:" .. cred_proxy.PORT .. "/anthropic/v1/messages" },
                        { timeout_ms = 30000 }))
      assert.truthy(r.stdout == "502" or r.stdout == "504", r.stdout)
      -- nothing of nginx's was written outside the tmpfs: the root is read-only
      r = assert(c:exec(name, { "sh", "-c", "touch /etc/x 2>/dev/null && echo wrote || echo refused" },
                        { timeout_ms = 10000 }))
      assert.equals("refused\n", r.stdout)
   end)
end)
