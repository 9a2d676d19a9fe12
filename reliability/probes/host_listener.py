"""A listener on every address of this machine (reliability/containment.lua):
TCP and UDP on one port, IPv4 and IPv6.  Each connection or datagram is
written to the log as one line ("tcp PEER LOCAL" / "udp PEER LOCAL DATA"), so
the containment check can see whether anything from a bottle arrived.
Usage: python3 host_listener.py PORT LOGFILE (writes "ready" when listening)."""
import socket
import sys
import threading
import time

port, log = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()


def note(line):
    with lock, open(log, "a") as f:
        f.write(line + "\n")


def bind(fam, kind, addr):
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    return s


def tcp(s):
    s.listen(64)
    while True:
        c, peer = s.accept()
        note("tcp %s %s" % (peer[0], c.getsockname()[0]))
        try:
            c.sendall(b"host-listener\n")
        except OSError:
            pass
        c.close()


def udp(s):
    while True:
        data, peer = s.recvfrom(4096)
        note("udp %s %r" % (peer[0], data[:64]))


sockets = []
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    try:
        sockets.append((tcp, bind(fam, socket.SOCK_STREAM, addr)))
        sockets.append((udp, bind(fam, socket.SOCK_DGRAM, addr)))
    except OSError as e:  # no IPv6 on this machine
        note("cannot listen on %s: %s" % (addr, e))
for fn, s in sockets:
    threading.Thread(target=fn, args=(s,), daemon=True).start()
note("ready")
while True:
    time.sleep(3600)
