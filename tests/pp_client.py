#!/usr/bin/python3
"""A client that opens with a PROXY protocol header.

  pp_client.py PORT HEADER [--src ADDR] [--close] [--cert CERT KEY]
               [--drip SECONDS]
      connect to 127.0.0.1:PORT (from ADDR), send HEADER (a Python bytes
      literal, or "v1:ARGS" for "PROXY ARGS\\r\\n", or "v2:CMD:FAM:SRC;DST"
      with CMD proxy|local, FAM inet|inet6|unspec, SRC and DST ADDR,PORT)
      then, unless --close, a TLS handshake (CA ca.pem, name localhost)
      and "GET / HTTP/1.0"; prints the body of the answer, or "refused:
      REASON" when the server closed first.  --drip sends the header a
      byte at a time, SECONDS apart.
"""
import ipaddress, socket, ssl, struct, sys, time

SIG2 = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(spec):
    cmd, fam, rest = spec.split(":", 2)
    c = 0x20 if cmd == "local" else 0x21
    if fam == "unspec":
        return SIG2 + bytes([c, 0x00]) + struct.pack("!H", 0)
    src, dst = rest.split(";")
    (sa, sp), (da, dp) = src.rsplit(",", 1), dst.rsplit(",", 1)
    a, b = ipaddress.ip_address(sa).packed, ipaddress.ip_address(da).packed
    f = 0x11 if fam == "inet" else 0x21
    body = a + b + struct.pack("!HH", int(sp), int(dp))
    return SIG2 + bytes([c, f]) + struct.pack("!H", len(body)) + body


def header(spec):
    if spec.startswith("v1:"):
        return b"PROXY " + spec[3:].encode() + b"\r\n"
    if spec.startswith("v2:"):
        return v2(spec[3:])
    return eval(spec)


def main():
    a = sys.argv[1:]
    port, hdr = int(a[0]), header(a[1])
    src, close, cert, drip = None, False, None, 0.0
    i = 2
    while i < len(a):
        if a[i] == "--src":
            src = a[i + 1]; i += 2
        elif a[i] == "--close":
            close = True; i += 1
        elif a[i] == "--cert":
            cert = (a[i + 1], a[i + 2]); i += 3
        elif a[i] == "--drip":
            drip = float(a[i + 1]); i += 2
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    try:
        if drip:
            for k in range(len(hdr)):
                s.send(hdr[k:k + 1])
                time.sleep(drip)
        else:
            s.sendall(hdr)
        if close:
            s.close()
            print("sent")
            return
        ctx = ssl.create_default_context(cafile="ca.pem")
        if cert:
            ctx.load_cert_chain(*cert)
        t = ctx.wrap_socket(s, server_hostname="localhost")
        t.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        got = b""
        while True:
            d = t.recv(65536)
            if not d:
                break
            got += d
        print(got.split(b"\r\n\r\n", 1)[1].decode().strip())
    except (OSError, ssl.SSLError) as e:
        print("refused: %s" % type(e).__name__)


if __name__ == "__main__":
    main()
