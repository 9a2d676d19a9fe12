#!/usr/bin/env python3
"""Plays egress cases from inside the agent, through the bottle's proxy.

Reads a JSON list of cases on stdin ({id, scheme, method, host, path,
headers, body_b64, compress, websocket, frame_b64}), writes a JSON list of
results on stdout: {id, status, error, hint, body_b64, ws}.  Before each
case it sends GET http://mark.egress.test/mark/<id>, so that pipelock's
decision lines can be told apart case by case.  HTTPS goes through CONNECT
with the system trust store (the bottle's CA, installed at provisioning).
"""
import base64
import gzip
import http.client
import json
import os
import socket
import ssl
import sys
import time
from urllib.parse import urlparse

PROXY = urlparse(os.environ.get("HTTPS_PROXY") or os.environ["https_proxy"])
CTX = ssl.create_default_context()
TIMEOUT = 30


def connection(case):
    if case["scheme"] == "https":
        conn = http.client.HTTPSConnection(PROXY.hostname, PROXY.port, timeout=TIMEOUT, context=CTX)
        conn.set_tunnel(case["host"], 443)
        return conn, case["path"]
    conn = http.client.HTTPConnection(PROXY.hostname, PROXY.port, timeout=TIMEOUT)
    return conn, "http://" + case["host"] + case["path"]


def mark(case_id):
    conn = http.client.HTTPConnection(PROXY.hostname, PROXY.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "http://mark.egress.test/mark/" + case_id)
        conn.getresponse().read()
    except OSError:
        pass
    finally:
        conn.close()


def websocket(case, out):
    key = base64.b64encode(os.urandom(16)).decode()
    if case.get("ws_proxy"):
        # pipelock's WebSocket proxy: ws://PROXY/ws?url=wss://host/path
        conn = http.client.HTTPConnection(PROXY.hostname, PROXY.port, timeout=TIMEOUT)
        scheme = "wss" if case["scheme"] == "https" else "ws"
        # pipelock's handshake to the upstream carries no X-Case: the query does
        target = "/ws?url=%s://%s%s?case=%s" % (scheme, case["host"], case["path"], case["id"])
    else:
        conn, target = connection(case)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
               "Sec-WebSocket-Version": "13", "X-Case": case["id"]}
    conn.request("GET", target, headers=headers)
    resp = conn.getresponse()
    out["status"] = resp.status
    out["hint"] = resp.getheader("X-Pipelock-Hint")
    if resp.status != 101:
        out["body_b64"] = base64.b64encode(resp.read()[:4096]).decode()
        out["ws"] = "no 101"
        return
    sock = conn.sock
    payload = base64.b64decode(case["frame_b64"])
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    try:
        reply = sock.recv(64)
        out["ws"] = "reply " + base64.b64encode(reply).decode()
    except OSError as e:
        out["ws"] = "no reply: %s" % e


def play(case):
    out = {"id": case["id"], "status": 0, "error": None, "hint": None, "body_b64": ""}
    mark(case["id"])
    start = time.monotonic()
    try:
        play_one(case, out)
    except (OSError, http.client.HTTPException, socket.timeout) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
        text = str(e)
        if text.startswith("Tunnel connection failed: "):
            try:
                out["status"] = int(text.split()[3])
            except (IndexError, ValueError):
                pass
    out["ms"] = round((time.monotonic() - start) * 1000)
    return out


def play_one(case, out):
    if case.get("websocket"):
        websocket(case, out)
        return
    conn, target = connection(case)
    body = base64.b64decode(case.get("body_b64") or "") if case.get("body_b64") is not None else None
    headers = dict(case.get("headers") or {})
    headers["X-Case"] = case["id"]
    if body is not None and case.get("compress") == "gzip":
        body = gzip.compress(body)
    conn.request(case["method"], target, body=body, headers=headers)
    resp = conn.getresponse()
    out["status"] = resp.status
    out["hint"] = resp.getheader("X-Pipelock-Hint")
    out["body_b64"] = base64.b64encode(resp.read()[:262144]).decode()
    conn.close()


def main():
    cases = json.load(sys.stdin)
    json.dump([play(c) for c in cases], sys.stdout)
    mark("end")


if __name__ == "__main__":
    main()
