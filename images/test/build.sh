#!/bin/sh
# Builds the images the end-to-end specs and `make demo` use, locally: no
# container registry is reachable on our machines.
#
#   claude-bottle-test/agent:latest    Debian bookworm minbase (debootstrap) with sh,
#                                      curl, git, ca-certificates, python3, openssl,
#                                      user node (1000); also the upstream test server
#   claude-bottle-test/pipelock:2.3.0  the real pipelock 2.3.0 FROM scratch, like the
#                                      published image, trusting the test CA
#
# Usage: images/test/build.sh [agent|pipelock|all]      (default: all)
#   PIPELOCK_BIN=/path/to/pipelock   package this binary (must say "pipelock version
#                                    2.3.0") when the Go module proxy will not serve it
#   DEBIAN_MIRROR=URL                debootstrap mirror (default http://deb.debian.org/debian)
#
# Cached: the rootfs tarball and the test CA live under
# ${XDG_CACHE_HOME:-~/.cache}/claude-bottle/; an image is rebuilt only when the
# hash of its inputs differs from the one in its label claude-bottle.test.input.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=curl,git,ca-certificates,python3,openssl
AGENT_TAG=claude-bottle-test/agent:latest
PIPELOCK_TAG=claude-bottle-test/pipelock:2.3.0
PIPELOCK_VERSION=2.3.0
PIPELOCK_MODULE=github.com/luckyPipewrench/pipelock
PIPELOCK_COMMIT=7a3b7de4a555      # the v2.3.0 tag (go.mod lacks /v2, so @v2.3.0 is refused)
LABEL=claude-bottle.test.input

