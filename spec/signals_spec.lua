-- Unit spec for the signal handling of csrc/sys.c: core.spawn's
-- signal_grace (a signal ends the child) and core.signal_hold (a teardown
-- that a second signal cannot cut short).  Real signals go to a child Lua
-- process, so that busted's own process keeps its handlers.
local core = require "bottle.core"

local dir

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local read_command = require("testlib.util").command

-- Runs `body` (Lua) in a child that has core.signals() installed and
-- announces itself ready; once it is, sends it `signals` (in order, `gap`
-- seconds apart) and returns its output.
local function with_signals(body, signals, gap)
   local ready = dir .. "/child.ready"
   os.remove(ready)
   local path = dir .. "/child.lua"
   local f = assert(io.open(path, "w"))
   f:write('package.cpath = "build/?.so;" .. package.cpath\n',
           'local core = require "bottle.core"\n',
           'core.signals()\n',
           body:gsub("READY", ('assert(io.open(%q, "w")):close()'):format(ready)), "\n")
   f:close()
   local sends = {}
   for _, s in ipairs(signals) do sends[#sends + 1] = "kill -" .. s .. " $pid; sleep " .. (gap or 0) end
   return read_command(table.concat({
      "lua5.4 " .. sh_quote(path) .. " 2>&1 & pid=$!",
      "i=0; while [ ! -e " .. sh_quote(ready) .. " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done",
      "sleep 0.2",
      table.concat(sends, "; "),
      "wait $pid" }, "\n"))
end

before_each(function() dir = core.mkdtemp("/tmp/bottle-signals-spec.") end)
after_each(function() assert(core.rmtree(dir)) end)

describe("core.spawn with signal_grace", function()
   it("ends the child on SIGTERM at once and says so", function()
      local out = with_signals([[
local t = core.monotonic()
READY
local a, b, c = core.spawn({ "sleep", "30" }, { signal_grace = 5 })
print(a, b, c, ("%.1f"):format(core.monotonic() - t))]], { "TERM" })
      local a, b, c, took = out:match("^(%S+)\t([^\t]+)\t(%S+)\t([%d.]+)\n$")
      assert.same({ "nil", "interrupted by SIGTERM", "interrupted" }, { a, b, c }, out)
      -- sleep dies of the SIGTERM: no grace spent, nowhere near 30 s
      assert.is_true(tonumber(took) < 3, out)
   end)

   it("on SIGINT too", function()
      local out = with_signals([[
READY
print(core.spawn({ "sleep", "30" }, { signal_grace = 5 }))]], { "INT" })
      assert.equal("nil\tinterrupted by SIGINT\tinterrupted\n", out)
   end)

   it("kills a child that ignores SIGTERM once the grace is over", function()
      local out = with_signals([[
READY
local t = core.monotonic()
local a, b, c = core.spawn({ "sh", "-c", "trap '' TERM; exec sleep 30" }, { signal_grace = 1 })
print(a, b, c, ("%.1f"):format(core.monotonic() - t))]], { "TERM" })
      local a, b, c, took = out:match("^(%S+)\t([^\t]+)\t(%S+)\t([%d.]+)\n$")
      assert.same({ "nil", "interrupted by SIGTERM", "interrupted" }, { a, b, c }, out)
      took = tonumber(took)
      assert.is_true(took >= 0.9 and took < 5, out)
   end)

   it("without signal_grace, the wait outlasts a signal (the child's status comes back)", function()
      local out = with_signals([[
READY
print(core.spawn({ "sh", "-c", "sleep 1; exit 7" }), core.signal_pending())]], { "TERM" })
      assert.equal("7\tSIGTERM\n", out)
   end)

   it("returns the child's status when no signal comes", function()
      assert.equal(4, core.spawn({ "sh", "-c", "exit 4" }, { signal_grace = 1 }))
   end)

   it("refuses a bad grace", function()
      assert.has_error(function() core.spawn({ "true" }, { signal_grace = -1 }) end)
      assert.has_error(function() core.spawn({ "true" }, { signal_grace = "2" }) end)
   end)
end)

describe("core.signal_hold", function()
   it("keeps a signal from becoming pending (a sleep is not cut short) and reports it", function()
      local out = with_signals([[
core.signal_hold(true)
READY
local t = core.monotonic()
core.sleep(1.5)
local slept = core.monotonic() - t
print(slept >= 1.4, core.signal_pending(), core.signal_hold(false), core.signal_pending())]], { "INT", "TERM" }, 0.1)
      assert.equal("true\tnil\tSIGTERM\tnil\n", out)
   end)

   it("once released, signals are pending again", function()
      local out = with_signals([[
core.signal_hold(true)
print(core.signal_hold(false))
READY
core.sleep(10)
print(core.signal_pending())]], { "TERM" })
      assert.equal("nil\nSIGTERM\n", out)
   end)
end)
