-- `make demo`: brings up a bottle offline with the locally built images
-- (images/test/build.sh), shows from inside the agent one allowed request,
-- one refused request and one refused credential leak, then tears it down.
-- Everything goes through the real `bottle` command and the real pipelock; the
-- upstream "internet" is the test server (allowed.test, denied.test) on the
-- bottle's egress network.
local ROOT = (arg and arg[0] or ""):match("^(.*)/scripts/[^/]+$") or "."
if ROOT:sub(1, 1) ~= "/" then ROOT = (os.getenv("PWD") or ".") .. "/" .. ROOT end
package.path = ROOT .. "/?.lua;" .. ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. package.path
package.cpath = ROOT .. "/build/?.so;" .. package.cpath
local core = require "bottle.core"
local E = require "testlib.e2e"

local q = require("testlib.util").q
local function say(fmt, ...) io.stdout:write(("\n== " .. fmt .. "\n"):format(...)) end

-- 1. The images (cached: a second run does not rebuild).
if not os.execute(q(ROOT .. "/images/test/build.sh")) then os.exit(1) end
local why = E.unavailable()
if why then
   io.stderr:write("demo: ", why, "\n")
   os.exit(1)
end

-- 2. A manifest with one bottle that allows allowed.test, and a policy that
--    lets pipelock reach the test server on Docker's private networks.
local work = core.mkdtemp("/tmp/claude-bottle-demo.")
local manifest = work .. "/bottles.yaml"
assert(core.write_file(manifest, [[
bottles:
  demo:
    egress:
      allowlist: [allowed.test]
agents:
  demo:
    bottle: demo
]], tonumber("644", 8)))
local policy = work .. "/test-network.lua"
assert(core.write_file(policy, ([[
-- The demo's "internet" is a container on a private Docker network: trust it.
return {
   config = function(cfg, ctx)
      cfg.trusted_domains = { "allowed.test" }
      cfg.ssrf = cfg.ssrf or {}
      cfg.ssrf.ip_allowlist = { %s }
      ctx.log("trusting allowed.test on Docker's private networks")
   end,
}
]]):format('"' .. table.concat(E.DOCKER_POOLS, '", "') .. '"'), tonumber("644", 8)))

local BOTTLE = table.concat({
   "cd", q(work), "&&", "env",
   "LUA_PATH=" .. q(ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;"),
   "LUA_CPATH=" .. q(ROOT .. "/build/?.so;;"),
   "BOTTLE_PIPELOCK_IMAGE=" .. q(E.PIPELOCK_IMAGE), "BOTTLE_AGENT_IMAGE=" .. q(E.AGENT_IMAGE),
   "BOTTLE_FIREWALL_IMAGE=" .. q(E.FIREWALL_IMAGE),
   "XDG_STATE_HOME=" .. q(work .. "/state"), "XDG_CONFIG_HOME=" .. q(work .. "/config"),
   "lua5.4", q(ROOT .. "/bin/bottle"),
}, " ")

local slug
local function finish(status)
   if slug then
      say("bottle down %s", slug)
      os.execute(BOTTLE .. " down " .. q(slug))
   end
   E.stop_upstream()
   core.rmtree(work)
   os.exit(status)
end

-- 3. Up, detached (the preflight and the step timings go to stderr).
E.start_upstream()
say("bottle up --detach --yes demo")
local p = assert(io.popen(BOTTLE .. " up --manifest " .. q(manifest) .. " --policy " .. q(policy)
                          .. " --detach --yes demo"))
local out = p:read("a")
local launched = p:close()
slug = out:match("([%w-]+)%s*$")
if not launched or not slug then
   io.stderr:write("demo: bottle up failed\n")
   slug = nil
   finish(1)
end
local plan = { slug = slug, names = { agent = "claude-bottle-" .. slug, egress_network = "claude-bottle-egress-" .. slug } }
E.connect_upstream(plan)

-- 4. From inside the agent.
local TOKEN = "ghp_" .. "Zq3xVb7Nw2Lk9Hd4Rt6Yp8Ms1Jc5Fg0AeUoI"   -- fake, GitHub-token-shaped
local function show(title, args)
   say("%s", title)
   io.stdout:write("agent$ curl ", table.concat(args, " "), "\n")
   local r = E.curl(plan, args)
   io.stdout:write(r.body, r.body:sub(-1) == "\n" and "" or "\n", r.stderr)
   io.stdout:write(("-> HTTP %d%s\n"):format(r.status, r.exit ~= 0 and (" (curl exit " .. r.exit .. ")") or ""))
   return r
end
local ok1 = show("allowed: HTTPS to allowed.test, through pipelock (TLS intercepted with the bottle's CA)",
                 { "https://allowed.test/hello" }).status == 200
local ok2 = show("refused: denied.test is not in the allowlist", { "http://denied.test/" }).status == 403
local ok3 = show("refused: a credential in an HTTPS POST body to an allowed host",
                 { "-X", "POST", "--data", "token=" .. TOKEN, "https://allowed.test/upload" }).status == 403
finish((ok1 and ok2 and ok3) and 0 or 1)