say() { printf 'images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -c1-32; }
hash_text() { printf '%s\n' "$@" | sha256sum | cut -c1-32; }

# The input hash recorded on an image, or nothing when the tag is absent.
image_input() {
   docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

mkdir -p "$CACHE"
if ! docker version >/dev/null 2>&1; then
   say "no Docker Engine answers (docker version failed): the test images were not built;"
   say "the end-to-end specs will be skipped"
   exit 0
fi

# --- the upstream server's test CA and certificate (made once, then reused) ---
test_ca() {
   ca=$CACHE/test-ca
   [ -s "$ca/server.pem" ] && return 0
   say "making the test CA in $ca"
   rm -rf "$ca.tmp" && mkdir -p "$ca.tmp" && chmod 700 "$ca.tmp"
   openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout "$ca.tmp/ca-key.pem" -out "$ca.tmp/ca.pem" -days 3650 \
      -subj "/CN=claude-bottle test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
   openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout "$ca.tmp/server-key.pem" -out "$ca.tmp/server.csr" \
      -subj "/CN=allowed.test" 2>/dev/null
   printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:allowed.test,DNS:denied.test" \
      > "$ca.tmp/server.ext"
   openssl x509 -req -in "$ca.tmp/server.csr" -CA "$ca.tmp/ca.pem" -CAkey "$ca.tmp/ca-key.pem" \
      -CAcreateserial -days 3650 -extfile "$ca.tmp/server.ext" -out "$ca.tmp/server.pem" 2>/dev/null
   mv "$ca.tmp" "$ca"
}

# --- agent image ---
rootfs() {
   key=$(hash_text "$SUITE" "$MIRROR" "$PACKAGES" minbase "node:1000:/home/node")
   ROOTFS_TAR=$CACHE/agent-rootfs-$key.tar
   [ -s "$ROOTFS_TAR" ] && return 0
   command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
   [ "$(id -u)" = 0 ] || die "debootstrap needs root: run this script as root (or with sudo)"
   work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
   say "debootstrap $SUITE minbase from $MIRROR (takes minutes; log in $work/debootstrap.log)"
   if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$MIRROR" \
         > "$work/debootstrap.log" 2>&1; then
      tail -n 20 "$work/debootstrap.log" >&2
      die "debootstrap failed (log kept in $work/debootstrap.log)"
   fi
   chroot "$work/rootfs" useradd --uid 1000 --user-group --create-home \
      --home-dir /home/node --shell /bin/sh node
   rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
   # /dev, /proc and /sys come from the engine at run time.
   tar -C "$work/rootfs" --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
      -cf "$ROOTFS_TAR.tmp" .
   mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
   rm -rf "$work"
   # Older rootfs tarballs (other package lists) are not needed any more.
   for old in "$CACHE"/agent-rootfs-*.tar; do
      [ "$old" = "$ROOTFS_TAR" ] || rm -f "$old"
   done
}

agent_image() {
   test_ca
   rootfs
   ca=$CACHE/test-ca
   input=$(hash_text "$ROOTFS_TAR" "$(hash_of "$HERE/agent.Dockerfile" "$HERE/upstream.py" \
      "$ca/ca.pem" "$ca/server.pem" "$ca/server-key.pem")")
   if [ "$(image_input "$AGENT_TAG")" = "$input" ]; then
      say "$AGENT_TAG is up to date"
      return 0
   fi
   ctx=$(mktemp -d "$CACHE/agent-context.XXXXXX")
   ln "$ROOTFS_TAR" "$ctx/rootfs.tar" 2>/dev/null || cp "$ROOTFS_TAR" "$ctx/rootfs.tar"
   cp "$HERE/agent.Dockerfile" "$ctx/Dockerfile"
   cp "$HERE/upstream.py" "$ctx/"
   cp "$ca/ca.pem" "$ctx/test-ca.pem"
   cp "$ca/server.pem" "$ca/server-key.pem" "$ctx/"
   say "building $AGENT_TAG"
   if ! docker build -q --label "$LABEL=$input" -t "$AGENT_TAG" "$ctx" >"$CACHE/agent-build.log" 2>&1; then
      rm -rf "$ctx"
      tail -n 20 "$CACHE/agent-build.log" >&2
      die "docker build of $AGENT_TAG failed"
   fi
   rm -rf "$ctx"
   say "built $AGENT_TAG"
}

# --- pipelock image ---
# Prints the path of a pipelock 2.3.0 binary, or nothing.
pipelock_binary() {
   gobin=$1
   if command -v go >/dev/null; then
      say "go install $PIPELOCK_MODULE/cmd/pipelock@$PIPELOCK_COMMIT (Go module proxy)"
      if GOBIN=$gobin CGO_ENABLED=0 GOFLAGS=-trimpath \
            go install -ldflags "-s -w" "$PIPELOCK_MODULE/cmd/pipelock@$PIPELOCK_COMMIT" \
            > "$gobin/go.log" 2>&1; then
         echo "$gobin/pipelock"
         return 0
      fi
      say "the Go module proxy did not serve pipelock:"
      sed 's/^/images:   /' "$gobin/go.log" | tail -n 4 >&2
   else
      say "no Go toolchain: cannot try the Go module proxy"
   fi
   if [ -n "${PIPELOCK_BIN:-}" ]; then
      [ -x "$PIPELOCK_BIN" ] || die "PIPELOCK_BIN=$PIPELOCK_BIN is not an executable file"
      say "packaging PIPELOCK_BIN=$PIPELOCK_BIN"
      echo "$PIPELOCK_BIN"
   fi
}

pipelock_image() {
   test_ca
   ca=$CACHE/test-ca
   bundle=/etc/ssl/certs/ca-certificates.crt
   [ -s "$bundle" ] || die "$bundle is missing: apt-get install ca-certificates"
   recipe=$(hash_of "$HERE/pipelock.Dockerfile" "$bundle" "$ca/ca.pem")
   # The label holds RECIPE:BINARY_HASH. Up to date when the recipe matches and,
   # if PIPELOCK_BIN is given, the binary too (the proxy's build is pinned by commit).
   current=$(image_input "$PIPELOCK_TAG")
   if [ "${current%%:*}" = "$recipe" ]; then
      if [ -z "${PIPELOCK_BIN:-}" ] || [ "${current#*:}" = "$(hash_of "$PIPELOCK_BIN")" ]; then
         say "$PIPELOCK_TAG is up to date"
         return 0
      fi
   fi
   ctx=$(mktemp -d "$CACHE/pipelock-context.XXXXXX")
   bin=$(pipelock_binary "$ctx")
   if [ -z "$bin" ]; then
      rm -rf "$ctx"
      say "pipelock test image unavailable: the Go module proxy refuses $PIPELOCK_MODULE and no"
      say "PIPELOCK_BIN was given (build pipelock $PIPELOCK_VERSION yourself and pass its path);"
      say "the end-to-end specs will be skipped"
      return 0
   fi
   version=$("$bin" version 2>&1 | head -n 1 || true)
   if [ "$version" != "pipelock version $PIPELOCK_VERSION" ]; then
      rm -rf "$ctx"
      die "$bin says \"$version\", not \"pipelock version $PIPELOCK_VERSION\": refusing to package it"
   fi
   source_id=$(hash_of "$bin")
   [ "$bin" = "$ctx/pipelock" ] || cp "$bin" "$ctx/pipelock"
   cat "$bundle" "$ca/ca.pem" > "$ctx/ca-certificates.crt"
   cp "$HERE/pipelock.Dockerfile" "$ctx/Dockerfile"
   rm -f "$ctx/go.log"
   say "building $PIPELOCK_TAG"
   if ! docker build -q --label "$LABEL=$recipe:$source_id" -t "$PIPELOCK_TAG" "$ctx" \
         >"$CACHE/pipelock-build.log" 2>&1; then
      rm -rf "$ctx"
      tail -n 20 "$CACHE/pipelock-build.log" >&2
      die "docker build of $PIPELOCK_TAG failed"
   fi
   rm -rf "$ctx"
   say "built $PIPELOCK_TAG"
}

case ${1:-all} in
   agent) agent_image ;;
   pipelock) pipelock_image ;;
   all) agent_image; pipelock_image ;;
   *) die "usage: $0 [agent|pipelock|all]" ;;
esac
