#!/usr/bin/env python3
"""The egress harness's upstream: what arrived from the bottle, and the pages
it fetches.

  egress_upstream.py CERT KEY PAGES LOG

Listens on 80 (HTTP) and 443 (HTTPS with CERT, whose names cover every host
of the corpus).  Records every request as one JSON line in LOG (the case id
from X-Case, host, method, path, headers, body in base64); answers /page/...
with the page of that path from PAGES ({path: {content_type, body_b64}});
completes a WebSocket handshake and records the first frame.
"""
import base64
import hashlib
import http.server
import json
import ssl
import sys
import threading

CERT, KEY, PAGES, LOG = sys.argv[1:5]
LOCK = threading.Lock()
with open(PAGES) as f:
    PAGE = json.load(f)
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def record(entry):
    with LOCK, open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\n")


def read_frame(rfile):
    head = rfile.read(2)
    if len(head) < 2:
        return None
    n = head[1] & 0x7F
    if n == 126:
        n = int.from_bytes(rfile.read(2), "big")
    elif n == 127:
        n = int.from_bytes(rfile.read(8), "big")
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = rfile.read(n)
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        case = self.headers.get("X-Case")
        if case is None and "?case=" in self.path:  # through pipelock's WebSocket proxy
            case = self.path.split("?case=", 1)[1]
        entry = {"case": case, "scheme": self.server.scheme,
                 "host": self.headers.get("Host"), "method": self.command, "path": self.path,
                 "headers": {k: v for k, v in self.headers.items()},
                 "body_length": len(body), "body_b64": base64.b64encode(body[:65536]).decode()}
        if self.path.startswith("/mark/"):
            return self.reply(200, "text/plain", b"mark\n")
        if self.headers.get("Upgrade", "").lower() == "websocket":
            key = self.headers.get("Sec-WebSocket-Key", "")
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            self.wfile.flush()
            frame = read_frame(self.rfile)
            entry["ws_frame_b64"] = base64.b64encode(frame or b"").decode()
            record(entry)
            self.wfile.write(b"\x81\x02ok")
            self.close_connection = True
            return None
        record(entry)
        page = PAGE.get(self.path)
        if page is not None:
            return self.reply(200, page["content_type"], base64.b64decode(page["body_b64"]))
        return self.reply(200, "application/json", json.dumps({"received": len(body)}).encode() + b"\n")

    def reply(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer

    def log_message(self, fmt, *args):
        pass


def serve(port, scheme, context=None):
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.scheme = scheme
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    threading.Thread(target=serve, args=(443, "https", context), daemon=True).start()
    threading.Thread(target=serve, args=(80, "http"), daemon=True).start()
    record({"ready": True})
    threading.Event().wait()


if __name__ == "__main__":
    main()
