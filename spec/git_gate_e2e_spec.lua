-- The git gate end to end, against the real dockerd: the gate's test image
-- (images/test/git-gate.sh: real git daemon, real gitleaks 8.30.1, real ssh),
-- a real SSH upstream (images/test/sshd-upstream.sh: sshd with bare
-- repositories and a host key fixed at build time) and an agent-like
-- container (images/test/build.sh's agent image) on the bottle's internal
-- network.  The gate is made by bottle.backend.docker.git_gate exactly as
-- the docker backend makes it; everything is checked from inside the agent
-- or the upstream.  Pending (with the reason) without dockerd or the images.
local core = require "bottle.core"
local api_mod = require "bottle.backend.docker.api"
local tar = require "bottle.tar"
local new_teardown = require("bottle.teardown").new
local gitgate = require "bottle.gitgate"
local git_gate = require "bottle.backend.docker.git_gate"
local resources = require "bottle.backend.docker.resources"
local E = require "testlib.e2e"

local IMAGES = {
   gate = "claude-bottle-test/git-gate:latest",
   sshd = "claude-bottle-test/sshd-upstream:latest",
   agent = "claude-bottle-test/agent:latest",
}
local BUILD_HINT = {
   gate = "images/test/git-gate.sh", sshd = "images/test/sshd-upstream.sh", agent = "images/test/build.sh agent",
}
local HOST_KEY_LABEL = "claude-bottle.test.host-key"
local UPSTREAM_HOST = "upstream.test"
local APP_URL = "ssh://git@upstream.test/srv/git/app.git"
local OPEN_URL = "git@upstream.test:/srv/git/open.git"
local WRONG_URL = "ssh://git@upstream.test:22/srv/git/app.git"   -- same repository, wrong pinned key

local function unavailable()
   local c, msg = api_mod.new()
   if not c then return msg end
   local ok, err = c:ping()
   if not ok then return "no Docker Engine: " .. tostring(err) end
   for role, image in pairs(IMAGES) do
      if not c:image_inspect(image) then return image .. " is not built: run " .. BUILD_HINT[role] end
   end
   return nil
end

local why_not = unavailable()
local function skip()
   if why_not then pending("the git gate e2e needs dockerd and the test images: " .. why_not) return true end
   return false
end

-- Random strings gitleaks' rules match (random, so no allowlisted example value).
local function random_from(alphabet, n)
   local hex, out = core.random_hex(n), {}
   for i = 1, n do
      local b = tonumber(hex:sub(2 * i - 1, 2 * i), 16)
      local k = b % #alphabet + 1
      out[i] = alphabet:sub(k, k)
   end
   return table.concat(out)
end
local AWS_KEY = "AKIA" .. random_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
local GITHUB_TOKEN = "ghp_" .. random_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36)

local read = require("testlib.util").read

local c, plan, state, keydir, sshd_id, agent_id, upstream_ip
local app_key_line

-- Runs argv in a container: {exit, stdout, stderr, out = stdout .. stderr}.
local function run(id, argv, user)
   local r = assert(c:exec(id, argv, { user = user, timeout_ms = 120000 }))
   r.out = r.stdout .. r.stderr
   return r
end

local function agent(argv, user) return run(agent_id, argv, user) end
local function agit(...) return agent({ "git", "-C", "/home/node/app", ... }) end
local function ogit(...) return agent({ "git", "-C", "/home/node/open", ... }) end

-- Writes a file in the agent's checkout (the content travels as an argument).
local function agent_write(dir, file, content)
   local r = agent({ "sh", "-c", 'printf "%s" "$2" > "$1"', "sh", dir .. "/" .. file, content })
   assert(r.exit == 0, r.out)
end

local function agent_commit(dir, file, content, message)
   agent_write(dir, file, content)
   local r = agent({ "git", "-C", dir, "add", "-A" })
   assert(r.exit == 0, r.out)
   r = agent({ "git", "-C", dir, "commit", "-q", "-m", message or ("add " .. file) })
   assert(r.exit == 0, r.out)
   return (agent({ "git", "-C", dir, "rev-parse", "HEAD" }).stdout:gsub("%s+$", ""))
