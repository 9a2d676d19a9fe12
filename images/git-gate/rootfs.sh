# shellcheck shell=sh
# Sourced by the test image scripts built on a Debian minbase root
# filesystem (images/test/git-gate.sh, sshd-upstream.sh, firewall.sh,
# cred-proxy.sh): the root filesystem made with debootstrap (no container
# registry is reachable on our machines), cached as a tarball keyed by its
# inputs, and the build of an image on it, skipped when the image's input
# label already says these inputs.
#
# rootfs_tar NAME PACKAGES   sets ROOTFS_TAR to the cached tarball's path,
#                            making it first when it is missing.
# image_input FILE...        prints the hash of ROOTFS_TAR and the files.
# image_current INPUT        true (and says so) when TAG's label is INPUT.
# image_context NAME         sets ctx to a new build context holding the
#                            tarball as rootfs.tar, removed on exit.
# image_build NAME INPUT [docker build options...]
#                            builds TAG from ctx, labelled with INPUT.
# Needs CACHE, MIRROR, SUITE, TAG, LABEL set, and say/die defined, by the caller.

hash_of() { cat "$@" | sha256sum | cut -c1-32; }

rootfs_tar() {
   _name=$1 _packages=$2
   _key=$(printf '%s\n' "$SUITE" "$MIRROR" "$_packages" minbase | sha256sum | cut -c1-32)
   ROOTFS_TAR=$CACHE/$_name-rootfs-$_key.tar
   [ -s "$ROOTFS_TAR" ] && return 0
   command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
   [ "$(id -u)" = 0 ] || die "debootstrap needs root: run this script as root (or with sudo)"
   _work=$(mktemp -d "$CACHE/$_name-rootfs.XXXXXX")
   say "debootstrap $SUITE minbase + $_packages from $MIRROR (takes minutes; log in $_work/debootstrap.log)"
   if ! debootstrap --variant=minbase --include="$_packages" "$SUITE" "$_work/rootfs" "$MIRROR" \
         > "$_work/debootstrap.log" 2>&1; then
      tail -n 20 "$_work/debootstrap.log" >&2
      die "debootstrap failed (log kept in $_work/debootstrap.log)"
   fi
   rm -rf "$_work/rootfs/var/cache/apt/archives/"*.deb "$_work/rootfs/var/lib/apt/lists/"*
   # Host keys made by openssh-server's postinst would be the same in every
   # image built from this tarball and are not the ones the specs pin.
   rm -f "$_work/rootfs/etc/ssh/ssh_host_"*
   # /dev, /proc and /sys come from the engine at run time.
   tar -C "$_work/rootfs" --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
      -cf "$ROOTFS_TAR.tmp" .
   mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
   rm -rf "$_work"
}

image_input() {
   printf '%s\n' "$ROOTFS_TAR" "$(hash_of "$@")" | sha256sum | cut -c1-32
}

image_current() {
   _current=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$TAG" 2>/dev/null || true)
   [ "$_current" = "$1" ] || return 1
   say "$TAG is up to date"
}

image_context() {
   ctx=$(mktemp -d "$CACHE/$1-context.XXXXXX")
   trap 'rm -rf "$ctx"' EXIT
   ln "$ROOTFS_TAR" "$ctx/rootfs.tar" 2>/dev/null || cp "$ROOTFS_TAR" "$ctx/rootfs.tar"
}

image_build() {
   _name=$1 _input=$2
   shift 2
   say "building $TAG"
   if ! docker build -q --label "$LABEL=$_input" "$@" -t "$TAG" "$ctx" > "$CACHE/$_name-build.log" 2>&1; then
      tail -n 20 "$CACHE/$_name-build.log" >&2
      die "docker build of $TAG failed"
   fi
   say "built $TAG"
}
