-- The git gate, backend-neutral: from the plan's git entries, the files the
-- gate sidecar runs on (entrypoint, git daemon's access hook, the pre-receive
-- hook, ssh config, pinned known_hosts, identities) and the git settings the
-- agent gets.  A backend copies the files in (0600/0700, owned by the gate's
-- user), starts the container and runs the agent's settings; see
-- lua/bottle/backend/docker/git_gate.lua.
--
-- What the gate does (issue 5): one bare repository /git/<name>.git per entry
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

local M = {}

M.HOST = "git-gate"                 -- the gate's name on the internal network
M.PORT = 9418
M.UID, M.GID = 10001, 10001         -- user `gate` in Dockerfile.git-gate and the test image
M.CONF_DIR = "/etc/git-gate"
M.REPO_DIR = "/git"
M.ENTRYPOINT = M.CONF_DIR .. "/entrypoint.sh"
M.CONNECT_TIMEOUT = 10              -- seconds, for every ssh connection to an upstream
M.LOCK_WAIT = 120                   -- seconds a fetch waits for another one on the same repo

local MODE = { dir = tonumber("700", 8), exec = tonumber("700", 8), secret = tonumber("600", 8) }

local HOST_KEY_TYPES = {
   ["ssh-ed25519"] = true, ["ecdsa-sha2-nistp256"] = true, ["ecdsa-sha2-nistp384"] = true,
   ["ecdsa-sha2-nistp521"] = true, ["ssh-rsa"] = true,
}

-- A word for sh, single-quoted.
local function q(s)
   return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = q

local function has_control(s)
   return s:find("[%c\127]") ~= nil
end

---------------------------------------------------------------------------
-- Checking the entries.  manifest.lua validated them, but launch policies
-- may edit the plan afterwards, and these values end up in shell scripts,
-- file names and ssh's known_hosts: check again, and refuse rather than quote
-- our way around a surprise.

local function bad(entry, i, key, problem)
   local who = type(entry.name) == "string" and ("git entry %q"):format(entry.name) or ("git[%d]"):format(i)
   return nil, ("%s: %s: %s"):format(who, key, problem), "invalid_plan"
end

local function check_entry(e, i)
   if type(e) ~= "table" then error(("gitgate: git[%d] is not a table"):format(i), 3) end
   local name = e.name
   if type(name) ~= "string" or not name:match("^[A-Za-z0-9][A-Za-z0-9._-]*$") or #name > 100
      or name:sub(-4) == ".git" then
      return bad(e, i, "name", "expected letters, digits, '.', '_' or '-', starting with a letter or digit")
   end
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
   if type(e.host_key) ~= "string" then
      return bad(e, i, "host_key", "missing: the gate never forwards to a host whose key is not pinned")
   end
   local ktype = e.host_key:match("^(%S+) [A-Za-z0-9+/]+=?=?$")
   if not ktype or not HOST_KEY_TYPES[ktype] then
      return bad(e, i, "host_key", "expected \"KEYTYPE BASE64\" (one of ssh-ed25519, ecdsa-sha2-*, ssh-rsa)")
   end
   local push = e.push
   if type(push) ~= "table" or type(push.branches) ~= "table" then
      return bad(e, i, "push", "expected {branches = {...}, force, delete, tags}")
   end
   for j, g in ipairs(push.branches) do
      if type(g) ~= "string" or g == "" or g:find("[%s%c\127]") or g:sub(1, 1) == "-" then
         return bad(e, i, ("push.branches[%d]"):format(j), "expected a branch glob without spaces")
      end
   end
   for _, k in ipairs { "force", "delete", "tags" } do
      if push[k] ~= nil and type(push[k]) ~= "boolean" then
         return bad(e, i, "push." .. k, "expected true or false")
      end
   end
   for _, k in ipairs { "user_name", "user_email" } do
      if e[k] ~= nil and (type(e[k]) ~= "string" or e[k] == "" or has_control(e[k])) then
         return bad(e, i, k, "expected one line of text")
      end
   end
   for host, ip in pairs(e.extra_hosts or {}) do
      if type(host) ~= "string" or not core.host_check(host) or host:find("*", 1, true)
         or type(ip) ~= "string" or not ip:match("^%d+%.%d+%.%d+%.%d+$") then
         return bad(e, i, "extra_hosts", "expected host: IPv4 address pairs")
      end
   end
   return true
