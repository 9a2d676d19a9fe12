-- What pipelock inspects on allowed traffic, read from the final config
-- (after policies), for the preflight: one line per choice, saying what
-- applies and what it means for the agent.
local M = {}

local function count(t) return type(t) == "table" and #t or 0 end

-- cfg: the pipelock config table -> array of lines
function M.lines(cfg)
   if type(cfg) ~= "table" then error("inspection.lines: cfg must be a table", 2) end
   local rbs = cfg.request_body_scanning or {}
   local rs = cfg.response_scanning or {}
   local mon = (cfg.fetch_proxy or {}).monitoring or {}
   local dlp = cfg.dlp or {}
   local lines = {}
   local function add(fmt, ...) lines[#lines + 1] = fmt:format(...) end

   if rbs.header_mode == "all" then
      add("headers: all scanned (but %d a proxy must read)", count(rbs.ignore_headers))
   else
      add("headers: pipelock's sensitive list only (custom headers go unscanned)")
   end
   local action = rs.action or "warn"
   if action == "block" then
      add("responses: block (a page with an injection pattern is refused, 403)")
   elseif action == "strip" then
      add("responses: strip (the matched phrase is redacted, the rest delivered)")
   else
      add("responses: %s (an injection is logged, the page delivered)", action)
   end
   local own = 0
   for _, p in ipairs(rs.patterns or {}) do
      if type(p.name) == "string" and p.name:match("^claude%-bottle ") then own = own + 1 end
   end
   add("injection patterns: pipelock's 25%s", own > 0 and (" + " .. own .. " of claude-bottle's") or "")
   add("blocklist: %s", count(mon.blocklist) > 0
       and (count(mon.blocklist) .. " paste, file-drop, request-catcher and tunnel hosts") or "none")
   local from = { gitleaks = 0, titus = 0 }
   for _, p in ipairs(dlp.patterns or {}) do
      local set = type(p.name) == "string" and p.name:match("^(%l+) ")
      if from[set] then from[set] = from[set] + 1 end
   end
   add("dlp patterns: %s%s%s", dlp.include_defaults == false and "no built-ins" or "pipelock's 48",
       from.gitleaks > 0 and (" + " .. from.gitleaks .. " from gitleaks") or "",
       from.titus > 0 and (" + " .. from.titus .. " from Titus") or "")
   if cfg.websocket_proxy and cfg.websocket_proxy.enabled then
      add("websocket: scanned through $CLAUDE_BOTTLE_WEBSOCKET_PROXY (through HTTPS_PROXY: no 101)")
   else
      add("websocket: no scanned path (through HTTPS_PROXY: no 101)")
   end
   return lines
end

return M
