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
                      invalid_host = true, invalid_config = true, env_unset = true }

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
         .. " (default: docker)."):default("docker")
      c:option("--context", "The kubeconfig context (kubernetes backend; default: its current-context).")
      return c
   end

   local function manifest_opts(c)
      backend_opt(c)
      c:option("--manifest", "Read this manifest only (trusted fully).")
      c:option("--policy", "A policy script (repeatable); runs after those in the policies directory.")
         :count("*")
      c:argument("agent", "The agent to launch (default: claude)."):args("?")
   end

   local plan = p:command("plan", "Show the preflight: exactly what `up` would run.")
   manifest_opts(plan)
   plan:flag("--json", "Print the plan as JSON on stdout (no secret values); the preflight goes to stderr.")
   plan:flag("--check", "Send every object to the backend's server as a dry run (kubernetes: dryRun=All).")

   local render = p:command("render", "Print the pipelock YAML exactly as it would be written.")
   manifest_opts(render)

   local up = p:command("up", "Launch an agent in a new bottle.")
   manifest_opts(up)
   up:flag("--dry-run", "Show the preflight and stop; nothing is created.")
   up:flag("--yes", "Do not ask launch this agent? [y/N].")
   up:flag("--detach", "Leave the bottle running instead of attaching; `down` removes it.")

   local down = backend_opt(p:command("down", "Remove a bottle and everything it created."))
   down:argument("slug", "The bottle's slug (see `list`)."):args("?")
   down:flag("--all", "Remove every bottle.")

   local list = backend_opt(p:command("list", "List the running bottles."))
   list:flag("--json", "Print JSON.")

   local logs = backend_opt(p:command("logs", "Show a bottle's pipelock decision log."))
   logs:argument("slug", "The bottle's slug.")
   logs:flag("--follow", "Keep printing new lines.")
   logs:flag("--json", "Print the raw JSON lines.")

   local cleanup = backend_opt(p:command("cleanup", "Find and remove what an interrupted launch left behind."))
   cleanup:flag("--yes", "Remove what was found without asking.")

   backend_opt(p:command("doctor", "Check the engine and the images."))
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

   -- the policies' processes end once the plan is made, whatever happened
   local images = planner.images()
   local results = table.pack(planner.build {
      manifest = manifest, agent = args.agent, policies = policies,
      options = { backend = args.backend, cwd = env.cwd, home = env.HOME, env_names = core.env_names(),
                  pipelock_image = images.pipelock, agent_image = images.agent,
                  git_gate_image = images.git_gate, firewall_image = images.firewall },
   })
   policy.close(policies)
   return table.unpack(results, 1, results.n)
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

   local launch = require "bottle.launch"
   local backend, berr, bcode = require("bottle.backend").new(plan.backend, { context = args.context })
   if not backend then return nil, berr, bcode end
   local found, perr, pcode = launch.prepare(plan, { backend = backend, identities = extras.identities })
   if not found then return nil, perr, pcode end

   io.stderr:write(preflight.render(plan, colour_fn(2), extras.policy_logs, found))
   if not args.yes then
      local yes, qerr = confirm(PROG .. ": launch this agent? [y/N] ")
      if yes == nil then return nil, qerr, "usage" end
      if not yes then
         say("not launched.")
         return 1
      end
   end

   local result, uerr, ucode = launch.up(plan, {
      backend = backend, secrets = resolved.secrets, literals = resolved.literals,
      identities = extras.identities, detach = args.detach, signals = true,
   })
   if not result then return nil, uerr, ucode end
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
   return require("bottle.backend").new(args.backend or "docker",
                                        { images = require("bottle.plan").images(), context = args.context })
end

function commands.down(args)
   if not args.slug and not args.all then
      return nil, "name a bottle's slug, or pass --all (see `list`)", "usage"
   end
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   local launch = require "bottle.launch"
   local removed, derr, dcode = launch.down(args.all and { all = true } or { slug = args.slug }, { backend = backend })
   if not removed then return nil, derr, dcode end
   for _, slug in ipairs(removed.slugs or removed) do say("removed %s", slug) end
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
   end
   return 0
end

-- One decision-log line made readable: time, event, method, target, reason.
local function readable(line)
   local ok, ev = pcall(cjson.decode, line)
   if not ok or type(ev) ~= "table" then return line end
   local parts = { ev.time or "", ev.event or ev.level or "" }
   for _, k in ipairs { "method", "target", "url", "scanner", "reason", "status" } do
      if ev[k] ~= nil and ev[k] ~= cjson.null then parts[#parts + 1] = tostring(ev[k]) end
   end
   return table.concat(parts, "  ")
end

function commands.logs(args)
   local backend, err, code = backend_or_fail(args)
   if not backend then return nil, err, code end
   if args.follow then core.signals() end
   local ok, lerr, lcode = require("bottle.launch").logs(args.slug, {
      backend = backend, follow = args.follow,
      on_line = function(line)
         io.stdout:write(args.json and sanitize.json(line) or sanitize.line(readable(line)), "\n")
         io.stdout:flush()
      end,
   })
   if not ok and lcode ~= "interrupted" then return nil, lerr, lcode end
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
