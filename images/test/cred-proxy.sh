#!/bin/sh
# Builds the credential proxy's local TEST image,
# claude-bottle-test/cred-proxy:latest: Debian bookworm minbase (debootstrap)
# with nginx, ca-certificates and curl, trusting the test CA that signs the
# TLS test upstream's certificate (images/test/build.sh makes it).  The
# layout matches Dockerfile.cred-proxy.
#
# Usage: images/test/cred-proxy.sh
#   DEBIAN_MIRROR=URL   debootstrap mirror (default http://deb.debian.org/debian)
#
# Cached under ${XDG_CACHE_HOME:-~/.cache}/claude-bottle/: the rootfs tarball;
# the image is rebuilt only when the hash of its inputs differs from its label
# claude-bottle.test.input.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PROXY_DIR=$(cd "$HERE/../cred-proxy" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=nginx,ca-certificates,curl
TAG=claude-bottle-test/cred-proxy:latest
LABEL=claude-bottle.test.input
CA=$CACHE/test-ca/ca.pem

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# shellcheck source-path=SCRIPTDIR source=../git-gate/rootfs.sh
. "$HERE/../git-gate/rootfs.sh"

mkdir -p "$CACHE"
if ! docker version >/dev/null 2>&1; then
   say "no Docker Engine answers: $TAG was not built"
   exit 0
fi
[ -s "$CA" ] || die "the test CA $CA is missing: run images/test/build.sh first"

rootfs_tar cred-proxy "$PACKAGES"
input=$(image_input "$PROXY_DIR/test.Dockerfile" "$CA")
image_current "$input" && exit 0
image_context cred-proxy
cp "$PROXY_DIR/test.Dockerfile" "$ctx/Dockerfile"
cp "$CA" "$ctx/test-ca.pem"
image_build cred-proxy "$input"
