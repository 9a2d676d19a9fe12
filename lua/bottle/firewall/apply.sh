#!/bin/sh
# The firewall helper's script (lua/bottle/backend/docker/firewall.lua copies it in):
# apply the ruleset, fill the gate's upstream set from names resolved inside
# the namespace, print the table for the launcher to verify.
set -eu
dir=/run/claude-bottle-firewall
nft -f "$dir/rules.nft"
while read -r host port; do
   addrs=$(getent ahostsv4 "$host" | cut -d' ' -f1 | sort -u)
   if [ -z "$addrs" ]; then
      echo "cannot resolve $host from the git gate, so it could not reach it: check the name, or give its address in extra_hosts" >&2
      exit 3
   fi
   for a in $addrs; do nft add element inet claude_bottle upstreams "{ $a . $port }"; done
done < "$dir/resolve"
nft list table inet claude_bottle
