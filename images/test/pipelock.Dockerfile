# pipelock 2.3.0 packaged like the published image (Dockerfile.goreleaser):
# FROM scratch, CA bundle, the binary, entrypoint /pipelock. The CA bundle is
# the build host's plus the upstream test server's CA, so pipelock trusts the
# test upstream when it intercepts TLS.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY pipelock /pipelock
EXPOSE 8888
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/pipelock","healthcheck"]
ENTRYPOINT ["/pipelock"]
CMD ["run","--listen","0.0.0.0:8888"]
