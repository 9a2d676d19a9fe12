-- `up`'s image step (bottle.image_fetch) against a FAKE backend (a table
-- with image_status and fetch_image): what it refuses and with which
-- command, what it says it will fetch, what the terminal shows (a bar on a
-- tty, plain lines otherwise), and that the digest records are saved.
local core = require "bottle.core"
local cjson = require "cjson"
local image_fetch = require "bottle.image_fetch"
local images = require "bottle.images"
local digests = require "bottle.digests"

local D1 = "sha256:" .. ("1"):rep(64)

local function entry(role, image, how)
   local src = how == "build" and { how = "build", dir = "/src/cb", dockerfile = "Dockerfile" }
      or { how = how or "pull", ref = images.parse(image) }
   return { role = role, image = image, present = false, source = src }
end

-- A fake out stream that keeps what is written.
local function sink()
   local s = { text = "" }
   function s:write(...) for _, x in ipairs { ... } do self.text = self.text .. x end return self end
   function s:flush() end
   return s
end

describe("image_fetch", function()
   it("lists only what is missing, and fetches nothing for a backend without images", function()
      local backend = { image_status = function()
         return { { role = "pipelock", image = "a:1", present = true }, entry("agent", "b:1") }
      end }
      local missing = assert(image_fetch.missing(backend, {}))
      assert.are.equal(1, #missing)
      assert.are.same({ ["b:1"] = true }, image_fetch.set(missing))
      assert.are.same({}, image_fetch.missing({}, {}))
   end)

   it("refuses under --no-pull with each exact command, and test images always", function()
      local missing = { entry("pipelock", "ghcr.io/x/pipelock:2.3.0"), entry("agent", "claude-bottle:latest", "build") }
      assert.is_nil(image_fetch.blocked(missing, false))
      local msg = image_fetch.blocked(missing, true)
      assert.are.equal("2 images are missing and --no-pull was given; run:\n"
         .. "  docker pull ghcr.io/x/pipelock:2.3.0   # the pipelock image\n"
         .. "  docker build -f /src/cb/Dockerfile -t claude-bottle:latest /src/cb   # the agent image", msg)
      local t = image_fetch.blocked({ entry("agent", "claude-bottle-test/agent:latest", "make") }, false)
      assert.matches("an image is missing; run:\n  make test-images", t, 1, true)
      assert.are.equal("images to fetch after the question: pull ghcr.io/x/pipelock:2.3.0; "
         .. "build claude-bottle:latest from /src/cb/Dockerfile", image_fetch.describe(missing))
   end)

   local dir
   before_each(function() dir = core.mkdtemp("/tmp/claude-bottle-fetch-spec.") end)
   after_each(function() core.rmtree(dir) end)
   local function getenv(k) return k == "XDG_STATE_HOME" and dir or nil end

   -- A backend whose fetch sends a short pull stream and records the digest.
   local function pulling_backend(fail)
      local tracker = require("bottle.pull_progress").new()
      return { fetch_image = function(_, e, opts)
         for _, o in ipairs {
            { status = "Pulling from x", id = "1" },
            { status = "Downloading", id = "aaaaaaaaaaaa", progressDetail = { current = 1, total = 2 } },
            { status = "Pull complete", id = "aaaaaaaaaaaa" },
         } do
            opts.on_event(tracker:feed(cjson.encode(o)), tracker)
         end
         if fail then
            return digests.check(opts.records, "x:1", "sha256:" .. ("2"):rep(64))
         end
         digests.record(opts.records, images.tag_ref(e.source.ref), D1)
         return { how = "pull", digest = D1 }
      end }
   end

   it("shows plain lines off a terminal and records the digest", function()
      local out = sink()
      assert(image_fetch.run(pulling_backend(), { entry("pipelock", "x:1") }, { out = out, tty = false, getenv = getenv }))
      assert.are.equal("bottle: pulling the pipelock image x:1\n  1: Pulling from x\n"
         .. "  layer aaaaaaaaaaaa: Pull complete\nbottle: x:1 is " .. D1 .. "\n", out.text)
      local rec = assert(digests.load(dir .. "/claude-bottle/digests.json"))
      assert.are.equal(D1, rec.tags["x:1"].digest)
   end)

   it("draws a bar in place on a terminal", function()
      local out = sink()
      assert(image_fetch.run(pulling_backend(), { entry("pipelock", "x:1") }, { out = out, tty = true, getenv = getenv }))
      assert.matches("\r\27[K  [############------------]  50%", out.text, 1, true)
      assert.matches("\r\27[K  [########################] 100%  0.0/0.0 MB  1/1 layers\n", out.text, 1, true)
   end)

   it("keeps a refused digest as pending for `bottle images --accept` and fails", function()
      local rec = digests.load(dir .. "/none")
      digests.record(rec, "x:1", D1)
      assert(digests.save(rec, dir .. "/claude-bottle/digests.json"))
      local ok, msg, code = image_fetch.run(pulling_backend(true), { entry("pipelock", "x:1") },
                                            { out = sink(), tty = false, getenv = getenv })
      assert.is_nil(ok)
      assert.are.equal("digest_changed", code)
      assert.matches("bottle images --accept", msg, 1, true)
      local again = assert(digests.load(dir .. "/claude-bottle/digests.json"))
      assert.is_truthy(again.pending["x:1"])
   end)
end)
