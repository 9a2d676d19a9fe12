-- Egress inspection figures: the egress corpus played from inside a real
-- bottle through the real pipelock 2.3.0 (TLS interception on) to a local
-- upstream, once per setting of reliability/egress/settings.lua; per
-- category, how many malicious cases were blocked and how many benign ones.
--
--   lua5.4 reliability/egress.lua [--settings before,defaults,...] [--only CATEGORY,...]
--                                 [--corpus corpus|holdout|holdout2|all] [--json FILE] [--cases] [--latency]
--
-- --corpus picks the cases: the corpus (reliability/egress/corpus, the
-- default), the hold-out written before any figure (reliability/egress/
-- holdout), the second hold-out (reliability/egress/holdout2, written
-- before anything was measured on it), or all three.  --cases prints every
-- case's verdict with its evidence (status, pipelock's decision lines,
-- what the upstream received).  --json writes all of it.
-- --latency plays, instead of the corpus, Claude API bodies of 64 KiB, 1 MiB
-- and 4 MiB (3 times each) and prints the median time per setting: what the
-- DLP patterns cost on a long context.
-- Needs dockerd, the test images and the test CA (images/test/build.sh).
local R = dofile(((arg and arg[0] or ""):match("^(.*)/[^/]+$") or ".") .. "/common.lua")
local X = require "reliability.probes.egress"
local S = require "reliability.egress.settings"
local corpus = require "reliability.egress.corpus"
local opts = R.options(arg, { settings = "before,header-all,header-all-ignore,gitleaks,response-block,response-strip,"
                                         .. "blocklist,round1,round1+drop-sites,round1+injection,"
                                         .. "round1+env-placeholder,round2,reference,defaults,defaults-strip",
                              only = "", corpus = "corpus", json = "", cases = false, latency = false })
R.require_engine()

local only
if opts.only ~= "" then
   only = {}
   for c in opts.only:gmatch("[^,]+") do only[c] = true end
end
local cases = corpus.load(only, opts.corpus)
-- Each WebSocket case again through pipelock's WebSocket proxy (/ws), the
-- path the agent is offered (CLAUDE_BOTTLE_WEBSOCKET_PROXY).
for i = 1, #cases do
   local c = cases[i]
   if c.websocket then
      local v = {}
      for k, x in pairs(c) do v[k] = x end
      v.id, v.category, v.ws_proxy = c.id .. "-via-ws-proxy", "websocket-proxy", true
      v.what = c.what .. ", through /ws"
      cases[#cases + 1] = v
   end
end
if opts.latency then
   cases = {}
   for _, kib in ipairs { 64, 1024, 4096 } do
      local line = "def f(x):\\n    return x * 2  # doubles the input\\n"
      local text = line:rep(kib * 1024 // #line)
      for i = 1, 3 do
         cases[#cases + 1] = { id = ("lat-%d-%d"):format(kib, i), category = "latency-" .. kib .. "KiB", malicious = false,
            what = kib .. " KiB Claude API body", method = "POST", scheme = "https", host = "llm.egress.test",
            path = "/v1/messages", headers = { ["Content-Type"] = "application/json" },
            body = '{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"' .. text .. '"}]}' }
      end
   end
end
local settings = {}
for name in opts.settings:gmatch("[^,]+") do
   settings[#settings + 1] = S.find(name) or error("no setting " .. name)
end

local started = os.date("!%Y-%m-%dT%H:%M:%SZ")
local ctx = X.setup(cases)
local runs = {}
for _, s in ipairs(settings) do
   R.say("egress: %s (%d cases)", s.name, #cases)
   local ok, run = pcall(X.play, ctx, s)
   if not ok then
      X.teardown(ctx)
      io.stderr:write("egress: ", s.name, ": ", tostring(run), "\n")
      os.exit(2)
   end
   runs[#runs + 1] = run
end
X.teardown(ctx)

if opts.latency then
   print(("# reliability/egress.lua --latency (%s, %s)"):format(started, R.version()))
   local names = {}
   for i, r in ipairs(runs) do names[i] = r.setting end
   print("| body | " .. table.concat(names, " | ") .. " |")
   for _, kib in ipairs { 64, 1024, 4096 } do
      local row = { "| " .. kib .. " KiB" }
      for _, run in ipairs(runs) do
         local ms, st = {}, {}
         for _, v in ipairs(run.results) do
            if v.category == "latency-" .. kib .. "KiB" then ms[#ms + 1] = v.ms; st[#st + 1] = tostring(v.status) end
         end
         row[#row + 1] = ("%d ms (%s)"):format(R.median(ms), table.concat(st, ","))
      end
      print(table.concat(row, " | ") .. " |")
   end
   os.exit(0)
end

local cats = {}
for _, c in ipairs(cases) do
   if not cats[c.category] then cats[c.category] = true; cats[#cats + 1] = c.category end
end
cats[#cats + 1] = "http"

print(("# reliability/egress.lua (%s, %s): %d cases"):format(started, R.version(), #cases))
print("malicious blocked / malicious, benign blocked / benign; `http` is every category but the WebSocket ones")
local head, rule = { "| category" }, { "|---" }
for _, run in ipairs(runs) do head[#head + 1] = " | " .. run.setting; rule[#rule + 1] = "|---" end
print(table.concat(head) .. " |")
print(table.concat(rule) .. "|")
local counts = {}
for i, run in ipairs(runs) do counts[i] = X.count(run.results) end
for _, cat in ipairs(cats) do
   local row = { "| " .. cat }
   for i in ipairs(runs) do
      local t = counts[i][cat]
      if t then
         local pct = t.malicious > 0 and (" (%d%%)"):format(math.floor(100 * t.malicious_blocked / t.malicious + 0.5)) or ""
         row[#row + 1] = (" | %d/%d%s, %d/%d"):format(t.malicious_blocked, t.malicious, pct, t.benign_blocked, t.benign)
      else
         row[#row + 1] = " | -"
      end
   end
   print(table.concat(row) .. " |")
end

local function one_line(s) return (tostring(s or ""):gsub("[|\n\r]", " ")) end
if opts.cases then
   for _, run in ipairs(runs) do
      print(("\n## %s\n\n| verdict | id | status | pipelock | upstream received |\n|---|---|---|---|---|"):format(run.setting))
      for _, v in ipairs(run.results) do
         local verdict = v.malicious and (v.blocked and "blocked" or "LEAKED") or (v.blocked and "FALSE POSITIVE" or "passed")
         print(("| %s | %s | %s | %s | %s |"):format(verdict, v.id, one_line(v.status ~= 0 and v.status or v.error),
            one_line(table.concat(v.decisions, "; "):sub(1, 200)), one_line(v.received)))
      end
   end
end
if opts.json ~= "" then
   assert(R.core.write_file(opts.json, R.cjson.encode { started = started, version = R.version(), runs = runs },
                            tonumber("644", 8)))
end
