-- Load: many bottles brought up at once by parallel `bottle up --detach --yes`
-- calls (each its own launcher process, as users would start them), checked
-- from inside each agent, then all brought down at once.
--
--   lua5.4 reliability/load.lua [--bottles 20] [--private-engine]
--
-- Figures: how many came up, the time until the last launcher returned (each
-- returns once its pipelock is healthy and the agent provisioned), the peak
-- memory of a launcher (/usr/bin/time -v, maximum resident set size), the
-- allowed (200) and denied (403) request from inside every agent, collisions
-- (slugs, container names, network subnets: must be none), the time to bring
-- all down, and what is left afterwards (must be nothing).  A launch the
-- engine refuses is listed with its message and must leave nothing either.
--
-- Docker's default address pools hold about 30 bridge networks, and a bottle
-- takes two: on an engine without `default-address-pools` in daemon.json, 20
-- bottles do not fit.  --private-engine runs the same test on a private
-- dockerd of this script's own (reliability/common.lua) configured with
-- default-address-pools 10.213.0.0/16 in /26 blocks.  That engine may not
-- touch the machine's iptables, whose FORWARD policy (set by the machine's
-- own dockerd) drops traffic between its containers: the requests from inside
-- are not checked there, everything else is.
local R = dofile(((arg and arg[0] or ""):match("^(.*)/[^/]+$") or ".") .. "/common.lua")
local core, E, cjson = R.core, R.E, R.cjson

local AGENT = "relload"
local opts = R.options(arg, { bottles = 20, private_engine = false })
R.require_engine()
local engine, extra_env
if opts.private_engine then
   engine = R.private_engine { address_pools = { { base = "10.213.0.0/16", size = 26 } } }
   engine.start()
   engine.with_images()
   extra_env = { DOCKER_HOST = engine.host }
   -- this process's own engine calls (spec.helpers.e2e, the docker backend) go there too
   local getenv = os.getenv
   os.getenv = function(name) -- luacheck: ignore 122
      if name == "DOCKER_HOST" then return engine.host end
      return getenv(name)
   end
end
if not io.open("/usr/bin/time") then
   io.stderr:write("load: needs /usr/bin/time (Debian package `time`) for the launchers' peak memory\n")
   os.exit(2)
end

local upstream_was_running = (function()
   local info = E.api():container_inspect(E.UPSTREAM)
   return info and info.State and info.State.Running
end)()
E.start_upstream()
local w = R.workdir(AGENT)
local started = os.date("!%Y-%m-%dT%H:%M:%SZ")

-- 1. N launchers at once.
local launchers = {}
local t0 = core.monotonic()
for i = 1, opts.bottles do
   local timefile = w.dir .. "/time." .. i
   local p = R.bottle_bg(w, R.up_args(w), extra_env, "/usr/bin/time -v -o " .. R.q(timefile) .. " ")
   p.timefile = timefile
   launchers[i] = p
end
local pending = opts.bottles
while pending > 0 and core.monotonic() - t0 < 600 do
   pending = 0
   for _, p in ipairs(launchers) do
      if not p.done then
         if R.running(p.pid) then pending = pending + 1 else p.done = core.monotonic() - t0 end
      end
   end
   core.sleep(0.02)
end

local up, refused, rss = {}, {}, {}
for i, p in ipairs(launchers) do
   local out, err = R.read(p.stdout) or "", R.read(p.stderr) or ""
   local t = R.read(p.timefile) or ""
   local kb = tonumber(t:match("Maximum resident set size %(kbytes%): (%d+)"))
   local status = tonumber(t:match("Exit status: (%d+)"))
   if kb then rss[#rss + 1] = kb end
   local slug = out:match("([%w-]+)%s*$")
   if status == 0 and slug then
      up[#up + 1] = { slug = slug, seconds = p.done, names = {
         agent = "claude-bottle-" .. slug, egress_network = "claude-bottle-egress-" .. slug } }
   else
      refused[#refused + 1] = { i = i, seconds = p.done,
                                msg = err:match("bottle: ([^\n]*)\n?$") or ("exit " .. tostring(status)) }
   end
   os.remove(p.stdout)
   os.remove(p.stderr)
