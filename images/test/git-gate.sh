#!/bin/sh
# Builds the git gate's local TEST image, claude-bottle-test/git-gate:latest:
# Debian bookworm minbase (debootstrap) with git (git daemon included),
# openssh-client and util-linux (flock), plus gitleaks built from the Go
# module proxy at a pinned version. The layout matches Dockerfile.git-gate.
#
# Usage: images/test/git-gate.sh
#   GITLEAKS_BIN=/path/to/gitleaks   package this binary (must say v8.30.1)
#                                    when the Go module proxy is not reachable
#   DEBIAN_MIRROR=URL                debootstrap mirror (default http://deb.debian.org/debian)
#
# Cached under ${XDG_CACHE_HOME:-~/.cache}/claude-bottle/: the rootfs tarball
# and the gitleaks binary; the image is rebuilt only when the hash of its
# inputs differs from its label claude-bottle.test.input.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
GATE_DIR=$(cd "$HERE/../git-gate" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=git,openssh-client,ca-certificates,util-linux
TAG=claude-bottle-test/git-gate:latest
GITLEAKS_MODULE=github.com/zricethezav/gitleaks/v8
GITLEAKS_VERSION=v8.30.1
LABEL=claude-bottle.test.input

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# shellcheck source-path=SCRIPTDIR source=../git-gate/rootfs.sh
. "$GATE_DIR/rootfs.sh"

mkdir -p "$CACHE"

# Sets GITLEAKS to a gitleaks $GITLEAKS_VERSION binary (cached after the first build).
gitleaks_binary() {
   GITLEAKS=$CACHE/gitleaks-$GITLEAKS_VERSION
   if [ -n "${GITLEAKS_BIN:-}" ]; then
      [ -x "$GITLEAKS_BIN" ] || die "GITLEAKS_BIN=$GITLEAKS_BIN is not an executable file"
      GITLEAKS=$GITLEAKS_BIN
   elif [ ! -x "$GITLEAKS" ]; then
      command -v go >/dev/null || die "no Go toolchain: install Go or pass GITLEAKS_BIN"
      gobin=$(mktemp -d "$CACHE/gitleaks.XXXXXX")
      say "go install $GITLEAKS_MODULE@$GITLEAKS_VERSION (Go module proxy)"
      if ! GOBIN=$gobin CGO_ENABLED=0 GOFLAGS=-trimpath go install \
            -ldflags "-s -w -X $GITLEAKS_MODULE/version.Version=$GITLEAKS_VERSION" \
            "$GITLEAKS_MODULE@$GITLEAKS_VERSION" > "$gobin/go.log" 2>&1; then
         tail -n 10 "$gobin/go.log" >&2
         rm -rf "$gobin"
         die "building gitleaks failed (pass GITLEAKS_BIN=/path/to/gitleaks to package one)"
      fi
      mv "$gobin/gitleaks" "$GITLEAKS"
      rm -rf "$gobin"
   fi
   version=$("$GITLEAKS" version 2>&1 | head -n 1 || true)
   [ "$version" = "$GITLEAKS_VERSION" ] ||
      die "$GITLEAKS says \"$version\", not \"$GITLEAKS_VERSION\": refusing to package it"
}

rootfs_tar git-gate "$PACKAGES"
gitleaks_binary
input=$(image_input "$GATE_DIR/test.Dockerfile" "$GITLEAKS")
image_current "$input" && exit 0
image_context git-gate
cp "$GITLEAKS" "$ctx/gitleaks"
cp "$GATE_DIR/test.Dockerfile" "$ctx/Dockerfile"
image_build git-gate "$input"
