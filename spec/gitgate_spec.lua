-- Unit specs for bottle.gitgate: what the gate's files and the agent's git
-- settings say.  The rendered scripts are also RUN here, on the host, with
-- real sh, git and flock against local bare repositories (a path stands in
-- for the SSH upstream, and no gitleaks is on PATH): the ref policy, the
-- fail-closed fetch and the agent's config are checked by behaviour, not by
-- text.  The real container, ssh and gitleaks are in spec/git_gate_e2e_spec.lua.
local core = require "bottle.core"
local gitgate = require "bottle.gitgate"

local HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIeAqwcfkCfsKPoZZOAt0G+q2yr2qSF2V49efX72B54J"

local function entry(over)
   local e = { name = "app", upstream = "ssh://git@git.example.com/org/app.git", user = "git",
               host = "git.example.com", port = 22, path = "/org/app.git", host_key = HOST_KEY,
               extra_hosts = {}, push = { branches = { "main", "agent/*" }, force = false, delete = false,
                                          tags = false } }
   for k, v in pairs(over or {}) do e[k] = v end
   return e
end

local function has(cmd)
   return core.spawn({ "sh", "-c", "command -v " .. cmd .. " >/dev/null" }, {}) == 0
end

-- sh -c SCRIPT with stdout+stderr captured in a file: exit status, output.
local function sh(script, dir)
   local out = dir .. "/out.txt"
   local status = core.spawn({ "sh", "-c", "(" .. script .. ") >" .. gitgate.shell_quote(out) .. " 2>&1" }, {})
   local f = io.open(out, "rb")
   local text = f and f:read("a") or ""
   if f then f:close() end
   os.remove(out)
   return status, text
end

local function write(path, data, mode)
   os.remove(path)
   assert(core.write_file(path, data, mode or tonumber("644", 8)))
end

describe("gitgate.check", function()
   it("accepts entries as bottle.manifest makes them", function()
      assert.is_true(gitgate.check { entry(), entry { name = "lib", upstream = "git@h.example:lib.git" } })
      assert.is_true(gitgate.check {})
   end)

   local cases = {
      { { name = "../x" }, "name" },
      { { name = "a b" }, "name" },
      { { name = "app.git" }, "name" },
      { { upstream = "ssh://h/x y" }, "upstream" },
      { { upstream = "ssh://h/x\nrm -rf /" }, "upstream" },
      { { upstream = "-oProxyCommand=x" }, "upstream" },
      { { host = "*.example.com" }, "host" },
      { { port = 0 }, "port" },
      { { host_key = "not a key" }, "host_key" },
      { { host_key = "ssh-dss AAAA" }, "host_key" },
      { { push = { branches = { "a b" } } }, "push.branches[1]" },
      { { push = { branches = { "main" }, force = "yes" } }, "push.force" },
      { { user_name = "a\nb" }, "user_name" },
      { { extra_hosts = { ["h.example"] = "not-an-ip" } }, "extra_hosts" },
   }
   for _, case in ipairs(cases) do
      it("refuses a bad " .. case[2] .. ", naming the entry and the key", function()
         local ok, msg, code = gitgate.check { entry(case[1]) }
         assert.is_nil(ok)
         assert.are.equal("invalid_plan", code)
         assert.matches(": " .. case[2]:gsub("[%.%[%]]", "%%%0") .. ": ", msg)
         assert.matches("^git entry", msg)
      end)
   end

   it("refuses an entry without a pinned host key (no trust on first use)", function()
      local ok, msg = gitgate.check { entry { host_key = false } }
      assert.is_nil(ok)
      assert.matches("never forwards to a host whose key is not pinned", msg, 1, true)
   end)

   it("refuses two entries with one name", function()
      local ok, msg = gitgate.check { entry(), entry() }
      assert.is_nil(ok)
      assert.matches("used twice", msg, 1, true)
   end)

   it("raises on misuse", function()
      assert.has_error(function() gitgate.check("app") end)
      assert.has_error(function() gitgate.check { "app" } end)
   end)
end)

