-- The workspace end to end, against the real dockerd: a host repository
-- made here in a temporary directory (a commit, an uncommitted change, an
-- untracked file, an ignored .env, and hooks planted where git would run
-- them), the plan built from a manifest (plan.build with the workspace
-- option), the files chosen by bottle.workspace, launch.up with the real
-- test images (pipelock 2.3.0, the agent, the git gate with gitleaks), and
-- the agent's git driven inside the agent.  Bring-home is checked on the
-- host repository itself.  Pending (with the reason) without dockerd or the
-- images.
local core = require "bottle.core"
local E = require "testlib.e2e"
local U = require "testlib.util"
local launch = require "bottle.launch"
local workspace = require "bottle.workspace"

local GATE_IMAGE = "claude-bottle-test/git-gate:latest"

local function unavailable()
   local why = E.unavailable()
   if why then return why end
   if not E.api():image_inspect(GATE_IMAGE) then return GATE_IMAGE .. " is not built: run images/test/git-gate.sh" end
   return nil
end
local why_not = unavailable()
local function skip()
   if why_not then pending("the workspace e2e needs dockerd and the test images: " .. why_not) return true end
   return false
end

-- A random AWS-key-shaped string (random, so no allowlisted example value).
local function random_aws_key()
   local alphabet, hex, out = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", core.random_hex(16), {}
   for i = 1, 16 do
      local k = tonumber(hex:sub(2 * i - 1, 2 * i), 16) % #alphabet + 1
      out[i] = alphabet:sub(k, k)
   end
   return "AKIA" .. table.concat(out)
end

-- The spec's own git on the host: hooks and fsmonitor off, so that only
-- the launcher's calls could ever fire what is planted.
local function hgit(dir, cmd)
   return E.read_command(("git -C '%s' -c core.hooksPath=/dev/null -c core.fsmonitor=false %s 2>&1"):format(dir, cmd))
end

local HOOKS = { "post-merge", "reference-transaction", "post-checkout", "pre-push", "post-rewrite", "pre-commit" }

-- The host repository: main with one commit, a.txt changed and not
-- committed, new.txt untracked, .env ignored, hooks and an fsmonitor that
-- leave a mark in `marks` if anything runs them.
local function host_repo()
   local root = core.mkdtemp("/tmp/claude-bottle-ws-e2e.")
   local dir, marks = root .. "/app", root .. "/marks"
   assert(core.mkdir(dir, tonumber("755", 8)))
   assert(core.mkdir(marks, tonumber("755", 8)))
   local out = E.read_command(([[
      set -e
      cd '%s'
      git init -q -b main .
      git config user.name 'Host User'
      git config user.email host@example.test
      printf 'one\n' > a.txt
      printf '.env\n' > .gitignore
      git add a.txt .gitignore
      git commit -q -m first
      printf 'uncommitted\n' >> a.txt
      printf 'new\n' > new.txt
      printf 'AWS_SECRET=do-not-copy\n' > .env
      echo ok]]):format(dir))
   assert(out:match("ok"), out)
   for _, h in ipairs(HOOKS) do
      U.write(dir .. "/.git/hooks/" .. h, ("#!/bin/sh\ntouch '%s/%s'\n"):format(marks, h))
      assert(core.spawn({ "chmod", "755", dir .. "/.git/hooks/" .. h }, {}) == 0)
   end
   U.write(root .. "/fsmonitor", ("#!/bin/sh\ntouch '%s/fsmonitor'\n"):format(marks))
   assert(core.spawn({ "chmod", "755", root .. "/fsmonitor" }, {}) == 0)
   assert(core.spawn({ "git", "-C", dir, "config", "core.fsmonitor", root .. "/fsmonitor" }, {}) == 0)
   return { root = root, dir = dir, marks = marks }
end

local function fired(repo)
   return core.listdir(repo.marks)
end

