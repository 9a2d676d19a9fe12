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
# The workspace's repository has no upstream: nothing to refresh.
[ "$(git -C "$dir" config --bool gate.local)" = true ] && exit 0

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
