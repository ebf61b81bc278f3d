#!/usr/bin/python3
"""Ask the real consumers: generate cookie names that spell CERT (or one of
its NAME_ suffixes) in ways some backend parser reads as CERT, and ways it
does not, send each in a Cookie field through certcookie in filter mode,
and read the output with the real parsers, each batched in one process.
On certcookie's output no parser may read a cookie of the CERT family
other than the one certcookie added; without a certificate, none at all.

  consumers.py CERTCOOKIE CERT.pem COUNT SEED [--no-php]

Prints what each parser read as CERT on the input, how many pairs
certcookie removed, the failures (with the seed to replay them), and
"COUNT names, N failed"; exits 1 on a failure.

What the parsers read as CERT (Debian 12, measured with consumers.reads()
on single headers; every one reads " CERT"):

  Django 3.2 parse_cookie   splits on ";" only, str.strip() on the name.
      Under WSGI the header is decoded as UTF-8 (CERT\xc2\xa0,
      CERT\xe3\x80\x80, CERT\x1c, CERT\x0b, CERT\t are CERT), under ASGI
      as latin-1 (CERT\xa0, \x85CERT); \ufeff is not stripped; last wins.
  Starlette 0.26            the same on latin-1 (CERT\xa0, \x85CERT).
  Werkzeug 2.2 (Flask)      bytes.strip(): ASCII white space (CERT\x0b,
      CERT =x); first wins.
  http.cookies.SimpleCookie ASCII names, \s around "=" (CERT\x0b=x);
      re-synchronises after white space (x=1 CERT=y); stops at a name it
      cannot read, and with a name without value refuses the header.
  node-cookie 0.5.0         String.prototype.trim() on latin-1 (CERT\xa0,
      CERT\t; not \x85, not \x1c); first wins.
  Go net/http               token names only, space and tab trimmed
      around the pair (" CERT"), not before "=".
  PHP 8.2 $_COOKIE          leading white space skipped, " " and "."
      become "_" (CERT.VERIFY is CERT_VERIFY), "[" makes an array
      (CERT[x] is CERT); names are not decoded (%43ERT, +CERT stay).
None of them decodes a name; percent- and form-decoded spellings are
removed for PHP 7, older Rack and ASP.NET Core (Uri.UnescapeDataString).
"""
import base64, collections, json, os, random, subprocess, sys
from http.cookies import SimpleCookie, CookieError

from django.http.cookie import parse_cookie as django_parse
from starlette.requests import cookie_parser as starlette_parse
from werkzeug.http import parse_cookie as werkzeug_parse

from php_cookies import PhpCookies

HERE = os.path.dirname(os.path.abspath(__file__))
SUFFIXES = ("", "_chain", "_s_dn", "_i_dn", "_serial", "_v_start",
            "_v_end", "_sha256", "_verify")
