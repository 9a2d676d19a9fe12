-- Runs `bottle plan ARGS...` in this process (the launcher as a user runs
-- it) and appends "EXIT PEAK_KB" to the file $BOTTLE_PEAK_FILE: the exit
-- status and this process's own peak resident memory (VmHWM), which the
-- policy's process does not count towards.
local root = arg[0]:match("^(.*)/reliability/probes/[^/]+$") or "."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/?.so;" .. package.cpath
local status = require("bottle.cli").main(arg)
local f = io.open("/proc/self/status")
local peak = f and f:read("a"):match("VmHWM:%s*(%d+)") or "?"
if f then f:close() end
local out = assert(io.open(assert(os.getenv("BOTTLE_PEAK_FILE")), "a"))
out:write(status, " ", peak, "\n")
out:close()
os.exit(status)
