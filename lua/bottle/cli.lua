-- The command line: argparse commands over the manifest, policy, plan and
-- launch modules.  Exit status: 0 success, 1 failure, 2 bad usage or
-- invalid input (a manifest or a policy).
local argparse = require "argparse"
local cjson = require "cjson"
local core = require "bottle.core"
local sanitize = require "bottle.sanitize"

local M = {}

M.VERSION = core._VERSION
local PROG = "bottle"

-- Codes that mean "your input is wrong" rather than "something failed".
local INPUT_CODES = { invalid_manifest = true, invalid_policy = true, usage = true,
                      invalid_host = true, invalid_config = true, env_unset = true,
                      invalid_credential = true }

local function exit_code(code)
   return INPUT_CODES[code] and 2 or 1
end

-- Every message may quote a file, a policy or the engine: sanitised.
local function say(fmt, ...)
   io.stderr:write(PROG, ": ", sanitize.text(fmt:format(...)), "\n")
end

local function colour_fn(stream_fd)
   if os.getenv("NO_COLOR") or not core.isatty(stream_fd) then return nil end
   return function(text, kind)
      if kind == "label" then return "\27[1m" .. text .. "\27[0m" end
      if kind == "warning" then return "\27[1;31m" .. text .. "\27[0m" end
      return text
   end
end

local function version_text()
   return ("claude-bottle %s (bottle.core %s, libyaml %s, libcurl %s, %s)"):format(
      M.VERSION, core._VERSION, core._YAML_VERSION, core._CURL_VERSION, core._LUA_VERSION)
end

local function build_parser()
   local p = argparse(PROG, "Run a coding agent in a bottle whose only way out is its pipelock egress proxy.")
      :add_help_command(false)
   p:flag("--version", "Print the versions of claude-bottle and the libraries it links.")
   p:command_target("command")
   p:require_command(false)

   -- Every command that talks to a backend (or plans for one) takes --backend.
   local function backend_opt(c)
      c:option("--backend", "The backend: " .. table.concat(require("bottle.backend").names(), ", ")
         .. " (default: the config file's `backend:`, else docker).")
      c:option("--context", "The kubeconfig context (kubernetes backend; default: the config file's `kube_context:`,"
         .. " else the kubeconfig's current-context).")
      return c
   end

   local function manifest_opts(c)
      backend_opt(c)
      c:option("--manifest", "Read this manifest only (trusted fully).")
      c:option("--policy", "A policy script (repeatable); runs after those in the policies directory.")
         :count("*")
      c:argument("agent", "The agent to launch (default: claude)."):args("?")
   end

   -- The user's project in the bottle (bottle.workspace).
   local function workspace_opts(c)
      c:mutex(
         c:option("--workspace", "Copy this project into the bottle (default: the git work tree of the "
            .. "current directory, if any)."):argname("DIR"),
         c:flag("--no-workspace", "Start the agent without the project."))
      c:option("--workspace-mode", "copy (default: the agent's pushes come home scanned) or mount (a "
         .. "read-write bind mount of the project: the agent can then write on this machine)."):argname("MODE")
         :choices { "copy", "mount" }
   end

   local plan = p:command("plan", "Show the preflight: exactly what `up` would run.")
   manifest_opts(plan)
   workspace_opts(plan)
   plan:flag("--json", "Print the plan as JSON on stdout (no secret values); the preflight goes to stderr.")
   plan:flag("--check", "Send every object to the backend's server as a dry run (kubernetes: dryRun=All).")

   local render = p:command("render", "Print the pipelock YAML exactly as it would be written.")
   manifest_opts(render)

   local up = p:command("up", "Launch an agent in a new bottle.")
   manifest_opts(up)
   workspace_opts(up)
   up:flag("--dry-run", "Show the preflight and stop; nothing is created.")
   up:flag("--yes", "Do not ask launch this agent? [y/N].")
   up:flag("--detach", "Leave the bottle running instead of attaching; `down` removes it.")
   up:flag("--no-pull", "Do not pull or build a missing image: say the command instead.")

   local down = backend_opt(p:command("down", "Remove a bottle and everything it created."))
   down:argument("slug", "The bottle's slug (see `list`)."):args("?")
   down:flag("--all", "Remove every bottle.")
   down:flag("--discard", "Do not bring the agent's pushes home first: drop them with the bottle.")

   local sync = backend_opt(p:command("sync", "Bring a bottle's accepted pushes home as bottle/SLUG/BRANCH."))
   sync:argument("slug", "The bottle's slug.")

   local list = backend_opt(p:command("list", "List the running bottles."))
   list:flag("--json", "Print JSON.")

   local logs = backend_opt(p:command("logs", "Show a bottle's pipelock decision log (and its credential proxy's access log)."))
   logs:argument("slug", "The bottle's slug.")
   logs:flag("--follow", "Keep printing new lines.")
   logs:flag("--json", "Print the raw JSON lines.")

   -- live egress changes (bottle.egress_change)
   for _, kind in ipairs { "allow", "deny" } do
      local c = backend_opt(p:command(kind, kind == "allow"
         and "Let a running bottle reach more hosts now, without a restart (the manifest is not changed)."
         or "Stop a running bottle reaching hosts now, without a restart (the manifest is not changed)."))
      c:argument("slug", "The bottle's slug (see `list`).")
      c:argument("host", "Host names, as in egress.allowlist (*.example.com for subdomains)."):args("+")
      c:option("--policy", "A policy script (repeatable); runs after those in the policies directory.")
         :count("*")
      c:flag("--yes", "Do not ask change this bottle's egress now? [y/N].")
   end
   local egress = backend_opt(p:command("egress", "Show a running bottle's effective allowlist and passthrough."))
   egress:argument("slug", "The bottle's slug.")
   egress:flag("--json", "Print JSON.")

   local cleanup = backend_opt(p:command("cleanup", "Find and remove what an interrupted launch left behind."))
   cleanup:flag("--yes", "Remove what was found without asking.")

   backend_opt(p:command("doctor", "Check the engine and the images."))

   local imgs = backend_opt(p:command("images", "List the images each role uses, present or missing, with digests."))
   imgs:flag("--accept", "Take the new digest of every tag whose digest changed (see `up`).")
   imgs:flag("--json", "Print JSON.")
   return p
