#!/usr/bin/python3
"""A real HTTP/1.1 backend for the tests: it answers every request with a
JSON object describing what it received, parsed by Python's own
http.server and http.cookies (the ordinary API a backend uses).

  GET /download?n=BYTES   streams BYTES of a fixed pattern instead
  Expect: anything but 100-continue   417, and the connection closes
  anything else           {"method", "path", "version", "headers": [[k,v]],
                           "cookies": {name: value}, "cert_der_sha256",
                           "body_len", "body_sha256"}
"""
import argparse, base64, hashlib, json, os, socket, socketserver, sys
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def address_string(self):
        return str(self.client_address)

    # http.server answers 100-continue itself and ignores any other
    # expectation; here those get 417 (RFC 9110, 10.1.1).
    def parse_request(self):
        if not super().parse_request():
            return False
        expect = self.headers.get("Expect", "")
        if expect and expect.lower() != "100-continue":
            self.send_response(417)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return False
        return True

    def body(self):
        te = self.headers.get("Transfer-Encoding", "")
        h = hashlib.sha256()
        n = 0
        if te.lower() == "chunked":
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    b = self.rfile.read(min(left, 1 << 16))
                    h.update(b)
                    left -= len(b)
                n += size
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                b = self.rfile.read(min(left, 1 << 16))
                if not b:
                    break
                h.update(b)
                n += len(b)
                left -= len(b)
        return n, h.hexdigest()

    def answer(self):
        if self.path.startswith("/download?n="):
            n = int(self.path.split("=", 1)[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command == "HEAD":
                return
            chunk = bytes(range(256)) * 256
            while n:
                k = min(n, len(chunk))
                self.wfile.write(chunk[:k])
                n -= k
            return
        blen, bsha = self.body()
        cookies = {}
        for line in self.headers.get_all("Cookie") or []:
            c = SimpleCookie()
            c.load(line)
            cookies.update({k: m.value for k, m in c.items()})
        out = {
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "cookies": cookies,
            "body_len": blen,
            "body_sha256": bsha,
        }
        v = cookies.get(self.server.cookie_name)
        if v is not None:
            der = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
            out["cert_der_sha256"] = hashlib.sha256(der).hexdigest()
        data = (json.dumps(out, indent=1) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--unix", help="listen on this UNIX socket instead")
    ap.add_argument("--cookie", default="CERT")
    a = ap.parse_args()
    cls = ThreadingHTTPServer
    if ":" in a.host:
        cls = type("S6", (ThreadingHTTPServer,),
                   {"address_family": socket.AF_INET6})
    if a.unix:
        cls = type("SU", (socketserver.ThreadingMixIn,
                          socketserver.UnixStreamServer), {})
        srv = cls(a.unix, Handler)
    else:
        srv = cls((a.host, a.port), Handler)
    srv.daemon_threads = True
    srv.cookie_name = a.cookie
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%s\n" % (a.unix or srv.server_address[1]))
        os.rename(a.port_file + ".tmp", a.port_file)
    else:
        print(a.unix or srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