-- What the user has, byte for byte: main, the index, the work tree.
local function user_state(repo)
   return { main = U.read(repo.dir .. "/.git/refs/heads/main"), index = U.read(repo.dir .. "/.git/index"),
            a = U.read(repo.dir .. "/a.txt"), new = U.read(repo.dir .. "/new.txt"), env = U.read(repo.dir .. "/.env"),
            head = U.read(repo.dir .. "/.git/HEAD") }
end

local function launch_with(repo, opts)
   opts = opts or {}
   local plan = E.plan { agent = "ws", git_gate_image = GATE_IMAGE, command = opts.command,
                         workspace = { dir = repo.dir, explicit = true }, agent_fields = opts.agent_fields }
   local sel = assert(workspace.choose(plan))
   local root = E.stage_root()
   local lines = {}
   local result, msg, code = launch.up(plan, { backend = opts.backend or E.backend(), stage_root = root,
                                              detach = opts.detach ~= false, workspace = sel,
                                              progress = E.progress(lines), log = function() end })
   return plan, root, result, msg, code
end

-- Runs a shell script in the agent's /workspace as the agent's user.
local function agent_sh(plan, script)
   local r = E.exec(plan, { "sh", "-c", "cd /workspace && " .. script }, { timeout_ms = 120000 })
   r.out = r.stdout .. r.stderr
   return r
end