FAMILY = {"cert" + s for s in SUFFIXES}
# Python's str.isspace(), JavaScript's trim(), .NET's Char.IsWhiteSpace(),
# Java's Character.isWhitespace() (U+180E up to Java 8).
SPACES = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
          0x85, 0xa0, 0x1680, 0x180e] + list(range(0x2000, 0x200b)) + \
         [0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
NAMES = ["CERT"] * 6 + ["CERT_VERIFY", "CERT_S_DN", "CERT_SHA256",
                        "CERT_CHAIN", "CERT_V_END"]
DECOYS = ["CERTX", "XCERT", "CE RT", "CERTS", "session", "CERT-VERIFY",
          "CER", "CERT__VERIFY", "C"]
JUNK = [b"x", b"\"", b",", b"\\", b"\xc3\xa9", b"\x80", b"%", b"%2", b"[",
        b"]", b".", b"-", b" ", b"\t", b"=", b"\xe2\x80\x8b", b"\xc2",
        b"\xff", b"+", b"_", b"%5B", b"%25"]


def pct(b):
    return b"".join(b"%%%02X" % c for c in b)


def space(rnd, raw):
    """One white space code point in one of its spellings; raw: as
    latin-1 or UTF-8 only, which parsers read without decoding."""
    if raw and rnd.random() < 0.5:
        return rnd.choice((b"\x85", b"\xa0", b" ", b"\t"))
    cp = rnd.choice(SPACES)
    u = chr(cp).encode()
    forms = [u] + ([bytes([cp])] if cp < 0x100 else [])
    if not raw:
        forms += [pct(u), pct(u).lower(), b"%%u%04X" % cp, b"+"]
        if cp < 0x100:
            forms.append(pct(bytes([cp])))
        if len(u) > 1:
            forms.append(pct(u[:1]) + u[1:])
    f = rnd.choice(forms)
    # A raw control byte never passes HTTP parsing: only encoded.
    if any(c < 0x20 and c != 9 or c == 0x7f for c in f):
        f = pct(f)
    return f


def name(rnd):
    """A name: in two of five, spelt as parsers read it without decoding
    (raw white space, case); else with every encoding mixed in."""
    raw = rnd.random() < 0.4
    core = rnd.choice(NAMES if rnd.random() < 0.85 else DECOYS)
    out = b""
    for ch in core:
        c = ch.encode()
        r = rnd.random()
        if ch.isalpha() and r < 0.3:
            c = c.swapcase()
        elif ch.isalpha() and r < 0.36 and not raw:
            c = pct(c)
        elif ch == "_" and r < 0.5:
            c = rnd.choice([b".", b" ", b"+", b"%5F", b"%2E", b"%20"])
        out += c
    if rnd.random() < 0.12:
        out += rnd.choice([b"[x]", b"[]", b"[", b"[\xa0]"] +
                          ([] if raw else [b"%5B%5D"]))
    k = (0, 0, 0, 1, 2) if raw else (0, 0, 1, 1, 2, 3)
    left = b"".join(space(rnd, raw) for _ in range(rnd.choice(k)))
    right = b"".join(space(rnd, raw) for _ in range(rnd.choice(k)))
    out = left + out + right
    for _ in range(rnd.choice((0, 0, 0, 0, 1, 2) if raw else (0, 0, 0, 1, 2))):
        i = rnd.randint(0, len(out))
        out = out[:i] + rnd.choice(JUNK) + out[i:]
    return out.replace(b";", b"")


def pair(rnd, i):
    n = name(rnd)
    v = b"forged%d" % i
    r = rnd.random()
    if r < 0.1:
        return b"x=1" + rnd.choice([b" ", b",", b"\"", b"\xa0", b"\t",
                                    b", "]) + n + b"=" + v
    if r < 0.14:
        return n
    return n + b"=" + v


def headers(count, seed):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        ps = [b"a=1", pair(rnd, i), b"b=2"]
        if rnd.random() < 0.2:
            ps.insert(2, pair(rnd, i))
        out.append(b"; ".join(ps))
    return out


def through(cc, args, hs):
    """The Cookie field of each request after certcookie (None: none)."""
    data = b"".join(b"GET /%d HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n" %
                    (i, h) for i, h in enumerate(hs))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SSL_CLIENT")}
    p = subprocess.run([cc] + args, input=data, capture_output=True,
                       env=env, timeout=60)
    if p.returncode != 0:
        sys.exit("certcookie %s: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr.decode()[:300]))
    heads = p.stdout.split(b"\r\n\r\n")
    assert heads[-1] == b"", heads[-1][:100]
    out = []
    for i, head in enumerate(heads[:-1]):
        lines = head.split(b"\r\n")
        assert lines[0] == b"GET /%d HTTP/1.1" % i, lines[0]
        ck = [l[8:] for l in lines if l.lower().startswith(b"cookie: ")]
        assert len(ck) <= 1, head
        out.append(ck[0] if ck else None)
    if len(out) != len(hs):
        sys.exit("certcookie gave %d requests of %d" % (len(out), len(hs)))
    return out


def split_pairs(h):
    """The pairs of a Cookie field as certcookie splits them."""
    return [p.strip(b" \t") for p in (h or b"").split(b";")
            if p.strip(b" \t")]


def simple(s):
    c = SimpleCookie()
    try:
        c.load(s)
    except CookieError:
        return []
    return [(k, m.value) for k, m in c.items()]


PY = {
    "django (WSGI, UTF-8)":
        lambda h: list(django_parse(h.decode("utf-8", "replace")).items()),
    "django (ASGI, latin-1)":
        lambda h: list(django_parse(h.decode("latin-1")).items()),
    "starlette": lambda h: list(starlette_parse(h.decode("latin-1")).items()),
    "simplecookie": lambda h: simple(h.decode("latin-1")),
    "werkzeug": lambda h: list(werkzeug_parse(
        {"HTTP_COOKIE": h.decode("latin-1")}).items(multi=True)),
}


def batch(cmd, hs, env=None):
    """[name, value] pairs per header from a cookie-reads program."""
    inp = b"".join(h.hex().encode() + b"\n" for h in hs)
    p = subprocess.run(cmd, input=inp, capture_output=True, env=env,
                       timeout=120)
    if p.returncode != 0:
        sys.exit("%s: exit %d: %s" % (cmd, p.returncode,
                                      p.stderr.decode()[:300]))
    lines = p.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(hs), (cmd, len(lines), len(hs))
    return [[tuple(kv) for kv in json.loads(l)] for l in lines]


def php(hs):
    """$_COOKIE of PHP's built-in server for each header."""
    with PhpCookies(os.environ.get("TMPDIR", "/tmp")) as p:
        return [list(p.read(h).items()) for h in hs]


def reads(hs, with_php):
    """{parser: [pairs per header]}; a header None reads as nothing."""
    some = [h if h is not None else b"" for h in hs]
    got = {k: [f(h) for h in some] for k, f in PY.items()}
    env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
    got["node-cookie"] = batch(["node", os.path.join(HERE, "data",
                                                     "cookie-reads.js")],
                               some, env)
    got["go net/http"] = batch(["go", "run", os.path.join(
        HERE, "data", "cookie-reads.go")], some)
    if with_php:
        got["php $_COOKIE"] = php(hs)
    return got


def family(pairs):
    """The pairs a backend could take as one of ours: any case (ASP.NET
    and PHP-mangled names compare ignoring case)."""
    return [(k, v) for k, v in pairs if k.lower() in FAMILY]


def main():
    cc, cert, count, seed = sys.argv[1:5]
    with_php = "--no-php" not in sys.argv[5:]
    count, seed = int(count), int(seed)
    der = subprocess.run(["certtool", "--certificate-info", "--infile",
                          cert, "--outder"], capture_output=True,
                         check=True).stdout
    ours = base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    hs = headers(count, seed)
    stats = collections.Counter()
    failed = 0
    stripped = None

    # The input: which spellings each parser reads as ours (so that the
    # generator is known to reach every parser).
    before = reads(hs, with_php)
    for who, per in before.items():
        stats["%s reads CERT on the input" % who] = sum(
            1 for pairs in per if family(pairs))

    for args, want in (([], []), (["--cert-file", cert], [("CERT", ours)])):
        outs = through(cc, args, hs)
        if not args:
            stripped = outs
        stats["pairs removed%s" % (" (cert)" if args else "")] = sum(
            len(split_pairs(h)) - len(split_pairs(o)) + (1 if args else 0)
            for h, o in zip(hs, outs))
        for i, o in enumerate(outs):
            if o is None or b"a=1" not in o or b"b=2" not in o:
                failed += 1
                print("seed %d #%d%s: a=1 or b=2 lost: %r -> %r" % (
                    seed, i, " (cert)" if args else "", hs[i], o))
        after = reads(outs, with_php)
        for who, per in after.items():
            for i, pairs in enumerate(per):
                fam = family(pairs)
                if fam == want:
                    continue
                # Refusing the header (SimpleCookie at a name it cannot
                # read) or losing ours to a pair before it is no forgery.
                if not fam:
                    stats["%s reads no CERT%s" % (
                        who, " (cert)" if args else "")] += 1
                    continue
                failed += 1
                print("seed %d #%d%s: %s reads %r in %r (input %r)" % (
                    seed, i, " (cert)" if args else "", who, fam, outs[i],
                    hs[i]))
    # --reject-spoof refuses exactly the requests of which a pair goes.
    for i in range(min(count, 300)):
        data = b"GET / HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n" % hs[i]
        p = subprocess.run([cc, "--reject-spoof"], input=data,
                           capture_output=True, timeout=20)
        removed = split_pairs(stripped[i]) != split_pairs(hs[i])
        if p.returncode != (65 if removed else 0) or (
                removed and b"client sent our cookie" not in p.stderr):
            failed += 1
            print("seed %d #%d: --reject-spoof exit %d, a pair %s: %r" % (
                seed, i, p.returncode, "removed" if removed else "kept",
                hs[i]))
        stats["--reject-spoof refused"] += p.returncode == 65
    print("; ".join("%s: %d" % kv for kv in sorted(stats.items())))
    # Each parser must have read forged names on the input.
    for who in before:
        if stats["%s reads CERT on the input" % who] < count // 20:
            failed += 1
            print("%s read CERT in too few inputs" % who)
    print("%d names, %d failed (seed %d)" % (count, failed, seed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
