# The end-to-end specs' agent image, and the upstream test server's image.
# rootfs.tar is a debootstrap'd Debian bookworm minbase (see build.sh): no
# registry is needed to build it.
FROM scratch
ADD rootfs.tar /
COPY upstream.py /usr/local/bin/upstream.py
# The upstream server's test CA and certificate. The CA is NOT in the system
# store: the agent must trust pipelock's CA, not this one (specs that talk to
# the upstream directly pass --cacert).
COPY test-ca.pem server.pem server-key.pem /usr/local/share/claude-bottle-test/
RUN chmod 0644 /usr/local/share/claude-bottle-test/* /usr/local/bin/upstream.py
ENV LANG=C.UTF-8
WORKDIR /home/node
USER node
CMD ["sleep", "infinity"]
