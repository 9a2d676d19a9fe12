-- The git gate, backend-neutral: from the plan's git entries, the files the
-- gate sidecar runs on (entrypoint, git daemon's access hook, the pre-receive
-- hook, ssh config, pinned known_hosts, identities) and the git settings the
-- agent gets.  A backend copies the files in (0600/0700, owned by the gate's
-- user), starts the container and runs the agent's settings; see
-- lua/bottle/backend/docker/git_gate.lua.
--
-- What the gate does: one bare repository /git/<name>.git per entry
-- with the upstream as its fetch mirror, served by `git daemon` on 9418.
-- Before every fetch or push the access hook refreshes the mirror from the
-- upstream and refuses when it cannot (never stale content).  A push passes
-- the pre-receive hook only if every ref satisfies the entry's push policy
-- and gitleaks finds nothing in the new commits (their diffs, merge
-- resolutions and messages); then the hook forwards the refs upstream over
-- SSH with the entry's identity and pinned host key, and a failed forward
-- refuses the push.  Every rendered script is POSIX sh (dash, busybox ash).
local base64 = require "bottle.base64"
local core = require "bottle.core"
local schema = require "bottle.schema"
local schema_git = require "bottle.schema.git"

local shipped = require "bottle.shipped"

local M = {}

-- The hooks are shell scripts of their own beside this module
-- (lua/bottle/gitgate/*.sh, installed with the rock and linted), read once
-- when the module loads; @NAME@ marks what is filled in.
local function script(name) return shipped.read("bottle.gitgate", name) end

M.HOST = schema.GATE_HOST           -- the gate's name on the internal network
M.PORT = schema.GATE_PORT
M.UID, M.GID = 10001, 10001         -- user `gate` in Dockerfile.git-gate and the test image
M.CONF_DIR = "/etc/git-gate"
M.REPO_DIR = "/git"
M.ENTRYPOINT = M.CONF_DIR .. "/entrypoint.sh"
M.CONNECT_TIMEOUT = 10              -- seconds, for every ssh connection to an upstream
M.LOCK_WAIT = 120                   -- seconds a fetch waits for another one on the same repo

local MODE = { dir = tonumber("700", 8), exec = tonumber("700", 8), secret = tonumber("600", 8) }

-- A word for sh, single-quoted.
local function q(s)
   return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = q

local function has_control(s)
   return s:find("[%c\127]") ~= nil
end

---------------------------------------------------------------------------
-- Checking the entries.  bottle.manifest validated them, but launch policies
-- may edit the plan afterwards, and these values end up in shell scripts,
-- file names and ssh's known_hosts: check again, and refuse rather than quote
-- our way around a surprise.

local function bad(entry, i, key, problem)
   local who = type(entry.name) == "string" and ("git entry %q"):format(entry.name) or ("git[%d]"):format(i)
   return nil, ("%s: %s: %s"):format(who, key, problem), "invalid_plan"
end

-- The gate mode of the git-entry checker (bottle.schema.git); st = { e =, i = }.
local function one_line(st, k)
   local v = st.e[k]
   if v ~= nil and (type(v) ~= "string" or v == "" or has_control(v)) then
      return bad(st.e, st.i, k, "expected one line of text")
   end
   return true
end

schema_git.mode("gate", {
   start = function(e, i)
      if type(e) ~= "table" then error(("gitgate: git[%d] is not a table"):format(i), 4) end
      return { e = e, i = i }
   end,
   order = { "name", "upstream", "host_key", "push", "user_name", "user_email", "extra_hosts" },
   rules = {
      identity = false,   -- the plan keeps identity files out of its entries
      name = function(st)
         local e, i, name = st.e, st.i, st.e.name
         if type(name) ~= "string" or not name:match("^[A-Za-z0-9][A-Za-z0-9._-]*$")
            or #name > schema_git.NAME_MAX or name:sub(-4) == ".git" then
            return bad(e, i, "name", "expected letters, digits, '.', '_' or '-', starting with a letter or digit")
         end
         return true
      end,
      -- the upstream as written, and the host and port parsed from it
      upstream = function(st)
         local e, i = st.e, st.i
         if type(e.upstream) ~= "string" or e.upstream == "" or has_control(e.upstream)
            or e.upstream:find("%s") or e.upstream:sub(1, 1) == "-" then
            return bad(e, i, "upstream", "expected an ssh URL without spaces or control characters")
         end
         if type(e.host) ~= "string" or not core.host_check(e.host) or e.host:find("*", 1, true) then
            return bad(e, i, "host", "expected the upstream's host name")
         end
         if math.type(e.port) ~= "integer" or e.port < 1 or e.port > 65535 then
            return bad(e, i, "port", "expected a port number from 1 to 65535")
         end
         return true
      end,
      host_key = function(st)
         local e, i = st.e, st.i
         if type(e.host_key) ~= "string" then
            return bad(e, i, "host_key", "missing: the gate never forwards to a host whose key is not pinned")
         end
         local ktype = e.host_key:match("^(%S+) [A-Za-z0-9+/]+=?=?$")
         if not ktype or not schema.HOST_KEY_TYPES[ktype] then
            return bad(e, i, "host_key", "expected \"KEYTYPE BASE64\" (one of ssh-ed25519, ecdsa-sha2-*, ssh-rsa)")
         end
         return true
      end,
      push = function(st)
         local e, i, push = st.e, st.i, st.e.push
         if type(push) ~= "table" or type(push.branches) ~= "table" then
            return bad(e, i, "push", "expected {branches = {...}, force, delete, tags}")
         end
         for j, g in ipairs(push.branches) do
            if type(g) ~= "string" or g == "" or g:find("[%s%c\127]") or g:sub(1, 1) == "-" then
               return bad(e, i, ("push.branches[%d]"):format(j), "expected a branch glob without spaces")
            end
         end
         for _, k in ipairs(schema_git.PUSH_SWITCHES) do
            if push[k] ~= nil and type(push[k]) ~= "boolean" then
               return bad(e, i, "push." .. k, "expected true or false")
            end
         end
         return true
      end,
      user_name = one_line, user_email = one_line,
      extra_hosts = function(st)
         local e, i = st.e, st.i
         for host, ip in pairs(e.extra_hosts or {}) do
            if type(host) ~= "string" or not core.host_check(host) or host:find("*", 1, true)
               or type(ip) ~= "string" or not ip:match("^%d+%.%d+%.%d+%.%d+$") then
               return bad(e, i, "extra_hosts", "expected host: IPv4 address pairs")
            end
         end
         return true
      end,
   },
   finish = function() return true end,
})

--- `check(entries)` → true | nil, message, "invalid_plan".
function M.check(entries)
   if type(entries) ~= "table" then error("gitgate.check: entries must be a table", 2) end
   local seen = {}
   for i, e in ipairs(entries) do
      local ok, msg, code = schema_git.check("gate", e, i)
      if not ok then return nil, msg, code end
      if seen[e.name] then return bad(e, i, "name", "used twice; names must be unique") end
      seen[e.name] = true
   end
   return true
end

--- `check_workspace(ws, entries)` → true | nil, message, "invalid_plan": the
-- workspace's repository name and push policy, checked like an entry's.
function M.check_workspace(ws, entries)
   if type(ws) ~= "table" or type(ws.name) ~= "string" or not ws.name:match("^[A-Za-z0-9][A-Za-z0-9._-]*$") then
      return nil, "workspace: name: expected letters, digits, '.', '_' or '-'", "invalid_plan"
   end
   for _, e in ipairs(entries) do
      if e.name == ws.name then
         return nil, ("git entry %q: the name is taken by the workspace's repository; rename the entry")
            :format(e.name), "invalid_plan"
      end
   end
   local push = ws.push
   if type(push) ~= "table" or type(push.branches) ~= "table" then
      return nil, "workspace_push: expected {branches = {...}, force, delete, tags}", "invalid_plan"
   end
   for j, g in ipairs(push.branches) do
      if type(g) ~= "string" or g == "" or g:find("[%s%c\127]") or g:sub(1, 1) == "-" then
         return nil, ("workspace_push.branches[%d]: expected a branch glob without spaces"):format(j), "invalid_plan"
      end
   end
   for _, k in ipairs(schema_git.PUSH_SWITCHES) do
      if push[k] ~= nil and type(push[k]) ~= "boolean" then
         return nil, ("workspace_push.%s: expected true or false"):format(k), "invalid_plan"
      end
   end
   return true
end

---------------------------------------------------------------------------
-- What each entry looks like from outside.

--- The gate's URL for an entry, as the agent's git uses it.
function M.gate_url(entry)
   return schema.gate_url(entry.name)
end

--- Where the gate forwards to, "host:port" (preflight, messages).
function M.forward(entry)
   return ("%s:%d"):format(entry.host, entry.port)
end

--- The push policy in words: "branches main, agent/*; no force-push, no deletion, no tags".
function M.policy_text(push)
   push = push or {}
   local branches = push.branches or { "*" }
   local parts = { "branches " .. (#branches > 0 and table.concat(branches, ", ") or "(none)") }
   parts[#parts + 1] = push.force and "force-push allowed" or "no force-push"
   parts[#parts + 1] = push.delete and "deletion allowed" or "no deletion"
   parts[#parts + 1] = push.tags and "tags allowed" or "no tags"
   return table.concat(parts, "; ")
end

--- One preflight line per entry.
function M.describe(entry)
   return ("%s: %s via %s, forwards to %s; push: %s"):format(entry.name, entry.upstream, M.gate_url(entry),
      M.forward(entry), M.policy_text(entry.push))
end

--- The URLs the agent's git rewrites to the gate: the upstream as written,
-- and the same with ".git" added or dropped (git matches insteadOf by prefix
-- and takes the longest match, so both spellings land on the gate).
function M.insteadof_urls(entry)
   local u = entry.upstream
   local other = u:sub(-4) == ".git" and u:sub(1, -5) or (u .. ".git")
   return { u, other }
end

---------------------------------------------------------------------------
-- The agent's git settings (its ~/.gitconfig, through `git config --global`).

--- `agent_settings(entries)` → array of {key, value}: one url.<gate>.insteadOf
-- per upstream spelling, and user.name / user.email from the first entry
-- that gives them (git has one global identity).
function M.agent_settings(entries)
   local out, name, email = {}, nil, nil
   for _, e in ipairs(entries) do
      for _, u in ipairs(M.insteadof_urls(e)) do
         out[#out + 1] = { "url." .. M.gate_url(e) .. ".insteadOf", u }
      end
      name = name or e.user_name
      email = email or e.user_email
   end
   if name then out[#out + 1] = { "user.name", name } end
   if email then out[#out + 1] = { "user.email", email } end
   return out
end

-- Replaces every key it sets (so a second run does not duplicate values),
-- then adds the values.  Values travel as arguments, never through the shell.
local AGENT_SCRIPT = [[
set -e
n=$1; shift
while [ "$n" -gt 0 ]; do
   git config --global --unset-all "$1" || [ $? = 5 ]
   shift; n=$((n - 1))
done
while [ $# -ge 2 ]; do
   git config --global --add "$1" "$2"
   shift 2
done
]]

--- `agent_argv(entries)` → the command to run in the agent container as the
-- agent's user: it writes the settings into the user's ~/.gitconfig.
function M.agent_argv(entries)
   local settings = M.agent_settings(entries)
   local keys, seen = {}, {}
   for _, kv in ipairs(settings) do
      if not seen[kv[1]] then seen[kv[1]] = true; keys[#keys + 1] = kv[1] end
   end
   local argv = { "sh", "-c", AGENT_SCRIPT, "git-gate-config", tostring(#keys) }
   for _, k in ipairs(keys) do argv[#argv + 1] = k end
   for _, kv in ipairs(settings) do argv[#argv + 1] = kv[1]; argv[#argv + 1] = kv[2] end
   return argv
end

---------------------------------------------------------------------------
-- Identities: read on the host at launch, copied into the gate only.

-- nil when the key is usable without a passphrase, else why not.
local function key_problem(text)
   local body = text:match("%-%-%-%-%-BEGIN OPENSSH PRIVATE KEY%-%-%-%-%-(.-)%-%-%-%-%-END")
   if body then
      local head = base64.decode(body, 64) or ""
      local magic = "openssh-key-v1\0"
      if head:sub(1, #magic) ~= magic or #head < #magic + 4 then return "is not a readable OpenSSH key" end
      local n = string.unpack(">I4", head, #magic + 1)
      if head:sub(#magic + 5, #magic + 4 + n) ~= "none" then
         return "is protected by a passphrase, which the gate cannot type (use a key without one, e.g. a deploy key)"
      end
      return nil
   end
   if text:match("%-%-%-%-%-BEGIN [%u ]*PRIVATE KEY%-%-%-%-%-") then
      if text:find("ENCRYPTED", 1, true) then
         return "is protected by a passphrase, which the gate cannot type (use a key without one, e.g. a deploy key)"
      end
      return nil
   end
   return "is not an SSH private key (expected -----BEGIN OPENSSH PRIVATE KEY-----)"
end

--- `read_identity(name, path)` → key text | nil, message, code.  The message
-- names the entry and the path, never the content.
function M.read_identity(name, path)
   if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
      return nil, ("git entry %q: no identity file given to the gate"):format(tostring(name)), "invalid_plan"
   end
   local st, msg, code = core.stat(path)
   if not st then return nil, ("git entry %q: identity %s: %s"):format(name, path, msg), code end
   if st.type ~= "file" then
      return nil, ("git entry %q: identity %s is not a regular file"):format(name, path), "invalid_plan"
   end
   if st.mode & tonumber("077", 8) ~= 0 then
      return nil, ("git entry %q: identity %s has mode %03o; run chmod 600 %s"):format(name, path,
         st.mode & tonumber("777", 8), path), "invalid_plan"
   end
   if st.size > 65536 then
      return nil, ("git entry %q: identity %s is too large to be an SSH key"):format(name, path), "invalid_plan"
   end
   local f, err = io.open(path, "rb")
   if not f then return nil, ("git entry %q: identity: %s"):format(name, err), "io" end
   local text = f:read("a")
   f:close()
   local problem = key_problem(text or "")
   if problem then return nil, ("git entry %q: identity %s %s"):format(name, path, problem), "invalid_plan" end
   if text:sub(-1) ~= "\n" then text = text .. "\n" end   -- ssh refuses a key without its final newline
   return text
end

---------------------------------------------------------------------------
-- The gate's files.

local function repo_path(entry) return ("%s/%s.git"):format(M.REPO_DIR, entry.name) end
local function key_path(entry) return ("%s/keys/%s"):format(M.CONF_DIR, entry.name) end
local function known_hosts_path(entry) return ("%s/known_hosts/%s"):format(M.CONF_DIR, entry.name) end

--- The known_hosts line pinning an entry's host key (ssh writes a non-22
-- port as "[host]:port").
function M.known_hosts_line(entry)
   local host = entry.port == 22 and entry.host or ("[%s]:%d"):format(entry.host, entry.port)
   return host .. " " .. entry.host_key .. "\n"
end

--- ssh's configuration in the gate: batch mode, the pinned key only, no
-- agent, no forwarding.  Per entry, core.sshCommand adds -i and the entry's
-- own known_hosts file.
function M.ssh_config()
   return table.concat({
      "# Rendered by claude-bottle (lua/bottle/gitgate.lua). Read with ssh -F only.",
      "Host *",
      "   BatchMode yes",
      "   StrictHostKeyChecking yes",
      "   GlobalKnownHostsFile /dev/null",
      "   UpdateHostKeys no",
      "   CheckHostIP no",
      "   HashKnownHosts no",
      "   IdentitiesOnly yes",
      "   IdentityAgent none",
      "   PasswordAuthentication no",
      "   KbdInteractiveAuthentication no",
      "   ConnectTimeout " .. M.CONNECT_TIMEOUT,
      "   ServerAliveInterval 15",
      "   ServerAliveCountMax 4",
      "   ForwardAgent no",
      "   ForwardX11 no",
      "   ClearAllForwardings yes",
      "   LogLevel ERROR",
      "",
   }, "\n")
end

local function ssh_command(entry)
   return ("ssh -F %s/ssh_config -i %s -o UserKnownHostsFile=%s"):format(M.CONF_DIR, key_path(entry),
      known_hosts_path(entry))
end

--- Whether a plan needs the gate: a git entry, or a copied workspace
-- (the gate's workspace.git is where the agent's pushes land).
function M.needed(plan)
   return (type(plan.git) == "table" and #plan.git > 0)
      or (type(plan.workspace) == "table" and plan.workspace.mode == "copy")
end

--- The entrypoint: the bare repositories, their policy as git config, then
-- git daemon in the foreground.  opts.workspace = {name, push}: one more
-- repository with no upstream (gate.local): a push that passes the policy
-- and gitleaks stays in the gate, and the launcher brings it home.
function M.entrypoint(entries, opts)
   local ws = opts and opts.workspace
   local lines = {
      "#!/bin/sh",
      "# The git gate's entrypoint, rendered by claude-bottle (lua/bottle/gitgate.lua).",
      "set -eu",
      "umask 077",
      "",
      "# repo NAME UPSTREAM FORWARD SSH_COMMAND FORCE DELETE TAGS [BRANCH_GLOB...]",
      "repo() {",
      "   dir=" .. M.REPO_DIR .. "/$1.git",
      "   git init -q --bare \"$dir\"",
      "   git -C \"$dir\" remote add --mirror=fetch origin \"$2\"",
      "   git -C \"$dir\" config gate.name \"$1\"",
      "   git -C \"$dir\" config gate.forward \"$3\"",
      "   git -C \"$dir\" config core.sshCommand \"$4\"",
      "   git -C \"$dir\" config gate.force \"$5\"",
      "   git -C \"$dir\" config gate.delete \"$6\"",
      "   git -C \"$dir\" config gate.tags \"$7\"",
      "   git -C \"$dir\" config core.hooksPath " .. M.CONF_DIR .. "/hooks",
      "   git -C \"$dir\" config receive.fsckObjects true",
      "   git -C \"$dir\" config gc.auto 0",
      "   shift 7",
      "   for glob in \"$@\"; do git -C \"$dir\" config --add gate.branch \"$glob\"; done",
      "}",
      "",
   }
   if ws then
      for _, line in ipairs {
         "# local_repo NAME FORCE DELETE TAGS [BRANCH_GLOB...]: no upstream; the launcher fetches from it",
         "local_repo() {",
         "   dir=" .. M.REPO_DIR .. "/$1.git",
         "   git init -q --bare \"$dir\"",
         "   git -C \"$dir\" config gate.name \"$1\"",
         "   git -C \"$dir\" config gate.local true",
         "   git -C \"$dir\" config gate.forward \"the gate (the launcher brings it home)\"",
         "   git -C \"$dir\" config gate.force \"$2\"",
         "   git -C \"$dir\" config gate.delete \"$3\"",
         "   git -C \"$dir\" config gate.tags \"$4\"",
         "   git -C \"$dir\" config core.hooksPath " .. M.CONF_DIR .. "/hooks",
         "   git -C \"$dir\" config receive.fsckObjects true",
         "   git -C \"$dir\" config gc.auto 0",
         "   shift 4",
         "   for glob in \"$@\"; do git -C \"$dir\" config --add gate.branch \"$glob\"; done",
         "}",
         "",
      } do lines[#lines + 1] = line end
   end
   local dirs = {}
   for _, e in ipairs(entries) do
      local push = e.push or {}
      local words = { "repo", q(e.name), q(e.upstream), q(M.forward(e)), q(ssh_command(e)),
                      push.force and "true" or "false", push.delete and "true" or "false",
                      push.tags and "true" or "false" }
      for _, g in ipairs(push.branches or { "*" }) do words[#words + 1] = q(g) end
      lines[#lines + 1] = table.concat(words, " ")
      dirs[#dirs + 1] = q(repo_path(e))
   end
   if ws then
      local push = ws.push or {}
      local words = { "local_repo", q(ws.name), push.force and "true" or "false", push.delete and "true" or "false",
                      push.tags and "true" or "false" }
      for _, g in ipairs(push.branches or {}) do words[#words + 1] = q(g) end
      lines[#lines + 1] = table.concat(words, " ")
      dirs[#dirs + 1] = q(("%s/%s.git"):format(M.REPO_DIR, ws.name))
   end
   lines[#lines + 1] = ""
   lines[#lines + 1] = "echo \"git-gate: serving " .. #dirs .. " repositories on port " .. M.PORT .. "\" >&2"
   lines[#lines + 1] = "exec git daemon --reuseaddr --verbose --informative-errors --export-all --strict-paths \\"
   lines[#lines + 1] = ("   --base-path=%s --port=%d --init-timeout=30 --enable=receive-pack \\"):format(M.REPO_DIR, M.PORT)
   lines[#lines + 1] = ("   --access-hook=%s/access-hook \\"):format(M.CONF_DIR)
   lines[#lines + 1] = "   " .. table.concat(dirs, " ")
   lines[#lines + 1] = ""
   return table.concat(lines, "\n")
end

-- git daemon runs this before every upload-pack (fetch, clone) and
-- receive-pack (push): the first line it prints is the error the agent sees.
local ACCESS_HOOK = script("access-hook.sh")

-- Where the hooks' diagnostics go: git daemon's stderr, the container's log.
M.LOG = "/proc/1/fd/2"

--- The access hook's text.  opts.log overrides M.LOG (specs run it on the host).
function M.access_hook(opts)
   local log = opts and opts.log or M.LOG
   return (ACCESS_HOOK:gsub("@LOCK_WAIT@", tostring(M.LOCK_WAIT)):gsub("@LOG@", function() return q(log) end))
end

-- Everything this hook prints reaches the agent's git as "remote:" lines; a
-- non-zero exit refuses every ref of the push (receive-pack is atomic here).
local PRE_RECEIVE = script("pre-receive.sh")

--- The pre-receive hook's text.  opts.conf_dir overrides M.CONF_DIR (specs).
function M.pre_receive(opts)
   local dir = opts and opts.conf_dir or M.CONF_DIR
   return (PRE_RECEIVE:gsub("@CONF_DIR@", function() return q(dir) end))
end

-- gitleaks report templates: rule, file, line and commit; never the secret
-- (and --redact besides).
M.DIFF_TEMPLATE = '{{ range . }}secret found: rule {{ .RuleID }}, file {{ .File }}, line {{ .StartLine }}, '
   .. 'commit {{ printf "%.12s" .Commit }}{{ "\\n" }}{{ end }}'
M.LINES_TEMPLATE = '{{ range . }}{{ .StartLine }} {{ .RuleID }}{{ "\\n" }}{{ end }}'

--- `files(entries, keys)` → array of {path, type = "dir"|"file", mode, data}
-- for the gate (every one owned by M.UID:M.GID), or nil, message, code.
-- keys = {name = private key text} (read_identity).  A backend copies them
-- in before the gate's first start.
function M.files(entries, keys, opts)
   if type(keys) ~= "table" then error("gitgate.files: keys must be a table", 2) end
   local ok, msg, code = M.check(entries)
   if not ok then return nil, msg, code end
   local ws = opts and opts.workspace
   if ws then
      ok, msg, code = M.check_workspace(ws, entries)
      if not ok then return nil, msg, code end
   end
   local C = M.CONF_DIR
   local out = {
      { path = C, type = "dir", mode = MODE.dir },
      { path = C .. "/hooks", type = "dir", mode = MODE.dir },
      { path = C .. "/keys", type = "dir", mode = MODE.dir },
      { path = C .. "/known_hosts", type = "dir", mode = MODE.dir },
      { path = M.ENTRYPOINT, type = "file", mode = MODE.exec, data = M.entrypoint(entries, opts) },
      { path = C .. "/access-hook", type = "file", mode = MODE.exec, data = M.access_hook() },
      { path = C .. "/hooks/pre-receive", type = "file", mode = MODE.exec, data = M.pre_receive() },
      { path = C .. "/ssh_config", type = "file", mode = MODE.secret, data = M.ssh_config() },
      { path = C .. "/gitleaks-diff.tmpl", type = "file", mode = MODE.secret, data = M.DIFF_TEMPLATE },
      { path = C .. "/gitleaks-lines.tmpl", type = "file", mode = MODE.secret, data = M.LINES_TEMPLATE },
   }
   for _, e in ipairs(entries) do
      local key = keys[e.name]
      if type(key) ~= "string" or key == "" then
         return nil, ("git entry %q: no identity key for the gate"):format(e.name), "invalid_plan"
      end
      out[#out + 1] = { path = known_hosts_path(e), type = "file", mode = MODE.secret, data = M.known_hosts_line(e) }
      out[#out + 1] = { path = key_path(e), type = "file", mode = MODE.secret, data = key }
   end
   return out
end

--- `extra_hosts(entries)` → sorted {"host:ip", ...} for the gate's /etc/hosts.
function M.extra_hosts(entries)
   local seen, out = {}, {}
   for _, e in ipairs(entries) do
      for host, ip in pairs(e.extra_hosts or {}) do
         local line = host .. ":" .. ip
         if not seen[line] then seen[line] = true; out[#out + 1] = line end
      end
   end
   table.sort(out)
   return out
end

-- The readiness probe: true once git daemon listens on M.PORT (0x24CA) in
-- /proc/net/tcp or tcp6 (no nc or curl in the image, and no stale content:
-- asking the daemon for a repository would fetch from the upstream).
M.READY_ARGV = { "sh", "-c", ("cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ':%04X [0-9A-F]*:0000 0A'")
   :format(M.PORT) }

return M
