#!/usr/bin/env python3
"""TLS test upstream for the credential proxy's end-to-end specs.

Copied into a container of the agent test image (which has python3 and the
test CA's certificate for allowed.test) and run there.  HTTPS on 443.  Every
request is recorded, headers included, as one JSON line in /tmp/record.jsonl,
which the spec reads from inside this container; the reply says only the
path, never a header value.  GET /sse?seconds=N&every=S streams a server-sent
event every S seconds for N seconds, then an event named done.
"""
import http.server
import json
import ssl
import sys
import time
import urllib.parse

CERT_DIR = "/usr/local/share/claude-bottle-test"
RECORD = "/tmp/record.jsonl"


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self, body):
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        with open(RECORD, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": headers, "body_length": len(body)}) + "\n")

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def sse(self, query):
        seconds = float(query.get("seconds", ["10"])[0])
        every = float(query.get("every", ["1"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        start, n = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            n += 1
            self.chunk(b"event: tick\ndata: %d\n\n" % n)
            time.sleep(every)
        self.chunk(b"event: done\ndata: %d\n\n" % n)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.record(body)
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/sse":
            return self.sse(urllib.parse.parse_qs(url.query))
        reply = json.dumps({"path": self.path, "recorded": True}).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer

    def log_message(self, fmt, *args):
        sys.stderr.write("recorder %s\n" % (fmt % args))


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT_DIR + "/server.pem", CERT_DIR + "/server-key.pem")
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Recorder)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
