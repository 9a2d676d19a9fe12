#!/bin/sh
# The SSH upstream's entrypoint: one bare repository per name in
# UPSTREAM_REPOS (default "app"), HEAD on main, owned by git; then sshd in
# the foreground, logging to stderr.
set -eu
for name in ${UPSTREAM_REPOS:-app}; do
   repo=/srv/git/$name.git
   [ -d "$repo" ] && continue
   su -s /bin/sh git -c "git init -q --bare --initial-branch=main '$repo'"
done
[ -f /home/git/.ssh/authorized_keys ] || echo "sshd-upstream: no /home/git/.ssh/authorized_keys yet" >&2
exec /usr/sbin/sshd -D -e
