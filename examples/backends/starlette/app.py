#!/usr/bin/python3
"""A Starlette backend on uvicorn that learns who the TLS client is from
the CERT cookie, through Starlette's ordinary cookie API
(request.cookies).

    PORT=8080 python3 app.py      (Debian: python3-starlette python3-uvicorn
                                   python3-cryptography)
"""
import base64
import hashlib
import os

from cryptography import x509
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse


async def whoami(request):
    v = request.cookies.get("CERT")
    if v is None:
        return PlainTextResponse("no client certificate\n", status_code=401)
    der = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
    cert = x509.load_der_x509_certificate(der)
    return PlainTextResponse("subject: %s\nserial: %x\nsha256: %s\n" % (
        cert.subject.rfc4514_string(), cert.serial_number,
        hashlib.sha256(der).hexdigest()))


app = Starlette()
app.add_route("/{path:path}", whoami)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")),
                log_level="warning")
