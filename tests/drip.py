#!/usr/bin/python3
"""Slowloris over TLS: hold request heads open, one byte a second.

  drip.py PORT N SRC CAFILE LIMIT READYFILE
      open N TLS connections from address SRC to 127.0.0.1:PORT (no
      client certificate), then send "GET / HTTP/1.1\\r\\nHost: a\\r\\n"
      on each, one byte a second, never ending the head.  Once all are
      open, READYFILE appears.  Prints one line a connection: the
      seconds from its first byte until the server ended it, and the
      status of what it answered (or "-"); "open" when it still is at
      LIMIT seconds.
"""
import os, selectors, socket, ssl, sys, time

HEAD = b"GET / HTTP/1.1\r\nHost: a\r\n"


def main():
    port, n, src, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
        sys.argv[4]
    limit, ready = float(sys.argv[5]), sys.argv[6]
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    conns = []
    for _ in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        t = ctx.wrap_socket(s, server_hostname="localhost")
        t.setblocking(False)
        conns.append({"s": t, "sent": 0, "end": None, "got": b""})
    open(ready, "w").close()
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c["s"], selectors.EVENT_READ, c)
    t0 = time.monotonic()
    tick = t0
    while time.monotonic() - t0 < limit:
        if all(c["end"] is not None for c in conns):
            break
        now = time.monotonic()
        if now >= tick:
            for c in conns:
                if c["end"] is None and c["sent"] < len(HEAD):
                    try:
                        c["s"].send(HEAD[c["sent"]:c["sent"] + 1])
                        c["sent"] += 1
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        pass
                    except OSError:
                        c["end"] = now - t0
            tick += 1
        for key, _ in sel.select(timeout=max(0, tick - time.monotonic())):
            c = key.data
            try:
                d = c["s"].recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                d = b""
            if d:
                c["got"] += d
                continue
            c["end"] = time.monotonic() - t0
            sel.unregister(c["s"])
    for c in conns:
        st = c["got"].split(b" ")[1].decode() if c["got"] else "-"
        print("open" if c["end"] is None else "%.1f %s" % (c["end"], st))


if __name__ == "__main__":
    main()