describe("gitgate descriptions", function()
   it("gives the gate URL, the forward and the policy in words", function()
      local e = entry()
      assert.are.equal("git://git-gate/app.git", gitgate.gate_url(e))
      assert.are.equal("git.example.com:22", gitgate.forward(e))
      assert.are.equal("branches main, agent/*; no force-push; no deletion; no tags", gitgate.policy_text(e.push))
      assert.are.equal("branches *; force-push allowed; deletion allowed; tags allowed",
         gitgate.policy_text { branches = { "*" }, force = true, delete = true, tags = true })
      assert.are.equal("app: ssh://git@git.example.com/org/app.git via git://git-gate/app.git, forwards to "
         .. "git.example.com:22; push: branches main, agent/*; no force-push; no deletion; no tags", gitgate.describe(e))
   end)

   it("rewrites the upstream with and without .git", function()
      assert.are.same({ "ssh://git@git.example.com/org/app.git", "ssh://git@git.example.com/org/app" },
         gitgate.insteadof_urls(entry()))
      assert.are.same({ "git@h.example:lib", "git@h.example:lib.git" },
         gitgate.insteadof_urls(entry { upstream = "git@h.example:lib" }))
   end)

   it("pins the host key in known_hosts form, with [host]:port off port 22", function()
      assert.are.equal("git.example.com " .. HOST_KEY .. "\n", gitgate.known_hosts_line(entry()))
      assert.are.equal("[git.example.com]:2222 " .. HOST_KEY .. "\n", gitgate.known_hosts_line(entry { port = 2222 }))
   end)

   it("collects extra_hosts for the gate's /etc/hosts, sorted and once each", function()
      assert.are.same({ "a.example:10.0.0.1", "b.example:10.0.0.2" }, gitgate.extra_hosts {
         entry { extra_hosts = { ["b.example"] = "10.0.0.2", ["a.example"] = "10.0.0.1" } },
         entry { name = "x", extra_hosts = { ["a.example"] = "10.0.0.1" } },
      })
   end)
end)

describe("gitgate.files", function()
   local files
   setup(function()
      files = assert(gitgate.files({ entry(), entry { name = "lib", port = 2222 } },
                                   { app = "KEY-APP\n", lib = "KEY-LIB\n" }))
   end)

   local function find(path)
      for _, f in ipairs(files) do if f.path == path then return f end end
   end

   it("puts identities and known_hosts in 0600 files, scripts in 0700, under /etc/git-gate", function()
      local s600, s700 = tonumber("600", 8), tonumber("700", 8)
      assert.are.same({ path = "/etc/git-gate/keys/app", type = "file", mode = s600, data = "KEY-APP\n" },
                      find("/etc/git-gate/keys/app"))
      assert.are.equal("[git.example.com]:2222 " .. HOST_KEY .. "\n", find("/etc/git-gate/known_hosts/lib").data)
      assert.are.equal(s600, find("/etc/git-gate/known_hosts/lib").mode)
      for _, p in ipairs { "/etc/git-gate/entrypoint.sh", "/etc/git-gate/access-hook", "/etc/git-gate/hooks/pre-receive" } do
         assert.are.equal(s700, find(p).mode, p)
         assert.matches("^#!/bin/sh\n", find(p).data)
      end
      for _, f in ipairs(files) do
         assert.matches("^/etc/git%-gate", f.path)
         if f.type == "file" and not f.path:match("^/etc/git%-gate/keys/") then
            assert.is_nil(f.data:find("KEY-", 1, true), f.path .. " mentions a key")
         end
      end
   end)

   it("refuses to render without a key for every entry, or with a bad entry", function()
      local ok, msg, code = gitgate.files({ entry() }, {})
      assert.is_nil(ok)
      assert.are.equal("invalid_plan", code)
      assert.matches('git entry "app": no identity key', msg, 1, true)
      ok, msg = gitgate.files({ entry { name = "a b" } }, { ["a b"] = "k" })
      assert.is_nil(ok)
      assert.matches("name", msg)
   end)

   it("configures ssh for batch use with the pinned key only", function()
      local cfg = find("/etc/git-gate/ssh_config").data
      for _, line in ipairs { "BatchMode yes", "StrictHostKeyChecking yes", "GlobalKnownHostsFile /dev/null",
                              "IdentitiesOnly yes", "ConnectTimeout 10", "ForwardAgent no", "UpdateHostKeys no" } do
         assert.matches("\n   " .. line .. "\n", cfg, 1, true)
      end
   end)

   it("gives gitleaks report templates that never print the secret", function()
      local diff = find("/etc/git-gate/gitleaks-diff.tmpl").data
      assert.matches(".RuleID", diff, 1, true)
      assert.matches(".File", diff, 1, true)
      assert.matches(".StartLine", diff, 1, true)
      assert.matches(".Commit", diff, 1, true)
      for _, t in ipairs { diff, find("/etc/git-gate/gitleaks-lines.tmpl").data } do
         assert.is_nil(t:find(".Secret", 1, true))
         assert.is_nil(t:find(".Match", 1, true))
         assert.is_nil(t:find(".Line ", 1, true))
      end
   end)

   it("runs gitleaks with --redact, without honouring gitleaks:allow, over merges and binary files", function()
      local hook = find("/etc/git-gate/hooks/pre-receive").data
      for _, flag in ipairs { "--redact", "--ignore-gitleaks-allow", "--text --remerge-diff", "--not --all" } do
         assert.matches(flag, hook, 1, true)
      end
   end)
end)