end

-- The places the launcher reads, from the environment.
local function environment()
   return {
      HOME = os.getenv("HOME") or "/",
      XDG_CONFIG_HOME = os.getenv("XDG_CONFIG_HOME"),
      cwd = core.getcwd and core.getcwd() or os.getenv("PWD"),
   }
end

-- The user config file (bottle.config), read once.
local user_config_cache
local function user_config()
   if not user_config_cache then
      local cfg, err, code = require("bottle.config").load(environment())
      if not cfg then return nil, err, code end
      user_config_cache = cfg
   end
   return user_config_cache
end

-- The backend's options from the user config: the images, the network pool
-- and where the shipped Dockerfiles are.
local function backend_opts()
   local cfg, err, code = user_config()
   if not cfg then return nil, err, code end
   local config = require "bottle.config"
   return { images = config.images(cfg), network_pool = cfg.network_pool,
            network_pool_file = cfg.network_pool and cfg.file, dockerfiles = cfg.dockerfiles }
end

-- The workspace the command line asks for: {dir, explicit, mode} | nil |
-- nil, message, "usage".  Without --workspace it is the git work tree of the
-- current directory, if there is one.
local function workspace_option(args, cwd)
   if args.no_workspace then return nil end
   local dir, explicit = args.workspace, args.workspace ~= nil
   if dir then
      if dir:sub(1, 1) ~= "/" then dir = (cwd or ".") .. "/" .. dir end
      local st = core.stat(dir)
      if not st or (st.type ~= "dir" and st.type ~= "link") then
         return nil, ("--workspace %s: not a directory"):format(args.workspace), "usage"
      end
   else
      dir = cwd and require("bottle.workspace.git").toplevel(cwd)
      if not dir then
         if args.workspace_mode then
            return nil, "--workspace-mode: the current directory is not in a git work tree; name one with --workspace DIR",
               "usage"
         end
         return nil
      end
   end
   return { dir = dir, explicit = explicit, mode = args.workspace_mode }
