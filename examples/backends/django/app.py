#!/usr/bin/python3
"""A Django backend, in one file, that learns who the TLS client is from
the CERT cookie, through Django's ordinary cookie API (request.COOKIES).

    PORT=8080 python3 app.py      (Debian: python3-django python3-cryptography)

It serves itself with wsgiref here; under any WSGI server, point it at
"app:application".
"""
import base64
import hashlib
import os

from cryptography import x509
from django.conf import settings

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                   SECRET_KEY="not used: no sessions", MIDDLEWARE=[])

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import re_path  # noqa: E402


def whoami(request):
    v = request.COOKIES.get("CERT")
    if v is None:
        return HttpResponse("no client certificate\n", status=401,
                            content_type="text/plain")
    der = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
    cert = x509.load_der_x509_certificate(der)
    return HttpResponse("subject: %s\nserial: %x\nsha256: %s\n" % (
        cert.subject.rfc4514_string(), cert.serial_number,
        hashlib.sha256(der).hexdigest()), content_type="text/plain")


urlpatterns = [re_path(r"", whoami)]
application = get_wsgi_application()

if __name__ == "__main__":
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    make_server("127.0.0.1", int(os.environ.get("PORT", "8080")),
                application, handler_class=Quiet).serve_forever()
