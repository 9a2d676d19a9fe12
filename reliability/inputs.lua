-- `make reliability-inputs`: each hostile input of the red-team pass on
-- plan (issue 10) run through the real launcher with its default limits,
-- as a user would meet it: a policy in --policy, or a project file in the
-- working directory.  For each: the exit status, the wall-clock time until
-- the launcher answered, and the launcher's own peak memory (VmHWM; the
-- policy's process is not counted).  No engine is needed.
local ROOT = (arg[0]:match("^(.-)/?reliability/[^/]+$") or ".")
if ROOT == "" then ROOT = "." end
package.path = ROOT .. "/lua/?.lua;" .. package.path
package.cpath = ROOT .. "/build/?.so;" .. package.cpath
local core = require "bottle.core"
if ROOT:sub(1, 1) ~= "/" then ROOT = (core.getcwd() .. "/" .. ROOT):gsub("/%.$", "") end

local FIX = ROOT .. "/spec/fixtures/policies/"
local LUA = os.getenv("LUA") or "lua5.4"

local function sh(cmd) assert(core.spawn({ "sh", "-c", cmd }) == 0, cmd) end

local scratch = core.mkdtemp("/tmp/bottle-inputs-")
local peak_file = scratch .. "/peak"

local function nul_policy(name, body)
   local path = scratch .. "/" .. name
   assert(core.write_file(path, "return { config = function(cfg) " .. body .. " end }", tonumber("600", 8)))
   return path
end

local cases = {
   { "xpcall handler that never returns (load)", policy = FIX .. "xpcall-handler-loop.lua" },
   { "backtracking string.find (one C call)", policy = FIX .. "backtrack.lua" },
   { "string.rep x40 of 16 MB between samples", policy = FIX .. "bomb-rep.lua" },
   { "`..` doubling to 4 GiB", policy = FIX .. "bomb-concat.lua" },
   { "table.concat of 1 GB", policy = FIX .. "bomb-table-concat.lua" },
   { "string.pack(\"c2000000000\")", policy = FIX .. "bomb-pack.lua" },
   { "table.move x64 of 1M entries", policy = FIX .. "bomb-move.lua" },
   { "mode = \"strict\\0audit\"", policy = nul_policy("nul-mode.lua", 'cfg.mode = "strict\\0audit"') },
   { "key \"enforce\\0\"", policy = nul_policy("nul-key.lua", 'cfg["enforce\\0"] = false') },
   { "project file -> /dev/zero", project = "ln -s /dev/zero %s" },
   { "project file -> /dev/stdin", project = "ln -s /dev/stdin %s" },
   { "project file is a FIFO", project = "mkfifo %s" },
   { "project file of 20 MB", project = "head -c 20971520 /dev/zero | tr '\\0' '#' > %s" },
   { "no hostile input (baseline)" },
}

io.write(("%-44s %4s %9s %10s\n"):format("input", "exit", "seconds", "peak MB"))
for _, c in ipairs(cases) do
   local cwd = scratch .. "/cwd"
   core.rmtree(cwd)
   assert(core.mkdir(cwd, tonumber("755", 8)))
   if c.project then sh(c.project:format(cwd .. "/.claude-bottle.yaml")) end
   local argv = { LUA, ROOT .. "/reliability/probes/plan_peak.lua", "plan" }
   if c.policy then argv[#argv + 1] = "--policy"; argv[#argv + 1] = c.policy end
   os.remove(peak_file)
   local t0 = core.monotonic()
   core.spawn({ "sh", "-c", 'cd "$1" && shift && exec "$@" </dev/null >/dev/null 2>&1', "sh", cwd,
                table.unpack(argv) }, { env = { HOME = scratch, XDG_CONFIG_HOME = scratch .. "/none",
                BOTTLE_PEAK_FILE = peak_file } })
   local took = core.monotonic() - t0
   local f = io.open(peak_file)
   local line = f and f:read("l") or "? ?"
   if f then f:close() end
   local status, kb = line:match("^(%S+) (%S+)$")
   io.write(("%-44s %4s %9.2f %10s\n"):format(c[1], status, took,
      tonumber(kb) and ("%.1f"):format(tonumber(kb) / 1024) or "?"))
end
core.rmtree(scratch)
