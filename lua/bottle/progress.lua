-- Progress lines for the steps of a launch: each step is timed and reported
-- on one line once it has finished, so that concurrent output from inside a
-- step cannot split the line.
--   claude-bottle: step pipelock ... ok 1.73s
--   claude-bottle: step pipelock ... FAILED 30.02s
local P = {}

--- `P.new([out [, clock]])` → `progress(step, fn, ...)`.
-- `out` has a `write` method (default io.stderr); `clock()` returns seconds
-- (default core.monotonic).  `progress` calls `fn(...)` and returns its
-- results.  A failure (`nil, msg, code`) comes back as
-- `nil, "STEP: msg", code`, so the error names the step.  An error raised by
-- `fn` is reported as FAILED and raised again unchanged.
function P.new(out, clock)
   out = out or io.stderr
   if clock == nil then clock = require("bottle.core").monotonic end
   if type(clock) ~= "function" then error("progress.new: clock must be a function", 2) end

   local function report(step, status, started)
      out:write(("claude-bottle: step %s ... %s %.2fs\n"):format(step, status, clock() - started))
   end

   return function(step, fn, ...)
      if type(step) ~= "string" or step == "" then
         error("progress: step name must be a non-empty string", 2)
      end
      if type(fn) ~= "function" then
         error("progress: step " .. step .. ": fn must be a function", 2)
      end
      local started = clock()
      local res = table.pack(pcall(fn, ...))
      if not res[1] then
         report(step, "FAILED", started)
         error(res[2], 0)
      end
      if not res[2] then
         report(step, "FAILED", started)
         local msg = res[3] ~= nil and tostring(res[3]) or "failed without a message"
         return nil, step .. ": " .. msg, res[4]
      end
      report(step, "ok", started)
      return table.unpack(res, 2, res.n)
   end
end

return P
