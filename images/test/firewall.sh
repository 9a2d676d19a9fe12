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

# shellcheck source-path=SCRIPTDIR source=../git-gate/rootfs.sh
. "$HERE/../git-gate/rootfs.sh"

mkdir -p "$CACHE"
if ! docker version >/dev/null 2>&1; then
   say "no Docker Engine answers: $TAG was not built"
   exit 0
fi

rootfs_tar firewall "$PACKAGES"
input=$(image_input "$FW_DIR/test.Dockerfile")
image_current "$input" && exit 0
image_context firewall
cp "$FW_DIR/test.Dockerfile" "$ctx/Dockerfile"
image_build firewall "$input"
