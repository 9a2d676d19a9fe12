#!/bin/sh
# The credential proxy's entrypoint (fixed text; lua/bottle/cred_proxy.lua):
# the routes' credentials arrive once on stdin, through the engine's attach
# stream, and are kept on the tmpfs /run/cred-proxy only; then nginx runs in
# the foreground with the rendered config, which includes them.
set -eu
umask 077
mkdir -p /run/cred-proxy/tmp
cat > /run/cred-proxy/credentials.conf
if [ ! -s /run/cred-proxy/credentials.conf ]; then
   echo "cred-proxy: no credentials arrived on stdin" >&2
   exit 1
fi
exec nginx -e stderr -c /etc/claude-bottle-cred-proxy/nginx.conf
