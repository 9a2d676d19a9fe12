-- The engine stops and starts while a bottle is up: do `list`, `down` and
-- `cleanup` still work, during the outage (a clear error) and after it?
--
--   lua5.4 reliability/engine_restart.lua [--runs 3]
--
-- The machine's own dockerd is never touched: this script starts a private
-- dockerd of its own (its own data root, exec root, socket and pid file under
-- a scratch directory, no iptables changes, no default bridge), copies the
-- test images into it, and stops and starts only that process, by its pid.
-- Each run: `bottle up --detach` against it, SIGTERM to dockerd, `list`,
-- `down`, `cleanup` while it is down, dockerd started again with the same
-- arguments, `list` (the bottle's state), `down` (odd runs) and `cleanup`, the
-- leftovers counted on the engine and on disk.  Needs root and dockerd.
local R = dofile(((arg and arg[0] or ""):match("^(.*)/[^/]+$") or ".") .. "/common.lua")
local core, cjson = R.core, R.cjson

local AGENT = "relrestart"
local opts = R.options(arg, { runs = 3 })
R.require_engine()

local engine = R.private_engine()
local host = engine.host
local version = engine.start()
R.say("private dockerd %s (pid %d) at %s", version, engine.pid, host)
engine.with_images()
local start_engine, stop_engine = engine.start, engine.stop

-- Leftovers on the private engine (labels) and on disk.
local function leftovers(w)
   local out = R.sh("DOCKER_HOST=" .. R.q(host) .. " docker ps -aq --filter label=claude-bottle.agent=" .. AGENT
                    .. "; DOCKER_HOST=" .. R.q(host) .. " docker network ls -q --filter label=claude-bottle.agent=" .. AGENT)
   local n = select(2, out:gsub("%S+", ""))
   return n + #(core.listdir(w.stage_root) or {})
end

local w = R.workdir(AGENT)
local env = { DOCKER_HOST = host }
local rows, failures = {}, 0
local started = os.date("!%Y-%m-%dT%H:%M:%SZ")
local ok, err = pcall(function()
   for run = 1, opts.runs do
      local up = R.bottle(w, R.up_args(w), env)
      assert(up.status == 0, "up failed: " .. up.stderr)
      local slug = up.stdout:match("([%w-]+)%s*$")
      stop_engine()
      local during = {}
      for _, args in ipairs { { "list" }, { "down", slug }, { "cleanup", "--yes" } } do
         local r = R.bottle(w, args, env)
         local clear = r.status ~= 0 and r.stderr:find("cannot reach the Docker Engine", 1, true) ~= nil
         during[#during + 1] = ("%s exit %s%s"):format(args[1], tostring(r.status), clear and " (clear)" or " (UNCLEAR)")
         if not clear then failures = failures + 1 end
      end
      start_engine()
      local list = R.bottle(w, { "list", "--json" }, env)
      local state = "?"
      for _, b in ipairs(cjson.decode(list.stdout ~= "" and list.stdout or "[]")) do
         if b.slug == slug then state = b.state end
      end
      -- odd runs remove it with `down`, even runs leave it to `cleanup`
      local down = run % 2 == 1 and R.bottle(w, { "down", slug }, env) or { status = 0, skipped = true, stderr = "" }
      local cleanup = R.bottle(w, { "cleanup", "--yes" }, env)
      local left = leftovers(w)
      if down.status ~= 0 or left > 0 then failures = failures + 1 end
      rows[#rows + 1] = ("| %d | %s | %s | %s | %s | %d |"):format(run, table.concat(during, ", "),
         state, down.skipped and "(not run)" or down.status == 0 and "ok"
            or ("exit " .. tostring(down.status) .. ": " .. down.stderr:gsub("\n", " ")),
         cleanup.status == 0 and "ok" or "failed", left)
      R.say("run %d: state after restart %s, down %s, leftovers %d", run, state, tostring(down.status), left)
   end
end)

R.remove_workdir(w)
engine.close()
print(("# reliability/engine_restart.lua --runs %d (%s, %s; a private dockerd %s)"):format(opts.runs, started,
                                                                                        R.version(), version))
print("| run | while dockerd is down | state after the restart | down | cleanup --yes | leftovers |")
print("|---|---|---|---|---|---|")
for _, r in ipairs(rows) do print(r) end
if not ok then
   print("ERROR: " .. tostring(err))
   os.exit(2)
end
os.exit(failures == 0 and 0 or 1)