describe("gitgate.entrypoint, run with a stand-in git", function()
   -- A fake `git` on PATH records its arguments: this checks that the
   -- rendered script hands each value over as one argument, quotes intact.
   local dir
   before_each(function()
      dir = core.mkdtemp("/tmp/gitgate-spec.")
      write(dir .. "/git", "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done >> \"$LOG\"\necho >> \"$LOG\"\n",
            tonumber("755", 8))
   end)
   after_each(function() core.rmtree(dir) end)

   it("makes each repository, its mirror remote and policy, then execs git daemon", function()
      local e = entry { push = { branches = { "it's/*", "main" }, force = true, delete = false, tags = true } }
      local lib = entry { name = "lib", upstream = "git@h.example:lib.git", host = "h.example" }
      write(dir .. "/entrypoint.sh", gitgate.entrypoint { e, lib })
      local status, out = sh(("LOG=%s/log PATH=%s:$PATH sh %s/entrypoint.sh"):format(dir, dir, dir), dir)
      assert.are.equal(0, status, out)
      local f = assert(io.open(dir .. "/log"))
      local log = f:read("a")
      f:close()
      local want = {
         "[init][-q][--bare][/git/app.git]",
         "[-C][/git/app.git][remote][add][--mirror=fetch][origin][ssh://git@git.example.com/org/app.git]",
         "[-C][/git/app.git][config][gate.forward][git.example.com:22]",
         "[-C][/git/app.git][config][core.sshCommand][ssh -F /etc/git-gate/ssh_config -i /etc/git-gate/keys/app "
            .. "-o UserKnownHostsFile=/etc/git-gate/known_hosts/app]",
         "[-C][/git/app.git][config][gate.force][true]",
         "[-C][/git/app.git][config][gate.delete][false]",
         "[-C][/git/app.git][config][gate.tags][true]",
         "[-C][/git/app.git][config][core.hooksPath][/etc/git-gate/hooks]",
         "[-C][/git/app.git][config][--add][gate.branch][it's/*]",
         "[-C][/git/app.git][config][--add][gate.branch][main]",
         "[-C][/git/lib.git][remote][add][--mirror=fetch][origin][git@h.example:lib.git]",
         "[daemon][--reuseaddr][--verbose][--informative-errors][--export-all][--strict-paths][--base-path=/git]"
            .. "[--port=9418][--init-timeout=30][--enable=receive-pack][--access-hook=/etc/git-gate/access-hook]"
            .. "[/git/app.git][/git/lib.git]",
      }
      for _, line in ipairs(want) do
         assert.is_truthy(log:find("\n" .. line .. "\n", 1, true) or log:find("^" .. line:gsub("%p", "%%%0") .. "\n"),
            "missing " .. line .. " in:\n" .. log)
      end
   end)
end)

