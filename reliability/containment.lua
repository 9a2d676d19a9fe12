-- Containment figure: every attempt of reliability/probes/containment.lua
-- from inside a real bottle, with what happened, and the count of attempts,
-- escapes and known limits (spec/containment_spec.lua asserts the same).
--
--   lua5.4 reliability/containment.lua [--try-inhibit-ipv4]
--
-- --try-inhibit-ipv4 is how bug 2's fix (docs/reliability.md) was measured
-- before it was in the backend: this process's docker backend creates the
-- internal network with com.docker.network.bridge.inhibit_ipv4=true (so the
-- host holds no address on the agent's network).  The backend does so
-- itself since commit e7433e5.
--
-- Needs root (the DNS check captures on the host's interfaces), python3 and
-- ip on the host, dockerd and the test images.
local R = dofile(((arg and arg[0] or ""):match("^(.*)/[^/]+$") or ".") .. "/common.lua")
local C = require "reliability.probes.containment"
local opts = R.options(arg, { try_inhibit_ipv4 = false })
R.require_engine()
if opts.try_inhibit_ipv4 then
   local networks = require "bottle.backend.docker.networks"
   local calls = networks.calls
   networks.calls = function(state)
      local list = calls(state)
      for _, call in ipairs(list) do
         local spec = call[4].json
         if spec.Internal then
            spec.Options = spec.Options or {}
            spec.Options["com.docker.network.bridge.inhibit_ipv4"] = "true"
         end
      end
      return list
   end
end

local started = os.date("!%Y-%m-%dT%H:%M:%SZ")
local ctx = C.setup { agent = "relcontain" }
local ok, results = pcall(C.run, ctx)
C.teardown(ctx)
if not ok then
   io.stderr:write("containment: ", tostring(results), "\n")
   os.exit(2)
end

local n = C.count(results)
print(("# reliability/containment.lua%s (%s, %s)"):format(opts.try_inhibit_ipv4 and " --try-inhibit-ipv4" or "",
                                                         started, R.version()))
print(("attempts %d, escapes %d, known limits %d, not measured %d"):format(n.attempts, n.escapes, n.known_limits,
                                                                          n.unmeasured))
print("| result | category | attempt | detail |")
print("|---|---|---|---|")
for _, r in ipairs(results) do
   local verdict = r.unmeasured and "NOT MEASURED" or r.escaped and (r.known_limit and "known limit" or "ESCAPE")
                   or "blocked"
   print(("| %s | %s | %s | %s |"):format(verdict, r.category, r.what, tostring(r.detail):gsub("|", "/"):gsub("\n", " ")))
end
os.exit((n.escapes == 0 and n.unmeasured == 0) and 0 or 1)
