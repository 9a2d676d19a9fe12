-- Unit spec for lua/bottle/backend/docker/dns_probe.lua: the engine version
-- against CVE-2024-29018's affected ranges (GHSA-mq39-4gv4-mvpx), and how
-- the probe reads the resolver's answers.  The probe itself runs on the real
-- engine in spec/dns_probe_e2e_spec.lua.
local P = require "bottle.backend.docker.dns_probe"

describe("CVE-2024-29018 by engine version", function()
   local cases = {
      -- below 23.0.11
      { "20.10.24", true }, { "20.10.24+dfsg1", true }, { "20.10.5+dfsg1", true }, { "19.03.15", true },
      { "23.0.0", true }, { "23.0.10", true }, { "23.0.11-rc1", true },
      { "23.0.11", false }, { "23.0.12", false }, { "23.0.15+dfsg1", false },
      -- 24.x, all of it (no fixed 24 release)
      { "24.0.0-rc.1", true }, { "24.0.0-beta.2", true }, { "24.0.0", true }, { "24.0.7", true }, { "24.0.9", true },
      -- 25.0.0 up to, not including, 25.0.5
      { "25.0.0", true }, { "25.0.3", true }, { "25.0.4", true }, { "25.0.5-rc1", true },
      { "25.0.5", false }, { "25.0.6", false }, { "25.1.0", false },
      -- 26.0.0's pre-releases
      { "26.0.0-rc1", true }, { "26.0.0-rc2", true }, { "26.0.0-beta.1", true },
      { "26.0.0", false }, { "26.1.4", false }, { "27.3.1", false }, { "28.0.0", false },
      -- a distribution's revision after "-" is the release itself
      { "20.10.24-0ubuntu1", true }, { "24.0.7-0ubuntu2~22.04.1", true }, { "26.1.3-0ubuntu1", false },
      { "v25.0.5", false },
   }
   for _, c in ipairs(cases) do
      it(c[1] .. (c[2] and " is affected" or " is not affected"), function()
         assert.equal(c[2], P.version_affected(c[1]))
      end)
   end

   it("cannot tell from what is not a version", function()
      for _, v in ipairs { "", "dev", "master", "25", "25.0", "x25.0.4", "\27[31m25.0.4" } do
         assert.is_nil(P.version_affected(v), v)
      end
      assert.is_nil(P.version_affected(nil))
   end)
end)

describe("the DNS probe's reading of the resolver", function()
   it("counts an answer from upstream as a leak, and the fixed engine's refusal or silence as none", function()
      assert.is_true(P.answered_from_upstream { rcode = P.NXDOMAIN, ra = true })
      assert.is_true(P.answered_from_upstream { rcode = P.NOERROR, ra = true })
      assert.is_true(P.answered_from_upstream { rcode = P.REFUSED, ra = true })    -- an upstream refused
      assert.is_false(P.answered_from_upstream { rcode = P.REFUSED, ra = false })  -- the engine refused
      assert.is_false(P.answered_from_upstream { rcode = P.SERVFAIL, ra = true })
      assert.is_false(P.answered_from_upstream {})
      assert.is_false(P.answered_from_upstream(nil))
   end)

   it("describes each finding in fixed words", function()
      local d = P.describe { listener = "reached", engine = { rcode = P.NXDOMAIN, ra = true } }
      assert.matches("reached a resolver on the host's loopback", d, 1, true)
      assert.matches("answer from upstream (rcode 3)", d, 1, true)
      d = P.describe { listener = "not reached", engine = { rcode = P.REFUSED, ra = false } }
      assert.matches("did not reach it", d, 1, true)
      assert.matches("refused to forward (the fixed behaviour)", d, 1, true)
      d = P.describe { listener = "not run", listener_reason = "\27[2J", engine = {} }
      assert.matches("untested", d, 1, true)
      assert.matches("nothing came back from outside", d, 1, true)
      assert.is_nil(d:find("\27", 1, true))
   end)

   it("refuses to run without an image", function()
      assert.has_error(function() P.run({}, nil) end)
   end)
end)
