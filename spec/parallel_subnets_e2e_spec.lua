-- Twenty launches at once on the launcher's own subnets: the real `bottle up
-- --detach` twenty times in parallel (each its own process, racing for
-- subnets as users' launches would), then every bottle's two networks
-- checked against each other and against every network the engine has: inside
-- the pool, the sizes chosen (/29 internal, /28 egress), no overlap.  Then
-- all down in parallel, nothing left.
local E = require "testlib.e2e"
local subnets = require "bottle.subnets"
local cjson = require "cjson"

local why = E.unavailable()
local R = not why and dofile("reliability/common.lua") or nil

local AGENT = "opspar"
local N = 20

describe("#e2e parallel launches on the launcher's subnets", function()
   if why then
      pending("needs a Docker Engine and the test images: " .. why)
      return
   end
   local w
   setup(function()
      E.start_upstream()
      w = R.workdir(AGENT)
   end)
   teardown(function()
      if w then
         R.force_clean(AGENT, w.stage_root)
         R.remove_workdir(w)
      end
      E.finish()
   end)

   it("brings twenty up at once, each on its own small subnets from the pool, no overlap, and all down", function()
      local procs = {}
      for i = 1, N do procs[i] = R.bottle_bg(w, R.up_args(w)) end
      local slugs, failures = {}, {}
      for _, p in ipairs(procs) do
         assert.is_true(R.wait_gone(p.pid, 300))
         local out, err = R.read(p.stdout) or "", R.read(p.stderr) or ""
         os.remove(p.stdout)
         os.remove(p.stderr)
         local slug = out:match("([%w-]+)%s*$")
         if slug then slugs[#slugs + 1] = slug else failures[#failures + 1] = err:match("bottle: ([^\n]*)\n?$") or err end
      end
      assert.are.same({}, failures)
      assert.are.equal(N, #slugs)

      local c = E.api()
      local pool = assert(subnets.parse(subnets.DEFAULT_POOL[1]))
      local mine, all = {}, {}
      for _, n in ipairs(assert(c:network_list())) do
         for _, cfg in ipairs((n.IPAM or {}).Config or {}) do
            local p = subnets.parse(cfg.Subnet or "")
            if p then all[#all + 1] = { name = n.Name, net = p, subnet = cfg.Subnet } end
         end
      end
      for _, slug in ipairs(slugs) do
         for _, pair in ipairs { { "claude-bottle-net-" .. slug, 29 }, { "claude-bottle-egress-" .. slug, 28 } } do
            local info = assert(c:network_inspect(pair[1]))
            local subnet = info.IPAM.Config[1].Subnet
            local p = assert(subnets.parse(subnet))
            assert.are.equal(pair[2], p.bits, subnet)
            assert.is_true(subnets.overlaps(pool, p) and p.base >= pool.base, subnet .. " is outside the pool")
            mine[#mine + 1] = { name = pair[1], net = p, subnet = subnet }
         end
      end
      assert.are.equal(2 * N, #mine)
      for _, a in ipairs(mine) do
         for _, b in ipairs(all) do
            if a.name ~= b.name then
               assert.is_false(subnets.overlaps(a.net, b.net), ("%s %s overlaps %s %s"):format(a.name, a.subnet, b.name, b.subnet))
            end
         end
      end

      -- the allowed and the denied request behave in a few of them (all of
      -- them: make reliability-load)
      for i = 1, 3 do
         local b = { slug = slugs[i], names = { agent = "claude-bottle-" .. slugs[i] } }
         E.connect_upstream(b)
         local ok = E.curl(b, { "https://allowed.test/" .. b.slug })
         assert.are.equal(200, ok.status, ok.stderr)
         assert.are.equal("/" .. b.slug, cjson.decode(ok.body).path)
         assert.are.equal(403, E.curl(b, { "http://denied.test/" }).status)
      end

      local downs = {}
      for i, slug in ipairs(slugs) do downs[i] = R.bottle_bg(w, { "down", slug }) end
      for _, p in ipairs(downs) do
         assert.is_true(R.wait_gone(p.pid, 120))
         os.remove(p.stdout)
         os.remove(p.stderr)
      end
      local left = R.leftovers(AGENT, w.stage_root)
      assert.are.same({}, left.names)
   end)
end)
