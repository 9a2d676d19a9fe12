-- `up`'s image step, after the y/N: every missing image a launch needs is
-- pulled or built through the backend (backend:image_status, backend:fetch_image),
-- with a progress bar on a terminal and plain lines otherwise, the digest
-- records (bottle.digests) checked and kept.  --no-pull refuses instead,
-- with the exact commands.
local core = require "bottle.core"
local sanitize = require "bottle.sanitize"
local images = require "bottle.images"
local digests = require "bottle.digests"

local M = {}

--- missing(backend, plan) → entries not present (see backend:image_status) |
-- nil, message, code.  A backend without images support fetches nothing.
function M.missing(backend, plan)
   if type(backend.image_status) ~= "function" then return {} end
   local list, msg, code = backend:image_status(plan)
   if not list then return nil, msg, code end
   local out = {}
   for _, e in ipairs(list) do
      if not e.present then out[#out + 1] = e end
   end
   return out
end

--- The set of missing images, for launch.prepare's opts.fetching.
function M.set(missing)
   local s = {}
   for _, e in ipairs(missing) do s[e.image] = true end
   return s
end

local function commands(list)
   local lines = {}
   for _, e in ipairs(list) do
      lines[#lines + 1] = ("  %s   # the %s image"):format(
         e.source and images.command(e.image, e.source) or ("docker pull " .. e.image), e.role)
   end
   return table.concat(lines, "\n")
end

--- blocked(missing, no_pull) → message | nil: what `up` will not fetch
-- itself (test images; everything with --no-pull), with the commands.
function M.blocked(missing, no_pull)
   local list = {}
   for _, e in ipairs(missing) do
      if no_pull or not e.source or e.source.how == "make" then list[#list + 1] = e end
   end
   if #list == 0 then return nil end
   return ("%s missing%s; run:\n%s"):format(#list == 1 and "an image is" or (#list .. " images are"),
      no_pull and " and --no-pull was given" or "", commands(list))
end

--- The preflight's line: what `up` will fetch after the y/N.
function M.describe(missing)
   local parts = {}
   for _, e in ipairs(missing) do
      local how = e.source and e.source.how == "build"
         and ("build %s from %s/%s"):format(e.image, e.source.dir, e.source.dockerfile)
         or ("pull " .. e.image)
      parts[#parts + 1] = how
   end
   return "images to fetch after the question: " .. table.concat(parts, "; ")
end

-- The terminal's side: a bar redrawn in place on a tty (at most ten times
-- a second), the lines worth a line otherwise.
local function reporter(out, tty)
   local last_bar, last_t = nil, 0
   local r = {}
   function r.event(ev, tracker)
      if ev then
         if tty and last_bar then out:write("\r\27[K") end
         out:write("  ", sanitize.line(ev.text), "\n")
         last_bar = nil
      end
      if tty and tracker and #tracker.order > 0 then
         local now = core.monotonic()
         local bar = tracker:bar()
         if bar ~= last_bar and (now - last_t > 0.1 or not last_bar) then
            out:write("\r\27[K  ", bar)
            out:flush()
            last_bar, last_t = bar, now
         end
      end
   end
   function r.finish(tracker)
      if tty and last_bar then
         out:write("\r\27[K  ", tracker and tracker:bar() or last_bar, "\n")
      end
      last_bar = nil
   end
   return r
end

--- run(backend, missing, opts) → true | nil, message, code.
-- opts: out (default io.stderr), tty (default: out is a terminal),
-- getenv (for the state directory), say(line).
function M.run(backend, missing, opts)
   opts = opts or {}
   local out = opts.out or io.stderr
   local tty = opts.tty
   if tty == nil then tty = core.isatty(2) end
   local path, perr = digests.path(opts.getenv)
   if not path then return nil, perr, "usage" end
   local records, lerr, lcode = digests.load(path)
   if not records then return nil, lerr, lcode end
   for _, e in ipairs(missing) do
      local how = e.source and e.source.how == "build" and "building" or "pulling"
      out:write(("bottle: %s the %s image %s\n"):format(how, e.role:gsub("_", " "), sanitize.line(e.image)))
      local rep = reporter(out, tty)
      local last_tracker
      local done, msg, code = backend:fetch_image(e, { records = records, on_event = function(ev, tracker)
         last_tracker = tracker
         rep.event(ev, tracker)
      end })
      rep.finish(last_tracker)
      -- a refused digest is kept as pending for `bottle images --accept`
      local saved, serr, scode = digests.save(records, path)
      if not done then return nil, msg, code end
      if not saved then return nil, serr, scode end
      if done.digest then out:write(("bottle: %s is %s\n"):format(sanitize.line(e.image), done.digest)) end
   end
   return true
end

return M
