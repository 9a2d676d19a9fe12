-- `make bench`: median time to resolve, check and render a pipelock config
-- of N hosts, beside the seed's Python renderer on the same hosts (the seed
-- validates nothing; we validate every host).  Not a test: it asserts
-- nothing and prints figures measured side by side in one run.
package.path = "lua/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local core = require "bottle.core"

local SEED = os.getenv("SEED") or "../shared/seed/seed_pipelock.py"
local RUNS = tonumber(os.getenv("RUNS") or "") or 9
local SIZES = { 10, 1000, 100000 }
local CA = { ca_cert = "/etc/pipelock-ca.pem", ca_key = "/etc/pipelock-ca-key.pem" }

local function median(xs)
   table.sort(xs)
   local n = #xs
   return n % 2 == 1 and xs[(n + 1) // 2] or (xs[n // 2] + xs[n // 2 + 1]) / 2
end

-- The seed's generated hosts: h<i>.example<i % 97>.com
local function hosts(n)
   local t = {}
   for i = 0, n - 1 do t[#t + 1] = ("h%d.example%d.com"):format(i, i % 97) end
   return t
end

local function ours(list)
   local t0 = core.monotonic()
   local cfg = assert(core.pipelock_config({ egress = { allowlist = list } }, CA))
   local yaml = assert(core.pipelock_yaml(cfg))          -- checks, then encodes
   return (core.monotonic() - t0) * 1e3, #yaml
end

local function seed(n)
   local p = io.popen(("python3 %s %d 2>&1"):format(SEED, n))
   local out = p:read("a")
   p:close()
   return tonumber(out:match("hosts: ([%d.]+) ms"))
end

local have_seed = io.open(SEED) ~= nil
print(("%-8s %14s %14s %8s %10s"):format("hosts", "ours (ms)", "seed (ms)", "ratio", "bytes"))
for _, n in ipairs(SIZES) do
   local list = hosts(n)
   local a, b, bytes = {}, {}, 0
   for _ = 1, RUNS do
      -- interleaved, so both see the same machine noise
      local t
      t, bytes = ours(list)
      a[#a + 1] = t
      if have_seed then b[#b + 1] = seed(n) end
   end
   local ma = median(a)
   local mb = have_seed and median(b) or nil
   print(("%-8d %14.3f %14s %8s %10d"):format(n, ma, mb and ("%.3f"):format(mb) or "n/a",
      mb and ("%.2f"):format(ma / mb) or "n/a", bytes))
end
print(("median of %d runs each; ratio = ours / seed (below 1 is faster)"):format(RUNS))
if not have_seed then print("seed renderer not found at " .. SEED .. " (set SEED=path)") end
