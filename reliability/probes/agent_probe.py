"""Runs inside a bottle's agent container (reliability/containment.lua).

Reads a JSON list of attempts on stdin, tries them all at once (threads, each
bounded by a timeout) and prints a JSON object {id: {"ok": bool, "detail": str}}
where "ok" means the attempt got through (a TCP connection was accepted, a name
resolved, a datagram was sent without a local error).  Whether a datagram
arrived is decided by the listener that should have received it, not here.

Attempt kinds:
  {"id", "kind": "tcp", "addr", "port"}         connect (IPv4 or IPv6, "%eth0" scopes allowed)
  {"id", "kind": "udp", "addr", "port", "data"} one datagram
  {"id", "kind": "dns", "name"}                 getaddrinfo through the container's resolver
  {"id", "kind": "icmp", "addr"}                one echo request, waits for the reply (needs root)
  {"id", "kind": "ipv6"}                        the container's IPv6 addresses and routes
  {"id", "kind": "connect", "proxy", "port", "target"}
                                               CONNECT target through the proxy; ok when the
                                               proxy answers 200 (detail: status line and the
                                               first bytes that came back through the tunnel)
  {"id", "kind": "scan", "addr", "first", "last"} TCP ports open on addr (ok when any is)
  {"id", "kind": "forge", "family": 4|6, "addr", "port", "data"}
                                               what root does to skip routes: a packet
                                               socket on eth0 and one hand-made frame
                                               (IPv4 UDP, or an IPv6 TCP SYN) broadcast
                                               to addr:port; ok when the frame was sent
"""
import concurrent.futures
import json
import os
import socket
import struct
import sys
import threading
import time

TIMEOUT = 3.0


def tcp(a):
    s = socket.create_connection((a["addr"], a["port"]), timeout=TIMEOUT)
    s.close()
    return "connected"


def udp(a):
    fam = socket.AF_INET6 if ":" in a["addr"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(a.get("data", "probe").encode(), (a["addr"], a["port"]))
    s.close()
    return "sent"


def dns(a):
    infos = socket.getaddrinfo(a["name"], 443, proto=socket.IPPROTO_TCP)
    return "resolved to " + ",".join(sorted({i[4][0] for i in infos}))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def icmp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(TIMEOUT)
    ident = os.getpid() & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    payload = b"claude-bottle-probe"
    packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, 1) + payload
    s.sendto(packet, (a["addr"], 0))
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        data, peer = s.recvfrom(2048)
        kind = data[20]
        if peer[0] == a["addr"] and kind == 0:
            return "echo reply from " + peer[0]
    raise OSError("no echo reply")


def lines(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


def ipv6(a):
    # /proc/net/if_inet6: address (32 hex) first; loopback ::1 and fe80::/10 cannot leave the link
    usable = [l for l in lines("/proc/net/if_inet6")
              if not l.startswith("00000000000000000000000000000001") and not l.startswith("fe80")]
    # /proc/net/ipv6_route: destination and prefix length first, the device last; ::/0
    # on a real device is a default route (the kernel's reject entries sit on lo)
    default = [r for r in lines("/proc/net/ipv6_route")
               if r.startswith("00000000000000000000000000000000 00") and r.split()[-1] != "lo"]
    if usable or default:
        return "IPv6 addresses %s, default routes %s" % (usable, default)
    raise OSError("no IPv6 address beyond loopback/link-local and no IPv6 default route")


def connect(a):
    s = socket.create_connection((a["proxy"], a["port"]), timeout=TIMEOUT)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a["target"], a["target"])).encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    status = reply.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200" not in status:
        s.close()
        raise OSError("proxy answered " + status)
    head, _, rest = reply.partition(b"\r\n\r\n")
    try:
        rest += s.recv(64)
    except OSError:
        pass
    s.close()
    return "%s; through the tunnel: %r" % (status, rest[:64])


def scan(a):
    def is_open(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            return port if s.connect_ex((a["addr"], port)) == 0 else None
        finally:
            s.close()
    with concurrent.futures.ThreadPoolExecutor(max_workers=128) as pool:
        found = [p for p in pool.map(is_open, range(a["first"], a["last"] + 1)) if p]
    if found:
        return "open: " + ",".join(map(str, found))
    raise OSError("no open port")


def ip_checksum(data):
    return checksum(data)


def forge(a):
    # Needs CAP_NET_RAW: a bottle's agent has no capability at all, so the
    # socket itself is refused; if it were not, the frame goes out.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind(("eth0", 0))
    src_mac = s.getsockname()[4]
    data = a.get("data", "forged").encode()
    if a["family"] == 4:
        src = socket.inet_aton(a.get("src", "0.0.0.0"))
        dst = socket.inet_aton(a["addr"])
        udp_len = 8 + len(data)
        udph = struct.pack("!HHHH", 40000, a["port"], udp_len, 0)
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0, 64, 17, 0, src, dst)
        iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
        frame = b"\xff" * 6 + src_mac + b"\x08\x00" + iph + udph + data
    else:
        dst = socket.inet_pton(socket.AF_INET6, a["addr"].split("%")[0])
        src = socket.inet_pton(socket.AF_INET6, a.get("src", "fe80::1"))
        tcph = struct.pack("!HHIIBBHHH", 40000, a["port"], 1, 0, 5 << 4, 0x02, 65535, 0, 0)
        pseudo = src + dst + struct.pack("!I3xB", len(tcph), 6)
        tcph = tcph[:16] + struct.pack("!H", checksum(pseudo + tcph)) + tcph[18:]
        ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(tcph), 6, 64, src, dst)
        frame = b"\x33\x33\x00\x00\x00\x01" + src_mac + b"\x86\xdd" + ip6 + tcph
    s.send(frame)
    s.close()
    return "sent a forged frame of %d bytes" % len(frame)


KINDS = {"forge": forge, "tcp": tcp, "udp": udp, "dns": dns, "icmp": icmp, "ipv6": ipv6, "connect": connect, "scan": scan}


def main():
    attempts = json.load(sys.stdin)
    results = {}

    def one(a):
        try:
            results[a["id"]] = {"ok": True, "detail": KINDS[a["kind"]](a)}
        except Exception as e:  # every failure is an answer
            results[a["id"]] = {"ok": False, "detail": "%s: %s" % (type(e).__name__, e)}

    threads = [threading.Thread(target=one, args=(a,)) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120 if any(a["kind"] == "scan" for a in attempts) else TIMEOUT * 3)
    for a in attempts:
        results.setdefault(a["id"], {"ok": False, "detail": "no answer in time"})
    json.dump(results, sys.stdout)


main()
