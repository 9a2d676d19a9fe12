# The firewall helper's TEST image (images/test/firewall.sh builds it): the
# layout of the shipped Dockerfile.firewall, from a debootstrap'd Debian
# bookworm minbase tarball with nftables, because no container registry is
# reachable here. lua/bottle/backend/docker/firewall.lua relies on nft,
# getent, cut, sort and sh on PATH.
FROM scratch
ADD rootfs.tar /
CMD ["/bin/sh", "/run/claude-bottle-firewall/apply.sh"]
