#!/usr/bin/python3
"""simplecookie.py PORT: an http.server backend that reads the CERT
cookie with http.cookies.SimpleCookie, decodes it as the request path
says (/base64url, /base64, /rfc9440; /header reads Client-Cert) and
answers with the DER bytes."""
import base64, sys
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer


def decode(kind, cookie, header):
    if kind == "header":
        return base64.b64decode(header.strip(":"), validate=True)
    v = cookie["CERT"].value
    if kind == "base64url":
        return base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
    if kind == "base64":
        return base64.b64decode(v, validate=True)
    if kind == "rfc9440":
        return base64.b64decode(v.strip(":"), validate=True)
    raise ValueError("no such encoding")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            c = SimpleCookie(self.headers.get("Cookie", ""))
            body, code = decode(self.path.strip("/"), c,
                                self.headers.get("Client-Cert", "")), 200
        except Exception as e:
            body, code = repr(e).encode(), 500
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
