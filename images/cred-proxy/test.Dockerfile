# The credential proxy's TEST image (images/test/cred-proxy.sh builds it): the
# layout of the shipped Dockerfile.cred-proxy, from a debootstrap'd Debian
# bookworm minbase tarball with nginx, because no container registry is
# reachable here.  It also trusts the test CA (the TLS test upstream's), which
# the shipped image does not.  lua/bottle/backend/docker/cred_proxy.lua relies
# on nginx, curl and sh on PATH and on the user 65534.
FROM scratch
ADD rootfs.tar /
COPY test-ca.pem /usr/local/share/ca-certificates/claude-bottle-test-ca.crt
RUN rm -f /etc/nginx/sites-enabled/* \
 && update-ca-certificates >/dev/null
ENV LANG=C.UTF-8
USER 65534:65534
EXPOSE 9099
# The launcher copies its config and entrypoint in before the first start.
CMD ["/bin/sh", "/etc/claude-bottle-cred-proxy/entrypoint.sh"]
