#!/bin/sh
# The git gate's pre-receive hook, rendered by claude-bottle (lua/bottle/gitgate.lua).
# 1. every ref must satisfy the entry's push policy (gate.* in the repo's config);
# 2. gitleaks scans the new commits: diffs (--text: binary files too; merges
#    as their remerge-diff, so a secret added while merging is seen) and the
#    messages of new commits and annotated tags;
# 3. the refs are forwarded upstream over ssh (core.sshCommand: the entry's
#    identity and pinned host key), atomically when there are several.
# Any failure refuses the whole push, so the agent never runs ahead of the upstream.
# $news is a list of object names, word-split on purpose where it is used.
# shellcheck disable=SC2086
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
            # shellcheck disable=SC2254  # the glob is a pattern on purpose
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
         allowed force ||
            why="not a fast-forward of the upstream's $ref, and force-pushing is not allowed (push.force is false); fetch and merge or rebase first"
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
news='' tags=
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

# ---- 3a. the workspace's repository (gate.local) has no upstream: what
# passed stays here, and the launcher brings it home (bottle sync, down).
if [ "$(git config --bool gate.local)" = true ]; then
   while read -r old new ref; do say "accepted $ref: kept in the gate until the launcher brings it home"; done < "$tmp/updates"
   exit 0
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
