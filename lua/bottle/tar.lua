-- Tar streams for the Docker Engine's archive endpoints: PUT /containers/{id}/archive
-- takes one, GET returns one. The writer makes POSIX ustar (pax extended headers
-- for names or link targets too long for ustar); the reader understands ustar,
-- pax and GNU long names, which covers what the Engine (Go's archive/tar) and
-- GNU tar write.
local M = {}

local BLOCK = 512
local ZERO_BLOCK = string.rep("\0", BLOCK)

local TYPE_FLAG = { file = "0", dir = "5", symlink = "2" }
local TYPE_NAME = { ["0"] = "file", ["\0"] = "file", ["7"] = "file", ["5"] = "dir",
                    ["2"] = "symlink", ["1"] = "hardlink" }

-- ---------------------------------------------------------------- writing

local function octal(value, width)
   -- width counts the trailing NUL, as ustar's numeric fields do
   local text = string.format("%o", value)
   if #text > width - 1 then
      error(string.format("tar: value %d does not fit a %d-byte field", value, width), 3)
   end
   return string.rep("0", width - 1 - #text) .. text .. "\0"
end

local function field(text, width)
   return text .. string.rep("\0", width - #text)
end

local function pad(size)
   local rest = size % BLOCK
   return rest == 0 and "" or string.rep("\0", BLOCK - rest)
end

-- Splits a path into ustar's prefix (155) and name (100) at a slash, or nil.
local function split_ustar_name(path)
   if #path <= 100 then return "", path end
   for i = math.min(#path - 1, 156), 1, -1 do
      if path:sub(i, i) == "/" then
         local prefix, name = path:sub(1, i - 1), path:sub(i + 1)
         if #prefix <= 155 and #name <= 100 and #name > 0 then return prefix, name end
      end
   end
   return nil
end

local function header(h)
   local prefix, name = split_ustar_name(h.name)
   local fields = {
      field(name, 100),
      octal(h.mode, 8), octal(h.uid, 8), octal(h.gid, 8),
      octal(h.size, 12), octal(h.mtime, 12),
      "        ",                                  -- checksum, counted as spaces
      h.typeflag,
      field(h.linkname or "", 100),
      "ustar\0", "00",
      field(h.uname or "", 32), field(h.gname or "", 32),
      octal(0, 8), octal(0, 8),                    -- device major, minor
      field(prefix, 155),
      string.rep("\0", 12),
   }
   local block = table.concat(fields)
   assert(#block == BLOCK)
   local sum = 0
   for i = 1, BLOCK do sum = sum + block:byte(i) end
   return block:sub(1, 148) .. string.format("%06o\0 ", sum) .. block:sub(157)
end

-- One pax record: "LEN key=value\n", where LEN counts the whole record.
local function pax_record(key, value)
   local body = " " .. key .. "=" .. value .. "\n"
   local len = #body + 1
   while #tostring(len) + #body ~= len do len = #tostring(len) + #body end
   return tostring(len) .. body
end

local function check_entry(e, i)
   if type(e) ~= "table" then error("tar.pack: entry " .. i .. " is not a table", 3) end
   if type(e.name) ~= "string" or e.name == "" then
      error("tar.pack: entry " .. i .. " has no name", 3)
   end
   if e.name:find("\0", 1, true) then error("tar.pack: entry " .. i .. ": NUL in name", 3) end
   local kind = e.type or "file"
   if not TYPE_FLAG[kind] then
      error("tar.pack: entry " .. i .. " (" .. e.name .. "): unknown type " .. tostring(kind), 3)
   end
   if kind == "file" and e.data ~= nil and type(e.data) ~= "string" then
      error("tar.pack: entry " .. i .. " (" .. e.name .. "): data must be a string", 3)
   end
   if kind == "symlink" and type(e.linkname) ~= "string" then
      error("tar.pack: entry " .. i .. " (" .. e.name .. "): a symlink needs linkname", 3)
   end
   return kind
end

-- pack(entries) → tar stream (string). Each entry:
--   { name = "etc/pipelock.yaml", type = "file"|"dir"|"symlink" (default "file"),
--     data = "..." (files), linkname = "..." (symlinks), mode = 0600 (default 0644,
--     dirs 0755), uid = 0, gid = 0, mtime = os.time(), uname = nil, gname = nil }
-- Names are relative to the extraction directory; a directory's trailing "/" is added.
-- Misuse (a bad entry) raises.
function M.pack(entries)
   local out = {}
   local now = os.time()
   for i, e in ipairs(entries) do
      local kind = check_entry(e, i)
      local name = e.name:gsub("^/+", "")
      if kind == "dir" and name:sub(-1) ~= "/" then name = name .. "/" end
      local data = kind == "file" and (e.data or "") or ""
      local h = {
         name = name, typeflag = TYPE_FLAG[kind], size = #data,
         mode = e.mode or (kind == "dir" and tonumber("755", 8) or tonumber("644", 8)),
         uid = e.uid or 0, gid = e.gid or 0, mtime = e.mtime or now,
         linkname = e.linkname, uname = e.uname, gname = e.gname,
      }
      local pax = {}
      if not split_ustar_name(name) then
         pax[#pax + 1] = pax_record("path", name)
         h.name = name:sub(1, 99):gsub("/*$", "")   -- a placeholder old readers may use
      end
      if h.linkname and #h.linkname > 100 then
         pax[#pax + 1] = pax_record("linkpath", h.linkname)
         h.linkname = h.linkname:sub(1, 100)
      end
      if #pax > 0 then
         local records = table.concat(pax)
         out[#out + 1] = header { name = "PaxHeaders/" .. h.name:sub(1, 80), typeflag = "x",
                                   size = #records, mode = tonumber("644", 8), uid = 0, gid = 0,
                                   mtime = h.mtime }
         out[#out + 1] = records .. pad(#records)
      end
      out[#out + 1] = header(h)
      if #data > 0 then out[#out + 1] = data .. pad(#data) end
   end
   out[#out + 1] = ZERO_BLOCK .. ZERO_BLOCK
   return table.concat(out)
end

-- ---------------------------------------------------------------- reading

local function cstring(block, first, width)
   local s = block:sub(first, first + width - 1)
   local nul = s:find("\0", 1, true)
   return nul and s:sub(1, nul - 1) or s
end

-- A numeric field: octal text, or GNU base-256 (high bit of the first byte set).
local function number(block, first, width)
   local s = block:sub(first, first + width - 1)
   local b1 = s:byte(1)
   if b1 >= 0x80 then
      local n = b1 & 0x7f
      for i = 2, #s do n = n * 256 + s:byte(i) end
      return n
   end
   local digits = s:match("^[ \0]*([0-7]*)")
   if digits == "" then return 0 end
   return tonumber(digits, 8)
end

local function checksum_ok(block)
   local stored = number(block, 149, 8)
   local sum = 0
   for i = 1, BLOCK do
      sum = sum + ((i >= 149 and i <= 156) and 32 or block:byte(i))
   end
   return sum == stored
end

local function parse_pax(records)
   local values, pos = {}, 1
   while pos <= #records do
      local len = records:match("^(%d+) ", pos)
      if not len then break end
      local record = records:sub(pos, pos + tonumber(len) - 1)
      local key, value = record:match("^%d+ ([^=]+)=(.*)\n$")
      if key then values[key] = value end
      pos = pos + tonumber(len)
   end
   return values
end

-- unpack(stream) → array of entries { name, type = "file"|"dir"|"symlink"|"hardlink"|"other",
-- mode, uid, gid, mtime, size, data (files), linkname } | nil, message, "tar_format".
-- Directory names come back without their trailing "/".
function M.unpack(stream)
   if type(stream) ~= "string" then error("tar.unpack: stream must be a string", 2) end
   local entries, pos = {}, 1
   local pending_pax, long_name, long_link = nil, nil, nil
   while pos + BLOCK - 1 <= #stream do
      local block = stream:sub(pos, pos + BLOCK - 1)
      if block == ZERO_BLOCK then break end
      if not checksum_ok(block) then
         return nil, string.format("tar: bad header checksum at byte %d", pos - 1), "tar_format"
      end
      local size = number(block, 125, 12)
      local typeflag = block:sub(157, 157)
      local body_start = pos + BLOCK
      if body_start + size - 1 > #stream then
         return nil, string.format("tar: entry at byte %d runs past the end", pos - 1), "tar_format"
      end
      local body = stream:sub(body_start, body_start + size - 1)
      pos = body_start + size + (size % BLOCK == 0 and 0 or BLOCK - size % BLOCK)
      if typeflag == "x" then
         pending_pax = parse_pax(body)
      elseif typeflag == "g" then -- luacheck: ignore 542
         -- global pax header: nothing in it matters here
      elseif typeflag == "L" then
         long_name = body:gsub("\0.*$", "")
      elseif typeflag == "K" then
         long_link = body:gsub("\0.*$", "")
      else
         local name = cstring(block, 1, 100)
         if block:sub(258, 262) == "ustar" then
            local prefix = cstring(block, 346, 155)
            if prefix ~= "" then name = prefix .. "/" .. name end
         end
         local linkname = cstring(block, 158, 100)
         local e = {
            mode = number(block, 101, 8) & tonumber("7777", 8),
            uid = number(block, 109, 8), gid = number(block, 117, 8),
            mtime = number(block, 137, 12), size = size,
            type = TYPE_NAME[typeflag] or "other",
         }
         name = long_name or name
         linkname = long_link or linkname
         if pending_pax then
            name = pending_pax.path or name
            linkname = pending_pax.linkpath or linkname
            if pending_pax.size then e.size = tonumber(pending_pax.size) end
            if pending_pax.uid then e.uid = tonumber(pending_pax.uid) end
            if pending_pax.gid then e.gid = tonumber(pending_pax.gid) end
            if pending_pax.mtime then e.mtime = math.floor(tonumber(pending_pax.mtime)) end
         end
         if e.type == "file" and name:sub(-1) == "/" then e.type = "dir" end
         e.name = name:gsub("/+$", "")
         if e.type == "file" then e.data = body end
         if linkname ~= "" then e.linkname = linkname end
         entries[#entries + 1] = e
         pending_pax, long_name, long_link = nil, nil, nil
      end
   end
   return entries
end

-- find(entries, name) → the entry whose name is `name` (leading "./" and "/" ignored).
function M.find(entries, name)
   local want = name:gsub("^%./", ""):gsub("^/+", "")
   for _, e in ipairs(entries) do
      if e.name:gsub("^%./", ""):gsub("^/+", "") == want then return e end
   end
   return nil
end

return M
