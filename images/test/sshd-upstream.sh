#!/bin/sh
# Builds the SSH upstream the git gate specs push to and fetch from,
# claude-bottle-test/sshd-upstream:latest: Debian bookworm minbase
# (debootstrap) with openssh-server and git, a `git` account and bare
# repositories under /srv/git (images/git-gate/sshd-upstream.Dockerfile).
# Its ed25519 host key is made once and kept in the cache, and its public
# half is the image's label claude-bottle.test.host-key (what specs pin).
#
# Usage: images/test/sshd-upstream.sh
#   DEBIAN_MIRROR=URL   debootstrap mirror (default http://deb.debian.org/debian)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
GATE_DIR=$(cd "$HERE/../git-gate" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=openssh-server,git
TAG=claude-bottle-test/sshd-upstream:latest
LABEL=claude-bottle.test.input
KEY_LABEL=claude-bottle.test.host-key

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# shellcheck source-path=SCRIPTDIR source=../git-gate/rootfs.sh
. "$GATE_DIR/rootfs.sh"

mkdir -p "$CACHE"
keydir=$CACHE/sshd-upstream
if [ ! -s "$keydir/ssh_host_ed25519_key.pub" ]; then
   command -v ssh-keygen >/dev/null || die "ssh-keygen is missing: apt-get install openssh-client"
   rm -rf "$keydir.tmp" && mkdir -p "$keydir.tmp" && chmod 700 "$keydir.tmp"
   ssh-keygen -q -t ed25519 -N '' -C sshd-upstream -f "$keydir.tmp/ssh_host_ed25519_key"
   mv "$keydir.tmp" "$keydir"
   say "made the upstream's host key in $keydir"
fi
host_key=$(cut -d' ' -f1,2 "$keydir/ssh_host_ed25519_key.pub")

rootfs_tar sshd-upstream "$PACKAGES"
input=$(image_input "$GATE_DIR/sshd-upstream.Dockerfile" "$GATE_DIR/sshd-upstream-entrypoint.sh" \
   "$GATE_DIR/sshd_config" "$keydir/ssh_host_ed25519_key")
image_current "$input" && exit 0
image_context sshd-upstream
cp "$GATE_DIR/sshd-upstream.Dockerfile" "$ctx/Dockerfile"
cp "$GATE_DIR/sshd-upstream-entrypoint.sh" "$GATE_DIR/sshd_config" "$ctx/"
cp "$keydir/ssh_host_ed25519_key" "$keydir/ssh_host_ed25519_key.pub" "$ctx/"
image_build sshd-upstream "$input" --label "$KEY_LABEL=$host_key"
