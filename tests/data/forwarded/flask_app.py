#!/usr/bin/python3
"""Flask behind Werkzeug's ProxyFix: the client address, scheme and port
as the app's own API gives them, and any X-Forwarded-* or Forwarded
field that reached it.  PORT in the environment."""
import os

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_port=1)


@app.route("/")
def who():
    seen = sorted("%s=%s" % (k, v) for k, v in request.environ.items()
                  if "FORWARDED" in k.upper())
    return "%s %s %s | %s\n" % (request.remote_addr, request.scheme,
                                request.environ.get("SERVER_PORT"),
                                " ".join(seen))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
