#!/usr/bin/env python3
"""A real HTTP/1.1 server for spec/http_spec.lua (Python standard library only).

Usage: http_server.py [--unix PATH]

Listens on 127.0.0.1 on a free port, and with --unix also on a unix socket at
PATH (same handler), then prints one line and serves until killed:

    READY port=<port> closed_port=<a port nothing listens on> pid=<pid>

It exits by itself when its parent (the spec) goes away.

Endpoints (any method; a request in absolute form, as a proxy receives it, is
served too and reported with "proxied": true by /echo):
  /echo               JSON: method, path, proxied, headers ([name, value] pairs
                      in order), body_length, body_adler32, body_hex (bodies
                      up to 64 KiB)
  /status/N           status N, body "status N"
  /stream?n=&delay_ms=  n chunks "chunk <i>\\n" (chunked encoding), a pause
                      between them
  /slow?ms=&tag=      answers "slept" after ms; records [start, end] under tag
  /intervals?tag=     JSON list of the [start, end] recorded for tag
  /headers            repeated Set-Cookie, mixed-case and padded headers
  /early-hints        a 103 with its own headers, then the 200
  /big?bytes=         that many bytes (default 5 MB) of the pattern i % 251
"""

import argparse
import json
import os
import socket
import socketserver
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PATTERN = bytes(range(251))
INTERVALS = {}
LOCK = threading.Lock()


def pattern(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bottle-spec"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "client"  # a unix socket has no client address

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=(), ctype="text/plain"):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        target, proxied = self.path, False
        if target.startswith(("http://", "https://")):
            proxied = True
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self.read_body()
        path = url.path
        try:
            if path == "/echo":
                doc = {
                    "method": self.command,
                    "path": target,
                    "proxied": proxied,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "body_length": len(body),
                    "body_adler32": zlib.adler32(body),
                }
                if len(body) <= 65536:
                    doc["body_hex"] = body.hex()
                self.reply(200, json.dumps(doc).encode(), ctype="application/json")
            elif path.startswith("/status/"):
                code = int(path[len("/status/"):])
                self.reply(code, ("status %d" % code).encode())
            elif path == "/stream":
                self.stream(int(query.get("n", "5")), int(query.get("delay_ms", "50")))
            elif path == "/slow":
                start = time.monotonic()
                time.sleep(int(query.get("ms", "1000")) / 1000.0)
                with LOCK:
                    INTERVALS.setdefault(query.get("tag", ""), []).append(
                        [start, time.monotonic()])
                self.reply(200, b"slept")
            elif path == "/intervals":
                with LOCK:
                    doc = INTERVALS.get(query.get("tag", ""), [])
                self.reply(200, json.dumps(doc).encode(), ctype="application/json")
            elif path == "/headers":
                self.reply(200, b"headers", headers=[
                    ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                    ("X-Mixed-Case", "Yes"), ("X-Padded", "  padded  ")])
            elif path == "/early-hints":
                self.send_response_only(103)
                self.send_header("Link", "</style.css>; rel=preload")
                self.send_header("X-Interim", "yes")
                self.end_headers()
                self.reply(200, b"final", headers=[("X-Final", "yes")])
            elif path == "/big":
                self.reply(200, pattern(int(query.get("bytes", str(5 * 1024 * 1024)))),
                           ctype="application/octet-stream")
            else:
                self.reply(404, b"no such endpoint")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeouts, stops)

    def stream(self, n, delay_ms):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(1, n + 1):
            data = ("chunk %d\n" % i).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            time.sleep(delay_ms / 1000.0)
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = route


class TCPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up is part of the specs


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix", help="also listen on this unix socket path")
    args = ap.parse_args()
    servers = [TCPServer(("127.0.0.1", 0), Handler)]
    if args.unix:
        servers.append(UnixServer(args.unix, Handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    print("READY port=%d closed_port=%d pid=%d"
          % (servers[0].server_address[1], free_port(), os.getpid()), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
