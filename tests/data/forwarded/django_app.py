#!/usr/bin/python3
"""Django with SECURE_PROXY_SSL_HEADER, served by wsgiref: is_secure(),
the X-Forwarded-For it got, and every forwarding field of its META.
PORT in the environment."""
import os

from django.conf import settings

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                   SECRET_KEY="not used", MIDDLEWARE=[],
                   SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import re_path  # noqa: E402


def who(request):
    seen = sorted("%s=%s" % (k, v) for k, v in request.META.items()
                  if "FORWARDED" in k)
    return HttpResponse("%s %s %s | %s\n" % (
        request.META.get("HTTP_X_FORWARDED_FOR"),
        "https" if request.is_secure() else "http",
        request.META.get("HTTP_X_FORWARDED_PORT"), " ".join(seen)),
        content_type="text/plain")


urlpatterns = [re_path(r"", who)]
application = get_wsgi_application()

if __name__ == "__main__":
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    make_server("127.0.0.1", int(os.environ["PORT"]), application,
                handler_class=Quiet).serve_forever()
