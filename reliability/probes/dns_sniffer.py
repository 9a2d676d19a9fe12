"""Watches every interface of this machine (AF_PACKET, needs root) for
SECONDS and prints how many frames carried LABEL (a DNS name's first label,
as it is written in a query), and on which interfaces: a name the agent looked
up must never leave on any interface (reliability/containment.lua).
Usage: python3 dns_sniffer.py LABEL SECONDS (prints "ready" once capturing)."""
import json
import socket
import sys
import time

label, seconds = sys.argv[1].encode(), float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
s.settimeout(0.2)
print("ready", flush=True)
deadline, hits = time.time() + seconds, {}
# In a DNS query the label is preceded by its length byte.
needle = bytes([len(label)]) + label
while time.time() < deadline:
    try:
        frame, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if needle in frame:
        hits[addr[0]] = hits.get(addr[0], 0) + 1
print(json.dumps({"frames": sum(hits.values()), "interfaces": hits}), flush=True)