end

-- manifest + policies + plan, the common front of plan/render/up.
local function make_plan(args)
   local manifest_mod = require "bottle.manifest"
   local policy = require "bottle.policy"
   local planner = require "bottle.plan"
   local env = environment()

   local manifest, err, code = manifest_mod.load { manifest = args.manifest, env = env }
   if not manifest then return nil, err, code end

   local paths, perr, pcode = policy.discover(env)
   if not paths then return nil, perr, pcode end
   for _, f in ipairs(args.policy or {}) do paths[#paths + 1] = f end
   local policies, lerr, lcode = policy.load(paths)
   if not policies then return nil, lerr, lcode end

   local bopts, cerr, ccode = backend_opts()
   if not bopts then
      policy.close(policies)
      return nil, cerr, ccode
   end
   local ws, werr, wcode = workspace_option(args, env.cwd)
   if werr then
      policy.close(policies)
      return nil, werr, wcode
   end
   -- the policies' processes end once the plan is made, whatever happened
   local images = bopts.images
   local results = table.pack(planner.build {
      manifest = manifest, agent = args.agent, policies = policies,
      options = { backend = args.backend, cwd = env.cwd, home = env.HOME, env_names = core.env_names(),
                  pipelock_image = images.pipelock, agent_image = images.agent,
                  git_gate_image = images.git_gate, firewall_image = images.firewall,
                  cred_proxy_image = images.cred_proxy, workspace = ws },
   })
   policy.close(policies)
   -- the workspace's files are chosen now: the preflight shows them
   if results[1] and args.command ~= "render" then
      local sel, serr, scode = require("bottle.workspace").choose(results[1])
      if serr then return nil, serr, scode end
      results[2].workspace = sel
   end
   return table.unpack(results, 1, results.n)
end

-- The policies a launch would run (the policies directory, then --policy).
local function load_policies(args)
   local policy = require "bottle.policy"
   local paths, perr, pcode = policy.discover(environment())
   if not paths then return nil, perr, pcode end
   for _, f in ipairs(args.policy or {}) do paths[#paths + 1] = f end
   return policy.load(paths)
end

-- JSON of the plan: the same table, with the YAML and config kept (they
-- hold no secrets).  Debian's lua-cjson 2.1.0 writes an empty list as {}.
local function plan_json(plan)
   return sanitize.json(cjson.encode(plan))
end

local commands = {}

-- plan --check: the backend's server judges every object (a dry run).
function M.check_plan(plan, args)
   local backend, err, code = require("bottle.backend").new(plan.backend, { context = args.context })
   if not backend then return nil, err, code end
   if type(backend.check) ~= "function" then
      return nil, ("the %s backend has no server-side dry run (plan --check)"):format(plan.backend), "usage"
   end
   local results, cerr, ccode = backend:check(plan)
   if not results then return nil, cerr, ccode end
   local failed = 0
   for _, r in ipairs(results) do
      if not r.ok then failed = failed + 1 end
      io.stdout:write(("%s %s %s%s\n"):format(r.ok and "ok  " or "FAIL", sanitize.line(r.kind), sanitize.line(r.name),
         r.ok and "" or (": " .. sanitize.line(r.detail or ""))))
   end
   io.stdout:write(("%d objects, %d refused by the server (dry run: nothing was stored)\n"):format(#results, failed))
   return failed == 0 and 0 or 1
end

function commands.plan(args)
   local plan, extras, code = make_plan(args)
   if not plan then return nil, extras, code end
   local preflight = require "bottle.preflight"
   if args.check then return M.check_plan(plan, args) end
   if args.json then
      io.stderr:write(preflight.render(plan, colour_fn(2), extras.policy_logs))
      io.stdout:write(plan_json(plan), "\n")
   else
      io.stdout:write(preflight.render(plan, colour_fn(1), extras.policy_logs))
   end
   return 0
end

function commands.render(args)
   local plan, err, code = make_plan(args)
   if not plan then return nil, err, code end
   -- exact when written to a file or a pipe; on a terminal, what a policy
   -- put there cannot move the cursor or reorder the text (bidi controls)
   io.stdout:write(core.isatty(1) and sanitize.text(plan.pipelock.yaml) or plan.pipelock.yaml)
   return 0
end

local function confirm(question)
   local answer, err = core.read_tty(question, true)
   if not answer then return nil, err end
   answer = answer:lower():gsub("^%s+", ""):gsub("%s+$", "")
   return answer == "y" or answer == "yes"
end

function commands.up(args)
   local plan, extras_or_err, code = make_plan(args)
   if not plan then return nil, extras_or_err, code end
   local extras = extras_or_err
   local preflight = require "bottle.preflight"

   if args.dry_run then
      io.stderr:write(preflight.render(plan, colour_fn(2), extras.policy_logs))
      say("dry-run requested; nothing was created.")
      return 0
   end
   if not args.yes and not core.isatty(0) then
      return nil, "no terminal to ask on: pass --yes to launch without the question", "usage"
   end

   -- Secrets first (prompts need the terminal), then the engine's checks:
   -- the question comes only after everything that can fail without
   -- creating anything has passed.
   local env = require "bottle.env"
   local resolved, rerr, rcode = env.resolve(extras.bottle)
   if not resolved then return nil, rerr, rcode end
   local credentials, cerr, ccode = require("bottle.cred_proxy").resolve(plan.credentials)
   if not credentials then return nil, cerr, ccode end

   local launch = require "bottle.launch"
   local bopts, oerr, ocode = backend_opts()
   if not bopts then return nil, oerr, ocode end
   bopts.context = args.context
   local backend, berr, bcode = require("bottle.backend").new(plan.backend, bopts)
   if not backend then return nil, berr, bcode end
   -- Missing images are fetched after the question (or refused, with the
   -- commands, under --no-pull): the checks before it pass them over.
   local image_fetch = require "bottle.image_fetch"
   local missing, merr, mcode = image_fetch.missing(backend, plan)
   if not missing then return nil, merr, mcode end
   local blocked = image_fetch.blocked(missing, args.no_pull)
   if blocked then return nil, blocked, "not_ready" end
   local found, perr, pcode = launch.prepare(plan, { backend = backend, identities = extras.identities,
                                                     fetching = image_fetch.set(missing) })
   if not found then return nil, perr, pcode end

   io.stderr:write(preflight.render(plan, colour_fn(2), extras.policy_logs, found))
   if #missing > 0 then say("%s", image_fetch.describe(missing)) end
   if not args.yes then
      local yes, qerr = confirm(PROG .. ": launch this agent? [y/N] ")
      if yes == nil then return nil, qerr, "usage" end
      if not yes then
         say("not launched.")
         return 1
      end
   end

   if #missing > 0 then
      local fetched, ferr, fcode = image_fetch.run(backend, missing)
      if not fetched then return nil, ferr, fcode end
   end

   local result, uerr, ucode = launch.up(plan, {
      backend = backend, secrets = resolved.secrets, literals = resolved.literals, credentials = credentials,
      identities = extras.identities, detach = args.detach, signals = true, workspace = extras.workspace,
   })
   if not result then return nil, uerr, ucode end
   for _, line in ipairs(require("bottle.workspace").report_lines(result.brought_home or {})) do
      say("brought home: %s", line)
   end
   if result.detached then
      if plan.backend == "kubernetes" and os.getenv("BOTTLE_KUBE_WAIT") == "0" then
         say("bottle %s: the server accepted every object; its Pods were not waited for (BOTTLE_KUBE_WAIT=0):"
            .. " `%s list --backend kubernetes` shows their state, `%s down %s` removes it.",
            result.slug, PROG, PROG, result.slug)
      else
         say("bottle %s is running; `%s down %s` removes it.", result.slug, PROG, result.slug)
      end
      if #plan.env > 0 and plan.backend ~= "kubernetes" then   -- there, the agent's Secrets hold them
         -- env values reach a session only through `docker exec` (never the
         -- container's config), and a detached launch starts no session
         say("note: the bottle's env values are handed to the session at attach; a detached bottle has none of them.")
      end
      io.stdout:write(result.slug, "\n")
      return 0
   end
   return result.status == 0 and 0 or 1
end

-- The backend instance a command asked for, with the images resolved here
-- (for `doctor`, which has no plan to read them from).
local function backend_or_fail(args)
   local bopts, err, code = backend_opts()
   if not bopts then return nil, err, code end
   bopts.context = args.context
   return require("bottle.backend").new(args.backend or "docker", bopts)
end

function commands.down(args)
   if not args.slug and not args.all then
      return nil, "name a bottle's slug, or pass --all (see `list`)", "usage"
   end
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   local launch = require "bottle.launch"
   local removed, derr, dcode = launch.down(args.all and { all = true } or { slug = args.slug },
                                            { backend = backend, discard = args.discard })
   if not removed then return nil, derr, dcode end
   local ws = require "bottle.workspace"
   for slug, report in pairs(removed.brought_home or {}) do
      local lines = ws.report_lines(report)
      if #lines == 0 then say("%s: nothing new to bring home", slug) end
      for _, line in ipairs(lines) do say("%s: brought home %s", slug, line) end
   end
   for _, slug in ipairs(removed.slugs or removed) do say("removed %s", slug) end
   -- where the time went, for `make bench-up`
   local timings = type(derr) == "table" and derr
   if os.getenv("BOTTLE_TIMINGS") and timings then
      local parts = {}
      for _, k in ipairs { "find", "containers", "networks", "stage" } do
         if timings[k] then parts[#parts + 1] = ("%s=%.4f"):format(k, timings[k]) end
      end
      say("down timings: %s", table.concat(parts, " "))
   end
   return 0
end

function commands.sync(args)
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   local report, serr, scode = require("bottle.launch").sync(args.slug, { backend = backend })
   if not report then return nil, serr, scode end
   local lines = require("bottle.workspace").report_lines(report)
   if #lines == 0 then say("%s: nothing new to bring home", args.slug) end
   for _, line in ipairs(lines) do say("brought home %s", line) end
   return 0
end

local function age(created)
   if not created then return "?" end
   local s = os.time() - created
   if s < 120 then return s .. "s" end
   if s < 7200 then return math.floor(s / 60) .. "m" end
   return math.floor(s / 3600) .. "h"
end

function commands.list(args)
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   local bottles, lerr, lcode = require("bottle.launch").list { backend = backend }
   if not bottles then return nil, lerr, lcode end
   if args.json then
      io.stdout:write(sanitize.json(cjson.encode(bottles)), "\n")
      return 0
   end
   if #bottles == 0 then
      say("no bottles are running.")
      return 0
   end
   io.stdout:write(("%-24s %-16s %-16s %-10s %-6s %s\n"):format("SLUG", "AGENT", "BOTTLE", "STATE", "AGE", "CONTAINERS"))
   for _, b in ipairs(bottles) do
      local roles = {}
      for role, name in pairs(b.containers or {}) do roles[#roles + 1] = role .. "=" .. tostring(name) end
      table.sort(roles)
      -- labels and names come from the engine
      local line = sanitize.line
      io.stdout:write(("%-24s %-16s %-16s %-10s %-6s %s\n"):format(line(b.slug), line(b.agent or "?"),
         line(b.bottle or "?"), line(b.state or "?"), age(b.created), line(table.concat(roles, " "))))
      if b.reason then io.stdout:write(("  %s: %s\n"):format(line(b.state), line(b.reason))) end
      if b.egress_live then
         io.stdout:write(("  egress changed live: +%d -%d (`%s egress %s`)\n"):format(b.egress_live.added,
            b.egress_live.removed, PROG, line(b.slug)))
      end
   end
   return 0
end

-- The host a decision-log event is about: its target or url.
local function event_host(ev)
   for _, k in ipairs { "target", "url", "host" } do
      local v = ev[k]
      if type(v) == "string" then
         local h = v:match("^%a[%w+.-]*://([^/:?#]+)") or v:match("^([^/:?#%s]+)")
         if h then return h:lower() end
      end
   end
end

-- One decision-log line made readable: time, event, method, target, reason;
-- "[allowed live]" when its host was added by `bottle allow`.
local function readable(line, live)
   local ok, ev = pcall(cjson.decode, line)
   if not ok or type(ev) ~= "table" then return line end
   local parts = { ev.time or "", ev.event or ev.level or "" }
   for _, k in ipairs { "route", "method", "target", "url", "path", "scanner", "reason", "status" } do
      if ev[k] ~= nil and ev[k] ~= cjson.null then parts[#parts + 1] = tostring(ev[k]) end
   end
   local host = live and event_host(ev)
   if host and live[host] then parts[#parts + 1] = "[allowed live]" end
   return table.concat(parts, "  ")
end

function commands.logs(args)
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   if args.follow then core.signals() end
   local live
   local dir = require("bottle.launch").stage_dir(args.slug)
   local rec = dir and require("bottle.egress_change").load(dir)
   if rec then live = require("bottle.egress_change").live_hosts(rec) end
   local ok, lerr, lcode = require("bottle.launch").logs(args.slug, {
      backend = backend, follow = args.follow,
      on_line = function(line)
         io.stdout:write(args.json and sanitize.json(line) or sanitize.line(readable(line, live)), "\n")
         io.stdout:flush()
      end,
   })
   if not ok and lcode ~= "interrupted" then return nil, lerr, lcode end
   return 0
end

-- allow / deny: the change built as a launch builds its config, shown,
-- asked about, applied, proven (or undone), under the bottle's lock.
local function egress_change_locked(kind, args, dir, rec, rerr, rcode)
   local egress_change = require "bottle.egress_change"
   if not rec then
      if rcode == "not_found" then
         return nil, ("no bottle %q with an egress record here (see `%s list`): %s"):format(args.slug, PROG, rerr),
            "not_found"
      end
      return nil, rerr, rcode
   end
   local backend, berr, bcode = backend_or_fail(args)
   if not backend then return nil, berr, bcode end
   local policies, perr, pcode = load_policies(args)
   if not policies then return nil, perr, pcode end
   local results = table.pack(egress_change.build(rec, { [kind] = args.host },
                                                   { policies = policies, env_names = core.env_names() }))
   require("bottle.policy").close(policies)
   local proposal = results[1]
   if not proposal then return nil, results[2], results[3] end

   io.stderr:write(sanitize.text(egress_change.render(args.slug, proposal)))
   if egress_change.empty(proposal) then
      say("nothing to change.")
      return 0
   end
   if not args.yes then
      if not core.isatty(0) then
         return nil, "no terminal to ask on: pass --yes to change the egress without the question", "usage"
      end
      local yes, qerr = confirm(PROG .. ": change this bottle's egress now? [y/N] ")
      if yes == nil then return nil, qerr, "usage" end
      if not yes then
         say("not changed.")
         return 1
      end
   end
   local done, aerr, acode = egress_change.apply(backend, args.slug, dir, rec, proposal)
   if not done then return nil, aerr, acode end
   say("egress of %s changed: pipelock logged that it loaded the new config (%.2fs).", args.slug, done.seconds)
   return 0
end

local function egress_change_command(kind, args)
   local egress_change = require "bottle.egress_change"
   local launch = require "bottle.launch"
   local dir, derr, dcode = launch.stage_dir(args.slug)
   if not dir then return nil, derr, dcode end
   local rec, rerr, rcode = egress_change.load(dir)
   local unlock
   if rec then
      unlock, rerr, rcode = egress_change.lock(dir)
      if not unlock then return nil, rerr, rcode end
      -- read again under the lock: a change that just ended wrote it
      rec, rerr, rcode = egress_change.load(dir)
   end
   local results = table.pack(egress_change_locked(kind, args, dir, rec, rerr, rcode))
   if unlock then unlock() end
   return table.unpack(results, 1, results.n)
end

function commands.allow(args) return egress_change_command("allow", args) end
function commands.deny(args) return egress_change_command("deny", args) end

function commands.egress(args)
   local egress_change = require "bottle.egress_change"
   local dir, derr, dcode = require("bottle.launch").stage_dir(args.slug)
   if not dir then return nil, derr, dcode end
   local rec, rerr, rcode = egress_change.load(dir)
   if not rec then return nil, rerr, rcode end
   local backend, berr, bcode = backend_or_fail(args)
   if not backend then return nil, berr, bcode end
   -- what the sidecar runs, when the backend can read it
   local running
   if type(backend.egress_read) == "function" then
      local cur, cerr, ccode = backend:egress_read(args.slug)
      if not cur then return nil, cerr, ccode end
      local cfg, yerr = core.yaml_decode(cur.yaml)
      if type(cfg) ~= "table" then return nil, "the sidecar's config does not parse: " .. tostring(yerr), "engine" end
      running = cfg
   end
   local view = egress_change.view(rec, running)
   if args.json then
      io.stdout:write(sanitize.json(cjson.encode(view)), "\n")
      return 0
   end
   local line = sanitize.line
   io.stdout:write(("allowlist (%d):\n"):format(#view.allowlist))
   for _, h in ipairs(view.allowlist) do
      io.stdout:write("  ", line(h.host), h.live and "  (added live)" or "", "\n")
   end
   io.stdout:write(("passthrough (%d, not inspected):\n"):format(#view.passthrough))
   for _, h in ipairs(view.passthrough) do io.stdout:write("  ", line(h.host), "\n") end
   if #view.denied > 0 then
      io.stdout:write("denied live: ", line(table.concat(view.denied, " ")), "\n")
   end
   if not view.in_sync then
      say("note: the sidecar's config is not the one this launcher last wrote; shown is what it runs.")
   end
   return 0
end

function commands.cleanup(args)
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   local launch = require "bottle.launch"
   local found, cerr, ccode = launch.cleanup { backend = backend }
   if not found then return nil, cerr, ccode end
   local total = 0
   for _, kind in ipairs { "containers", "networks", "stage_dirs" } do
      for _, item in ipairs(found[kind] or {}) do
         total = total + 1
         local what = type(item) == "table" and (item.name or item.path or item.slug) or item
         -- the kubernetes backend lists a bottle's Namespace (role "namespace")
         local label = type(item) == "table" and item.role == "namespace" and "namespace"
            or kind:gsub("s$", ""):gsub("_", " ")
         say("left behind: %s %s", label, what)
      end
   end
   if total == 0 then
      say("nothing left behind.")
      return 0
   end
   if not args.yes then
      if not core.isatty(0) then return nil, "pass --yes to remove these without a terminal to ask on", "usage" end
      local yes = confirm(PROG .. ": remove these? [y/N] ")
      if not yes then return 1 end
   end
   local done, rerr, rcode = launch.cleanup { backend = backend, apply = true }
   if not done then return nil, rerr, rcode end
   say("removed %d leftover resource(s).", total)
   return 0
end

function commands.doctor(args)
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   local checks, derr, dcode = require("bottle.launch").doctor { backend = backend }
   if not checks then return nil, derr, dcode end
   local failed = false
   for _, c in ipairs(checks) do
      -- an optional check (gVisor) that fails is a warning, not a failure
      local mark = c.ok and "ok  " or (c.optional and "warn" or "FAIL")
      io.stdout:write(("%s %-28s %s\n"):format(mark, sanitize.line(c.check), sanitize.line(c.detail or "")))
      if not c.ok and not c.optional then failed = true end
   end
   return failed and 1 or 0
end

-- `bottle images`: each role's image, present or missing, its digests and
-- the recorded digest of its tag; --accept takes the changed digests.
function commands.images(args)
   local digests = require "bottle.digests"
   local path, perr = digests.path()
   if not path then return nil, perr, "usage" end
   local records, lerr, lcode = digests.load(path)
   if not records then return nil, lerr, lcode end
   if args.accept then
      local taken = digests.accept(records)
      if #taken == 0 then
         say("no changed digest is waiting to be accepted.")
         return 0
      end
      local ok, serr, scode = digests.save(records, path)
      if not ok then return nil, serr, scode end
      for _, t in ipairs(taken) do say("accepted %s: %s (was %s)", t.ref, t.new, t.old or "none") end
      return 0
   end
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   if type(backend.image_status) ~= "function" then
      return nil, "the " .. tostring(args.backend) .. " backend does not list images", "usage"
   end
   local list, ierr, icode = backend:image_status(nil)
   if not list then return nil, ierr, icode end
   local images = require "bottle.images"
   for _, e in ipairs(list) do
      local r = images.parse(e.image)
      local rec = r and r.tag and not r.digest and records.tags[images.tag_ref(r)]
      e.recorded = rec and rec.digest or nil
      e.pending = r and r.tag and records.pending[images.tag_ref(r)] and records.pending[images.tag_ref(r)].digest or nil
      e.how = e.source and e.source.how or nil
      e.source = nil
   end
   if args.json then
      io.stdout:write(sanitize.json(cjson.encode(list)), "\n")
      return 0
   end
   local line = sanitize.line
   io.stdout:write(("%-10s %-8s %-48s %s\n"):format("ROLE", "STATE", "IMAGE", "DIGEST"))
   for _, e in ipairs(list) do
      local digest = (e.digests and e.digests[1] or ""):match("@(sha256:%x+)$") or (e.present and "(built here)" or "")
      io.stdout:write(("%-10s %-8s %-48s %s\n"):format(e.role, e.present and "present" or "missing", line(e.image),
         line(digest)))
      if e.id then io.stdout:write(("  id %s\n"):format(line(e.id))) end
      if e.recorded then io.stdout:write(("  recorded for its tag: %s\n"):format(line(e.recorded))) end
      if e.pending then
         io.stdout:write(("  CHANGED: the registry served %s; `bottle images --accept` takes it\n"):format(line(e.pending)))
      end
      if not e.present then io.stdout:write(("  `bottle up` %s it\n"):format(e.how == "build" and "builds"
         or e.how == "make" and "cannot fetch it (`make test-images`):" or "pulls")) end
   end
   return 0
end

-- -> exit status
function M.main(argv)
   local parser = build_parser()
   local ok, args = parser:pparse(argv)
   if not ok then
      io.stderr:write(parser:get_usage(), "\n", PROG, ": ", sanitize.line(args), "\n")
      return 2
   end
   if args.version then
      io.stdout:write(version_text(), "\n")
      return 0
   end
   if not args.command then
      io.stderr:write(parser:get_help())
      return 2
   end
   -- --backend and --context win; else the user config's backend and kube_context
   if args.backend == nil or args.context == nil then
      local cfg, err, code = user_config()
      if not cfg then
         say("%s", err)
         return exit_code(code)
      end
      args.backend = args.backend or cfg.backend or "docker"
      if args.backend == "kubernetes" then args.context = args.context or cfg.kube_context end
   end
   local done, status, err, code = xpcall(commands[args.command], debug.traceback, args)
   if not done then
      -- a bug, not bad input: say so, with the trace only when asked
      say("internal error: %s", os.getenv("BOTTLE_DEBUG") and status or tostring(status):match("^[^\n]*"))
      return 1
   end
   if status == nil then
      say("%s", err)
      return exit_code(code)
   end
   return status
end

return M
