-- Unit specs for bottle.workspace: which files are chosen (against real
-- host repositories made here, with the host's git), the agent's .git
-- built from a bare clone with a config written from nothing, what the
-- bring-home keeps of a tar from the gate, the manifest's keys and the
-- plan's entry.  The containers, the gate and the fetch into a host
-- repository are in spec/workspace_e2e_spec.lua.
local core = require "bottle.core"
local tar = require "bottle.tar"
local U = require "testlib.util"
local select_mod = require "bottle.workspace.select"
local pack = require "bottle.workspace.pack"
local sync = require "bottle.workspace.sync"
local workspace = require "bottle.workspace"
local manifest = require "bottle.manifest"

local function sh(script)
   local out = U.command("(" .. script .. ") 2>&1; echo \"exit=$?\"")
   return out
end

-- A repository: a.txt committed then changed, b.txt committed, gone.txt
-- committed then deleted, new.txt untracked, .env and build/ ignored, an
-- fsmonitor in its config that leaves a mark if anything runs it.
local function repo()
   local root = core.mkdtemp("/tmp/claude-bottle-ws-spec.")
   local dir = root .. "/app"
   local out = sh(([[
      set -e
      mkdir '%s' && cd '%s'
      git init -q -b main .
      git config user.name 'Host User'; git config user.email host@example.test
      printf 'one\n' > a.txt; printf 'b\n' > b.txt; printf 'gone\n' > gone.txt
      printf '.env\nbuild/\n*.key\n' > .gitignore
      mkdir -p src/deep && printf 'x\n' > src/deep/x.c
      git add -A && git -c core.hooksPath=/dev/null commit -q -m first
      printf 'two\n' >> a.txt; rm gone.txt
      printf 'new\n' > new.txt
      printf 'SECRET=1\n' > .env
      mkdir build && printf 'o\n' > build/out.o && printf 'k\n' > id.key
      printf 'opt\n' > ./--output=pwned; printf 'n\n' > ./-n
      ln -s /etc/passwd abs-link
      ln -s ../../outside rel-out
      ln -s a.txt in-link
      ln -s src/deep deep-link
      ln -s / rootlink
      printf '#!/bin/sh\ntouch %s/fsmonitor-fired\n' > '%s/fsmonitor' && chmod 755 '%s/fsmonitor'
      git config core.fsmonitor '%s/fsmonitor'
      ]]):format(dir, dir, root, root, root, root))
   assert(out:match("exit=0"), out)
   return root, dir
end

local function paths(sel)
   local out = {}
   for _, f in ipairs(sel.files) do out[#out + 1] = f.path end
   return out
end

local function contains(list, item)
   for _, v in ipairs(list) do if v == item then return true end end
   return false
end

describe("bottle.workspace.select", function()
   local root, dir
   before_each(function() root, dir = repo() end)
   after_each(function() core.rmtree(root) end)

   it("takes tracked files as the work tree has them, untracked ones, and leaves the ignored out", function()
      local sel = assert(select_mod.select(dir))
      local p = paths(sel)
      for _, want in ipairs { ".gitignore", "a.txt", "b.txt", "src/deep/x.c", "new.txt", "in-link" } do
         assert.is_true(contains(p, want), want)
      end
      for _, not_want in ipairs { ".env", "build/out.o", "id.key", "gone.txt", ".git/config", "abs-link",
                                  "rel-out", "rootlink" } do
         assert.is_false(contains(p, not_want), not_want)
      end
      assert.equal(dir, sel.root)
      assert.same({ ".env", "build/", "id.key" }, sel.left_out.ignored)
      assert.is_nil(core.stat(root .. "/fsmonitor-fired"))
   end)

   it("copies a symlink inside the tree as a symlink and leaves those pointing out", function()
      local sel = assert(select_mod.select(dir))
      local byname = {}
      for _, f in ipairs(sel.files) do byname[f.path] = f end
      assert.same({ path = "in-link", type = "symlink", size = 0, target = "a.txt", mode = tonumber("777", 8) },
                  byname["in-link"])
      assert.equal("src/deep", byname["deep-link"].target)
      local links = table.concat(sel.left_out.links, "\n")
      assert.matches("abs-link -> /etc/passwd", links, 1, true)
      assert.matches("rel-out -> ../../outside", links, 1, true)
      assert.matches("rootlink -> /", links, 1, true)
      assert.is_false(select_mod.link_inside("a/b", "../../x"))
      assert.is_true(select_mod.link_inside("a/b", "../x"))
      assert.is_false(select_mod.link_inside("a", "/x"))
   end)

   it("treats a file named like a git option as a file", function()
      local sel = assert(select_mod.select(dir))
      assert.is_true(contains(paths(sel), "--output=pwned"))
      assert.is_true(contains(paths(sel), "-n"))
      assert.is_nil(core.stat(dir .. "/pwned"))
      local packed = assert(pack.prepare(sel, root, { url = "git://git-gate/workspace.git" }))
      assert.equal("opt\n", tar.find(packed.agent, "workspace/--output=pwned").data)
   end)

   it("brings ignored paths named by workspace_include, and says which matched nothing", function()
      local sel = assert(select_mod.select(dir, { include = { "build", "id.key", "nothing/here" } }))
      assert.is_true(contains(paths(sel), "build/out.o"))
      assert.is_true(contains(paths(sel), "id.key"))
      assert.is_false(contains(paths(sel), ".env"))
      assert.same({ "build/out.o", "id.key" }, sel.included)
      assert.same({ "nothing/here" }, sel.unmatched)
      assert.same({ ".env" }, sel.left_out.ignored)
      for _, bad in ipairs { "/etc", "../x", ".git/config", "" } do
         local ok, msg, code = select_mod.select(dir, { include = { bad } })
         assert.is_nil(ok, bad)
         assert.equal("invalid_manifest", code)
         assert.matches("workspace_include[1]", msg, 1, true)
      end
   end)

   it("leaves a submodule out and says so", function()
      local out = sh(("cd '%s' && git -c core.hooksPath=/dev/null -c core.fsmonitor=false update-index --add "
         .. "--cacheinfo 160000,%s,vendor/lib"):format(dir, string.rep("a", 40)))
      assert.matches("exit=0", out)
      local sel = assert(select_mod.select(dir))
      assert.same({ "vendor/lib" }, sel.left_out.submodules)
      assert.is_false(contains(paths(sel), "vendor/lib"))
   end)

   it("refuses a workspace over the cap, naming the largest directories", function()
      U.write(dir .. "/src/big.bin", string.rep("x", 300000))
      local ok, msg, code = select_mod.select(dir, { max_bytes = 200000 })
      assert.is_nil(ok)
      assert.equal("too_large", code)
      assert.matches("largest: src 293.0 KiB", msg, 1, true)
      assert.matches("BOTTLE_WORKSPACE_MAX_BYTES", msg, 1, true)
   end)

   it("refuses a directory that is not in a git work tree", function()
      local plain = root .. "/plain"
      assert(core.mkdir(plain, tonumber("755", 8)))
      local ok, msg, code = select_mod.select(plain)
      assert.is_nil(ok)
      assert.equal("usage", code)
      assert.matches("not inside a git work tree", msg, 1, true)
   end)

   it("says what was left out in a few words", function()
      local sel = assert(select_mod.select(dir))
      local lines = select_mod.left_out_lines(sel)
      assert.equal("ignored (3): .env, build/, id.key", lines[1])
      assert.matches("^symlinks out of the tree %(3%)", lines[2])
   end)
end)

describe("bottle.workspace.pack", function()
   local root, dir
   before_each(function()
      root, dir = repo()
      -- everything a host config could make the agent's git run or send
      local out = sh(([[
         cd '%s' && for kv in core.hooksPath=/tmp/evil-hooks credential.helper='!evil' \
            url.ssh://evil/.insteadOf=https://github.com/ filter.lfs.smudge='evil %%f' \
            filter.lfs.process=evil alias.st='!evil' include.path=/tmp/evil.inc \
            core.sshCommand=evil diff.external=evil core.pager=evil; do
            git config "${kv%%%%=*}" "${kv#*=}"
         done]]):format(dir))
      assert.matches("exit=0", out)
   end)
   after_each(function() core.rmtree(root) end)

   it("writes the agent's .git/config from nothing: origin is the gate, no host setting comes along", function()
      local sel = assert(select_mod.select(dir))
      local packed = assert(pack.prepare(sel, root, { url = "git://git-gate/workspace.git" }))
      local config = tar.find(packed.agent, "workspace/.git/config").data
      for _, bad in ipairs { "hooksPath", "hookspath", "fsmonitor", "credential", "insteadOf", "filter", "alias",
                             "include", "sshCommand", "evil", "pager", "external" } do
         assert.not_matches(bad, config, 1, true)
      end
      assert.matches('url = "git://git-gate/workspace.git"', config, 1, true)
      assert.matches('[branch "main"]', config, 1, true)
      assert.matches('name = "Host User"', config, 1, true)
      assert.is_nil(tar.find(packed.agent, "workspace/.git/hooks"))
      for _, e in ipairs(packed.agent) do assert.not_matches("/hooks/", e.name, 1, true) end
      assert.is_nil(core.stat(root .. "/fsmonitor-fired"))
   end)

   it("makes a repository git reads: the uncommitted change shows, history and origin's branches are there", function()
      local sel = assert(select_mod.select(dir))
      local packed = assert(pack.prepare(sel, root, { url = "git://git-gate/workspace.git" }))
      local out_dir = root .. "/agent"
      assert(core.mkdir(out_dir, tonumber("755", 8)))
      U.write(root .. "/agent.tar", tar.pack(packed.agent))
      U.write(root .. "/gate.tar", tar.pack(packed.gate))
      local out = sh(([[
         set -e
         tar -C '%s' -xf '%s/agent.tar'
         cd '%s/workspace'
         git -c core.hooksPath=/dev/null status --porcelain
         git log --format=%%s
         git branch -a
         mkdir '%s/gate' && git init -q --bare '%s/gate/workspace.git'
         tar -C '%s/gate' -xf '%s/gate.tar'
         git -C '%s/gate/workspace.git' fsck --no-progress && echo gate-ok]]):format(out_dir, root, out_dir,
         root, root, root, root, root))
      assert.matches("exit=0", out)
      assert.matches(" M a.txt", out, 1, true)
      assert.matches(" D gone.txt", out, 1, true)
      assert.matches("?? new.txt", out, 1, true)
      assert.matches("first", out, 1, true)
      assert.matches("remotes/origin/main", out, 1, true)
      assert.matches("gate-ok", out, 1, true)
      assert.same({ { sha = packed.refs[1].sha, ref = "refs/heads/main" } }, packed.refs)
   end)

   it("quotes config values and drops one with a newline", function()
      assert.equal('"a \\"b\\" \\\\c"', pack.config_value('a "b" \\c'))
      assert.is_nil(pack.config_value("a\n[core]\n\thooksPath = /x"))
      local text = pack.git_config { url = "git://git-gate/workspace.git", branch = "main",
                                     user_name = "x\n[core]\n\thooksPath = /tmp", user_email = "e@x" }
      assert.not_matches("hooksPath", text, 1, true)
      assert.matches('email = "e@x"', text, 1, true)
   end)
end)

describe("bottle.workspace.sync", function()
   it("matches branch globs like the gate's sh case", function()
      assert.is_true(sync.allowed("claude/fix", { "claude/*" }))
      assert.is_true(sync.allowed("claude/a/b", { "claude/*" }))
      assert.is_false(sync.allowed("main", { "claude/*" }))
      assert.is_false(sync.allowed("xclaude/fix", { "claude/*" }))
      assert.is_true(sync.allowed("a.b", { "a.b" }))
      assert.is_false(sync.allowed("aXb", { "a.b" }))
   end)

   it("keeps only objects and refs of the gate's repository, never its config, hooks or a path out", function()
      local dir = core.mkdtemp("/tmp/claude-bottle-ws-sync.")
      local stream = tar.pack {
         { name = "workspace.git", type = "dir" },
         { name = "workspace.git/config", data = "[core]\n\thooksPath = /tmp/evil\n" },
         { name = "workspace.git/hooks/post-update", data = "#!/bin/sh\ntouch /tmp/evil\n", mode = tonumber("755", 8) },
         { name = "workspace.git/objects/ab", type = "dir" },
         { name = "workspace.git/objects/ab/cdef", data = "obj" },
         { name = "workspace.git/refs/heads/claude/fix", data = "1234\n" },
         { name = "workspace.git/packed-refs", data = "" },
         { name = "workspace.git/../../escape", data = "x" },
         { name = "workspace.git/objects/link", type = "symlink", linkname = "/etc" },
      }
      assert(sync.extract(stream, dir .. "/copy", "sha1"))
      assert.equal("obj", U.read(dir .. "/copy/objects/ab/cdef"))
      assert.equal("1234\n", U.read(dir .. "/copy/refs/heads/claude/fix"))
      assert.equal("[core]\n\trepositoryformatversion = 0\n\tbare = true\n", U.read(dir .. "/copy/config"))
      assert.is_nil(core.stat(dir .. "/copy/hooks"))
      assert.is_nil(core.stat(dir .. "/escape"))
      assert.is_nil(core.stat(dir .. "/copy/objects/link"))
      core.rmtree(dir)
   end)
end)

describe("bottle.workspace plan entry and manifest keys", function()
   it("copies by default with the claude/* policy, none when the agent says so unless named", function()
      local e = workspace.plan_entry({}, { dir = "/p" })
      assert.equal("copy", e.mode)
      assert.equal("git://git-gate/workspace.git", e.gate_url)
      assert.same({ "claude/*" }, e.push.branches)
      assert.is_false(e.push.force or e.push.delete or e.push.tags)
      assert.is_nil(workspace.plan_entry({ workspace = "none" }, { dir = "/p" }))
      assert.equal("copy", workspace.plan_entry({ workspace = "none" }, { dir = "/p", explicit = true }).mode)
      assert.equal("mount", workspace.plan_entry({}, { dir = "/p", mode = "mount" }).mode)
      assert.is_nil(workspace.plan_entry({}, {}))
   end)

   local function load(user, project)
      local dir = core.mkdtemp("/tmp/claude-bottle-ws-manifest.")
      assert(core.mkdir(dir .. "/config", tonumber("755", 8)))
      assert(core.mkdir(dir .. "/config/claude-bottle", tonumber("755", 8)))
      if user then U.write(dir .. "/config/claude-bottle/bottles.yaml", user) end
      if project then U.write(dir .. "/.claude-bottle.yaml", project) end
      local m, msg, code = manifest.load { env = { XDG_CONFIG_HOME = dir .. "/config", HOME = dir, cwd = dir } }
      core.rmtree(dir)
      return m, msg, code
   end

   it("reads workspace, workspace_include and workspace_push from a user file", function()
      local m = assert(load("agents:\n  w:\n    bottle: default\n    workspace: none\n"
         .. "    workspace_include: [config/local.yaml]\n"
         .. "    workspace_push: {branches: [agent/*, main], force: true}\n"))
      local a = m.agents.w
      assert.equal("none", a.workspace)
      assert.same({ "config/local.yaml" }, a.workspace_include)
      assert.same({ "agent/*", "main" }, a.workspace_push.branches)
      assert.is_true(a.workspace_push.force)
      assert.is_false(a.workspace_push.delete)
   end)

   it("names file, line and key for a bad value", function()
      local _, msg, code = load("agents:\n  w:\n    bottle: default\n    workspace: everything\n")
      assert.equal("invalid_manifest", code)
      assert.matches("bottles.yaml:4:%d+", msg)
      assert.matches("workspace", msg, 1, true)
      _, msg = load("agents:\n  w:\n    bottle: default\n    workspace_include: [../x]\n")
      assert.matches("workspace_include[1]", msg, 1, true)
      _, msg = load("agents:\n  w:\n    bottle: default\n    workspace_push: {branches: [refs/heads/x]}\n")
      assert.matches("workspace_push.branches[1]", msg, 1, true)
   end)

   it("lets a project file say none, but not mount, workspace_include or workspace_push", function()
      assert(load(nil, "agents:\n  p:\n    bottle: default\n    workspace: none\n"))
      local _, msg, code = load(nil, "agents:\n  p:\n    bottle: default\n    workspace: mount\n")
      assert.equal("invalid_manifest", code)
      assert.matches("may not choose workspace: mount", msg, 1, true)
      _, msg = load(nil, "agents:\n  p:\n    bottle: default\n    workspace_include: [.env]\n")
      assert.matches("may not set workspace_include", msg, 1, true)
      _, msg = load(nil, "agents:\n  p:\n    bottle: default\n    workspace_push: {branches: ['*']}\n")
      assert.matches("may not set workspace_push", msg, 1, true)
   end)

   it("shows the mount in the preflight as a warning of its own", function()
      local plan = { slug = "x-1", git = {}, workspace = workspace.plan_entry({}, { dir = "/p", mode = "mount" }) }
      local lines = workspace.preflight_lines(plan)
      assert.equal("warning", lines[2][2])
      assert.matches("writes on your machine", lines[2][1], 1, true)
   end)
end)

describe("launch with a workspace (the fake backend)", function()
   local R = require "spec.helpers.recording_backend"

   it("refuses a backend without copy_in, and unwinds what it made", function()
      local root, dir = repo()
      local m = assert(manifest.load { env = { HOME = "/nonexistent", cwd = "/nonexistent" } })
      local plan = assert(require("bottle.plan").build { manifest = m, options = {
         backend = "docker", home = "/nonexistent", cwd = "/nonexistent", env_names = {},
         workspace = { dir = dir } } })
      local sel = assert(workspace.choose(plan))
      local fake = R.new {}
      local quiet = require("bottle.progress").new({ write = function() end })
      local result, msg = require("bottle.launch").up(plan, {
         backend = fake, stage_root = root .. "/state", workspace = sel, progress = quiet, log = function() end,
         signal_pending = function() return nil end, signal_clear = function() end,
         signal_hold = function() return nil end })
      assert.is_nil(result)
      assert.matches("workspace: this backend cannot copy a workspace in", msg, 1, true)
      assert.same({}, fake.resources)
      assert.same({}, core.listdir(root .. "/state"))
      core.rmtree(root)
   end)
end)

describe("down with a workspace (the fake backend)", function()
   local R = require "spec.helpers.recording_backend"
   local launch = require "bottle.launch"

   local function stage_with_record(root, slug)
      local dir = root .. "/" .. slug
      assert(core.mkdir(root, tonumber("700", 8)))
      assert(core.mkdir(dir, tonumber("700", 8)))
      assert(sync.write_record(dir, { version = 1, slug = slug, host = "/nonexistent/app", push = { "claude/*" } }))
      return dir
   end

   it("removes nothing while the pushes cannot come home, and everything with discard", function()
      local tmp = core.mkdtemp("/tmp/claude-bottle-ws-down.")
      local root, slug = tmp .. "/state", "ws-abc123"
      local dir = stage_with_record(root, slug)
      local fake = R.new {}
      local asked = 0
      fake.copy_out = function(_, target, role, path)
         asked = asked + 1
         assert.same({ slug = slug }, target)
         assert.equal("git_gate", role)
         assert.equal("/git/workspace.git", path)
         return nil, "the gate is gone", "not_found"
      end
      local down, msg, code = launch.down({ slug = slug }, { backend = fake, stage_root = root })
      assert.is_nil(down)
      assert.equal("unsynced", code)
      assert.matches("the gate is gone", msg, 1, true)
      assert.matches("--discard", msg, 1, true)
      assert.truthy(core.stat(dir))
      for _, call in ipairs(fake.calls) do assert.are_not.equal("down", call.name) end
      down = assert(launch.down({ slug = slug }, { backend = fake, stage_root = root, discard = true }))
      assert.equal(1, asked)
      assert.is_nil(core.stat(dir))
      assert.same({ slug }, down.slugs)
      core.rmtree(tmp)
   end)
end)
