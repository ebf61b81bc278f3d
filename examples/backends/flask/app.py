#!/usr/bin/python3
"""A Flask backend that learns who the TLS client is from the CERT cookie,
through Flask's ordinary cookie API (request.cookies).

    PORT=8080 python3 app.py      (Debian: python3-flask python3-cryptography)
"""
import base64
import hashlib
import os

from cryptography import x509
from flask import Flask, request

app = Flask(__name__)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def whoami(path):
    v = request.cookies.get("CERT")
    if v is None:
        return "no client certificate\n", 401, {"Content-Type": "text/plain"}
    der = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
    cert = x509.load_der_x509_certificate(der)
    return ("subject: %s\nserial: %x\nsha256: %s\n" % (
        cert.subject.rfc4514_string(), cert.serial_number,
        hashlib.sha256(der).hexdigest()), 200, {"Content-Type": "text/plain"})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
