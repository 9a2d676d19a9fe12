-- A live egress change in a running pipelock sidecar: read its config, write
-- a new one through the archive endpoint, signal SIGHUP through the kill
-- endpoint, and prove the reload from pipelock's own log.
--
-- pipelock 2.3.0 reloads on SIGHUP (and on a write it sees through inotify;
-- two reloads of the same bytes within 2 s are one). A reload that fails to
-- load logs "pipelock: config reload failed: ..." on stderr; one it refuses
-- (a security downgrade in strict mode, such as a new passthrough domain)
-- logs an error event with method CONFIG_RELOAD; either way the old config
-- stays. A reload that took logs {"event":"config_reload","status":"success",
-- "config_hash": <sha256 of the file's bytes>}. The swap is one atomic
-- pointer store: listeners and open connections (CONNECT tunnels, keep-alive
-- clients) are not touched, and only new requests meet the new config.
local core = require "bottle.core"
local cjson = require "cjson"
local tar = require "bottle.tar"
local sha256 = require "bottle.sha256"
local resources = require "bottle.backend.docker.resources"
local pipelock = require "bottle.backend.docker.pipelock"

local M = {}

M.CONFIG_PATH = require("bottle.plan").PIPELOCK_CONFIG_PATH
M.RELOAD_TIMEOUT = tonumber(os.getenv("BOTTLE_RELOAD_TIMEOUT") or "") or 10
M.POLL_INTERVAL = 0.1

local MODE_600 = tonumber("600", 8)

-- The running sidecar of bottle `slug` → its container entry.  `found`:
-- what resources.find gave (the caller words an unreachable engine).
local function sidecar(c, slug, found)
   local msg, code
   if not found then
      found, msg, code = resources.find(c, slug)
      if not found then return nil, msg, code end
   end
   for _, ctr in ipairs(found.containers) do
      if ctr.role == "pipelock" then
         if ctr.state ~= "running" then
            return nil, ("bottle %s: its pipelock sidecar is not running (%s)"):format(slug, tostring(ctr.state)),
               "not_running"
         end
         return ctr
      end
   end
   return nil, ("no pipelock sidecar for bottle %q (see `bottle list`)"):format(slug), "not_found"
end

--- read(c, slug [, found]) → {yaml = the config file's bytes, sha256} | nil, message, code
function M.read(c, slug, found)
   local ctr, msg, code = sidecar(c, slug, found)
   if not ctr then return nil, msg, code end
   local stream
   stream, msg, code = c:archive_get(ctr.id, M.CONFIG_PATH)
   if not stream then return nil, msg, code end
   local entries
   entries, msg, code = tar.unpack(stream)
   if not entries then return nil, msg, code end
   local entry = tar.find(entries, M.CONFIG_PATH:match("[^/]+$"))
   if not entry or entry.type ~= "file" then
      return nil, "the sidecar's " .. M.CONFIG_PATH .. " is not a file", "engine"
   end
   return { yaml = entry.data, sha256 = sha256.hex(entry.data) }
end

-- What the log says about reloads: the hashes of configs that took, and the
-- lines that say a reload failed or was refused.
function M.reload_events(stdout, stderr)
   local took, refused = {}, {}
   for line in (stdout or ""):gmatch("[^\n]+") do
      local ok, ev = pcall(cjson.decode, line)
      if ok and type(ev) == "table" then
         if ev.event == "config_reload" and ev.status == "success" and type(ev.config_hash) == "string" then
            took[ev.config_hash] = true
         elseif ev.level == "error" and (ev.method == "CONFIG_RELOAD" or ev.method == "RELOAD") then
            refused[#refused + 1] = tostring(ev.error or ev.message or line)
         end
      end
   end
   for line in (stderr or ""):gmatch("[^\n]+") do
      if line:find("config reload failed", 1, true) then refused[#refused + 1] = line end
   end
   return took, refused
end

--- apply(c, slug, yaml [, opts [, found]]) → {sha256, seconds} | nil, message, code.
-- Writes `yaml` as the sidecar's config, sends SIGHUP and waits (at most
-- opts.timeout seconds) for pipelock to log that it loaded exactly these
-- bytes. code "reload_refused" when pipelock says it kept its old config
-- (unless opts.ignore_refusals: a restore waits for its proof alone),
-- "timeout" when it said nothing in time. The caller restores.
function M.apply(c, slug, yaml, opts, found)
   opts = opts or {}
   local ctr, msg, code = sidecar(c, slug, found)
   if not ctr then return nil, msg, code end
   local want = sha256.hex(yaml)
   local started = core.monotonic()
   -- the log from one second back (the engine's `since` has whole seconds);
   -- refusals already there are not this write's
   local since = os.time() - 1
   local out0, err0 = c:container_logs(ctr.id, { since = since })
   local _, before = M.reload_events(out0, err0)
   local ok
   ok, msg, code = c:archive_put(ctr.id, "/", tar.pack {
      { name = M.CONFIG_PATH:gsub("^/", ""), data = yaml, mode = MODE_600, uid = pipelock.UID, gid = pipelock.UID },
   })
   if not ok then return nil, msg, code end
   ok, msg, code = c:container_kill(ctr.id, "SIGHUP")
   if not ok then return nil, msg, code end
   local deadline = started + (opts.timeout or M.RELOAD_TIMEOUT)
   while true do
      local out, err = c:container_logs(ctr.id, { since = since })
      if out then
         local took, refused = M.reload_events(out, err)
         if took[want] then return { sha256 = want, seconds = core.monotonic() - started } end
         if #refused > #before and not opts.ignore_refusals then
            return nil, "pipelock refused the new config and kept its old one: " .. refused[#refused],
               "reload_refused"
         end
      end
      if core.monotonic() >= deadline then
         return nil, ("pipelock did not log that it loaded the new config within %gs")
            :format(opts.timeout or M.RELOAD_TIMEOUT), "timeout"
      end
      core.sleep(M.POLL_INTERVAL)
   end
end

return M
