#!/usr/bin/python3
"""Mutate the corpus of tests/data/http1, run each mutant through
certcookie in filter mode, and read the output the way a backend does:
Python's http.client.parse_headers (as http.server), http.cookies and
Werkzeug's parse_cookie.
Every request the backend reads must carry our CERT and no other value
of it; certcookie must exit 0 or 65.

  mutate.py CERTCOOKIE CERT.pem DATADIR COUNT SEED FAILDIR [--node] [--go]
            [--php]

Failing inputs are written to FAILDIR; the exit status is 1 if any.
With --node and --go, the outputs of accepted mutants are also read by
Node's HTTP server (llhttp, node-reads.js) and Go's net/http
(go-reads.go): each must see the same requests, with the same Cookie
fields, as Python does, or refuse them.  With --php, PHP's $_COOKIE
(php -S) must hold our CERT and none of our other names.
"""
import base64, collections, http.client, json, io, os, random
import subprocess, sys
from http.cookies import SimpleCookie, CookieError
from werkzeug.http import parse_cookie

# tests/php_cookies.py
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from php_cookies import PhpCookies  # noqa: E402

TOKENS = [b"\r\n", b"\n", b"\r", b" ", b"\t", b",", b";", b"\x00", b":",
          b"=", b"\"", b"\\", b"\xc3\xa9", b"0", b"5", b"a", b"-", b"%43",
          b"[]", b"CERT=evil", b"cert=evil", b" CERT=evil", b",CERT=evil",
          b"\r\nCookie: CERT=evil", b"\r\ncookie: x=1 CERT=evil",
          b"\r\nTransfer-Encoding: chunked", b"\r\nContent-Length: 5",
          b"\r\nContent-Length: 0", b"\r\n Cookie: CERT=evil",
          b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n",
          b"0\r\n\r\n", b"5\r\nCERT=\r\n", b"\r\nClient-Cert: :ZXZpbA==:",
          b"\r\nUpgrade: h2c", b"HTTP/1.0", b"chunked"]


def mutate(rnd, data, others):
    data = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        op = rnd.randrange(7)
        i = rnd.randint(0, len(data))
        if op == 0 and data:
            del data[min(i, len(data) - 1)]
        elif op == 1:
            data[i:i] = rnd.choice(TOKENS)
        elif op == 2 and data:
            j = min(i, len(data) - 1)
            data[j] = rnd.randrange(256)
        elif op == 3:
            data[i:i] = rnd.choice(others)
        elif op == 4 and data:
            # Duplicate a line.
            s = data.rfind(b"\n", 0, i) + 1
            e = data.find(b"\n", i)
            if e > 0:
                data[s:s] = data[s:e + 1]
        elif op == 5:
            # White space at the end of a line.
            e = data.find(b"\r\n", i)
            if e > 0:
                data[e:e] = rnd.choice((b" ", b"\t", b" \t"))
        else:
            # Flip the case of a letter.
            if data:
                j = min(i, len(data) - 1)
                data[j:j + 1] = bytes(data[j:j + 1]).swapcase()
    return bytes(data)


def backend_reads(out):
    """The requests a lenient backend reads from out: their cookies.
    Heads whose body is cut short count too: the backend saw them."""
    f = io.BytesIO(out)
    reqs = []
    while True:
        line = f.readline(65537)
        if not line:
            break
        if line in (b"\r\n", b"\n"):
            continue
        try:
            headers = http.client.parse_headers(f)
        except http.client.HTTPException as e:
            # http.server answers 431: nothing reaches the application.
            if "more than 100 headers" in str(e):
                reqs.append(("refused", line, []))
            else:
                reqs.append(("unparsable head: %s" % e, line, []))
            break
        cookies = headers.get_all("Cookie") or []
        reqs.append(("request", line, cookies))
        te = headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            while True:
                cl = f.readline()
                if not cl:
                    return reqs
                try:
                    n = int(cl.split(b";")[0], 16)
                except ValueError:
                    return reqs
                if n < 0 or n > len(out):
                    return reqs
                if n == 0:
                    while f.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                f.read(n)
                f.readline()
        elif headers.get("Content-Length"):
            try:
                n = int(headers["Content-Length"])
            except ValueError:
                return reqs
            if n < 0 or n > len(out):
                return reqs
            f.read(n)
    return reqs


def check(out, ours, stats):
    """None if no request read carries a CERT other than ours."""
    for kind, line, cookies in backend_reads(out):
        if kind == "refused":
            stats["refused by the backend (over 100 fields)"] += 1
            continue
        if kind != "request":
            return "%s after %r" % (kind, line)
        if len(cookies) != 1:
            return "%d Cookie fields in %r" % (len(cookies), line)
        # Python's SimpleCookie: a header the client broke may yield
        # nothing at all, never another CERT.
        c = SimpleCookie()
        try:
            c.load(cookies[0])
        except CookieError:
            pass
        vals = [m.value for k, m in c.items() if k.strip().lower() == "cert"]
        if vals not in ([], [ours]):
            return "SimpleCookie read CERT as %r in %r" % (vals, cookies[0])
        if not vals:
            stats["SimpleCookie read nothing"] += 1
        # Werkzeug's (Flask's) parser: every CERT in any case is ours.
        vals = [v for k, v in parse_cookie(cookies[0]).items(multi=True)
                if k.strip().lower() == "cert"]
        if vals != [ours]:
            return "Werkzeug read CERT as %r in %r" % (vals, cookies[0])
        # The split-on-";", trim, case-insensitive way (Django, Node,
        # Tomcat, ASP.NET): exactly ours.
        vals = [v.strip() for k, _, v in
                (p.partition("=") for p in cookies[0].split(";"))
                if k.strip().lower() == "cert"]
        if vals != [ours]:
            return "CERT pairs %r in %r" % (vals, cookies[0])
    return None


