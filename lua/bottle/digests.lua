-- The digest each pulled tag had: once `up` has pulled repo:tag, the
-- registry's manifest digest for it is recorded here, and a later pull of
-- the same tag that would fetch another digest is refused with both shown
-- (a tag is mutable: a changed one may be a compromised registry or
-- account), until the user accepts it with `bottle images --accept`.
-- The file: $XDG_STATE_HOME/claude-bottle/digests.json, 0600, JSON
--   {"tags": {"repo:tag": {"digest": "sha256:...", "recorded": "ISO time"}},
--    "pending": {"repo:tag": {"digest": "sha256:...", "seen": "ISO time"}}}
local core = require "bottle.core"
local cjson = require "cjson"
local schema = require "bottle.schema"

local M = {}

M.FILE = "digests.json"
M.MODE = tonumber("600", 8)
M.MAX_BYTES = 4 * 1024 * 1024

--- path(getenv) → the file's path | nil, message.
function M.path(getenv)
   local dir = schema.state_dir(getenv or os.getenv)
   if not dir then return nil, "no state directory: neither XDG_STATE_HOME nor HOME is an absolute path" end
   return dir .. "/" .. M.FILE
end

local function empty() return { tags = {}, pending = {} } end

local function is_digest(s) return type(s) == "string" and #s == 71 and s:match("^sha256:%x+$") ~= nil end

--- load(path) → records (empty when the file does not exist) | nil, message, code.
function M.load(path)
   local text, msg, code = core.read_file(path, { max_bytes = M.MAX_BYTES })
   if not text then
      if code == "ENOENT" then return empty() end
      return nil, msg, "digests"
   end
   local ok, doc = pcall(cjson.decode, text)
   if not ok or type(doc) ~= "table" then
      return nil, path .. ": not the JSON the launcher writes; move it away to start the records afresh", "digests"
   end
   local out = empty()
   for _, section in ipairs { "tags", "pending" } do
      for ref, rec in pairs(type(doc[section]) == "table" and doc[section] or {}) do
         if type(ref) == "string" and type(rec) == "table" and is_digest(rec.digest) then
            out[section][ref] = { digest = rec.digest, recorded = rec.recorded, seen = rec.seen }
         end
      end
   end
   return out
end

local function ensure_dir(dir)
   if core.stat(dir) then return true end
   local parent = dir:match("^(.+)/[^/]+$")
   if parent then ensure_dir(parent) end
   local ok, msg = core.mkdir(dir, tonumber("700", 8))
   if not ok and not core.stat(dir) then return nil, msg end
   return true
end

--- save(records, path) → true | nil, message: a new 0600 file renamed over
-- the old one, so a reader never sees half of it.
function M.save(records, path)
   local ok, msg = ensure_dir(path:match("^(.+)/[^/]+$"))
   if not ok then return nil, msg, "digests" end
   local doc = { tags = {}, pending = {} }
   for _, section in ipairs { "tags", "pending" } do
      -- an empty section is written {}, which is what lua-cjson makes of it
      for ref, rec in pairs(records[section]) do doc[section][ref] = rec end
   end
   local tmp = path .. ".tmp." .. core.random_hex(6)
   local written, werr = core.write_file(tmp, cjson.encode(doc) .. "\n", M.MODE)
   if not written then return nil, werr, "digests" end
   local renamed, rerr = os.rename(tmp, path)
   if not renamed then
      os.remove(tmp)
      return nil, rerr, "digests"
   end
   return true
end

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

--- check(records, ref, digest) → "new" | "same" | nil, message, "digest_changed".
-- A changed digest is kept as pending, for `bottle images --accept`.
function M.check(records, ref, digest)
   if not is_digest(digest) then error("digests.check: digest must be sha256:<64 hex>", 2) end
   local rec = records.tags[ref]
   if not rec then return "new" end
   if rec.digest == digest then return "same" end
   records.pending[ref] = { digest = digest, seen = now() }
   return nil, ("%s: the registry now serves %s, but %s was recorded when it was first pulled%s; "
      .. "a tag that changes may be a new release or a compromised registry: "
      .. "check it, then `bottle images --accept` to take the new digest"):format(ref, digest, rec.digest,
      rec.recorded and (" (" .. rec.recorded .. ")") or ""), "digest_changed"
end

--- record(records, ref, digest): the tag's digest from now on.
function M.record(records, ref, digest)
   if not is_digest(digest) then error("digests.record: digest must be sha256:<64 hex>", 2) end
   records.tags[ref] = { digest = digest, recorded = now() }
   records.pending[ref] = nil
end

--- accept(records) → { {ref, old, new}, ... }: every pending change taken.
function M.accept(records)
   local out = {}
   local refs = {}
   for ref in pairs(records.pending) do refs[#refs + 1] = ref end
   table.sort(refs)
   for _, ref in ipairs(refs) do
      local old = records.tags[ref] and records.tags[ref].digest
      out[#out + 1] = { ref = ref, old = old, new = records.pending[ref].digest }
      M.record(records, ref, records.pending[ref].digest)
   end
   return out
end

return M
