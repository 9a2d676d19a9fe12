#!/bin/sh
# Builds what a real test NODE needs on top of images/test/kube.sh's control
# plane: kubelet, kube-scheduler and kube-proxy from the same
# k8s.io/kubernetes module, and kube-network-policies (the NetworkPolicy
# enforcer) from its own module.  Cached beside kube.sh's binaries.
# This is the furthest the real-node goal got: see docs/backends.md
# ("A real node") for what blocks running it on the project's machine.
#
# Usage: images/test/kube-node.sh   (after images/test/kube.sh)
#   KUBE_VERSION, ETCD_VERSION, KUBE_BUILD_JOBS as for kube.sh
#   KNP_VERSION=v0.8.0   sigs.k8s.io/kube-network-policies version
set -eu

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.0}
KNP_VERSION=${KNP_VERSION:-v0.8.0}
JOBS=${KUBE_BUILD_JOBS:-1}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle/kube
DIR=$CACHE/$KUBE_VERSION-etcd-$ETCD_VERSION
BIN=$DIR/bin
LOG=$DIR/node-build.log

say() { printf 'kube-node: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -f "$DIR/src/go.mod" ] || die "run images/test/kube.sh first (it makes the module this builds in)"
command -v go >/dev/null 2>&1 || die "no go command"
cd "$DIR/src"

if ! grep -q kubelet tools.go; then
   cat > tools.go <<'EOF'
//go:build tools

// The commands this module builds, so that go mod tidy keeps their modules.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
EOF
   say "go mod tidy (the node's commands)"
   GOFLAGS=-mod=mod nice -n 10 go mod tidy >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "go mod tidy failed"; }
fi

for cmd in kube-scheduler kube-proxy kubelet; do
   [ -x "$BIN/$cmd" ] && { say "$cmd already built"; continue; }
   say "building $cmd (go build -p $JOBS)"
   start=$(date +%s)
   if ! nice -n 10 go build -p "$JOBS" -trimpath \
        -ldflags="-s -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION" \
        -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd" >>"$LOG" 2>&1; then
      tail -n 20 "$LOG" >&2
      rm -f "$BIN/$cmd.tmp"
      die "go build of $cmd failed"
   fi
   mv "$BIN/$cmd.tmp" "$BIN/$cmd"
   say "built $cmd in $(( $(date +%s) - start )) s"
done

if [ ! -x "$BIN/kube-network-policies" ]; then
   knp=$DIR/knp-src
   mkdir -p "$knp"
   cd "$knp"
   [ -f go.mod ] || printf 'module claude-bottle-test/knp\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kube-network-policies %s\n' \
      "$KNP_VERSION" > go.mod
   cat > tools.go <<'EOF'
//go:build tools

package tools

import _ "sigs.k8s.io/kube-network-policies/cmd"
EOF
   say "building kube-network-policies $KNP_VERSION"
   start=$(date +%s)
   if ! { GOFLAGS=-mod=mod nice -n 10 go mod tidy && nice -n 10 go build -p "$JOBS" -trimpath -ldflags=-s \
            -o "$BIN/kube-network-policies" sigs.k8s.io/kube-network-policies/cmd; } \
        >>"$LOG" 2>&1; then
      tail -n 20 "$LOG" >&2
      die "the build of kube-network-policies failed (its command path may differ in $KNP_VERSION: see $LOG)"
   fi
   say "built kube-network-policies in $(( $(date +%s) - start )) s"
fi
say "the node's binaries are in $BIN"
