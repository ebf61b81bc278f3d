#!/usr/bin/python3
"""Misbehaving backends for the timeout and fault tests.

  fault.py MODE PORTFILE [LOGFILE]
      listen on 127.0.0.1, port 0, write the port to PORTFILE, then
      serve each connection as MODE says (each connection in a thread):
        answer      a 200 with a short body for each request head, and
                    close on EOF
        silent      read everything, never answer, never close
        slow        answer each request head after 3 s
        half        answer with half a response, then close
        keepopen    answer each request head at once, and keep the
                    connection open after the client's EOF
        backlog     never accept, with a full accept queue: a connect
                    hangs (the port file is written once it is full)
      LOGFILE, if given, gets one line per event: "accept", "head",
      "eof" or "closed", flushed at once, so that a test can see what
      the backend saw.
"""
import socket, sys, threading, time

BODY = b"ok\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + BODY


def log(path, what):
    if path:
        with open(path, "a") as f:
            f.write(what + "\n")


def serve(mode, c, logf):
    log(logf, "accept")
    buf = b""
    try:
        while True:
            b = c.recv(65536)
            if not b:
                log(logf, "eof")
                if mode == "keepopen" or mode == "silent":
                    time.sleep(60)
                break
            buf += b
            while b"\r\n\r\n" in buf:
                _, buf = buf.split(b"\r\n\r\n", 1)
                log(logf, "head")
                if mode == "answer" or mode == "keepopen":
                    c.sendall(RESP)
                elif mode == "slow":
                    time.sleep(3)
                    c.sendall(RESP)
                elif mode == "half":
                    c.sendall(RESP[:20])
                    c.close()
                    log(logf, "closed")
                    return
    except OSError:
        pass
    c.close()
    log(logf, "closed")


def write_port(pf, port):
    with open(pf + ".tmp", "w") as f:
        f.write("%d\n" % port)
    import os
    os.rename(pf + ".tmp", pf)


def main():
    mode, pf = sys.argv[1], sys.argv[2]
    logf = sys.argv[3] if len(sys.argv) > 3 else None
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    if mode == "backlog":
        s.listen(0)
        port = s.getsockname()[1]
        # Fill the accept queue (backlog 0 holds one), then the SYN
        # queue is refused: further connects hang until they time out.
        fill = []
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fill.append(f)
        time.sleep(0.2)
        write_port(pf, port)
        time.sleep(120)
        return
    s.listen(64)
    write_port(pf, s.getsockname()[1])
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(mode, c, logf),
                         daemon=True).start()


if __name__ == "__main__":
    main()
