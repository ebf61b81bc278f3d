#!/usr/bin/python3
"""listening.py PID PORT: wait (20 s at most) until PID, or a process
under it, holds a TCP socket listening on PORT of this host.  Exit 0
then; 1 when it did not in time; 2 when PID ended first (its port taken
by another process meanwhile, say).  Unlike a probe connection, this
cannot mistake another process that listens on PORT for PID.  Used by
tests/common.bash and examples/demo.sh."""
import os, sys, time
pid, port = sys.argv[1], int(sys.argv[2])

def alive(p):
    try:
        st = open("/proc/%s/stat" % p).read()
    except OSError:
        return False
    return st.rsplit(")", 1)[1].split()[0] != "Z"

def listening():
    ino = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            w = line.split()
            if w[3] == "0A" and int(w[1].rsplit(":", 1)[1], 16) == port:
                ino.add("socket:[%s]" % w[9])
    return ino

def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            kids.setdefault(st.rsplit(")", 1)[1].split()[1], []).append(d)
    todo, out = [root], []
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out

for i in range(400):
    ino = listening()
    for p in tree(pid) if ino else []:
        try:
            fds = os.listdir("/proc/%s/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (p, fd)) in ino:
                    sys.exit(0)
            except OSError:
                pass
    if not alive(pid):
        sys.exit(2)
    time.sleep(0.05)
print("process %s does not listen on port %d" % (pid, port), file=sys.stderr)
sys.exit(1)
