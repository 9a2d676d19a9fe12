#!/usr/bin/env lua5.4
-- claude-bottle from a checkout: `lua bottle.lua <command>` after `make`.
-- Finds lua/ and build/ beside this file, before any installed copy.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/lua/?.lua;" .. here .. "/lua/?/init.lua;" .. package.path
package.cpath = here .. "/build/?.so;" .. package.cpath
if _VERSION ~= "Lua 5.4" then
   io.stderr:write("bottle: needs Lua 5.4 (this is ", _VERSION, "); run it with lua5.4\n")
   os.exit(2)
end
os.exit(require("bottle.cli").main(arg))