end

local function head(dir)
   return (agent({ "git", "-C", dir, "rev-parse", "HEAD" }).stdout:gsub("%s+$", ""))
end

-- The upstream's view, read inside the sshd container (never through the gate).
local function upstream_rev(repo, ref)
   local r = run(sshd_id, { "git", "--git-dir=/srv/git/" .. repo .. ".git", "rev-parse", "-q", "--verify", ref }, "git")
   return r.exit == 0 and r.stdout:gsub("%s+$", "") or nil
end

-- A commit made on the upstream out of band (as another developer would).
local function upstream_commit(repo, file, content, message)
   local r = run(sshd_id, { "sh", "-c", [[
      set -e
      d=$(mktemp -d)
      git clone -q "/srv/git/$1.git" "$d" 2>/dev/null
      cd "$d"
      git symbolic-ref HEAD refs/heads/main
      printf '%s' "$3" > "$2"
      git add -A
      git -c user.name=Upstream -c user.email=upstream@example.test commit -q -m "$4"
      git push -q origin HEAD:refs/heads/main
      git rev-parse HEAD
      rm -rf "$d"
   ]], "sh", repo, file, content, message }, "git")
   assert(r.exit == 0, r.out)
   return (r.stdout:gsub("%s+$", ""))
end

local function wait_for(id, argv, what)
   local deadline = core.monotonic() + 20
   while core.monotonic() < deadline do
      if run(id, argv).exit == 0 then return true end
      core.sleep(0.1)
   end
   error(what .. " did not come up in 20s")
end

