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
-- Also: the engine's memory per bottle (the resident memory of dockerd,
-- containerd and the containerd shims, before and with the bottles up,
-- divided by the bottles), and each sidecar's and agent's own memory (the
-- Engine's one-shot stats: usage less the page cache, as `docker stats`
-- shows it).
--
-- The bottles' networks are on subnets from the launcher's own pool
-- (bottle.subnets: a /29 and a /28 each), so the engine's default address
-- pools (about 30 networks, 15 bottles) no longer limit how many fit.
-- --private-engine runs the same test on a private dockerd of this script's
-- own (reliability/common.lua).  That engine may not touch the machine's
-- iptables, whose FORWARD policy (set by the machine's own dockerd) drops
-- traffic between its containers: the requests from inside are not checked
-- there, everything else is.
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

-- Resident memory (KiB) of the engine's processes on this host: dockerd,
-- containerd and every containerd shim (one per container).
local ENGINE_COMMS = { dockerd = true, containerd = true, ["containerd-shim"] = true,
                       ["containerd-shim-runc-v2"] = true }
local function engine_rss()
   local total, shims = 0, 0
   for _, pid in ipairs(core.listdir("/proc") or {}) do
      if pid:match("^%d+$") then
         local st = R.read("/proc/" .. pid .. "/status")
         local comm = st and st:match("^Name:%s*(%S+)")
         if comm and ENGINE_COMMS[comm] then
            total = total + (tonumber(st:match("VmRSS:%s*(%d+)")) or 0)
            if comm:find("shim", 1, true) then shims = shims + 1 end
         end
      end
   end
   return total, shims
end

-- A container's memory as `docker stats` shows it (bytes): usage less the
-- inactive page cache, from the engine's one-shot stats.
local function container_memory(list)
   local calls = {}
   for i, name in ipairs(list) do
      calls[i] = { "stats of " .. name, "GET", "/containers/" .. name .. "/stats",
                   { query = { stream = false, ["one-shot"] = true }, timeout_ms = 60000 } }
   end
   local out = {}
   for i, r in ipairs(E.api():many(calls)) do
      local m = r[1] and r[1].memory_stats
      if type(m) == "table" and m.usage then
         local st = type(m.stats) == "table" and m.stats or {}
         out[i] = m.usage - (st.inactive_file or st.total_inactive_file or st.cache or 0)
      end
   end
   return out
end

local upstream_was_running = (function()
   local info = E.api():container_inspect(E.UPSTREAM)
   return info and info.State and info.State.Running
end)()
E.start_upstream()
local w = R.workdir(AGENT)
local started = os.date("!%Y-%m-%dT%H:%M:%SZ")

local engine_before, shims_before = engine_rss()

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
-- A launch on a loaded engine may wait minutes per call (patience.lua):
-- the launchers get twenty minutes in all.
while pending > 0 and core.monotonic() - t0 < 1200 do
   pending = 0
   for _, p in ipairs(launchers) do
      if not p.done then
         if R.running(p.pid) then pending = pending + 1 else p.done = core.monotonic() - t0 end
      end
   end
   core.sleep(0.02)
end

-- The launcher's last "bottle: ..." line (teardown lines may follow it).
local function last_message(err)
   local last
   for line in err:gmatch("bottle: ([^\n]*)") do last = line end
   return last
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
                                msg = last_message(err) or ("exit " .. tostring(status)) }
   end
   os.remove(p.stdout)
   os.remove(p.stderr)
end
local up_times = {}
for _, b in ipairs(up) do up_times[#up_times + 1] = b.seconds end
local all_returned = R.max(up_times)
R.say("%d of %d up; last launcher returned after %.2fs", #up, opts.bottles, all_returned)

-- The engine's and the bottles' own memory, with every bottle up.
local engine_after, shims_after = engine_rss()
local mem = { agent = {}, pipelock = {} }
do
   local names, roles = {}, {}
   for _, b in ipairs(up) do
      names[#names + 1], roles[#roles + 1] = b.names.agent, "agent"
      names[#names + 1], roles[#roles + 1] = "claude-bottle-pipelock-" .. b.slug, "pipelock"
   end
   for i, bytes in pairs(container_memory(names)) do
      local t = mem[roles[i]]
      t[#t + 1] = bytes / 1024
   end
end

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
local seen_slug, seen_name, collisions = {}, {}, {}
for _, b in ipairs(up) do
   if seen_slug[b.slug] then collisions[#collisions + 1] = "slug " .. b.slug end
   seen_slug[b.slug] = true
end
for _, x in ipairs(assert(c:container_list { label = { "claude-bottle.agent=" .. AGENT } })) do
   local name = x.Names[1]
   if seen_name[name] then collisions[#collisions + 1] = "container " .. name end
   seen_name[name] = true
end
-- every pair of the bottles' subnets: none may share an address
local subnets = require "bottle.subnets"
local nets = {}
for _, n in ipairs(assert(c:network_list { label = { "claude-bottle.agent=" .. AGENT } })) do
   for _, cfg in ipairs(n.IPAM and n.IPAM.Config or {}) do
      local p = cfg.Subnet and subnets.parse(cfg.Subnet)
      if p then
         for _, other in ipairs(nets) do
            if subnets.overlaps(p, other.p) then
               collisions[#collisions + 1] = ("subnet %s of %s overlaps %s of %s"):format(cfg.Subnet, n.Name,
                  other.subnet, other.name)
            end
         end
         nets[#nets + 1] = { p = p, subnet = cfg.Subnet, name = n.Name }
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
local per = #up > 0 and (engine_after - engine_before) / #up or 0
print(("| engine memory per bottle (dockerd + containerd + shims, RSS growth / bottles) | %.0f KiB"
   .. " (%d to %d MiB, %d to %d shims) |")
   :format(per, engine_before // 1024, engine_after // 1024, shims_before, shims_after))
print(("| pipelock sidecar memory per bottle, median / max | %.0f KiB / %.0f KiB |"):format(R.median(mem.pipelock),
   R.max(mem.pipelock)))
print(("| agent container memory per bottle (keep-alive only), median / max | %.0f KiB / %.0f KiB |"):format(
   R.median(mem.agent), R.max(mem.agent)))
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
