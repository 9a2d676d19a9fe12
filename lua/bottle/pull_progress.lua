-- The engine's progress stream for a pull (POST /images/create) and a build
-- (POST /build): one JSON object per line.  A pull sends
--   {"status":"Pulling from repo","id":"tag"}
--   {"status":"Downloading","progressDetail":{"current":N,"total":M},"id":"layer"}
--   {"status":"Pull complete","id":"layer"}   {"status":"Digest: sha256:..."}
-- a build {"stream":"Step 1/3 : FROM ..."} and {"aux":{"ID":"sha256:..."}},
-- and either an {"error":"...","errorDetail":{...}} when it fails (the HTTP
-- status is 200 by then).  A tracker reads them into what the terminal
-- shows: a bar of the bytes and layers, and the lines worth a line.
local cjson = require "cjson"

local M = {}

-- Layer statuses after which its bytes are all there.
local DONE = { ["Download complete"] = true, ["Pull complete"] = true, ["Already exists"] = true,
               ["Verifying Checksum"] = true, ["Extracting"] = true }
-- Layer statuses worth a plain line (the others repeat many times a second).
local LINE = { ["Pull complete"] = true, ["Already exists"] = true, ["Pulling fs layer"] = false }

local Tracker = {}
Tracker.__index = Tracker

function M.new()
   return setmetatable({ layers = {}, order = {}, error = nil, digest = nil, image_id = nil }, Tracker)
end

local function layer(self, id)
   local l = self.layers[id]
   if not l then
      l = { current = 0, total = 0, done = false }
      self.layers[id] = l
      self.order[#self.order + 1] = id
   end
   return l
end

--- feed(line) → an event {kind = "line" | "error", text} worth showing, or nil.
function Tracker:feed(line)
   line = line:gsub("\r$", "")
   if line == "" then return nil end
   local ok, obj = pcall(cjson.decode, line)
   if not ok or type(obj) ~= "table" then return { kind = "line", text = line } end
   if obj.error ~= nil or obj.errorDetail ~= nil then
      local detail = type(obj.errorDetail) == "table" and obj.errorDetail.message
      self.error = tostring(type(obj.error) == "string" and obj.error or detail or "the engine reported an error")
      return { kind = "error", text = self.error }
   end
   if type(obj.aux) == "table" and type(obj.aux.ID) == "string" then
      self.image_id = obj.aux.ID
      return nil
   end
   if type(obj.stream) == "string" then
      local text = obj.stream:gsub("%s+$", "")
      if text == "" then return nil end
      return { kind = "line", text = text }
   end
   local status = type(obj.status) == "string" and obj.status or nil
   if not status then return nil end
   local digest = status:match("^Digest: (sha256:%x+)$")
   if digest then self.digest = digest end
   local id = type(obj.id) == "string" and obj.id or nil
   -- a layer's id is 12 hex digits; the first line's id is the tag
   if id and id:match("^%x+$") and #id == 12 then
      local l = layer(self, id)
      local pd = type(obj.progressDetail) == "table" and obj.progressDetail or {}
      if status == "Downloading" and math.type(pd.total) and pd.total > 0 then
         l.total = math.tointeger(pd.total) or pd.total
         l.current = math.tointeger(pd.current) or pd.current or 0
      end
      if DONE[status] then
         l.done = true
         l.current = l.total
      end
      if LINE[status] then return { kind = "line", text = ("layer %s: %s"):format(id, status) } end
      return nil
   end
   return { kind = "line", text = id and (id .. ": " .. status) or status }
end

--- totals() → bytes current, bytes total (of the layers whose size is known),
-- layers done, layers.
function Tracker:totals()
   local cur, tot, done = 0, 0, 0
   for _, id in ipairs(self.order) do
      local l = self.layers[id]
      cur, tot = cur + l.current, tot + l.total
      if l.done then done = done + 1 end
   end
   return cur, tot, done, #self.order
end

local function mb(n) return ("%.1f"):format(n / 1e6) end

--- bar(width) → "[#########-----------] 45%  12.3/27.1 MB  3/5 layers".
function Tracker:bar(width)
   width = width or 24
   local cur, tot, done, n = self:totals()
   local frac = tot > 0 and cur / tot or (n > 0 and done / n or 0)
   if frac > 1 then frac = 1 end
   local filled = math.floor(frac * width + 0.5)
   return ("[%s%s] %3d%%  %s/%s MB  %d/%d layers"):format(("#"):rep(filled), ("-"):rep(width - filled),
      math.floor(frac * 100 + 0.5), mb(cur), mb(tot), done, n)
end

return M
