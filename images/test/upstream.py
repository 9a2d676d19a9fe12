#!/usr/bin/env python3
"""Upstream test server for the end-to-end specs.

Listens on port 80 (HTTP) and 443 (HTTPS, with the test CA's certificate for
allowed.test and denied.test) and answers every request with one line of JSON
saying what arrived, so a spec can tell what got through pipelock:
{"scheme": "https", "method": "POST", "path": "/x", "host": "allowed.test", "body_length": 42}
"""
import http.server
import json
import ssl
import sys
import threading

CERT_DIR = "/usr/local/share/claude-bottle-test"


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = json.dumps({
            "scheme": self.server.scheme,
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "body_length": len(body),
        }).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.server.scheme, fmt % args))


def serve(port, scheme, context=None):
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Echo)
    server.scheme = scheme
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT_DIR + "/server.pem", CERT_DIR + "/server-key.pem")
    threading.Thread(target=serve, args=(443, "https", context), daemon=True).start()
    serve(80, "http")


if __name__ == "__main__":
    main()