end
local up_times = {}
for _, b in ipairs(up) do up_times[#up_times + 1] = b.seconds end
local all_returned = R.max(up_times)
R.say("%d of %d up; last launcher returned after %.2fs", #up, opts.bottles, all_returned)

-- 2. Each bottle: listed as running, allowed and denied from inside.
local listing = R.bottle(w, { "list", "--json" }, extra_env)
local listed = {}
for _, b in ipairs(cjson.decode(listing.stdout ~= "" and listing.stdout or "[]")) do listed[b.slug] = b end
local healthy, behaving, problems = 0, 0, {}
for _, b in ipairs(up) do
   local l = listed[b.slug]
   if l and l.state == "running" then healthy = healthy + 1 else problems[#problems + 1] = b.slug .. " not running" end
   if engine then goto next_bottle end
   E.connect_upstream(b)
   local ok = E.curl(b, { "https://allowed.test/" .. b.slug })
   local body = ok.status == 200 and cjson.decode(ok.body) or {}
   local denied = E.curl(b, { "http://denied.test/" })
   if ok.status == 200 and body.path == "/" .. b.slug and denied.status == 403 then
      behaving = behaving + 1
   else
      problems[#problems + 1] = ("%s: allowed %d, denied %d %s"):format(b.slug, ok.status, denied.status, ok.stderr)
   end
   ::next_bottle::
end

-- 3. Collisions: slugs, container names, subnets.
local c = E.api()
local seen_slug, seen_name, seen_subnet, collisions = {}, {}, {}, {}
for _, b in ipairs(up) do
   if seen_slug[b.slug] then collisions[#collisions + 1] = "slug " .. b.slug end
   seen_slug[b.slug] = true
end
for _, x in ipairs(assert(c:container_list { label = { "claude-bottle.agent=" .. AGENT } })) do
   local name = x.Names[1]
   if seen_name[name] then collisions[#collisions + 1] = "container " .. name end
   seen_name[name] = true
end
for _, n in ipairs(assert(c:network_list { label = { "claude-bottle.agent=" .. AGENT } })) do
   local info = c:network_inspect(n.Id)
   for _, cfg in ipairs(info and info.IPAM and info.IPAM.Config or {}) do
      if cfg.Subnet then
         if seen_subnet[cfg.Subnet] then collisions[#collisions + 1] = "subnet " .. cfg.Subnet end
         seen_subnet[cfg.Subnet] = n.Name
      end
   end
end

-- 4. All down at once.
local downs = {}
local t1 = core.monotonic()
for i, b in ipairs(up) do downs[i] = R.bottle_bg(w, { "down", b.slug }, extra_env) end
for _, p in ipairs(downs) do R.wait_gone(p.pid, 120) end
local down_seconds = core.monotonic() - t1
local down_failed = 0
for _, p in ipairs(downs) do
   local err = R.read(p.stderr) or ""
   if not err:find("removed", 1, true) then down_failed = down_failed + 1; problems[#problems + 1] = "down: " .. err end
   os.remove(p.stdout)
   os.remove(p.stderr)
end
local left = R.leftovers(AGENT, w.stage_root)
if left.total > 0 then R.force_clean(AGENT, w.stage_root) end
if not upstream_was_running then E.stop_upstream() end
R.remove_workdir(w)
if engine then engine.close() end

print(("# reliability/load.lua --bottles %d%s (%s, %s%s)"):format(opts.bottles,
   engine and " --private-engine" or "", started, R.version(),
   engine and ("; a private dockerd " .. tostring(engine.version) .. ", default-address-pools 10.213.0.0/16 /26") or ""))
print("| figure | value |")
print("|---|---|")
print(("| bottles up / asked | %d / %d |"):format(#up, opts.bottles))
print(("| time until the last launcher returned (all healthy) | %.2fs |"):format(all_returned))
print(("| launcher up time, median / max | %.2fs / %.2fs |"):format(R.median(up_times), all_returned))
print(("| launcher peak memory (max RSS), median / max | %d KiB / %d KiB |"):format(R.median(rss), R.max(rss)))
print(("| running in `bottle list` | %d |"):format(healthy))
print(("| allowed 200 and denied 403 from inside | %s |"):format(engine and "not checked (private engine)" or behaving))
print(("| collisions (slug, container name, subnet) | %d |"):format(#collisions))
print(("| time to bring all down (parallel `bottle down`) | %.2fs |"):format(down_seconds))
print(("| down failures | %d |"):format(down_failed))
print(("| leftovers after down (containers, networks, stage dirs) | %d |"):format(left.total))
for _, r in ipairs(refused) do print(("- refused launch %d (after %.2fs): %s"):format(r.i, r.seconds or 0, r.msg)) end
for _, p in ipairs(problems) do print("- problem: " .. p) end
for _, x in ipairs(collisions) do print("- collision: " .. x) end
for _, n in ipairs(left.names) do print("- leftover: " .. n) end
local ok = #up == opts.bottles and healthy == #up and (engine or behaving == #up) and #collisions == 0 and left.total == 0
   and down_failed == 0
os.exit(ok and 0 or 1)
