# The git gate specs' SSH upstream (images/test/sshd-upstream.sh builds it):
# OpenSSH's sshd with one account, git (login shell git-shell), and bare
# repositories under /srv/git. Its ed25519 host key is generated once by the
# build script and recorded in the label claude-bottle.test.host-key, so a
# spec pins it exactly as a user pins a real host's key. The spec copies its
# own test key into /home/git/.ssh/authorized_keys before the first start.
FROM scratch
ADD rootfs.tar /
COPY ssh_host_ed25519_key ssh_host_ed25519_key.pub sshd_config /etc/ssh/
COPY sshd-upstream-entrypoint.sh /usr/local/bin/sshd-upstream
RUN chmod 0600 /etc/ssh/ssh_host_ed25519_key \
 && chmod 0644 /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/sshd_config \
 && chmod 0755 /usr/local/bin/sshd-upstream \
 && useradd --uid 1000 --user-group --create-home --home-dir /home/git --shell /usr/bin/git-shell git \
 && usermod -p '*' git \
 && mkdir -p /srv/git /run/sshd /home/git/.ssh \
 && chown git:git /srv/git /home/git/.ssh \
 && chmod 0700 /home/git/.ssh
ENV LANG=C.UTF-8
EXPOSE 22
CMD ["/usr/local/bin/sshd-upstream"]