describe("the gate's hooks, run on the host against local repositories", function()
   local dir, ok_tools
   setup(function() ok_tools = has("git") and has("flock") end)

   local function git(args)
      local status, out = sh("git " .. args, dir)
      assert(status == 0, "git " .. args .. ": " .. out)
      return (out:gsub("%s+$", ""))
   end

   -- an upstream with main (2 commits) and a gate mirror of it, configured
   -- the way the entrypoint does
   local function make_repos(push)
      dir = core.mkdtemp("/tmp/gitgate-spec.")
      local q = gitgate.shell_quote
      git(("init -q --bare --initial-branch=trunk %s/up.git"):format(q(dir)))
      git(("init -q %s/work"):format(q(dir)))
      local w = "-C " .. q(dir .. "/work") .. " -c user.name=t -c user.email=t@example.test"
      git(w .. " checkout -q -b trunk")
      write(dir .. "/work/a.txt", "a\n")
      git(w .. " add a.txt")
      git(w .. " commit -q -m one")
      write(dir .. "/work/a.txt", "b\n")
      git(w .. " commit -q -am two")
      git(w .. " push -q " .. q(dir .. "/up.git") .. " trunk")
      local g = "-C " .. q(dir .. "/gate.git")
      git(("init -q --bare %s/gate.git"):format(q(dir)))
      git(g .. " remote add --mirror=fetch origin " .. q(dir .. "/up.git"))
      git(g .. " config gate.name app")
      git(g .. " config gate.forward up.example:22")
      for _, k in ipairs { "force", "delete", "tags" } do git(g .. (" config gate.%s %s"):format(k, tostring(push[k] or false))) end
      for _, b in ipairs(push.branches) do git(g .. " config --add gate.branch " .. q(b)) end
      write(dir .. "/access-hook", gitgate.access_hook { log = dir .. "/gate.log" }, tonumber("755", 8))
      write(dir .. "/pre-receive", gitgate.pre_receive { conf_dir = dir }, tonumber("755", 8))
   end

   after_each(function() if dir then core.rmtree(dir) end dir = nil end)

   local function access(service)
      return sh(("%s/access-hook %s %s/gate.git git-gate git-gate 10.0.0.3 40000"):format(dir, service, dir), dir)
   end

   -- pre-receive with "old new ref" lines on stdin, in the gate repository,
   -- with PATH limited so that no gitleaks is found.
   local function pre_receive(lines)
      write(dir .. "/updates", table.concat(lines, "\n") .. "\n")
      return sh(("cd %s/gate.git && GIT_DIR=. PATH=/usr/bin:/bin %s/pre-receive < %s/updates"):format(dir, dir, dir), dir)
   end

   it("access hook: mirrors the upstream and points HEAD at its default branch", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "*" } }
      local status, out = access("upload-pack")
      assert.are.equal(0, status, out)
      assert.are.equal(git("-C " .. dir .. "/up.git rev-parse trunk"), git("-C " .. dir .. "/gate.git rev-parse trunk"))
      assert.are.equal("refs/heads/trunk", git("-C " .. dir .. "/gate.git symbolic-ref HEAD"))
   end)

   it("access hook: refuses with one clear line when the upstream cannot be fetched (no stale content)", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "*" } }
      assert.are.equal(0, (access("upload-pack")))
      git("-C " .. dir .. "/gate.git config remote.origin.url " .. dir .. "/gone.git")
      local status, out = access("upload-pack")
      assert.are_not.equal(0, status)
      local first = out:match("^[^\n]*")
      assert.matches("^git%-gate: app: cannot fetch from the upstream up%.example:22, so the gate refuses to serve "
                     .. "%(never stale content%): .*gone%.git", first)
      local f = io.open(dir .. "/gate.log")
      local log = f and f:read("a") or ""
      if f then f:close() end
      assert.matches("git fetch before upload-pack failed", log, 1, true)
   end)

   local ZERO = string.rep("0", 40)

   it("pre-receive: refuses by rule, naming it, and forwards nothing", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "trunk", "agent/*" } }
      assert.are.equal(0, (access("receive-pack")))
      local two = git("-C " .. dir .. "/gate.git rev-parse trunk")
      local one = git("-C " .. dir .. "/gate.git rev-parse trunk~1")
      local cases = {
         { ("%s %s refs/heads/feature"):format(ZERO, two),
           'refused refs/heads/feature: branch "feature" is outside push.branches (trunk agent/*)' },
         { ("%s %s refs/heads/trunk"):format(two, ZERO),
           "refused refs/heads/trunk: deleting is not allowed (push.delete is false)" },
         { ("%s %s refs/heads/trunk"):format(two, one),
           "refused refs/heads/trunk: not a fast-forward of the upstream's refs/heads/trunk, and force-pushing is "
              .. "not allowed (push.force is false)" },
         { ("%s %s refs/tags/v1"):format(ZERO, two),
           "refused refs/tags/v1: pushing tags is not allowed (push.tags is false)" },
         { ("%s %s refs/notes/commits"):format(ZERO, two),
           "refused refs/notes/commits: only branches and tags are forwarded" },
      }
      for _, case in ipairs(cases) do
         local status, out = pre_receive { case[1] }
         assert.are_not.equal(0, status, out)
         assert.matches("git-gate: " .. case[2], out, 1, true)
         assert.matches('push refused by the ref policy of "app"; nothing was forwarded to up.example:22', out, 1, true)
      end
      -- several refs: every violation is listed
      local _, out = pre_receive { cases[1][1], cases[2][1] }
      assert.matches(cases[1][2], out, 1, true)
      assert.matches(cases[2][2], out, 1, true)
      assert.are.equal(two, git("-C " .. dir .. "/up.git rev-parse trunk"))
   end)

   it("pre-receive: forwards what the policy allows (force with a lease, deletion) to the upstream", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "*" }, force = true, delete = true }
      local g, u = "-C " .. dir .. "/gate.git", "-C " .. dir .. "/up.git"
      git(u .. " branch side trunk")
      assert.are.equal(0, (access("receive-pack")))
      local two, one = git(g .. " rev-parse trunk"), git(g .. " rev-parse trunk~1")
      -- no new commits in either update: nothing for gitleaks (absent here) to read
      local status, out = pre_receive { ("%s %s refs/heads/trunk"):format(two, one),
                                        ("%s %s refs/heads/side"):format(two, ZERO) }
      assert.are.equal(0, status, out)
      assert.matches("git-gate: forwarded refs/heads/trunk to up.example:22", out, 1, true)
      assert.matches("git-gate: forwarded refs/heads/side to up.example:22", out, 1, true)
      assert.are.equal(one, git(u .. " rev-parse trunk"))
      assert.are.equal("", git(u .. " branch --list side"))
   end)

   it("pre-receive: a forced update loses its lease when the upstream moved meanwhile", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "*" }, force = true }
      local g, u = "-C " .. dir .. "/gate.git", "-C " .. dir .. "/up.git"
      assert.are.equal(0, (access("receive-pack")))
      local two, one = git(g .. " rev-parse trunk"), git(g .. " rev-parse trunk~1")
      -- someone else pushes to the upstream after the gate's fetch
      local w = "-C " .. dir .. "/work -c user.name=t -c user.email=t@example.test"
      write(dir .. "/work/a.txt", "c\n")
      git(w .. " commit -q -am three")
      git(w .. " push -q " .. dir .. "/up.git trunk")
      local three = git(u .. " rev-parse trunk")
      local status, out = pre_receive { ("%s %s refs/heads/trunk"):format(two, one) }
      assert.are_not.equal(0, status)
      assert.matches("git-gate: push refused: forwarding to the upstream up.example:22 failed (the upstream is unchanged)",
                     out, 1, true)
      assert.matches("stale info", out, 1, true)
      assert.are.equal(three, git(u .. " rev-parse trunk"))
   end)

   it("pre-receive: refuses a merge of three parents, whose additions no diff shows", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "*" } }
      assert.are.equal(0, (access("receive-pack")))
      local g = "-C " .. dir .. "/gate.git -c user.name=t -c user.email=t@example.test"
      local a = git(g .. " commit-tree -p trunk -m a trunk^{tree}")
      local b = git(g .. " commit-tree -p trunk -m b trunk^{tree}")
      local m = git(g .. (" commit-tree -p trunk -p %s -p %s -m octopus trunk^{tree}"):format(a, b))
      local two = git("-C " .. dir .. "/gate.git rev-parse trunk")
      local status, out = pre_receive { ("%s %s refs/heads/trunk"):format(two, m) }
      assert.are_not.equal(0, status)
      assert.matches("git-gate: push refused: merges of more than two parents cannot be scanned (" .. m:sub(1, 12) .. ")",
                     out, 1, true)
      assert.are.equal(two, git("-C " .. dir .. "/up.git rev-parse trunk"))
   end)

   it("pre-receive: a glob matches across '/', and a permitted update still fails closed without gitleaks", function()
      if not ok_tools then pending("needs git and flock") return end
      make_repos { branches = { "agent/*" }, force = true, delete = true, tags = true }
      assert.are.equal(0, (access("receive-pack")))
      -- a commit the gate has not seen (as receive-pack would have stored it)
      local new = git("-C " .. dir .. "/gate.git -c user.name=t -c user.email=t@example.test commit-tree "
                      .. "-p trunk -m new trunk^{tree}")
      local status, out = pre_receive { ("%s %s refs/heads/agent/a/b"):format(ZERO, new) }
      assert.are_not.equal(0, status)
      assert.is_nil(out:find("refused refs/heads", 1, true))
      assert.matches("git-gate: push refused: gitleaks failed (exit 127), so nothing was forwarded to up.example:22",
                     out, 1, true)
      assert.is_nil(select(2, sh("git -C " .. dir .. "/up.git rev-parse -q --verify refs/heads/agent/a/b", dir))
                       :match("%x%x%x%x%x%x"))
   end)
