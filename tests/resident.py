#!/usr/bin/python3
"""A stand-in COMMAND for tlsfront --handoff (see HANDOFF in tlsfront.1):
it takes each connection on HANDOFF_FD, answers one line on it, closes
it and sends status 0; end of file on HANDOFF_FD ends it.

  resident.py fds
      the line: "start: FDS; now: FDS", the fds it had when it started
      and those it has while it holds the connection, sorted, "H" for
      the handoff socket and "C" for the connection.
  resident.py hold FILE
      the line: its pid.  The first time (FILE does not exist yet), it
      creates FILE and holds the status back for 60 s.
"""
import os, socket, sys, time


def fds(h, c=-1):
    out = []
    for fd in range(256):
        try:
            os.fstat(fd)
        except OSError:
            continue
        out.append("H" if fd == h else "C" if fd == c else str(fd))
    return " ".join(sorted(out))


def main():
    mode = sys.argv[1]
    h = int(os.environ["HANDOFF_FD"])
    start = fds(h)
    s = socket.socket(fileno=h)
    while True:
        _, got, _, _ = socket.recv_fds(s, 1 << 17, 4)
        if not got:
            break
        c = got[0]
        if mode == "fds":
            line = "start: %s; now: %s" % (start, fds(h, c))
        else:
            line = "%d" % os.getpid()
        os.write(c, line.encode() + b"\n")
        os.close(c)
        if mode == "hold" and not os.path.exists(sys.argv[2]):
            open(sys.argv[2], "w").close()
            time.sleep(60)
        s.send(b"\0")


if __name__ == "__main__":
    main()
