#!/usr/bin/python3
"""Hold K idle TLS connections to a front end, for bench/run.sh's memory
figure.

  hold.py PORT K CA CERT KEY

Each connection: full handshake with the client certificate, one GET /
with keep-alive, the whole response read; then it stays open, idle.
Prints "ready N" once N connections are idle (N < K when some failed), then
waits for a line (or EOF) on stdin, and prints "alive M": how many of them
the server had not closed meanwhile.  127.0.0.1 only.
"""
import socket, ssl, sys


def read_response(s):
    """Read one response with a Content-Length body; True when complete."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            return False
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        b = s.recv(65536)
        if not b:
            return False
        body += b
    return head.startswith(b"HTTP/1.1 200")


def main():
    port, k = int(sys.argv[1]), int(sys.argv[2])
    ca, cert, key = sys.argv[3:6]
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    conns, failed = [], 0
    for _ in range(k):
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            if read_response(s):
                conns.append(s)
            else:
                failed += 1
                s.close()
        except OSError as e:
            failed += 1
            print(f"hold: {e}", file=sys.stderr)
    print(f"ready {len(conns)}", flush=True)
    sys.stdin.readline()
    alive = 0
    for s in conns:
        s.setblocking(False)
        try:
            alive += 1 if s.recv(1) else 0
        except ssl.SSLWantReadError:
            alive += 1
        except (OSError, ssl.SSLError):
            pass
    print(f"alive {alive}", flush=True)


if __name__ == "__main__":
    main()
