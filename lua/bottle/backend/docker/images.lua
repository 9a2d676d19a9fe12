-- The engine's side of the images: what is present (with its digests), a
-- pull through POST /images/create, a build through POST /build with a tar
-- context, both read as they stream (bottle.pull_progress).  A tag is
-- pulled by the digest the registry names for it (GET /distribution), so
-- that what runs is what was checked against the digest records
-- (bottle.digests), then tagged.
local api_mod = require "bottle.backend.docker.api"
local stream = require "bottle.backend.docker.stream"
local pull_progress = require "bottle.pull_progress"
local images = require "bottle.images"
local digests = require "bottle.digests"

local M = {}

-- A pull or a build may take long on a slow line; never forever.
M.TIMEOUT_MS = 60 * 60 * 1000

--- status(api, entries) → entries, each with present (bool), id, digests
-- (the image's RepoDigests) | nil, message, code.  entries: { {role, image} }.
function M.status(api, entries)
   local calls = {}
   for i, e in ipairs(entries) do
      calls[i] = { "inspect image " .. e.image, "GET", "/images/" .. api_mod.urlencode(e.image) .. "/json" }
   end
   local out = {}
   for i, r in ipairs(api:many(calls)) do
      local e = {}
      for k, v in pairs(entries[i]) do e[k] = v end
      if r[1] then
         e.present, e.id = true, r[1].Id
         e.digests = {}
         for _, d in ipairs(r[1].RepoDigests or {}) do e.digests[#e.digests + 1] = d end
      elseif r[3] == "not_found" then
         e.present = false
      else
         return nil, r[2], r[3]
      end
      out[i] = e
   end
   return out
end

--- registry_digest(api, "repo:tag") → "sha256:..." the registry serves for it.
function M.registry_digest(api, ref)
   local r, msg, code = api:call("ask the registry about " .. ref, "GET",
      "/distribution/" .. api_mod.urlencode(ref) .. "/json", { timeout_ms = 60000 })
   if not r then return nil, msg, code end
   local d = type(r.Descriptor) == "table" and r.Descriptor.digest
   if type(d) ~= "string" or not d:match("^sha256:%x+$") then
      return nil, "the registry named no sha256 digest for " .. ref, "engine"
   end
   return d
end

-- Runs a streaming call, each JSON line through a tracker; on_event(event,
-- tracker) hears what is worth showing.  → tracker | nil, message, code.
local function streamed(api, what, method, path, opts, on_event)
   local tracker = pull_progress.new()
   local feed = stream.line_splitter(function(line)
      local ev = tracker:feed(line)
      if on_event then on_event(ev, tracker) end
   end)
   opts.raw, opts.timeout_ms = true, M.TIMEOUT_MS
   opts.on_data = function(chunk) feed(chunk) end
   local ok, msg, code = api:call(what, method, path, opts)
   if not ok then return nil, msg, code end
   feed("\n")
   if tracker.error then return nil, what .. ": " .. tracker.error, "engine" end
   return tracker
end

--- pull(api, repo, tag_or_digest, on_event) → tracker | nil, message, code.
function M.pull(api, repo, tag, on_event)
   return streamed(api, "pull " .. repo .. (tag:find(":", 1, true) and "@" or ":") .. tag, "POST", "/images/create",
      { query = { fromImage = repo, tag = tag } }, on_event)
end

--- tag(api, source, repo, tag) → true | nil, message, code.
function M.tag(api, source, repo, tag)
   return api:call("tag " .. source .. " as " .. repo .. ":" .. tag, "POST",
      "/images/" .. api_mod.urlencode(source) .. "/tag", { query = { repo = repo, tag = tag } })
end

--- build(api, image, dockerfile, context_tar, on_event) → tracker | nil, message, code.
function M.build(api, image, dockerfile, context, on_event)
   return streamed(api, "build " .. image, "POST", "/build",
      { query = { t = image, dockerfile = dockerfile, rm = true, forcerm = true },
        body = context, content_type = "application/x-tar" }, on_event)
end

--- fetch(api, entry, opts) → {how, digest} | nil, message, code.
-- entry: {role, image, source (bottle.images.source)}.  opts.records: the
-- digest records (bottle.digests; changed in place: the caller saves
-- them), opts.on_event(event, tracker).
function M.fetch(api, entry, opts)
   opts = opts or {}
   local src = entry.source
   if src.how == "make" then
      return nil, ("the %s image %s is a test image: build it with `make test-images`"):format(entry.role, entry.image),
         "not_ready"
   end
   local done, msg, code
   if src.how == "build" then
      local context, why = images.context(src.dir, src.dockerfile)
      if not context then return nil, why, "not_ready" end
      done, msg, code = M.build(api, entry.image, src.dockerfile, context, opts.on_event)
      if not done then return nil, msg, code end
      return { how = "build", id = done.image_id }
   end
   local r = src.ref
   if r.digest then
      -- pinned: the digest is the name, nothing to record
      done, msg, code = M.pull(api, r.repo, r.digest, opts.on_event)
      if not done then return nil, msg, code end
      return { how = "pull", digest = r.digest }
   end
   local ref = images.tag_ref(r)
   local digest
   digest, msg, code = M.registry_digest(api, ref)
   if not digest then return nil, msg, code end
   if opts.records then
      local ok
      ok, msg, code = digests.check(opts.records, ref, digest)
      if not ok then return nil, msg, code end
   end
   done, msg, code = M.pull(api, r.repo, digest, opts.on_event)
   if not done then return nil, msg, code end
   local tagged
   tagged, msg, code = M.tag(api, r.repo .. "@" .. digest, r.repo, r.tag)
   if not tagged then return nil, msg, code end
   if opts.records then digests.record(opts.records, ref, digest) end
   return { how = "pull", digest = digest }
end

return M
