-- Images: references, where a missing one comes from, the build context,
-- the digest records, the engine's progress stream and the user config
-- file.  Pure parts only; the real registry and builds are in
-- spec/images_e2e_spec.lua.
local core = require "bottle.core"
local cjson = require "cjson"
local images = require "bottle.images"
local digests = require "bottle.digests"
local pull_progress = require "bottle.pull_progress"
local config = require "bottle.config"
local tar = require "bottle.tar"

local D1 = "sha256:" .. ("1"):rep(64)
local D2 = "sha256:" .. ("2"):rep(64)

describe("image references", function()
   it("parses registry, path, tag and digest as the engine names them", function()
      local r = assert(images.parse("ghcr.io/luckypipewrench/pipelock:2.3.0"))
      assert.are.same({ "ghcr.io", "ghcr.io/luckypipewrench/pipelock", "2.3.0" }, { r.registry, r.repo, r.tag })
      r = assert(images.parse("127.0.0.1:5000/cbt/pipelock@" .. D1))
      assert.are.same({ "127.0.0.1:5000", "127.0.0.1:5000/cbt/pipelock", D1 }, { r.registry, r.repo, r.digest })
      assert.is_nil(r.tag)
      r = assert(images.parse("claude-bottle:latest"))
      assert.is_nil(r.registry)
      assert.are.equal("claude-bottle:latest", images.tag_ref(r))
      assert.are.equal("latest", images.parse("debian").tag)
      assert.are.equal("localhost", images.parse("localhost/x:1").registry)
   end)

   it("refuses what is not a reference, saying why", function()
      for ref, why in pairs {
         ["a b"] = "no spaces", [""] = "non-empty", ["x@sha256:12"] = "64 hex", ["Upper/Case"] = "path component",
         ["x@y@z"] = "64 hex", ["x:bad!tag"] = "not a tag", ["a\27[2J"] = "control",
      } do
         local ok, msg = images.parse(ref)
         assert.is_nil(ok, ref)
         assert.matches(why, msg, 1, true)
      end
   end)

   it("builds a shipped role from its Dockerfile, pulls a reference with a registry or a digest, and sends test images to make", function()
      local dir = core.mkdtemp("/tmp/claude-bottle-images-spec.")
      assert(core.write_file(dir .. "/Dockerfile", "FROM x\n", tonumber("644", 8)))
      assert(core.write_file(dir .. "/Dockerfile.git-gate", "FROM x\n", tonumber("644", 8)))
      local s = assert(images.source("agent", "claude-bottle:latest", dir))
      assert.are.same({ "build", "Dockerfile", dir }, { s.how, s.dockerfile, s.dir })
      assert.are.equal(("docker build -f %s/Dockerfile -t claude-bottle:latest %s"):format(dir, dir),
                       images.command("claude-bottle:latest", s))
      assert.are.equal("build", images.source("git_gate", "my-gate:1", dir).how)
      -- no Dockerfile.firewall in dir: pulled
      assert.are.equal("pull", images.source("firewall", "claude-bottle-firewall:latest", dir).how)
      assert.are.equal("pull", images.source("agent", "ghcr.io/me/agent:1", dir).how)
      assert.are.equal("pull", images.source("agent", "me/agent@" .. D1, dir).how)
      assert.are.equal("pull", images.source("pipelock", "ghcr.io/luckypipewrench/pipelock:2.3.0", dir).how)
      local m = images.source("agent", "claude-bottle-test/agent:latest", dir)
      assert.are.equal("make test-images", images.command("claude-bottle-test/agent:latest", m))
      assert.are.equal("docker pull 'x y'", images.command("x y", { how = "pull" }))
      core.rmtree(dir)
   end)

   it("finds the shipped Dockerfiles in the checkout it runs from", function()
      local dir = assert(images.checkout_dir())
      assert.is_truthy(io.open(dir .. "/Dockerfile.git-gate"))
   end)

   it("packs a build context of the Dockerfile and the local files it copies, nothing else", function()
      assert.are.same({ "a.txt", "dir/b" }, images.context_files(
         "FROM x AS one\nCOPY --from=one /x /y\nCOPY a.txt /a\nADD --chown=1:1 dir/b \\\n  /b\nADD https://e.org/f /f\n"
         .. "COPY [\"j\", \"/j\"]\nRUN cp a b\n"))
      local dir = core.mkdtemp("/tmp/claude-bottle-images-spec.")
      assert(core.write_file(dir .. "/D", "FROM x\nCOPY a.txt /a\n", tonumber("644", 8)))
      assert(core.write_file(dir .. "/a.txt", "hello", tonumber("644", 8)))
      assert(core.write_file(dir .. "/other", "not sent", tonumber("644", 8)))
      local entries = tar.unpack(assert(images.context(dir, "D")))
      local names = {}
      for _, e in ipairs(entries) do names[#names + 1] = e.name end
      assert.are.same({ "D", "a.txt" }, names)
      assert(core.write_file(dir .. "/E", "FROM x\nCOPY ../secret /s\n", tonumber("644", 8)))
      assert.matches("plain relative file names", select(2, images.context(dir, "E")))
      assert(core.write_file(dir .. "/F", "FROM x\nCOPY missing /s\n", tonumber("644", 8)))
      assert.matches("no such file", select(2, images.context(dir, "F")))
      core.rmtree(dir)
   end)
end)

describe("digest records", function()
   local dir
   before_each(function() dir = core.mkdtemp("/tmp/claude-bottle-digests-spec.") end)
   after_each(function() core.rmtree(dir) end)

   it("records a tag's first digest, knows it again, and refuses a changed one with both digests", function()
      local rec = assert(digests.load(dir .. "/none.json"))
      assert.are.equal("new", digests.check(rec, "r/p:1", D1))
      digests.record(rec, "r/p:1", D1)
      assert.are.equal("same", digests.check(rec, "r/p:1", D1))
      local ok, msg, code = digests.check(rec, "r/p:1", D2)
      assert.is_nil(ok)
      assert.are.equal("digest_changed", code)
      assert.matches(D1, msg, 1, true)
      assert.matches(D2, msg, 1, true)
      assert.matches("bottle images --accept", msg, 1, true)
      assert.are.equal(D2, rec.pending["r/p:1"].digest)
      assert.are.equal(D1, rec.tags["r/p:1"].digest)   -- refused: the record stands
   end)

   it("accepts every pending change, then the new digest is the record", function()
      local rec = assert(digests.load(dir .. "/none.json"))
      digests.record(rec, "r/p:1", D1)
      digests.check(rec, "r/p:1", D2)
      assert.are.same({ { ref = "r/p:1", old = D1, new = D2 } }, digests.accept(rec))
      assert.are.equal("same", digests.check(rec, "r/p:1", D2))
      assert.are.same({}, digests.accept(rec))
   end)

   it("keeps them in a 0600 JSON file under the state dir, replaced whole", function()
      local path = dir .. "/deep/claude-bottle/digests.json"
      local rec = assert(digests.load(path))
      digests.record(rec, "r/p:1", D1)
      digests.check(rec, "r/p:1", D2)
      assert(digests.save(rec, path))
      assert.are.equal(tonumber("600", 8), core.stat(path).mode & tonumber("777", 8))
      local again = assert(digests.load(path))
      assert.are.equal(D1, again.tags["r/p:1"].digest)
      assert.are.equal(D2, again.pending["r/p:1"].digest)
      assert(digests.save(again, path))   -- over the old one
      assert.are.equal(1, #core.listdir(path:match("^(.+)/[^/]+$")))
      assert.are.equal("/s/claude-bottle/digests.json",
                       digests.path(function(k) return k == "XDG_STATE_HOME" and "/s" or nil end))
   end)

   it("says how to recover from a file it cannot read, and ignores entries that are not digests", function()
      local path = dir .. "/d.json"
      assert(core.write_file(path, "{not json", tonumber("600", 8)))
      local ok, msg = digests.load(path)
      assert.is_nil(ok)
      assert.matches("move it away", msg)
      os.remove(path)
      assert(core.write_file(path, cjson.encode { tags = { a = { digest = "md5:x" }, b = { digest = D1 } } },
                             tonumber("600", 8)))
      local rec = assert(digests.load(path))
      assert.is_nil(rec.tags.a)
      assert.are.equal(D1, rec.tags.b.digest)
   end)
end)

describe("the engine's progress stream", function()
   local function lines(t)
      local out = {}
      for _, o in ipairs(t) do out[#out + 1] = cjson.encode(o) end
      return out
   end

   it("follows a pull's layers into a bar and keeps the lines worth a line", function()
      local tr = pull_progress.new()
      local shown = {}
      for _, l in ipairs(lines {
         { status = "Pulling from cbt/pipelock", id = "2.3.0" },
         { status = "Pulling fs layer", id = "aaaaaaaaaaaa" },
         { status = "Pulling fs layer", id = "bbbbbbbbbbbb" },
         { status = "Downloading", id = "aaaaaaaaaaaa", progressDetail = { current = 500000, total = 1000000 } },
         { status = "Downloading", id = "bbbbbbbbbbbb", progressDetail = { current = 0, total = 3000000 } },
      }) do
         local ev = tr:feed(l .. "\r")
         if ev then shown[#shown + 1] = ev.text end
      end
      assert.are.same({ "2.3.0: Pulling from cbt/pipelock" }, shown)
      local cur, tot, done, n = tr:totals()
      assert.are.same({ 500000, 4000000, 0, 2 }, { cur, tot, done, n })
      assert.are.equal("[###---------------------]  13%  0.5/4.0 MB  0/2 layers", tr:bar())
      assert.are.equal("layer aaaaaaaaaaaa: Pull complete", tr:feed(cjson.encode { status = "Pull complete", id = "aaaaaaaaaaaa" }).text)
      tr:feed(cjson.encode { status = "Already exists", id = "bbbbbbbbbbbb" })
      tr:feed(cjson.encode { status = "Digest: " .. D1 })
      assert.are.equal(D1, tr.digest)
      assert.matches("100%%  4.0/4.0 MB  2/2 layers", tr:bar())
      assert.is_nil(tr.error)
   end)

   it("takes the error the engine sends with HTTP 200, and a build's step lines and image id", function()
      local tr = pull_progress.new()
      local ev = tr:feed(cjson.encode { errorDetail = { message = "manifest unknown" }, error = "manifest unknown" })
      assert.are.same({ "error", "manifest unknown" }, { ev.kind, ev.text })
      assert.are.equal("manifest unknown", tr.error)
      local b = pull_progress.new()
      assert.are.equal("Step 1/2 : FROM x", b:feed(cjson.encode { stream = "Step 1/2 : FROM x\n" }).text)
      assert.is_nil(b:feed(cjson.encode { stream = "\n" }))
      assert.is_nil(b:feed(cjson.encode { aux = { ID = D1 } }))
      assert.are.equal(D1, b.image_id)
      assert.are.equal("not json", b:feed("not json").text)
      assert.is_nil(b:feed(""))
      assert.are.equal("[------------------------]   0%  0.0/0.0 MB  0/0 layers", b:bar())
   end)
end)

describe("the user config file", function()
   local dir
   before_each(function() dir = core.mkdtemp("/tmp/claude-bottle-config-spec.") end)
   after_each(function() core.rmtree(dir) end)

   local function write(text)
      core.mkdir(dir .. "/claude-bottle", tonumber("700", 8))
      local path = dir .. "/claude-bottle/config.yaml"
      os.remove(path)
      assert(core.write_file(path, text, tonumber("644", 8)))
      return path
   end
   local function load() return config.load { XDG_CONFIG_HOME = dir } end

   it("is optional, and read from $XDG_CONFIG_HOME/claude-bottle/config.yaml", function()
      assert.are.same({}, load())
      local path = write("network_pool: [10.50.0.0/16, 10.51.0.0/24]\npipelock_image: ghcr.io/x/p@" .. D1
         .. "\ndockerfiles: ~/src/cb/\n")
      local cfg = assert(config.load { XDG_CONFIG_HOME = dir, HOME = "/home/u" })
      assert.are.same({ "10.50.0.0/16", "10.51.0.0/24" }, cfg.network_pool)
      assert.are.equal("ghcr.io/x/p@" .. D1, cfg.pipelock_image)
      assert.are.equal("/home/u/src/cb", cfg.dockerfiles)
      assert.are.equal(path, cfg.file)
      assert.are.same({ { "10.50.0.0/16", "10.51.0.0/24" }, path }, { config.network_pool(cfg) })
      assert.are.same({ { "10.123.0.0/16" } }, { config.network_pool {} })
      write("backend: kubernetes\nkube_context: team-a\n")
      cfg = assert(load())
      assert.are.same({ "kubernetes", "team-a" }, { cfg.backend, cfg.kube_context })
   end)

   it("names file:line:col, the key and the fix for each mistake", function()
      for text, want in pairs {
         ["network_pol: x\n"] = ':1:1: network_pol: unknown key "network_pol"; did you mean "network_pool"?',
         ["network_pool:\n  - 10.0.0.0/16\n  - 10.0.0.1/24\n"] = ':3:5: network_pool[2]: "10.0.0.1/24" has host bits set',
         ["network_pool: 10.0.0.0/28\n"] = ":1:1: network_pool: \"10.0.0.0/28\" is smaller than a /24",
         ["network_pool: {a: 1}\n"] = ":1:1: network_pool: expected a CIDR or a list of CIDRs",
         ["agent_image: 3\n"] = ":1:1: agent_image: expected an image reference",
         ["agent_image: Bad Name\n"] = ":1:1: agent_image: an image reference has no spaces",
         ["dockerfiles: relative/dir\n"] = ":1:1: dockerfiles: expected an absolute path",
         ["- a\n"] = ":1:1: expected a mapping of settings",
         ["agent_image: a:1\nbackend: k8s\n"] = ':2:1: backend: unknown backend "k8s"; write one of: docker, kubernetes',
         ["backend: [docker]\n"] = ":1:1: backend: expected a backend name (docker or kubernetes), found a list",
         ["kube_context: 7\n"] = ":1:1: kube_context: expected a context name from your kubeconfig",
         ["kube_context: \"\"\n"] = ":1:1: kube_context: expected a context name from your kubeconfig",
      } do
         local path = write(text)
         local ok, msg, code = load()
         assert.is_nil(ok, text)
         assert.are.equal("invalid_config", code)
         assert.are.equal(1, select(2, msg:find(path .. want, 1, true)) and 1 or 0, msg)
      end
   end)

   it("gives each role's image from the environment, else the file, else the default", function()
      local env = { BOTTLE_AGENT_IMAGE = "from-env:1" }
      local got = config.images({ agent_image = "from-file:1", pipelock_image = "p@" .. D1 },
                                function(k) return env[k] end)
      assert.are.same({ "from-env:1", "p@" .. D1, "claude-bottle-firewall:latest" },
                      { got.agent, got.pipelock, got.firewall })
   end)
end)
