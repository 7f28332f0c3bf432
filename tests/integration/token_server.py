#!/usr/bin/env python3
"""A registry token server for kiln's tests (docker's token auth spec).

GET /token?service=S&scope=repository:NAME:ACTIONS...  with Basic credentials
gives an RS256 JWT granting the requested scopes; anonymous requests get a
token that grants nothing, wrong credentials a 401.  Signs with the openssl
CLI so the test needs no Python crypto package.  Listens on 127.0.0.1 only.

usage: token_server.py PORT KEY.pem CERT.pem USER PASSWORD ISSUER LOGFILE
"""
import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, key, cert, user, password, issuer, logfile = sys.argv[1:8]
with open(cert) as f:
    pem = f.read()
der_b64 = "".join(l for l in pem.splitlines() if "CERTIFICATE" not in l)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [der_b64]}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                         capture_output=True, check=True).stdout
    return signing + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        who = None
        if auth.startswith("Basic "):
            u_p = base64.b64decode(auth[6:]).decode(errors="replace")
            if u_p != f"{user}:{password}":
                with open(logfile, "a") as log:
                    log.write("refused\n")
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"details":"wrong credentials"}')
                return
            who = user
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) >= 3 and who:
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
        now = int(time.time())
        claims = {"iss": issuer, "sub": who or "", "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        token = sign(claims)
        with open(logfile, "a") as log:
            log.write(f"token {who or 'anonymous'} {' '.join(q.get('scope', []))}\n")
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