local function keygen(path, comment)
   local status = core.spawn({ "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path }, {})
   assert(status == 0, "ssh-keygen failed for " .. path)
end

local function entry(name, upstream, path, host_key, push, extra)
   local e = { name = name, upstream = upstream, user = "git", host = UPSTREAM_HOST, port = 22, path = path,
               host_key = host_key, extra_hosts = { [UPSTREAM_HOST] = upstream_ip },
               push = push, gate_url = "git://git-gate/" .. name .. ".git" }
   for k, v in pairs(extra or {}) do e[k] = v end
   return e
end

local function make_bottle()
   c = assert(api_mod.new())
   local slug = "gate-e2e-" .. core.random_hex(3)
   -- The labels `up` gives a launch (launcher = this process, attached), so
   -- that `cleanup` in another spec or process sees a live bottle, not a
   -- leftover: without them a bottle with no pipelock looks abandoned.
   plan = {
      slug = slug,
      labels = { ["claude-bottle"] = "1", ["claude-bottle.slug"] = slug, ["claude-bottle.agent"] = "gate-e2e",
                 ["claude-bottle.bottle"] = "e2e" },
      names = { agent = "claude-bottle-" .. slug, git_gate = "claude-bottle-git-gate-" .. slug },
      images = { git_gate = IMAGES.gate, agent = IMAGES.agent },
   }
   state = { plan = plan, teardown = new_teardown(), docker = { launch_labels = resources.launch_labels(false) },
             identities = {} }

   -- keys: the gate's identity (authorised upstream) and an unrelated host key
   keydir = core.mkdtemp("/tmp/claude-bottle-gate-e2e.")
   keygen(keydir .. "/id_app", "gate-e2e identity")
   keygen(keydir .. "/other_host", "not the upstream's host key")
   -- the key file's 4th base64 line holds private bytes (the first ones are
   -- the same in every unencrypted ed25519 key)
   local lines = {}
   for l in read(keydir .. "/id_app"):gmatch("[^\n]+") do lines[#lines + 1] = l end
   app_key_line = lines[5]
   local wrong_host_key = read(keydir .. "/other_host.pub"):match("^(%S+ %S+)")
   local host_key = assert(c:image_inspect(IMAGES.sshd)).Config.Labels[HOST_KEY_LABEL]

   -- networks, as the docker backend makes them
   for _, n in ipairs { { E.internal_network(plan), true, "network-internal" },
                        { E.egress_network(plan), false, "network-egress" } } do
      state.teardown:push("network " .. n[1], resources.remover(c, "network", n[1], slug))
      assert(c:network_create(n[1], { Driver = "bridge", Internal = n[2], CheckDuplicate = true,
                                      Labels = resources.labels(state, n[3]) }))
   end

   -- the SSH upstream: on the egress network only (the outside world)
   local sshd_name = "claude-bottle-test-sshd-" .. slug
   state.teardown:push("container " .. sshd_name, function() return c:container_remove(sshd_name) end)
   local created = assert(c:container_create(sshd_name, {
      Image = IMAGES.sshd, Env = { "UPSTREAM_REPOS=app open" },
      Labels = { ["claude-bottle-test"] = "1" },
      HostConfig = { NetworkMode = E.egress_network(plan) },
   }))
   sshd_id = created.Id
   assert(c:archive_put(sshd_id, "/home/git/.ssh", tar.pack {
      { name = "authorized_keys", data = read(keydir .. "/id_app.pub"), mode = tonumber("600", 8), uid = 1000, gid = 1000 },
   }))
   assert(c:container_start(sshd_id))
   wait_for(sshd_id, { "sh", "-c", "grep -q ':0016 [0-9A-F]*:0000 0A' /proc/net/tcp" }, "sshd")
   wait_for(sshd_id, { "test", "-d", "/srv/git/open.git" }, "the upstream repositories")
   upstream_ip = assert(c:container_inspect(sshd_id)).NetworkSettings.Networks[E.egress_network(plan)].IPAddress
   upstream_commit("app", "README.md", "hello from upstream\n", "seed")

   plan.git = {
      entry("app", APP_URL, "/srv/git/app.git", host_key, { branches = { "main", "agent/*" } },
            { user_name = "Gate E2E", user_email = "gate-e2e@example.test" }),
      entry("open", OPEN_URL, "/srv/git/open.git", host_key, { branches = { "*" }, force = true, delete = true,
            tags = true }),
      entry("wrongkey", WRONG_URL, "/srv/git/app.git", wrong_host_key, { branches = { "*" } }),
   }
   for _, e in ipairs(plan.git) do state.identities[e.name] = keydir .. "/id_app" end

   -- the gate, exactly as the docker backend's git-gate step makes it
   local ok, msg = git_gate.create(c, state)
   assert(ok, msg)

   -- an agent-like container: internal network only, like the real agent
   state.teardown:push("container " .. plan.names.agent, resources.remover(c, "container", plan.names.agent, slug))
   created = assert(c:container_create(plan.names.agent, {
      Image = IMAGES.agent, Entrypoint = { "sleep", "infinity" },
      Labels = resources.labels(state, "agent"),
      HostConfig = { NetworkMode = E.internal_network(plan), Init = true },
      NetworkingConfig = { EndpointsConfig = { [E.internal_network(plan)] = {} } },
   }))
   agent_id = created.Id
   state.docker.agent_id = agent_id
   assert(c:container_start(agent_id))
   ok, msg = git_gate.provision_agent(c, state)
   assert(ok, msg)
end

describe("#e2e git gate", function()
   setup(function()
      if why_not then return end
      local ok, err = pcall(make_bottle)
      if not ok then
         if state then state.teardown:run() end
         error(err, 0)
      end
   end)

   teardown(function()
      if state then state.teardown:run() end
      if keydir then core.rmtree(keydir) end
   end)

   it("gives the agent url.insteadOf rules and the manifest's user in ~/.gitconfig", function()
      if skip() then return end
      local r = agent({ "git", "config", "--global", "--get-all", "url.git://git-gate/app.git.insteadOf" })
      assert.are.equal(APP_URL .. "\n" .. APP_URL:gsub("%.git$", "") .. "\n", r.stdout)
      assert.are.equal("Gate E2E\n", agent({ "git", "config", "--global", "user.name" }).stdout)
      assert.are.equal("gate-e2e@example.test\n", agent({ "git", "config", "--global", "user.email" }).stdout)
      assert.are.equal(0, agent({ "test", "-f", "/home/node/.gitconfig" }).exit)
   end)

   it("clones the upstream's content through the gate, on the upstream's default branch", function()
      if skip() then return end
      local r = agent({ "git", "clone", "-q", APP_URL, "/home/node/app" })
      assert.are.equal(0, r.exit, r.out)
      assert.are.equal("hello from upstream\n", agent({ "cat", "/home/node/app/README.md" }).stdout)
      assert.are.equal("main\n", agit("rev-parse", "--abbrev-ref", "HEAD").stdout)
      assert.are.equal(upstream_rev("app", "main"), head("/home/node/app"))
   end)

   it("shows a commit pushed upstream out of band after a fetch (the gate refetches)", function()
      if skip() then return end
      local sha = upstream_commit("app", "news.txt", "news\n", "out of band")
      local r = agit("pull", "-q", "--ff-only")
      assert.are.equal(0, r.exit, r.out)
      assert.are.equal(sha, head("/home/node/app"))
      assert.are.equal("news\n", agent({ "cat", "/home/node/app/news.txt" }).stdout)
   end)

   it("forwards a clean push to the upstream", function()
      if skip() then return end
      local sha = agent_commit("/home/node/app", "clean.txt", "nothing secret here\n", "clean change")
      local r = agit("push", "origin", "main")
      assert.are.equal(0, r.exit, r.out)
      assert.matches("git-gate: forwarded refs/heads/main to upstream.test:22", r.out, 1, true)
      assert.are.equal(sha, upstream_rev("app", "main"))
      local author = run(sshd_id, { "git", "--git-dir=/srv/git/app.git", "log", "-1", "--format=%an <%ae>", "main" }, "git")
      assert.are.equal("Gate E2E <gate-e2e@example.test>\n", author.stdout)
   end)

   it("refuses a push carrying secrets, names rule, file, line and commit, and never shows the secret", function()
      if skip() then return end
      local before = upstream_rev("app", "main")
      agent_write("/home/node/app", "token.yml", "github_token: " .. GITHUB_TOKEN .. "\n")
      local sha = agent_commit("/home/node/app", "config.py", "region = 'eu'\naws_key = '" .. AWS_KEY .. "'\n",
                               "add config")
      local r = agit("push", "origin", "main")
      assert.are_not.equal(0, r.exit)
      assert.matches("git-gate: push refused: gitleaks found secrets", r.out, 1, true)
      assert.matches("rule aws-access-token, file config.py, line 2, commit " .. sha:sub(1, 12), r.out, 1, true)
      assert.matches("rule github-pat, file token.yml, line 1, commit " .. sha:sub(1, 12), r.out, 1, true)
      assert.is_nil(r.out:find(AWS_KEY, 1, true))
      assert.is_nil(r.out:find(AWS_KEY:sub(5), 1, true))
      assert.is_nil(r.out:find(GITHUB_TOKEN, 1, true))
      assert.is_nil(r.out:find(GITHUB_TOKEN:sub(5), 1, true))
      assert.are.equal(before, upstream_rev("app", "main"))
      assert.are_not.equal(0, run(sshd_id, { "git", "--git-dir=/srv/git/app.git", "cat-file", "-e", sha }, "git").exit)
      -- nor did the gate take it: its main is still the upstream's
      assert.matches("^" .. before, agit("ls-remote", "origin", "refs/heads/main").stdout)
      assert.are.equal(0, agit("reset", "-q", "--hard", "HEAD~1").exit)
   end)

   it("cannot be talked out of a finding with a gitleaks:allow comment", function()
      if skip() then return end
      agent_commit("/home/node/app", "allow.py", "key = '" .. AWS_KEY .. "'  # gitleaks:allow\n", "allow it")
      local r = agit("push", "origin", "main")
      assert.are_not.equal(0, r.exit)
      assert.matches("rule aws-access-token, file allow.py, line 1", r.out, 1, true)
      assert.are.equal(0, agit("reset", "-q", "--hard", "HEAD~1").exit)
   end)

   it("finds a secret in a commit message", function()
      if skip() then return end
      agent_commit("/home/node/app", "msg.txt", "harmless\n", "deploy with " .. AWS_KEY)
      local sha = head("/home/node/app")
      local r = agit("push", "origin", "main")
      assert.are_not.equal(0, r.exit)
      assert.matches("rule aws-access-token, in the message of commit " .. sha, r.out, 1, true)
      assert.is_nil(r.out:find(AWS_KEY, 1, true))
      assert.are.equal(0, agit("reset", "-q", "--hard", "HEAD~1").exit)
   end)

   it("finds a secret added while resolving a merge (an evil merge)", function()
      if skip() then return end
      local base = head("/home/node/app")
      assert.are.equal(0, agit("checkout", "-q", "-b", "agent/side").exit)
      agent_commit("/home/node/app", "side.txt", "side\n", "side work")
      assert.are.equal(0, agit("checkout", "-q", "main").exit)
      agent_commit("/home/node/app", "main.txt", "main\n", "main work")
      assert.are.equal(0, agit("merge", "-q", "--no-ff", "--no-commit", "agent/side").exit)
      agent_write("/home/node/app", "merged.txt", "aws = '" .. AWS_KEY .. "'\n")
      assert.are.equal(0, agit("add", "merged.txt").exit)
      assert.are.equal(0, agit("commit", "-q", "-m", "merge side").exit)
      local r = agit("push", "origin", "main")
      assert.are_not.equal(0, r.exit)
      assert.matches("rule aws-access-token, file merged.txt, line 1, commit " .. head("/home/node/app"):sub(1, 12),
                     r.out, 1, true)
      assert.are.equal(0, agit("reset", "-q", "--hard", base).exit)
      assert.are.equal(0, agit("branch", "-q", "-D", "agent/side").exit)
   end)

   it("scans only the new commits of a new branch, not the history the upstream already has", function()
      if skip() then return end
      -- a secret already upstream (pushed out of band), then a clean new branch on top
      upstream_commit("app", "legacy.env", "AWS_ACCESS_KEY_ID=" .. AWS_KEY .. "\n", "legacy")
      assert.are.equal(0, agit("pull", "-q", "--ff-only").exit)
      assert.are.equal(0, agit("checkout", "-q", "-b", "agent/feature").exit)
      local sha = agent_commit("/home/node/app", "feature.txt", "feature\n", "feature")
      local r = agit("push", "origin", "agent/feature")
      assert.are.equal(0, r.exit, r.out)
      assert.are.equal(sha, upstream_rev("app", "refs/heads/agent/feature"))
      assert.are.equal(0, agit("checkout", "-q", "main").exit)
   end)

   it("refuses a force-push by default and says which rule", function()
      if skip() then return end
      local before = upstream_rev("app", "main")
      assert.are.equal(0, agit("commit", "-q", "--amend", "-m", "rewritten").exit)
      local r = agit("push", "--force", "origin", "main")
      assert.are_not.equal(0, r.exit)
      assert.matches("git-gate: refused refs/heads/main: not a fast-forward", r.out, 1, true)
      assert.matches("push.force is false", r.out, 1, true)
      assert.are.equal(before, upstream_rev("app", "main"))
      assert.are.equal(0, agit("reset", "-q", "--hard", "origin/main").exit)
   end)

   it("refuses a deletion by default and says which rule", function()
      if skip() then return end
      local r = agit("push", "origin", ":agent/feature")
      assert.are_not.equal(0, r.exit)
      assert.matches("git-gate: refused refs/heads/agent/feature: deleting is not allowed (push.delete is false)",
                     r.out, 1, true)
      assert.is_not_nil(upstream_rev("app", "refs/heads/agent/feature"))
   end)

   it("refuses a branch outside push.branches and a tag, naming the rules", function()
      if skip() then return end
      local r = agit("push", "origin", "HEAD:refs/heads/feature/x")
      assert.are_not.equal(0, r.exit)
      assert.matches('refused refs/heads/feature/x: branch "feature/x" is outside push.branches (main agent/*)',
                     r.out, 1, true)
      assert.is_nil(upstream_rev("app", "refs/heads/feature/x"))
      assert.are.equal(0, agit("tag", "v1").exit)
      r = agit("push", "origin", "v1")
      assert.are_not.equal(0, r.exit)
      assert.matches("refused refs/tags/v1: pushing tags is not allowed (push.tags is false)", r.out, 1, true)
      assert.is_nil(upstream_rev("app", "refs/tags/v1"))
   end)

   it("rejects the push when the upstream refuses the forward, so the gate never runs ahead", function()
      if skip() then return end
      local hook = run(sshd_id, { "sh", "-c", [[
cat > /srv/git/app.git/hooks/pre-receive <<'HOOK'
#!/bin/sh
if grep -q " refs/heads/agent/blocked-"; then echo "upstream: agent/blocked-* is frozen" >&2; exit 1; fi
HOOK
chmod 755 /srv/git/app.git/hooks/pre-receive]] }, "git")
      assert.are.equal(0, hook.exit, hook.out)
      local r = agit("push", "origin", "HEAD:refs/heads/agent/blocked-1")
      assert.are_not.equal(0, r.exit)
      assert.matches("git-gate: push refused: forwarding to the upstream upstream.test:22 failed", r.out, 1, true)
      assert.matches("upstream: agent/blocked-* is frozen", r.out, 1, true)
      assert.is_nil(upstream_rev("app", "refs/heads/agent/blocked-1"))
      assert.are.equal("", agit("ls-remote", "origin", "refs/heads/agent/blocked-1").stdout)
      run(sshd_id, { "rm", "/srv/git/app.git/hooks/pre-receive" }, "git")
   end)

   it("forwards force-pushes, deletions and tags where the policy allows them", function()
      if skip() then return end
      local r = agent({ "git", "clone", "-q", OPEN_URL, "/home/node/open" })   -- an empty upstream
      assert.are.equal(0, r.exit, r.out)
      assert.are.equal(0, ogit("checkout", "-q", "-b", "main").exit)
      local first = agent_commit("/home/node/open", "a.txt", "a\n", "first")
      r = ogit("push", "origin", "main")
      assert.are.equal(0, r.exit, r.out)
      assert.are.equal(first, upstream_rev("open", "main"))
      assert.are.equal(0, ogit("commit", "-q", "--amend", "-m", "first, rewritten").exit)
      r = ogit("push", "--force", "origin", "main")
      assert.are.equal(0, r.exit, r.out)
      assert.are.equal(head("/home/node/open"), upstream_rev("open", "main"))
      assert.are.equal(0, ogit("tag", "-a", "-m", "release one", "v1").exit)
      r = ogit("push", "origin", "v1", "HEAD:refs/heads/topic")
      assert.are.equal(0, r.exit, r.out)
      assert.is_not_nil(upstream_rev("open", "refs/tags/v1"))
      assert.is_not_nil(upstream_rev("open", "refs/heads/topic"))
      r = ogit("push", "origin", ":topic")
      assert.are.equal(0, r.exit, r.out)
      assert.is_nil(upstream_rev("open", "refs/heads/topic"))
      -- an allowed tag is still read: a secret in its message stops it
      assert.are.equal(0, ogit("tag", "-a", "-m", "creds " .. AWS_KEY, "v2").exit)
      r = ogit("push", "origin", "v2")
      assert.are_not.equal(0, r.exit)
      assert.matches("rule aws-access-token, in the message of tag refs/tags/v2", r.out, 1, true)
      assert.is_nil(r.out:find(AWS_KEY, 1, true))
      assert.is_nil(upstream_rev("open", "refs/tags/v2"))
   end)

   it("refuses to fetch or forward when the upstream's host key is not the pinned one", function()
      if skip() then return end
      local before = upstream_rev("app", "main")
      local r = agent({ "git", "clone", "-q", WRONG_URL, "/home/node/wrong" })
      assert.are_not.equal(0, r.exit)
      assert.matches("git-gate: wrongkey: cannot fetch from the upstream upstream.test:22", r.out, 1, true)
      assert.matches("Host key verification failed", r.out, 1, true)
      -- push from the good clone, with the wrong-key entry as the remote
      r = agit("push", WRONG_URL, "HEAD:refs/heads/agent/wrong")
      assert.are_not.equal(0, r.exit)
      assert.matches("Host key verification failed", r.out, 1, true)
      assert.is_nil(upstream_rev("app", "refs/heads/agent/wrong"))
      assert.are.equal(before, upstream_rev("app", "main"))
   end)

   it("keeps the identity key in the gate only (0600, the gate's user) and out of the agent", function()
      if skip() then return end
      assert.is_string(app_key_line)
      local grep = { "grep", "-rlsF", "-D", "skip", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
                     app_key_line, "/" }
      local in_gate = run(state.docker.git_gate_id, grep, gitgate.UID .. "")
      assert.matches("/etc/git%-gate/keys/app", in_gate.stdout)   -- the search works: it finds the key in the gate...
      local in_agent = agent(grep, "0")
      assert.are_not.equal(0, in_agent.exit)
      assert.are.equal("", in_agent.stdout)                       -- ...and nowhere in the agent
      local st = run(state.docker.git_gate_id, { "stat", "-c", "%a %u:%g", "/etc/git-gate/keys/app",
                                                 "/etc/git-gate/known_hosts/app" })
      assert.are.equal("600 10001:10001\n600 10001:10001\n", st.stdout)
      local info = assert(c:container_inspect(agent_id))
      assert.are.same({}, info.Mounts)
   end)

   it("leaves the agent no route to the upstream except through the gate", function()
      if skip() then return end
      local r = agent({ "python3", "-c", ([[
import socket, sys
try:
    socket.create_connection(("%s", 22), timeout=3)
except OSError as e:
    print("unreachable:", e); sys.exit(0)
sys.exit(1)]]):format(upstream_ip) })
      assert.are.equal(0, r.exit, r.out)
      local gate = assert(c:container_inspect(state.docker.git_gate_id))
      for _, var in ipairs(gate.Config.Env or {}) do
         assert.is_nil(var:lower():match("^https?_proxy="), "the gate has a proxy variable: " .. var)
      end
      assert.are.same({ UPSTREAM_HOST .. ":" .. upstream_ip }, gate.HostConfig.ExtraHosts)
   end)

   it("fails a fetch clearly, instead of serving stale content, while the upstream is down", function()
      if skip() then return end
      assert(c:call("stop the upstream", "POST", "/containers/" .. sshd_id .. "/stop", { query = { t = 1 } }))
      local r = agit("fetch", "origin")
      assert.are_not.equal(0, r.exit)
      assert.matches("git-gate: app: cannot fetch from the upstream upstream.test:22, so the gate refuses to serve "
                     .. "(never stale content)", r.out, 1, true)
      r = agit("ls-remote", "origin")
      assert.are_not.equal(0, r.exit)
      assert.are.equal("", r.stdout)
   end)

   it("carries a live launcher's labels, so cleanup does not take it for a leftover", function()
      if skip() then return end
      local found = assert(resources.find(c, plan.slug))
      assert.is_true(#found.containers >= 2 and #found.networks == 2)
      for _, kind in ipairs { "containers", "networks" } do
         for _, r in ipairs(found[kind]) do
            assert.are.equal(resources.launcher_id(), r.labels[resources.LAUNCHER], r.name)
         end
      end
      local report = assert(require("bottle.backend").new("docker"):cleanup {})   -- a report only: nothing is removed
      for _, s in ipairs(report.slugs) do assert.are_not.equal(plan.slug, s) end
   end)

   it("is removed by the teardown with the rest of the bottle", function()
      if skip() then return end
      local id = state.docker.git_gate_id
      local found = assert(resources.find(c, plan.slug))
      local roles = {}
      for _, ctr in ipairs(found.containers) do roles[ctr.role] = true end
      assert.is_true(roles["git-gate"])
      local ok, err = state.teardown:run()
      assert(ok, err)
      local _, _, code = c:container_inspect(id)
      assert.are.equal("not_found", code)
      found = assert(resources.find(c, plan.slug))
      assert.are.same({}, found.containers)
      assert.are.same({}, found.networks)
   end)
end)