end

--- `check(entries)` → true | nil, message, "invalid_plan".
function M.check(entries)
   if type(entries) ~= "table" then error("gitgate.check: entries must be a table", 2) end
   local seen = {}
   for i, e in ipairs(entries) do
      local ok, msg, code = check_entry(e, i)
      if not ok then return nil, msg, code end
      if seen[e.name] then return bad(e, i, "name", "used twice; names must be unique") end
      seen[e.name] = true
   end
   return true
end

---------------------------------------------------------------------------
-- What each entry looks like from outside.

--- The gate's URL for an entry, as the agent's git uses it.
function M.gate_url(entry)
   return ("git://%s/%s.git"):format(M.HOST, entry.name)
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

--- The entrypoint: the bare repositories, their policy as git config, then
-- git daemon in the foreground.
function M.entrypoint(entries)
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
   lines[#lines + 1] = ""
   lines[#lines + 1] = "echo \"git-gate: serving " .. #entries .. " repositories on port " .. M.PORT .. "\" >&2"
   lines[#lines + 1] = "exec git daemon --reuseaddr --verbose --informative-errors --export-all --strict-paths \\"
   lines[#lines + 1] = ("   --base-path=%s --port=%d --init-timeout=30 --enable=receive-pack \\"):format(M.REPO_DIR, M.PORT)
   lines[#lines + 1] = ("   --access-hook=%s/access-hook \\"):format(M.CONF_DIR)
   lines[#lines + 1] = "   " .. table.concat(dirs, " ")
   lines[#lines + 1] = ""
   return table.concat(lines, "\n")
end

-- git daemon runs this before every upload-pack (fetch, clone) and
-- receive-pack (push): the first line it prints is the error the agent sees.
local ACCESS_HOOK = [=[
#!/bin/sh
# git daemon's --access-hook, rendered by claude-bottle (lua/bottle/gitgate.lua).
# Arguments: SERVICE PATH HOST CANONICAL_HOST IP PORT.  Before the gate serves
# a repository it brings the mirror up to date from the upstream; when it
# cannot, it refuses (fail closed: never stale content).  The first line on
# stdout is what git daemon sends the agent's git when the hook refuses.
set -u
service=$1 dir=$2
name=$(git -C "$dir" config gate.name) || { echo "git-gate: $dir is not a gated repository"; exit 1; }
forward=$(git -C "$dir" config gate.forward)

exec 9>"$dir/gate.lock"
flock -w @LOCK_WAIT@ 9 || { echo "git-gate: $name: another fetch has held the repository for @LOCK_WAIT@s; try again"; exit 1; }

if ! out=$(git -C "$dir" fetch --quiet --prune origin 2>&1); then
   # The last line that says something: not ssh's @@@ banner, not git's
   # generic "Could not read from remote repository" advice.
   reason=$(printf '%s\n' "$out" | grep -v -e '^[[:space:]]*$' -e '^@' -e '^fatal: Could not read from remote' \
      -e '^Please make sure you have the correct access' -e '^and the repository exists' | tail -n 1 | tr -d '\r')
   printf 'git-gate: %s: cannot fetch from the upstream %s, so the gate refuses to serve %s: %s\n' \
      "$name" "$forward" "(never stale content)" "${reason:-git fetch failed}"
   # git daemon discards the hook's stderr: the whole story goes to the gate's log.
   printf 'git-gate: %s: git fetch before %s failed:\n%s\n' "$name" "$service" "$out" >@LOG@ 2>/dev/null
   exit 1
fi

# git init --bare points HEAD at master: follow the upstream's default
# branch until HEAD names a branch the upstream has.
if ! git -C "$dir" rev-parse -q --verify HEAD >/dev/null; then
   head=$(git -C "$dir" ls-remote --symref origin HEAD 2>/dev/null | awk '$1 == "ref:" && $3 == "HEAD" { print $2; exit }')
   case $head in
      refs/heads/*) git -C "$dir" symbolic-ref HEAD "$head" ;;
   esac
fi
exit 0
]=]

-- Where the hooks' diagnostics go: git daemon's stderr, the container's log.
M.LOG = "/proc/1/fd/2"

--- The access hook's text.  opts.log overrides M.LOG (specs run it on the host).
function M.access_hook(opts)
   local log = opts and opts.log or M.LOG
   return (ACCESS_HOOK:gsub("@LOCK_WAIT@", tostring(M.LOCK_WAIT)):gsub("@LOG@", function() return q(log) end))
end

-- Everything this hook prints reaches the agent's git as "remote:" lines; a
-- non-zero exit refuses every ref of the push (receive-pack is atomic here).
local PRE_RECEIVE = [=[
#!/bin/sh
# The git gate's pre-receive hook, rendered by claude-bottle (lua/bottle/gitgate.lua).
# 1. every ref must satisfy the entry's push policy (gate.* in the repo's config);
# 2. gitleaks scans the new commits: diffs (--text: binary files too; merges
#    as their remerge-diff, so a secret added while merging is seen) and the
#    messages of new commits and annotated tags;
# 3. the refs are forwarded upstream over ssh (core.sshCommand: the entry's
#    identity and pinned host key), atomically when there are several.
# Any failure refuses the whole push, so the agent never runs ahead of the upstream.
set -u
conf=@CONF_DIR@
name=$(git config gate.name)
forward=$(git config gate.forward)
upstream=$(git config remote.origin.url)
say() { printf 'git-gate: %s\n' "$*" >&2; }
tmp=$(mktemp -d) || { say "cannot make a temporary directory"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/updates"

is_zero() { case $1 in *[!0]*) return 1 ;; *) return 0 ;; esac; }
allowed() { [ "$(git config --bool "gate.$1")" = true ]; }
# A forced update: the new value does not contain the old one (for a tag, any move).
forced() {
   is_zero "$1" && return 1
   case $3 in refs/tags/*) return 0 ;; esac
   ! git merge-base --is-ancestor "$1" "$2" 2>/dev/null
}

# ---- 1. the ref policy
globs=$(git config --get-all gate.branch | tr '\n' ' ')
refused=0
set -f                                  # the globs are patterns, not file names
while read -r old new ref; do
   why=
   case $ref in
      refs/heads/*)
         branch=${ref#refs/heads/} ok=0
         for glob in $globs; do
            case $branch in $glob) ok=1; break ;; esac
         done
         [ $ok = 1 ] || why="branch \"$branch\" is outside push.branches (${globs% })" ;;
      refs/tags/*)
         allowed tags || why="pushing tags is not allowed (push.tags is false)" ;;
      *) why="only branches and tags are forwarded" ;;
   esac
   if [ -z "$why" ]; then
      if is_zero "$new"; then
         allowed delete || why="deleting is not allowed (push.delete is false)"
      elif forced "$old" "$new" "$ref"; then
         allowed force || why="not a fast-forward of the upstream's $ref, and force-pushing is not allowed"\
" (push.force is false); fetch and merge or rebase first"
      fi
   fi
   if [ -n "$why" ]; then say "refused $ref: $why"; refused=1; fi
done < "$tmp/updates"
set +f
if [ $refused = 1 ]; then
   say "push refused by the ref policy of \"$name\"; nothing was forwarded to $forward"
   exit 1
fi

# ---- 2. gitleaks over what is new: reachable from the pushed values and from
# no ref the gate already has (the upstream's refs as of the access hook's fetch).
news= tags=
while read -r old new ref; do
   is_zero "$new" && continue
   news="$news $new"
   [ "$(git cat-file -t "$new")" = tag ] && tags=yes
done < "$tmp/updates"
# Nothing new to read (a deletion, or a ref moved to commits the gate has):
# skip gitleaks.  A new annotated tag always has its message to read.
[ -n "$news" ] && [ -z "$tags" ] && [ -z "$(git rev-list -n 1$news --not --all)" ] && news=
# git shows no remerge-diff for a merge of three or more parents, so what such
# a merge adds could not be read: refuse it.
if [ -n "$news" ]; then
   octopus=$(git rev-list --min-parents=3$news --not --all | cut -c1-12 | tr '\n' ' ')
   if [ -n "$octopus" ]; then
      say "push refused: merges of more than two parents cannot be scanned (${octopus% }); merge one branch at a time"
      exit 1
   fi
fi
unset GITLEAKS_CONFIG GITLEAKS_CONFIG_TOML
scan() {   # scan SUBCOMMAND TEMPLATE REPORT [ARGS...]: 0 clean, 3 findings, else failure
   sub=$1 template=$2 report=$3
   shift 3
   gitleaks "$sub" --no-banner --no-color --log-level=error --redact --ignore-gitleaks-allow \
      --exit-code=3 --gitleaks-ignore-path="$tmp" --report-format=template \
      --report-template="$template" --report-path="$report" "$@" 2>>"$tmp/gitleaks.err"
}
if [ -n "$news" ]; then
   scan git "$conf/gitleaks-diff.tmpl" "$tmp/findings" --log-opts="--text --remerge-diff$news --not --all" .
   diff_status=$?
   {
      git log --format='@@git-gate commit %H%n%B' $news --not --all
      while read -r old new ref; do
         if ! is_zero "$new" && [ "$(git cat-file -t "$new")" = tag ]; then
            printf '@@git-gate tag %s\n' "$ref"
            git cat-file tag "$new" | sed '1,/^$/d'
         fi
      done < "$tmp/updates"
   } > "$tmp/messages"
   scan stdin "$conf/gitleaks-lines.tmpl" "$tmp/message-lines" < "$tmp/messages"
   message_status=$?
   for status in $diff_status $message_status; do
      case $status in
         0|3) ;;
         *) say "push refused: gitleaks failed (exit $status), so nothing was forwarded to $forward:"
            tail -n 5 "$tmp/gitleaks.err" | sed 's/^/git-gate:   /' >&2
            exit 1 ;;
      esac
   done
   if [ $message_status = 3 ]; then
      while read -r line rule; do
         where=$(head -n "$line" "$tmp/messages" | grep '^@@git-gate ' | tail -n 1 | cut -d' ' -f2-)
         printf 'secret found: rule %s, in the message of %s\n' "$rule" "${where:-a new commit}"
      done < "$tmp/message-lines" >> "$tmp/findings"
   fi
   if [ $diff_status = 3 ] || [ $message_status = 3 ]; then
      say "push refused: gitleaks found secrets in the pushed commits (values not shown):"
      grep . "$tmp/findings" | sed 's/^/git-gate:   /' >&2
      say "remove them from the history (git commit --amend, git rebase -i) and push again; nothing was forwarded to $forward"
      exit 1
   fi
fi

# ---- 3. forward.  Forced updates and deletions carry a lease on the value the
# gate saw, so an upstream change made in the meantime is never overwritten.
set --
while read -r old new ref; do
   if is_zero "$new"; then
      set -- "$@" "--force-with-lease=$ref:$old" ":$ref"
   elif forced "$old" "$new" "$ref"; then
      set -- "$@" "--force-with-lease=$ref:$old" "$new:$ref"
   else
      set -- "$@" "$new:$ref"
   fi
done < "$tmp/updates"
[ "$(wc -l < "$tmp/updates")" -gt 1 ] && set -- --atomic "$@"
# To the URL rather than the remote: the mirror refspec would have git update
# the gate's own refs, which receive-pack does itself once this hook succeeds.
if ! out=$(git push --quiet "$upstream" "$@" 2>&1); then
   say "push refused: forwarding to the upstream $forward failed (the upstream is unchanged):"
   printf '%s\n' "$out" | grep . | sed 's/^/git-gate:   /' >&2
   exit 1
fi
while read -r old new ref; do say "forwarded $ref to $forward"; done < "$tmp/updates"
exit 0
]=]

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
function M.files(entries, keys)
   if type(keys) ~= "table" then error("gitgate.files: keys must be a table", 2) end
   local ok, msg, code = M.check(entries)
   if not ok then return nil, msg, code end
   local C = M.CONF_DIR
   local out = {
      { path = C, type = "dir", mode = MODE.dir },
      { path = C .. "/hooks", type = "dir", mode = MODE.dir },
      { path = C .. "/keys", type = "dir", mode = MODE.dir },
      { path = C .. "/known_hosts", type = "dir", mode = MODE.dir },
      { path = M.ENTRYPOINT, type = "file", mode = MODE.exec, data = M.entrypoint(entries) },
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
