#!/usr/bin/python3
"""A backend that takes a PROXY protocol header, then one HTTP request.

  pp_backend.py PORTFILE
      listen on 127.0.0.1 (port into PORTFILE); for each connection, read
      the v1 or v2 header, then the request head, and answer 200 with
      the header as JSON: version, command, src, dst, and for v2 the SSL
      TLV (client bits, verify, version, cn, cipher).
"""
import ipaddress, json, socket, struct, sys

SIG2 = b"\r\n\r\n\x00\r\nQUIT\n"


def read(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def header(c):
    first = read(c, 16)
    if first[:12] == SIG2:
        cmd, fam, n = first[12] & 0x0F, first[13], struct.unpack("!H", first[14:16])[0]
        body = read(c, n)
        h = {"version": 2, "command": "PROXY" if cmd == 1 else "LOCAL"}
        if fam == 0x11:
            h["src"] = "%s:%d" % (ipaddress.ip_address(body[0:4]), struct.unpack("!H", body[8:10])[0])
            h["dst"] = "%s:%d" % (ipaddress.ip_address(body[4:8]), struct.unpack("!H", body[10:12])[0])
            tlv = body[12:]
        elif fam == 0x21:
            h["src"] = "[%s]:%d" % (ipaddress.ip_address(body[0:16]), struct.unpack("!H", body[32:34])[0])
            h["dst"] = "[%s]:%d" % (ipaddress.ip_address(body[16:32]), struct.unpack("!H", body[34:36])[0])
            tlv = body[36:]
        else:
            tlv = body
        while tlv:
            t, l = tlv[0], struct.unpack("!H", tlv[1:3])[0]
            v, tlv = tlv[3:3 + l], tlv[3 + l:]
            if t == 0x20:
                ssl = {"client": v[0], "verify": struct.unpack("!I", v[1:5])[0]}
                sub = v[5:]
                names = {0x21: "version", 0x22: "cn", 0x23: "cipher"}
                while sub:
                    st, sl = sub[0], struct.unpack("!H", sub[1:3])[0]
                    if st in names:
                        ssl[names[st]] = sub[3:3 + sl].decode()
                    sub = sub[3 + sl:]
                h["ssl"] = ssl
        return h
    line = first
    while not line.endswith(b"\r\n"):
        line += read(c, 1)
    p = line.decode().split()
    h = {"version": 1, "command": p[1]}
    if p[1] != "UNKNOWN":
        h["src"], h["dst"] = "%s:%s" % (p[2], p[4]), "%s:%s" % (p[3], p[5])
    return h


def main():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        c, _ = s.accept()
        try:
            h = header(c)
            head = b""
            while b"\r\n\r\n" not in head:
                head += read(c, 1)
            h["request"] = head.split(b"\r\n")[0].decode()
            body = json.dumps(h).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(body), body))
        except EOFError:
            pass
        c.close()


if __name__ == "__main__":
    main()
