# shellcheck shell=sh
# Sourced by images/test/git-gate.sh and images/test/sshd-upstream.sh: a
# Debian minbase root filesystem made with debootstrap (no container registry
# is reachable on our machines), cached as a tarball keyed by its inputs.
#
# rootfs_tar NAME PACKAGES   sets ROOTFS_TAR to the cached tarball's path,
#                            making it first when it is missing.
# Needs CACHE, MIRROR, SUITE set, and say/die defined, by the caller.

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
