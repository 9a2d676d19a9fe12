-- The limits on a policy.  bottle.policy is this same table (with its
-- functions added), so a spec that lowers policy.instruction_budget lowers
-- it for every part of the package.
local M = {}

-- In the policy's process, per run of its chunk and per hook call (specs lower them).
M.instruction_budget = 10000000
M.memory_limit_kb = 64 * 1024           -- growth of the Lua heap during one call
M.max_string_bytes = 16 * 1024 * 1024   -- largest string.rep / table.move a policy may ask for
M.max_log_lines = 200
-- Kernel limits of the policy's process, for its whole life (load and hooks).
M.cpu_seconds = 5
M.process_memory_mb = 256               -- address space (RLIMIT_AS)
M.timeout_seconds = 10                  -- wall clock, per request; then SIGKILL
M.max_reply_bytes = 64 * 1024 * 1024
-- Read here, before anything runs.
M.max_file_bytes = 1024 * 1024
-- The Lua interpreter that runs this launcher, whatever it is called
-- (lua5.4 from a checkout, the rock's wrapper, busted).
M.interpreter = "/proc/self/exe"

return M
