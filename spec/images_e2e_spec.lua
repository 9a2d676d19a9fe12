-- `up` fetching its images, end to end: a real registry on loopback
-- (testlib/registry.lua: Debian's docker-registry), the test images pushed to
-- it through the Engine API and their local names removed, then the real
-- `bottle up --detach` pulling them by tag and by digest, refusing a tag
-- whose digest changed until `bottle images --accept`, refusing under
-- --no-pull with the command, and building a missing shipped image from its
-- Dockerfile (FROM a local test image: no registry base is reachable).
local E = require "testlib.e2e"
local G = require "testlib.registry"
local core = require "bottle.core"
local cjson = require "cjson"

local why = E.unavailable() or G.unavailable()
-- the real command as a user runs it, with the test manifest and policy
local R = not why and dofile("reliability/common.lua") or nil

local AGENT = "opsimg"

local function slug_of(r) return r.status == 0 and r.stdout:match("([%w-]+)%s*$") or nil end

local function bottle_of(slug) return { slug = slug, names = { agent = "claude-bottle-" .. slug } } end

-- The allowed and the denied request from inside a bottle that came up.
local function behaves(slug)
   local b = bottle_of(slug)
   E.connect_upstream(b)
   local ok = E.curl(b, { "https://allowed.test/" .. slug })
   local denied = E.curl(b, { "http://denied.test/" })
   return ok.status == 200 and cjson.decode(ok.body).path == "/" .. slug and denied.status == 403,
      ("allowed %d, denied %d"):format(ok.status, denied.status)
end

local function present(image) return E.api():image_inspect(image) ~= nil end

describe("#e2e images", function()
   if why then
      pending("needs a Docker Engine, the test images and docker-registry: " .. why)
      return
   end

   local reg, w, repo, tag_ref, first_digest
   local made_images = {}

   setup(function()
      E.start_upstream()
      reg = G.start()
      w = R.workdir(AGENT)
      repo = reg.host .. "/cbt-" .. core.random_hex(3) .. "/pipelock"
      tag_ref = repo .. ":2.3.0"
      -- the test pipelock plus a layer of its own, so that the pull has a
      -- layer to download once the local image is gone
      local dir = core.mkdtemp("/tmp/claude-bottle-e2e-build.")
      assert(core.write_file(dir .. "/Dockerfile", ("FROM %s\nCOPY blob /claude-bottle-test-blob\n")
         :format(E.PIPELOCK_IMAGE), tonumber("644", 8)))
      assert(core.write_file(dir .. "/blob", core.random_hex(64):rep(4096), tonumber("644", 8)))
      local pushed = "claude-bottle-test/ops-pushed:" .. core.random_hex(3)
      assert(require("bottle.backend.docker.images").build(E.api(), pushed, "Dockerfile",
         require("bottle.images").context(dir, "Dockerfile")))
      core.rmtree(dir)
      G.tag(pushed, tag_ref)
      first_digest = G.push(tag_ref)
      G.untag(tag_ref)
      G.untag(pushed)   -- the image and its own layer are gone from the engine
   end)

   teardown(function()
      if w then
         R.force_clean(AGENT, w.stage_root)
         R.remove_workdir(w)
      end
      if tag_ref then G.untag(tag_ref) end
      if repo and first_digest then G.untag(repo .. "@" .. first_digest) end
      for _, img in ipairs(made_images) do G.untag(img) end
      if reg then reg.stop() end
      E.finish()
   end)

   local function up(extra, more)
      return R.bottle(w, R.up_args(w, more), extra)
   end

   local function down(slug)
      local r = R.bottle(w, { "down", slug })
      assert.are.equal(0, r.status, r.stderr)
   end

   local function records()
      local f = assert(io.open(w.state .. "/claude-bottle/digests.json"))
      local doc = cjson.decode(f:read("a"))
      f:close()
      return doc
   end

   it("pulls a missing tag from the registry after the question, records its digest, and the bottle works", function()
      assert.is_false(present(tag_ref))
      local r = up { BOTTLE_PIPELOCK_IMAGE = tag_ref }
      local slug = slug_of(r)
      assert.is_truthy(slug, r.stderr)
      assert.matches("images to fetch after the question: pull " .. tag_ref, r.stderr, 1, true)
      assert.matches("pulling the pipelock image " .. tag_ref, r.stderr, 1, true)
      -- not a terminal: plain lines, no bar
      assert.is_nil(r.stderr:find("\r", 1, true))
      assert.matches("Digest: " .. first_digest, r.stderr, 1, true)
      -- the image's own layer came from the registry; the base's were there
      assert.matches("layer %x+: Pull complete", r.stderr)
      assert.matches("layer %x+: Already exists", r.stderr)
      assert.is_true(present(tag_ref))
      assert.are.equal(first_digest, records().tags[tag_ref].digest)
      assert.are.equal(tonumber("600", 8), core.stat(w.state .. "/claude-bottle/digests.json").mode & tonumber("777", 8))
      local ok, detail = behaves(slug)
      assert.is_true(ok, detail)
      down(slug)
   end)

   it("pulls an image pinned by digest in the user config file", function()
      G.untag(tag_ref)
      G.untag(repo .. "@" .. first_digest)
      local pinned = repo .. "@" .. first_digest
      assert.is_false(present(pinned))
      core.mkdir(w.config, tonumber("700", 8))
      core.mkdir(w.config .. "/claude-bottle", tonumber("700", 8))
      local cfg = w.config .. "/claude-bottle/config.yaml"
      os.remove(cfg)
      assert(core.write_file(cfg, "pipelock_image: " .. pinned .. "\n", tonumber("600", 8)))
      -- the environment would win over the file: leave it out
      local r = up { BOTTLE_PIPELOCK_IMAGE = false }
      os.remove(cfg)
      local slug = slug_of(r)
      assert.is_truthy(slug, r.stderr)
      assert.matches("pulling the pipelock image " .. pinned, r.stderr, 1, true)
      assert.is_true(present(pinned))
      local info = assert(E.api():container_inspect("claude-bottle-pipelock-" .. slug))
      assert.are.equal(pinned, info.Config.Image)
      down(slug)
   end)

   it("refuses a tag whose digest changed, with both digests, until `bottle images --accept`", function()
      -- another image under the same tag: built from the test image through the Engine API
      local dir = core.mkdtemp("/tmp/claude-bottle-e2e-build.")
      assert(core.write_file(dir .. "/Dockerfile", ("FROM %s\nLABEL claude-bottle-test.changed=%s\n")
         :format(E.PIPELOCK_IMAGE, core.random_hex(4)), tonumber("644", 8)))
      local changed = "claude-bottle-test/changed-pipelock:" .. core.random_hex(3)
      made_images[#made_images + 1] = changed
      assert(require("bottle.backend.docker.images").build(E.api(), changed, "Dockerfile",
         require("bottle.images").context(dir, "Dockerfile")))
      core.rmtree(dir)
      G.tag(changed, tag_ref)
      local second_digest = G.push(tag_ref)
      assert.are_not.equal(first_digest, second_digest)
      G.untag(tag_ref)
      made_images[#made_images + 1] = repo .. "@" .. second_digest

      local r = up { BOTTLE_PIPELOCK_IMAGE = tag_ref }
      assert.are.equal(1, r.status, r.stderr)
      assert.matches(first_digest, r.stderr, 1, true)
      assert.matches(second_digest, r.stderr, 1, true)
      assert.matches("bottle images --accept", r.stderr, 1, true)
      assert.is_false(present(tag_ref))
      assert.are.equal(0, R.leftovers(AGENT, w.stage_root).total)
      assert.are.equal(first_digest, records().tags[tag_ref].digest)

      local listed = R.bottle(w, { "images" }, { BOTTLE_PIPELOCK_IMAGE = tag_ref })
      assert.matches("CHANGED: the registry served " .. second_digest, listed.stdout, 1, true)
      local acc = R.bottle(w, { "images", "--accept" })
      assert.are.equal(0, acc.status, acc.stderr)
      assert.matches(("accepted %s: %s (was %s)"):format(tag_ref, second_digest, first_digest), acc.stderr, 1, true)

      r = up { BOTTLE_PIPELOCK_IMAGE = tag_ref }
      local slug = slug_of(r)
      assert.is_truthy(slug, r.stderr)
      assert.are.equal(second_digest, records().tags[tag_ref].digest)
      local info = assert(E.api():image_inspect(tag_ref))
      assert.are.equal("true", info.Config.Labels and info.Config.Labels["claude-bottle-test.changed"] and "true")
      down(slug)
   end)

   it("refuses under --no-pull with the exact command, creating nothing", function()
      G.untag(tag_ref)
      local r = up({ BOTTLE_PIPELOCK_IMAGE = tag_ref }, { "--no-pull" })
      assert.are.equal(1, r.status)
      assert.matches("--no-pull was given; run:\n  docker pull " .. tag_ref, r.stderr, 1, true)
      assert.is_nil(r.stderr:find("pulling", 1, true))
      assert.is_false(present(tag_ref))
      assert.are.equal(0, R.leftovers(AGENT, w.stage_root).total)
   end)

   it("builds a missing shipped image from its Dockerfile through the build endpoint", function()
      local dir = core.mkdtemp("/tmp/claude-bottle-e2e-dockerfiles.")
      local marker = core.random_hex(8)
      assert(core.write_file(dir .. "/Dockerfile", ("FROM %s\nCOPY marker /etc/claude-bottle-built\n")
         :format(E.AGENT_IMAGE), tonumber("644", 8)))
      assert(core.write_file(dir .. "/marker", marker, tonumber("644", 8)))
      local built = "claude-bottle-ops-built/agent:" .. core.random_hex(3)
      made_images[#made_images + 1] = built
      core.mkdir(w.config, tonumber("700", 8))
      core.mkdir(w.config .. "/claude-bottle", tonumber("700", 8))
      local cfg = w.config .. "/claude-bottle/config.yaml"
      os.remove(cfg)
      assert(core.write_file(cfg, "dockerfiles: " .. dir .. "\nagent_image: " .. built .. "\n", tonumber("600", 8)))
      local r = up { BOTTLE_AGENT_IMAGE = false }
      os.remove(cfg)
      core.rmtree(dir)
      local slug = slug_of(r)
      assert.is_truthy(slug, r.stderr)
      assert.matches("build " .. built .. " from " .. dir .. "/Dockerfile", r.stderr, 1, true)
      assert.matches("building the agent image " .. built, r.stderr, 1, true)
      assert.matches("Step 2/2 : COPY marker /etc/claude-bottle-built", r.stderr, 1, true)
      local got = E.exec(bottle_of(slug), { "cat", "/etc/claude-bottle-built" })
      assert.are.equal(marker, got.stdout)
      local ok, detail = behaves(slug)
      assert.is_true(ok, detail)
      down(slug)
   end)
end)
