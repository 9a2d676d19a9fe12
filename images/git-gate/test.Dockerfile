# The git gate's TEST image (images/test/git-gate.sh builds it): the same
# layout as the shipped Dockerfile.git-gate, but from a debootstrap'd Debian
# bookworm minbase tarball and a gitleaks built from the Go module proxy,
# because no container registry is reachable here. Keep the two in step:
# lua/bottle/gitgate.lua relies on the user (10001), /git, /etc/git-gate and
# gitleaks, git, git daemon, ssh and flock on PATH.
FROM scratch
ADD rootfs.tar /
COPY gitleaks /usr/local/bin/gitleaks
RUN groupadd --gid 10001 gate \
 && useradd --uid 10001 --gid 10001 --home-dir /home/gate --create-home --shell /usr/sbin/nologin gate \
 && mkdir -p /git /etc/git-gate \
 && chown gate:gate /git /etc/git-gate \
 && chmod 0700 /git /etc/git-gate \
 && chmod 0755 /usr/local/bin/gitleaks
ENV LANG=C.UTF-8 HOME=/home/gate
USER 10001:10001
WORKDIR /git
EXPOSE 9418
# The launcher copies the rendered entrypoint in before the first start.
CMD ["/bin/sh", "/etc/git-gate/entrypoint.sh"]
