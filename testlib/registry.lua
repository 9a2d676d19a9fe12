-- A real registry on loopback for the image specs: Debian's docker-registry
-- (the distribution registry), started on 127.0.0.1:<port> with its own
-- temporary storage.  The engine treats 127.0.0.0/8 registries as insecure
-- by default (`docker info`: Insecure Registries), so plain http works with
-- no daemon.json.  Images reach it through the Engine API (tag, push).
local core = require "bottle.core"
local api_mod = require "bottle.backend.docker.api"
local stream = require "bottle.backend.docker.stream"
local pull_progress = require "bottle.pull_progress"

local G = {}

G.BINARY = "/usr/bin/docker-registry"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- nil when a registry can be started, else why not.
function G.unavailable()
   if not io.open(G.BINARY) then
      return G.BINARY .. " is missing: apt-get install docker-registry (make deps)"
   end
   return nil
end

local function answers(port)
   local status = core.http { method = "GET", url = ("http://127.0.0.1:%d/v2/"):format(port), timeout_ms = 1000,
                              connect_timeout_ms = 500 }
   return status == 200
end

--- start() → {host = "127.0.0.1:PORT", dir, pid, stop = fn}.
function G.start()
   local dir = core.mkdtemp("/tmp/claude-bottle-registry.")
   for _ = 1, 5 do
      local port = 40000 + tonumber(core.random_hex(2), 16) % 20000
      if not answers(port) then
         local cfg = dir .. "/config.yml"
         os.remove(cfg)
         assert(core.write_file(cfg, ([[
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
]]):format(dir, port), tonumber("600", 8)))
         local p = assert(io.popen(("%s serve %s >%s 2>&1 & echo $!"):format(G.BINARY, q(cfg), q(dir .. "/log"))))
         local pid = tonumber(p:read("l"))
         p:close()
         local deadline = core.monotonic() + 10
         -- until it answers, or has died (a port taken after all)
         while core.monotonic() < deadline and io.open("/proc/" .. pid .. "/stat") do
            if answers(port) then
               local reg = { host = "127.0.0.1:" .. port, dir = dir, pid = pid }
               function reg.stop()
                  os.execute("kill " .. pid .. " 2>/dev/null")
                  core.rmtree(dir)
               end
               return reg
            end
            core.sleep(0.05)
         end
         os.execute("kill " .. pid .. " 2>/dev/null")
      end
   end
   core.rmtree(dir)
   error("the registry did not start (see docker-registry's log)")
end

--- push(name_with_tag) → the digest the registry answered: through the
-- Engine API (POST /images/{name}/push), its progress stream read for errors.
function G.push(image)
   local c = assert(api_mod.new())
   local name, tag = image:match("^(.+):([^:/]+)$")
   local tracker = pull_progress.new()
   local feed = stream.line_splitter(function(line) tracker:feed(line) end)
   local digest
   assert(c:call("push " .. image, "POST", "/images/" .. api_mod.urlencode(name) .. "/push", {
      query = { tag = tag }, raw = true, timeout_ms = 120000,
      -- the engine wants this header even for a registry without auth: {} in base64
      headers = { ["X-Registry-Auth"] = "e30=" },
      on_data = function(chunk)
         feed(chunk)
         digest = digest or chunk:match("digest: (sha256:%x+)")
      end,
   }))
   assert(not tracker.error, tracker.error)
   return assert(digest, "the push named no digest")
end

--- Tags a local image under another name.
function G.tag(source, target)
   local c = assert(api_mod.new())
   local repo, tag = target:match("^(.+):([^:/]+)$")
   assert(c:call("tag", "POST", "/images/" .. api_mod.urlencode(source) .. "/tag", { query = { repo = repo, tag = tag } }))
end

--- Removes a local name (the image itself stays while another name holds it).
function G.untag(name)
   local c = assert(api_mod.new())
   local ok, msg, code = c:call("remove image " .. name, "DELETE", "/images/" .. api_mod.urlencode(name))
   if not ok and code ~= "not_found" then error(msg) end
end

return G