def other_differs(accepted, faildir, stats, who, ours):
    """Node's or Go's view of each accepted output against Python's."""
    os.makedirs(faildir, exist_ok=True)
    files = []
    for n, data, out in accepted:
        name = os.path.join(faildir, "accepted-%d.out" % n)
        open(name, "wb").write(out)
        files.append(name)
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    if who == "node":
        cmd = ["node", os.path.join(here, "node-reads.js")]
        env["NODE_PATH"] = "/usr/share/nodejs"
    else:
        cmd = ["go", "run", os.path.join(here, "go-reads.go")]
    p = subprocess.run(cmd + files, capture_output=True, timeout=300,
                       check=True, env=env)
    failed = 0
    lines = p.stdout.decode().splitlines()
    if len(lines) != len(accepted):
        print("%s answered %d of %d files" % (who, len(lines),
                                              len(accepted)))
        return len(accepted)
    for line, (n, data, out) in zip(lines, accepted):
        seen = json.loads(line)
        reads = backend_reads(out)
        if any(k != "request" for k, l, c in reads):
            continue    # Python refused it: nothing to compare
        py = [(l.split(b" ")[0].decode("latin1"),
               l.split(b" ")[1].decode("latin1"), c[0] if c else None)
              for k, l, c in reads]
        nd = [(r["method"], r["url"], r["cookie"]) for r in seen["requests"]]
        if nd:
            stats["%s read requests" % who] += 1
        # Its own cookie parser finds our CERT and no other.
        bad = [r["certs"] for r in seen["requests"] if r["certs"] != [ours]]
        if bad:
            failed += 1
            name = os.path.join(faildir, "mutant-%d.req" % n)
            open(name, "wb").write(data)
            print("%s: %s read CERT as %r" % (name, who, bad))
            continue
        # Refusing a request is safe; reading another one is not.
        if py[:len(nd)] != nd or (not seen["error"] and py != nd):
            failed += 1
            name = os.path.join(faildir, "mutant-%d.req" % n)
            open(name, "wb").write(data)
            print("%s: %s read %r (error %s), python %r" % (
                name, who, nd, seen["error"], py))
        else:
            os.unlink(seen["file"])
            if seen["error"]:
                stats["%s refused: %s" % (who, seen["error"])] += 1
                if os.environ.get("MUTATE_KEEP"):
                    open(os.path.join(faildir, "%s-%s-%d.req" % (
                        who, seen["error"].replace(" ", "_"), n)),
                        "wb").write(data)
    return failed


OURS_FIELDS = ("CERT_S_DN", "CERT_I_DN", "CERT_SERIAL", "CERT_V_START",
               "CERT_V_END", "CERT_SHA256", "CERT_VERIFY", "CERT_CHAIN")


def php_differs(accepted, faildir, stats, ours):
    """PHP's $_COOKIE (php -S) for every Cookie field forwarded: CERT is
    ours, and none of our other names appears (PHP turns "." and " "
    into "_", and "[" into an array)."""
    os.makedirs(faildir, exist_ok=True)
    failed = 0
    with PhpCookies(faildir) as php:
        for n, data, out in accepted:
            for kind, line, cookies in backend_reads(out):
                if kind != "request" or not cookies:
                    continue
                jar = php.read(cookies[0].encode("latin1"))
                stats["php read"] += 1
                bad = [k for k in jar if k in OURS_FIELDS]
                if jar.get("CERT") != ours or bad:
                    failed += 1
                    name = os.path.join(faildir, "mutant-%d.req" % n)
                    open(name, "wb").write(data)
                    print("%s: php read CERT as %r, and %r" % (
                        name, jar.get("CERT"), bad))
                    break
    return failed


def main():
    cc, cert, d, count, seed, faildir = sys.argv[1:7]
    der = subprocess.run(["certtool", "--certificate-info", "--infile", cert,
                          "--outder"], capture_output=True,
                         check=True).stdout
    ours = base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    files = sorted(os.path.join(d, n) for n in os.listdir(d)
                   if n.endswith(".req"))
    # Mutants of accepted requests; pieces of any case get inserted.
    good = [open(p, "rb").read() for p in files
            if not os.path.exists(p[:-4] + ".err")]
    seeds = [open(p, "rb").read() for p in files]
    seeds = [s for s in seeds if len(s) < 8192]
    rnd = random.Random(int(seed))
    failed = 0
    stats = collections.Counter()
    accepted = []
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SSL_CLIENT")}
    for n in range(int(count)):
        data = mutate(rnd, rnd.choice(good), seeds)
        p = subprocess.run([cc, "--cert-file", cert], input=data,
                           capture_output=True, env=env, timeout=20)
        why = None
        if p.returncode not in (0, 65):
            why = "exit %d: %s" % (p.returncode, p.stderr.decode()[:200])
        else:
            why = check(p.stdout, ours, stats)
            stats["exit %d" % p.returncode] += 1
        if not why and p.returncode == 0:
            accepted.append((n, data, p.stdout))
        if why:
            failed += 1
            os.makedirs(faildir, exist_ok=True)
            name = os.path.join(faildir, "mutant-%d.req" % n)
            open(name, "wb").write(data)
            print("%s: %s" % (name, why))
    for who in ("node", "go"):
        if "--" + who in sys.argv[7:] and accepted:
            failed += other_differs(accepted, faildir, stats, who, ours)
    if "--php" in sys.argv[7:] and accepted:
        failed += php_differs(accepted, faildir, stats, ours)
    print("%s mutants, %d failed; %s" % (count, failed, ", ".join(
        "%s: %d" % kv for kv in sorted(stats.items()))))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
