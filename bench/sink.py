#!/usr/bin/python3
"""The backend of bench/filter.sh's proxy rows: it throws the requests away
and answers each with "204 No Content", so that certcookie, which keeps at
most a bounded number of requests awaiting their answer, keeps going.

  sink.py               on stdin/stdout (certcookie's COMMAND)
  sink.py --listen PORT one connection on 127.0.0.1:PORT (for --connect)

Requests are counted by their "\\r\\n\\r\\n"; the bodies bench/gen.py makes
never contain that sequence.
"""
import fcntl, os, socket, sys

ANSWER = b"HTTP/1.1 204 No Content\r\n\r\n"
END = b"\r\n\r\n"


def serve(rfd, wfd):
    try:  # fewer, larger reads from a pipe (F_SETPIPE_SZ)
        fcntl.fcntl(rfd, 1031, 1 << 20)
    except OSError:
        pass
    buf = bytearray(1 << 20)
    prev = b""  # the last 3 bytes read: an END may straddle two reads
    while True:
        n = os.readv(rfd, [buf])
        if not n:
            break
        head = bytes(buf[:min(n, 3)])
        k = buf.count(END, 0, n) + (prev + head).count(END)
        prev = (prev + bytes(buf[max(0, n - 3):n]))[-3:]
        out = ANSWER * k
        while out:
            out = out[os.write(wfd, out):]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--listen":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", int(sys.argv[2])))
        ls.listen(1)
        print("listening", flush=True)
        s, _ = ls.accept()
        ls.close()
        # as backends do (nginx's tcp_nodelay): without it, Nagle holds
        # the small answers back and the run measures the ACK timer
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        serve(s.fileno(), s.fileno())
        s.shutdown(socket.SHUT_WR)
    else:
        serve(0, 1)


if __name__ == "__main__":
    main()
