-- How long a launch waits on the engine.  On a loaded engine (a hundred
-- `up --detach` on two cores: docs/reliability.md §3) every call queues
-- behind the others, and a start or an exec that takes a millisecond on an
-- idle engine takes a minute.  The waits here are longer, never skipped: a
-- call that does not answer, or a sidecar that does not become ready, still
-- fails its step and the launch rolls back.
local core = require "bottle.core"

local M = {}

-- One engine call during a launch or its teardown (create, start, exec,
-- copy, wait).  The engine answers when the work is done, so there is no
-- progress to watch inside one call; five minutes is what a network create
-- needed with a hundred queued (networks.CREATE_TIMEOUT_MS), and a hung
-- engine is still found at once by the ping's own 5 s.
M.CALL_MS = 5 * 60 * 1000

-- A readiness probe's answer takes milliseconds on an idle engine; beyond
-- this, the time is the engine's queue, not the sidecar starting up.
M.ANSWER_S = 1

-- However slow the engine, a readiness wait ends after this (seconds).
M.CAP_S = 10 * 60

-- clock(budget_s) → a readiness deadline that counts the sidecar's own time:
-- `budget_s` seconds of it, where the part of each probe's round trip beyond
-- ANSWER_S (the engine answering late) is not counted, up to CAP_S of wall
-- time in all.  clock:probe(fn, ...) runs fn (the probe: an exec and an
-- inspect) and returns what it returns; clock:expired() says whether the
-- budget is spent.  opts.now replaces core.monotonic (unit specs).
function M.clock(budget_s, opts)
   if type(budget_s) ~= "number" or budget_s < 0 then error("patience.clock: budget_s must be a number >= 0", 2) end
   local now = opts and opts.now or core.monotonic
   local started = now()
   local c = { deadline = started + budget_s, cap = started + math.max(budget_s, M.CAP_S), excused = 0 }
   function c.probe(_, fn, ...)
      local t = now()
      local r = table.pack(fn(...))
      local late = now() - t - M.ANSWER_S
      if late > 0 then
         c.excused = c.excused + late
         c.deadline = c.deadline + late
      end
      return table.unpack(r, 1, r.n)
   end
   function c.expired()
      local t = now()
      return t >= c.deadline or t >= c.cap
   end
   return c
end

-- A sidecar's last log lines, for the message when it never got ready.
function M.last_logs(api, id, lines)
   local out, err = api:container_logs(id, { tail = lines or 20 })
   if not out then return "(no logs: " .. tostring(err) .. ")" end
   local text = ((err or "") .. out):gsub("%s+$", "")
   return text ~= "" and text or "(no output)"
end

--- `wait_exec(api, id, opts)` → true once `opts.argv` exits 0 in the
-- container, or nil, message (with its last log lines), "not_ready" when it
-- exits first or the budget is spent; "interrupted" passes through.
-- opts: argv, timeout (s, on clock()), interval (s between probes), what
-- ("the git gate"), silent ("is not listening on 9418": what expiry says).
function M.wait_exec(api, id, opts)
   local clock = M.clock(opts.timeout)
   while true do
      local r, msg, code, info = clock:probe(function()
         local res, m, c = api:exec(id, opts.argv, { timeout_ms = M.CALL_MS })
         if res and res.exit == 0 then return res end
         return res, m, c, c ~= "interrupted" and api:container_inspect(id) or nil
      end)
      if r and r.exit == 0 then return true end
      if code == "interrupted" then return nil, msg, code end
      if info and info.State and not info.State.Running then
         return nil, ("%s exited (status %s) before it was ready:\n%s")
            :format(opts.what, tostring(math.tointeger(info.State.ExitCode) or info.State.ExitCode),
                    M.last_logs(api, id)), "not_ready"
      end
      if clock:expired() then
         return nil, ("%s %s after %gs; its last log lines:\n%s")
            :format(opts.what, opts.silent, opts.timeout, M.last_logs(api, id)), "not_ready"
      end
      core.sleep(opts.interval)
   end
end

return M