end)

describe("gitgate agent settings", function()
   it("maps every upstream spelling to the gate and takes the first user identity", function()
      local settings = gitgate.agent_settings {
         entry { user_email = "a@example.test" },
         entry { name = "lib", upstream = "git@h.example:lib.git", user_name = "Lib", user_email = "l@example.test" },
      }
      assert.are.same({
         { "url.git://git-gate/app.git.insteadOf", "ssh://git@git.example.com/org/app.git" },
         { "url.git://git-gate/app.git.insteadOf", "ssh://git@git.example.com/org/app" },
         { "url.git://git-gate/lib.git.insteadOf", "git@h.example:lib.git" },
         { "url.git://git-gate/lib.git.insteadOf", "git@h.example:lib" },
         { "user.name", "Lib" },
         { "user.email", "a@example.test" },
      }, settings)
   end)

   it("writes ~/.gitconfig through git config (run with real git and a scratch HOME), twice without duplicates", function()
      if not has("git") then pending("needs git") return end
      local home = core.mkdtemp("/tmp/gitgate-home.")
      local entries = { entry { user_name = "Agent 'Q' Smith", user_email = "q@example.test" } }
      local argv = gitgate.agent_argv(entries)
      for _ = 1, 2 do
         assert.are.equal(0, core.spawn(argv, { env = { HOME = home, XDG_CONFIG_HOME = home } }))
      end
      local status, out = sh("HOME=" .. home .. " git config --global --list", home)
      core.rmtree(home)
      assert.are.equal(0, status)
      assert.are.equal(table.concat({
         "url.git://git-gate/app.git.insteadof=ssh://git@git.example.com/org/app.git",
         "url.git://git-gate/app.git.insteadof=ssh://git@git.example.com/org/app",
         "user.name=Agent 'Q' Smith",
         "user.email=q@example.test", "" }, "\n"), out)
   end)
end)

