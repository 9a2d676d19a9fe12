#!/bin/sh
# Builds the firewall helper's local TEST image, claude-bottle-test/firewall:latest:
# Debian bookworm minbase (debootstrap) with nftables. The layout matches
# Dockerfile.firewall.
#
# Usage: images/test/firewall.sh
#   DEBIAN_MIRROR=URL   debootstrap mirror (default http://deb.debian.org/debian)
#
# Cached under ${XDG_CACHE_HOME:-~/.cache}/claude-bottle/: the rootfs tarball;
# the image is rebuilt only when the hash of its inputs differs from its label
# claude-bottle.test.input.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
FW_DIR=$(cd "$HERE/../firewall" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=nftables
TAG=claude-bottle-test/firewall:latest
LABEL=claude-bottle.test.input

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -c1-32; }

# shellcheck source-path=SCRIPTDIR source=../git-gate/rootfs.sh
. "$HERE/../git-gate/rootfs.sh"

mkdir -p "$CACHE"
if ! docker version >/dev/null 2>&1; then
   say "no Docker Engine answers: $TAG was not built"
   exit 0
fi

rootfs_tar firewall "$PACKAGES"
input=$(printf '%s\n' "$ROOTFS_TAR" "$(hash_of "$FW_DIR/test.Dockerfile")" | sha256sum | cut -c1-32)
current=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$TAG" 2>/dev/null || true)
if [ "$current" = "$input" ]; then
   say "$TAG is up to date"
   exit 0
fi
ctx=$(mktemp -d "$CACHE/firewall-context.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
ln "$ROOTFS_TAR" "$ctx/rootfs.tar" 2>/dev/null || cp "$ROOTFS_TAR" "$ctx/rootfs.tar"
cp "$FW_DIR/test.Dockerfile" "$ctx/Dockerfile"
say "building $TAG"
if ! docker build -q --label "$LABEL=$input" -t "$TAG" "$ctx" > "$CACHE/firewall-build.log" 2>&1; then
   tail -n 20 "$CACHE/firewall-build.log" >&2
   die "docker build of $TAG failed"
fi
say "built $TAG"
