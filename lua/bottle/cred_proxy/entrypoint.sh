#!/bin/sh
# The credential proxy's entrypoint (fixed text; lua/bottle/cred_proxy.lua).
# On Docker (no argument) the routes' credentials arrive once on stdin,
# through the engine's attach stream, and are kept on the tmpfs
# /run/cred-proxy only.  On Kubernetes (`--mounted`) they are a Secret's file
# mounted at /run/cred-proxy/credentials.conf already, and nginx asks the
# Pod's own resolver (the cluster's DNS, from /etc/resolv.conf) for its
# upstreams.  Then nginx runs in the foreground with the rendered config,
# which includes them.
set -eu
umask 077
mkdir -p /run/cred-proxy/tmp
if [ "${1:-}" = "--mounted" ]; then
   ns=$(awk '$1 == "nameserver" && $2 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ { print $2; exit }' /etc/resolv.conf)
   if [ -z "$ns" ]; then
      echo "cred-proxy: /etc/resolv.conf names no IPv4 nameserver" >&2
      exit 1
   fi
   printf 'resolver %s ipv6=off valid=30s;\n' "$ns" > /run/cred-proxy/resolver.conf
else
   cat > /run/cred-proxy/credentials.conf
fi
if [ ! -s /run/cred-proxy/credentials.conf ]; then
   echo "cred-proxy: no credentials arrived on stdin (Docker) or in the mounted Secret (Kubernetes)" >&2
   exit 1
fi
exec nginx -e stderr -c /etc/claude-bottle-cred-proxy/nginx.conf