describe("gitgate.read_identity", function()
   local dir
   before_each(function() dir = core.mkdtemp("/tmp/gitgate-keys.") end)
   after_each(function() core.rmtree(dir) end)

   local function keygen(path, pass)
      return core.spawn({ "ssh-keygen", "-q", "-t", "ed25519", "-N", pass, "-C", "spec", "-f", path }, {}) == 0
   end

   it("reads an unencrypted key", function()
      if not has("ssh-keygen") then pending("needs ssh-keygen") return end
      assert.is_true(keygen(dir .. "/id", ""))
      local key = assert(gitgate.read_identity("app", dir .. "/id"))
      assert.matches("^%-%-%-%-%-BEGIN OPENSSH PRIVATE KEY%-%-%-%-%-\n", key)
   end)

   it("refuses a key with a passphrase, without quoting it", function()
      if not has("ssh-keygen") then pending("needs ssh-keygen") return end
      assert.is_true(keygen(dir .. "/id", "correct horse"))
      local ok, msg, code = gitgate.read_identity("app", dir .. "/id")
      assert.is_nil(ok)
      assert.are.equal("invalid_plan", code)
      assert.matches("protected by a passphrase", msg, 1, true)
      assert.is_nil(msg:find("BEGIN", 1, true))
   end)

   it("refuses a readable-by-others file, a non-key, a directory and a missing file", function()
      write(dir .. "/open", "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
            tonumber("644", 8))
      local ok, msg = gitgate.read_identity("app", dir .. "/open")
      assert.is_nil(ok)
      assert.matches("mode 644; run chmod 600", msg, 1, true)
      write(dir .. "/notes", "hello\n", tonumber("600", 8))
      ok, msg = gitgate.read_identity("app", dir .. "/notes")
      assert.is_nil(ok)
      assert.matches("is not an SSH private key", msg, 1, true)
      assert.is_nil(msg:find("hello", 1, true))
      ok, msg = gitgate.read_identity("app", dir)
      assert.is_nil(ok)
      assert.matches("not a regular file", msg, 1, true)
      ok, msg = gitgate.read_identity("app", dir .. "/missing")
      assert.is_nil(ok)
      assert.matches('git entry "app": identity ' .. dir .. "/missing", msg, 1, true)
      ok, msg = gitgate.read_identity("app", nil)
      assert.is_nil(ok)
      assert.matches("no identity file", msg, 1, true)
   end)
end)

describe("gitgate readiness probe", function()
   it("looks for a listener on 9418 (0x24CA) in /proc/net/tcp{,6}", function()
      assert.are.equal("sh", gitgate.READY_ARGV[1])
      assert.matches(":24CA [0-9A-F]*:0000 0A", gitgate.READY_ARGV[3], 1, true)
   end)
end)
