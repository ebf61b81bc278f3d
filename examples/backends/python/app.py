#!/usr/bin/python3
"""A backend in Python's standard library that learns who the TLS client is
from the CERT cookie, through the ordinary cookie API (http.cookies).

    PORT=8080 python3 app.py

It answers every request with the Cookie header it received (shortened)
and the subject, issuer, serial number, validity and SHA-256 fingerprint
of the client certificate.  The standard library cannot parse X.509, so
GnuTLS's certtool does it here; examples/backends/flask does the same with
the cryptography package.
"""
import base64
import hashlib
import os
import subprocess
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def describe(der):
    """Fields of the DER certificate, as certtool prints them."""
    info = subprocess.run(
        ["certtool", "--certificate-info", "--inder"], input=der,
        capture_output=True, check=True).stdout.decode()
    want = [("subject", "Subject:"), ("issuer", "Issuer:"),
            ("serial", "Serial Number (hex):"), ("not before", "Not Before:"),
            ("not after", "Not After:")]
    lines = [line.strip() for line in info.splitlines()]
    out = {}
    for key, prefix in want:
        out[key] = next((line[len(prefix):].strip() for line in lines
                         if line.startswith(prefix)), "")
    out["serial"] = out["serial"].lstrip("0").lower() or "0"
    out["sha256"] = hashlib.sha256(der).hexdigest()
    return out


def shorten(s, n=100):
    return s if len(s) <= n else s[:n - 30] + "...[%d bytes in all]..." % len(s) \
        + s[-10:]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        cookie = self.headers.get("Cookie", "")
        jar = SimpleCookie()
        try:
            jar.load(cookie)
        except CookieError:
            jar = SimpleCookie()
        lines = ["cookie header: " + shorten(cookie)]
        status = 200
        if "CERT" in jar:
            v = jar["CERT"].value
            try:
                der = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
                lines += ["%s: %s" % kv for kv in describe(der).items()]
            except (ValueError, subprocess.CalledProcessError):
                status = 400
                lines.append("the CERT cookie is not a certificate")
        else:
            status = 401
            lines.append("no client certificate")
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, fmt, *args):
        pass


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT",
                                                                "8080"))),
                              Handler)
    srv.daemon_threads = True
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
