-- The egress corpus: every case of reliability/egress/corpus/*.lua, checked
-- for shape; and the hold-out, reliability/egress/holdout/*.lua, the same
-- categories written apart from the figures (never tuned on them); and the
-- second hold-out, reliability/egress/holdout2/*.lua (ids h2-...), written
-- before anything was measured on it and left unchanged for the figures.
-- A case is {id, category, malicious, what, method, host, path, scheme
-- ("https" unless "http"), headers, body, compress, page (served by the
-- recorder: {content_type, body}), payload (what of the page must not reach
-- the agent), websocket, frame}.
local M = {}

M.FILES = { "body", "headers", "encoding", "url", "hostname", "dropsite", "response", "benign", "websocket" }
-- The sets: each a module prefix for M.FILES.  "all" is every set, in M.ORDER.
M.SETS = { corpus = "reliability.egress.corpus.", holdout = "reliability.egress.holdout.",
           holdout2 = "reliability.egress.holdout2." }
M.ORDER = { "corpus", "holdout", "holdout2" }

local function check(c, file)
   local function need(cond, what)
      if not cond then error(("corpus %s: case %s: %s"):format(file, tostring(c.id), what), 0) end
   end
   need(type(c.id) == "string" and c.id:match("^[%w%-_]+$"), "id must be a word")
   need(type(c.category) == "string", "category")
   need(type(c.malicious) == "boolean", "malicious must be true or false")
   need(type(c.what) == "string", "what")
   need(c.method and c.method:match("^%u+$"), "method")
   need(type(c.host) == "string" and c.host:match("^[%w%.%-]+$"), "host")
   need(type(c.path) == "string" and c.path:sub(1, 1) == "/", "path")
   need(c.scheme == nil or c.scheme == "http" or c.scheme == "https", "scheme")
   need(c.body == nil or type(c.body) == "string", "body")
   if c.category == "response" then
      need(type(c.page) == "table" and type(c.page.body) == "string", "a response case needs a page")
      need(not c.malicious or (type(c.payload) == "string" and c.page.body:find(c.payload, 1, true)),
           "a malicious page needs a payload that it contains")
   end
   if c.websocket then need(type(c.frame) == "string", "a websocket case needs a frame") end
end

-- All cases of `set` ("corpus", the default, "holdout", "holdout2" or
-- "all"), in file order; `only` (a set of categories) narrows them.
function M.load(only, set)
   set = set or "corpus"
   local sets = set == "all" and M.ORDER or { set }
   local all, seen = {}, {}
   for _, s in ipairs(sets) do
      local prefix = M.SETS[s] or error("corpus: no set " .. tostring(s), 0)
      for _, name in ipairs(M.FILES) do
         for _, c in ipairs(require(prefix .. name)) do
            check(c, s .. "/" .. name)
            if seen[c.id] then error("corpus: duplicate case id " .. c.id, 0) end
            seen[c.id] = true
            c.scheme = c.scheme or "https"
            c.headers = c.headers or {}
            if not only or only[c.category] then all[#all + 1] = c end
         end
      end
   end
   return all
end

-- Every host the cases name, sorted.
function M.hosts(cases)
   local set, list = {}, {}
   for _, c in ipairs(cases) do
      if not set[c.host] then set[c.host] = true; list[#list + 1] = c.host end
   end
   table.sort(list)
   return list
end

return M
