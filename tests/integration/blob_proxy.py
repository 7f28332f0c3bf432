#!/usr/bin/env python3
"""A faulty HTTP proxy in front of a test registry (127.0.0.1 only).

mode corrupt: blob bodies arrive with one byte flipped.
mode cut:     the first reply for each blob stops half-way and the connection
              closes; later requests (Range resumes) pass through untouched.
mode flaky:   the first request for each path gets a 503, the second a 429;
              later ones pass through.
Every blob request's Range header is logged.

usage: blob_proxy.py PORT UPSTREAM_PORT MODE LOGFILE
"""
import http.client
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, mode, logfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cut_done = set()
flaky_seen = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def relay(self, method):
        if mode == "flaky":
            n = flaky_seen.get(self.path, 0)
            flaky_seen[self.path] = n + 1
            if n < 2:
                with open(logfile, "a") as log:
                    log.write(f"flaky {self.path} {503 if n == 0 else 429}\n")
                self.send_response(503 if n == 0 else 429)
                self.send_header("Content-Length", "0")
                if n == 1:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        body = None
        if "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        conn.request(method, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        is_blob = "/blobs/sha256:" in self.path and method == "GET" and resp.status in (200, 206)
        if is_blob:
            with open(logfile, "a") as log:
                log.write(f"{self.path} range={self.headers.get('Range', '-')} status={resp.status}\n")
        if is_blob and mode == "corrupt" and len(data) > 0:
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", resp.getheader("Content-Length", "0") if method == "HEAD" else str(len(data)))
        if is_blob and mode == "cut" and self.path not in cut_done and len(data) > 1:
            cut_done.add(self.path)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.relay("GET")

    def do_HEAD(self):
        self.relay("HEAD")


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
