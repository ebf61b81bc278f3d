#!/usr/bin/python3
"""flask_app.py PORT: a Flask backend reading request.cookies["CERT"]
(Werkzeug's parser) as base64url and answering with the DER bytes."""
import base64, sys
from flask import Flask, request
from werkzeug.serving import run_simple

app = Flask(__name__)


@app.route("/base64url")
def base64url():
    v = request.cookies.get("CERT")
    if v is None:
        return "no CERT cookie", 500
    return base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), 200, \
        {"Content-Type": "application/octet-stream"}


run_simple("127.0.0.1", int(sys.argv[1]), app)
