-- A sample of the egress corpus (each category, malicious and benign),
-- played from inside a real bottle through the real pipelock 2.3.0 with TLS
-- interception, on the config the core builds now and on the config before
-- issue 16: the defaults keep in what docs/reliability.md section 7 says
-- they keep in, let through what it says they let through, and the same
-- cases got out before (so a leak would be seen).  The whole corpus is
-- `make reliability-egress`.
local E = require "testlib.e2e"

package.path = "./?.lua;" .. package.path

-- id -> {blocked now, blocked before}
local SAMPLE = {
   ["body-github_classic"] = { true, true },
   ["body-shopify"] = { true, false },                  -- a gitleaks pattern
   ["body-azure_storage"] = { true, false },            -- a Titus pattern
   ["hdr-x-debug-token"] = { true, false },              -- header_mode all
   ["hdr-user-agent"] = { true, false },                 -- the ignore list
   ["hdr-request-id"] = { false, false },
   ["enc-base64-github"] = { true, true },
   ["enc-commits"] = { false, false },                   -- 40 hex digits are no token
   ["url-query-github"] = { true, true },
   ["url-npm-meta"] = { false, false },
   ["host-base32-label"] = { true, true },
   ["host-cdn"] = { false, false },
   ["drop-pastebin"] = { true, false },                  -- the blocklist
   ["drop-webhook-site"] = { true, false },              -- the wider blocklist (csrc/drop_sites.h)
   ["drop-npm-tarball"] = { false, false },
   ["resp-ignore-previous"] = { true, false },           -- response_scanning block
   ["resp-lowercase-forget"] = { true, false },          -- claude-bottle's injection patterns
   ["resp-rustup"] = { false, false },
   ["ok-claude-messages"] = { false, false },
   ["ok-env-example"] = { false, true },                 -- the placeholder-tolerant Environment Variable Secret
   ["ok-git-upload-pack"] = { false, false },
}

describe("egress inspection, a sample of the corpus #e2e", function()
   local why = E.unavailable()
   local X, S, corpus, ctx, runs
   local cases = {}

   setup(function()
      if why then return end
      X = require "reliability.probes.egress"
      S = require "reliability.egress.settings"
      corpus = require "reliability.egress.corpus"
      for _, c in ipairs(corpus.load()) do
         if SAMPLE[c.id] then cases[#cases + 1] = c end
         if c.id == "ws-wss-token" or c.id == "ws-wss-chat" then
            cases[#cases + 1] = c
            local v = {}
            for k, x in pairs(c) do v[k] = x end
            v.id, v.category, v.ws_proxy = c.id .. "-via-ws-proxy", "websocket-proxy", true
            cases[#cases + 1] = v
         end
      end
      ctx = X.setup(cases)
      runs = { now = X.play(ctx, S.find("defaults"), { agent = "e2eegress" }),
               before = X.play(ctx, S.find("before"), { agent = "e2eegress" }) }
   end)

   teardown(function()
      if ctx then X.teardown(ctx) end
   end)

   local function verdict(run, id)
      for _, v in ipairs(runs[run].results) do if v.id == id then return v end end
      error("no verdict for " .. id)
   end

   it("found every sampled case in the corpus", function()
      if why then return pending(why) end
      local n = 0
      for _ in pairs(SAMPLE) do n = n + 1 end
      assert.equals(n + 4, #cases)
   end)

   for id, want in pairs(SAMPLE) do
      it(id .. (want[1] and " is blocked" or " gets through") .. " (and " .. (want[2] and "was" or "was not")
         .. " blocked before)", function()
         if why then return pending(why) end
         local now, before = verdict("now", id), verdict("before", id)
         assert.equals(want[1], now.blocked, ("%s now: status %s, %s; %s"):format(id, tostring(now.status),
            now.received, table.concat(now.decisions, "; ")))
         assert.equals(want[2], before.blocked, ("%s before: status %s, %s"):format(id, tostring(before.status),
            before.received))
         if want[1] and now.status == 403 then
            -- the refusal says which scanner, in pipelock's decision line
            assert.is_true(#now.decisions > 0, id .. ": no decision line")
         end
      end)
   end

   it("WebSocket through /ws: a frame with a token is refused with 1008, a clean one arrives", function()
      if why then return pending(why) end
      local bad, good = verdict("now", "ws-wss-token-via-ws-proxy"), verdict("now", "ws-wss-chat-via-ws-proxy")
      assert.equals(101, bad.status)
      assert.is_true(bad.blocked)
      -- a close frame (0x88) with 1008 (0x03f0): base64 "iA8D8" ...
      assert.matches("^reply iA8D8", bad.ws)
      assert.equals(101, good.status)
      assert.is_false(good.blocked, good.received)
      -- before, there was no /ws
      assert.equals(404, verdict("before", "ws-wss-chat-via-ws-proxy").status)
   end)

   it("WebSocket through HTTPS_PROXY: no 101 (pipelock 2.3.0 drops Upgrade; documented)", function()
      if why then return pending(why) end
      local v = verdict("now", "ws-wss-chat")
      assert.is_true(v.blocked)
      assert.are_not.equal(101, v.status)
      assert.matches("no Upgrade header", v.received, 1, true)
   end)
end)
