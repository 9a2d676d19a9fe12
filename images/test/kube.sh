#!/bin/sh
# Builds the TEST control plane the Kubernetes backend's end-to-end specs run
# against: kube-apiserver and kube-controller-manager (its namespace controller
# is what completes a Namespace deletion) from the k8s.io/kubernetes Go module,
# and etcd from go.etcd.io/etcd/server/v3.  No kind, no k3s, no image pulls:
# only the Go module proxy.
#
# Usage: images/test/kube.sh
#   KUBE_VERSION=v1.37.2     k8s.io/kubernetes version (staging modules v0.37.2)
#   ETCD_VERSION=v3.7.0      go.etcd.io/etcd/server/v3 version
#   KUBE_BUILD_JOBS=1        go build -p (the machine is shared; 1 leaves CPU free)
#
# Cached under ${XDG_CACHE_HOME:-~/.cache}/claude-bottle/kube/<versions>/bin/:
# a second run with the same versions does nothing.  testlib/kube.lua finds
# the binaries there (or in CLAUDE_BOTTLE_KUBE_BIN).
#
# `go install pkg@version` refuses a module with replace directives, and
# k8s.io/kubernetes replaces every k8s.io/* staging module with a directory of
# its own tree; so the build happens in a throwaway module whose go.mod
# requires k8s.io/kubernetes and replaces each staging module with its
# published v0.X.Y twin.
set -eu

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.0}
JOBS=${KUBE_BUILD_JOBS:-1}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle/kube
DIR=$CACHE/$KUBE_VERSION-etcd-$ETCD_VERSION
BIN=$DIR/bin
LOG=$DIR/build.log

say() { printf 'kube: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v go >/dev/null 2>&1 || { say "no go command: the Kubernetes test binaries were not built"; exit 0; }

if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/etcd" ]; then
   say "kube-apiserver, kube-controller-manager $KUBE_VERSION and etcd $ETCD_VERSION are up to date ($BIN)"
   exit 0
fi

# v1.37.2 -> v0.37.2: the staging modules are tagged with the minor and patch
staging=$(printf '%s\n' "$KUBE_VERSION" | sed 's/^v1\./v0./')
mkdir -p "$DIR/src/cmd/etcd" "$BIN"
cd "$DIR/src"

say "resolving k8s.io/kubernetes $KUBE_VERSION (staging modules $staging)"
modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$LOG" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$modfile" ] || { tail -n 20 "$LOG" >&2; die "the Go module proxy did not serve k8s.io/kubernetes@$KUBE_VERSION"; }
gover=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$modfile")

{
   printf 'module claude-bottle-test/kube\n\ngo %s\n\ngodebug default=go1.26\n\n' "$gover"
   printf 'require (\n\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\nreplace (\n' \
      "$KUBE_VERSION" "$ETCD_VERSION"
   # every "k8s.io/X => ./staging/src/k8s.io/X" becomes "k8s.io/X => k8s.io/X v0.Y.Z"
   sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*$|\t\1 => \1 '"$staging"'|p' "$modfile"
   printf ')\n'
} > go.mod

cat > cmd/etcd/main.go <<'EOF'
// etcd for the Kubernetes backend's tests: the upstream binary's own main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
cat > tools.go <<'EOF'
//go:build tools

// The commands this module builds, so that go mod tidy keeps their modules.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
EOF

say "go mod tidy (downloads the modules the three commands need; log: $LOG)"
if ! GOFLAGS=-mod=mod nice -n 10 go mod tidy >>"$LOG" 2>&1; then
   tail -n 20 "$LOG" >&2
   die "go mod tidy failed"
fi

# one command at a time, so that a log line tells how far it got
for cmd in etcd kube-apiserver kube-controller-manager; do
   case $cmd in
      etcd) pkg=./cmd/etcd; ldflags=-s ;;
      # the version the API server reports at /version (a module build has none)
      *) pkg=k8s.io/kubernetes/cmd/$cmd
         ldflags="-s -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION" ;;
   esac
   [ -x "$BIN/$cmd" ] && { say "$cmd already built"; continue; }
   say "building $cmd (go build -p $JOBS; this takes many minutes on a shared machine)"
   start=$(date +%s)
   if ! nice -n 10 go build -p "$JOBS" -trimpath -ldflags="$ldflags" -o "$BIN/$cmd.tmp" "$pkg" >>"$LOG" 2>&1; then
      tail -n 20 "$LOG" >&2
      rm -f "$BIN/$cmd.tmp"
      die "go build of $cmd failed"
   fi
   mv "$BIN/$cmd.tmp" "$BIN/$cmd"
   say "built $cmd in $(( $(date +%s) - start )) s"
done
say "the Kubernetes test binaries are in $BIN"
