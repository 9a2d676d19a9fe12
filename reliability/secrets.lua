-- Secret-hygiene figure: runs spec/secret_hygiene_spec.lua (the real `bottle
-- up` on a pseudo-terminal with a prompted, a host-variable and a literal
-- value; every place a value could leak is scanned, see that file) and
-- prints one line per check and the count.
--
--   lua5.4 reliability/secrets.lua
local R = dofile(((arg and arg[0] or ""):match("^(.*)/[^/]+$") or ".") .. "/common.lua")
R.require_engine()
local started = os.date("!%Y-%m-%dT%H:%M:%SZ")
local out = R.sh("cd " .. R.q(R.ROOT) .. " && lua5.4 /usr/bin/busted -o TAP spec/secret_hygiene_spec.lua")
local passed, failed, skipped = 0, 0, 0
print(("# reliability/secrets.lua (%s, %s)"):format(started, R.version()))
print("| check | result |")
print("|---|---|")
for line in out:gmatch("[^\n]+") do
   local status, name = line:match("^(n?o?t? ?ok) %d+ %- (.*)$")
   if status then
      local pending = name:find("# SKIP", 1, true)
      if pending then skipped = skipped + 1 elseif status == "ok" then passed = passed + 1 else failed = failed + 1 end
      print(("| %s | %s |"):format(name:gsub("^#e2e secret hygiene ", ""), pending and "pending" or status))
   end
end
print(("checks %d: passed %d, failed %d, pending %d"):format(passed + failed + skipped, passed, failed, skipped))
if failed > 0 or passed == 0 then io.stderr:write(out, "\n") end
os.exit((failed == 0 and passed > 0) and 0 or 1)
