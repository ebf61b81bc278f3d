#!/usr/bin/python3
"""send.py PORT REQUEST-FILE BODY-FILE: send the raw bytes of
REQUEST-FILE to 127.0.0.1:PORT, read the response with http.client and
write its body to BODY-FILE.  Exit 0 on a 200, else 1 with the status
and body on stderr."""
import http.client, socket, sys

port, req, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(req, "rb") as f:
    data = f.read()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(data)
r = http.client.HTTPResponse(s)
r.begin()
body = r.read()
s.close()
with open(out, "wb") as f:
    f.write(body)
if r.status != 200:
    sys.stderr.write("status %d: %r\n" % (r.status, body[:500]))
    sys.exit(1)