describe("workspace #e2e", function()
   local repo
   before_each(function() if not why_not then repo = host_repo() end end)
   after_each(function() if repo then core.rmtree(repo.root) end end)
   teardown(function() E.finish() end)

   it("copies the work tree with the uncommitted change and not the ignored .env; pushes come home as "
      .. "bottle/<slug>/claude/fix, refused ones never do, and no host hook fires", function()
      if skip() then return end
      local before = user_state(repo)
      local plan, root, result, msg = launch_with(repo)
      assert.truthy(result, msg)
      local slug = plan.slug
      local ok, err = pcall(function()
         local r = agent_sh(plan, "cat a.txt; test ! -e .env && echo no-env; cat new.txt; "
                            .. "git status --porcelain; stat -c %U a.txt .git/HEAD; id -un; git remote get-url origin")
         assert.equal(0, r.exit, r.out)
         assert.matches("one\nuncommitted\n", r.stdout, 1, true)
         assert.matches("no-env", r.stdout, 1, true)
         assert.matches("new\n", r.stdout, 1, true)
         assert.matches(" M a.txt", r.stdout, 1, true)
         assert.matches("?? new.txt", r.stdout, 1, true)
         local user = r.stdout:match("\n([%w_-]+)\ngit://")
         assert.truthy(user, r.stdout)
         assert.matches(user .. "\n" .. user .. "\n" .. user .. "\n", r.stdout, 1, true)
         assert.matches("git://git-gate/workspace.git", r.stdout, 1, true)
         -- no host hook and no host config came along
         r = agent_sh(plan, "ls .git/hooks 2>/dev/null | wc -l; git config --list --local")
         assert.matches("^0\n", r.stdout)
         assert.not_matches("fsmonitor", r.stdout)
         assert.not_matches("hookspath", r.stdout:lower())

         -- the agent's own branch: accepted, kept in the gate
         r = agent_sh(plan, "git checkout -q -b claude/fix && git commit -q -am 'the fix' && "
                      .. "git push origin claude/fix 2>&1 && git rev-parse HEAD")
         assert.equal(0, r.exit, r.out)
         assert.matches("accepted refs/heads/claude/fix", r.out, 1, true)
         local fix = r.stdout:match("(%x+)%s*$")
         -- main is outside the default policy
         r = agent_sh(plan, "git push origin HEAD:main 2>&1")
         assert.are_not.equal(0, r.exit)
         assert.matches("outside push.branches", r.out, 1, true)
         -- a secret is refused with the gate's redacted finding
         local key = random_aws_key()
         r = agent_sh(plan, ("git checkout -q -b claude/leak && printf 'aws_access_key_id = %s\\n' > creds.txt && "
                      .. "git add creds.txt && git commit -q -m creds && git push origin claude/leak 2>&1"):format(key))
         assert.are_not.equal(0, r.exit)
         assert.matches("gitleaks found secrets", r.out, 1, true)
         assert.not_matches(key, r.out, 1, true)

         -- down brings claude/fix home, and nothing else
         local down, derr = launch.down({ slug = slug }, { backend = E.backend(), stage_root = root })
         assert.truthy(down, derr)
         local report = down.brought_home[slug]
         assert.equal(1, #report.branches)
         assert.equal("refs/heads/bottle/" .. slug .. "/claude/fix", report.branches[1].ref)
         assert.equal(1, report.branches[1].commits)
         assert.equal(fix, hgit(repo.dir, "rev-parse bottle/" .. slug .. "/claude/fix"):match("%x+"))
         assert.matches("the fix", hgit(repo.dir, "log -1 --format=%s bottle/" .. slug .. "/claude/fix"), 1, true)
         -- the refused branch never came home, nor anything outside bottle/<slug>/
         assert.equal("refs/heads/bottle/" .. slug .. "/claude/fix\nrefs/heads/main\n",
                      hgit(repo.dir, "for-each-ref --format=%\\(refname\\) refs/"))
         assert.same(before, user_state(repo))
         assert.same({}, fired(repo))
         assert.same({ containers = 0, networks = 0, names = {} }, E.count(slug))
         assert.is_nil(core.stat(root .. "/" .. slug))
         -- the control: the planted hooks are live for a git that does not turn them off
         E.read_command(("git -C '%s' update-ref refs/heads/control HEAD; git -C '%s' status >/dev/null 2>&1")
            :format(repo.dir, repo.dir))
         local live = fired(repo)
         table.sort(live)
         assert.same({ "fsmonitor", "reference-transaction" }, live)
      end)
      if not ok then launch.down({ slug = slug }, { backend = E.backend(), stage_root = root, discard = true }) end
      assert(ok, err)
   end)

   it("brings home on demand (sync) and at the end of an attached session, only what is new", function()
      if skip() then return end
      local before = user_state(repo)
      -- the session itself commits and pushes, as Claude Code would
      local plan, _, result, msg = launch_with(repo, { detach = false, command = { "sh", "-c",
         "cd /workspace && git checkout -q -b claude/session && git commit -q -am session && "
         .. "git push -q origin claude/session" } })
      assert.truthy(result, msg)
      assert.equal(0, result.status)
      local slug = plan.slug
      assert.equal("refs/heads/bottle/" .. slug .. "/claude/session", result.brought_home.branches[1].ref)
      assert.matches("session", hgit(repo.dir, "log -1 --format=%s bottle/" .. slug .. "/claude/session"), 1, true)
      assert.same({ containers = 0, networks = 0, names = {} }, E.count(slug))

      -- detached: `sync` twice, then down with nothing new
      local root
      plan, root, result, msg = launch_with(repo, { agent_fields = { workspace_push = { branches = { "agent/*" } } } })
      assert.truthy(result, msg)
      slug = plan.slug
      local ok, err = pcall(function()
         local r = agent_sh(plan, "git checkout -q -b claude/x && git commit -q -am x && git push origin claude/x 2>&1")
         assert.are_not.equal(0, r.exit)          -- this agent's policy is agent/* only
         assert.matches("outside push.branches (agent/*)", r.out, 1, true)
         r = agent_sh(plan, "git checkout -q -b agent/one && git push -q origin agent/one")
         assert.equal(0, r.exit, r.out)
         local report, serr = launch.sync(slug, { backend = E.backend(), stage_root = root })
         assert.truthy(report, serr)
         assert.equal(1, #report.branches)
         assert.equal("refs/heads/bottle/" .. slug .. "/agent/one", report.branches[1].ref)
         report = assert(launch.sync(slug, { backend = E.backend(), stage_root = root }))
         assert.same({}, report.branches)
         assert.equal(1, report.unchanged)
         r = agent_sh(plan, "printf more >> a.txt && git commit -q -am more && git push -q origin agent/one")
         assert.equal(0, r.exit, r.out)
         local down = assert(launch.down({ slug = slug }, { backend = E.backend(), stage_root = root }))
         assert.equal(1, down.brought_home[slug].branches[1].commits)
         assert.matches("more", hgit(repo.dir, "log -1 --format=%s bottle/" .. slug .. "/agent/one"), 1, true)
         assert.same(before, user_state(repo))
         assert.same({}, fired(repo))
      end)
      if not ok then launch.down({ slug = slug }, { backend = E.backend(), stage_root = root, discard = true }) end
      assert(ok, err)
   end)

   it("refuses to go down while pushes cannot come home; --discard removes everything", function()
      if skip() then return end
      local plan, root, result, msg = launch_with(repo)
      assert.truthy(result, msg)
      local slug = plan.slug
      local r = agent_sh(plan, "git checkout -q -b claude/kept && git commit -q -am kept && git push -q origin claude/kept")
      assert.equal(0, r.exit, r.out)
      -- the host repository went away: nothing can be fetched into it
      local moved = repo.root .. "/moved"
      assert(os.rename(repo.dir, moved))
      local down, derr, dcode = launch.down({ slug = slug }, { backend = E.backend(), stage_root = root })
      assert(os.rename(moved, repo.dir))
      assert.is_nil(down)
      assert.equal("unsynced", dcode)
      assert.matches("is gone", derr, 1, true)
      assert.matches("--discard", derr, 1, true)
      assert.equal(3, E.count(slug).containers)
      assert.truthy(core.stat(root .. "/" .. slug))
      down, derr = launch.down({ slug = slug }, { backend = E.backend(), stage_root = root, discard = true })
      assert.truthy(down, derr)
      assert.same({ containers = 0, networks = 0, names = {} }, E.count(slug))
      assert.is_nil(core.stat(root .. "/" .. slug))
      assert.equal("refs/heads/main\n", hgit(repo.dir, "for-each-ref --format=%\\(refname\\) refs/"))
   end)

   for _, step in ipairs { "git-gate", "firewall", "copy_in:agent", "copy_in:git_gate", "provision" } do
      it("a failure at " .. step .. " leaves nothing behind", function()
         if skip() then return end
         local plan, root, result, msg = launch_with(repo, { backend = E.failing_at(E.backend(), step) })
         assert.is_nil(result)
         assert.matches("injected failure", msg, 1, true)
         assert.same({ containers = 0, networks = 0, names = {} }, E.count(plan.slug))
         assert.same({}, core.listdir(root))
         assert.same({}, fired(repo))
      end)
   end

   it("an attached session whose pushes cannot come home keeps the bottle for sync or --discard", function()
      if skip() then return end
      local plan, root, result, msg, code = launch_with(repo, {
         detach = false, backend = E.failing_at(E.backend(), "copy_out"),
         command = { "sh", "-c", "cd /workspace && git checkout -q -b claude/s && git commit -q -am s && "
                     .. "git push -q origin claude/s" } })
      local slug = plan.slug
      assert.is_nil(result)
      assert.equal("unsynced", code)
      assert.matches("bottle sync " .. slug, msg, 1, true)
      assert.equal(3, E.count(slug).containers)
      assert.truthy(core.stat(root .. "/" .. slug .. "/" .. launch.KEPT_MARK))
      local report = assert(launch.sync(slug, { backend = E.backend(), stage_root = root }))
      assert.equal("refs/heads/bottle/" .. slug .. "/claude/s", report.branches[1].ref)
      assert(launch.down({ slug = slug }, { backend = E.backend(), stage_root = root }))
      assert.same({ containers = 0, networks = 0, names = {} }, E.count(slug))
   end)
end)
