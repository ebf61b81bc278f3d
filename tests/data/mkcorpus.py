#!/usr/bin/python3
"""Write the certcookie filter-mode corpus, tests/data/http1/NAME.*:

  NAME.req  the input, byte for byte as on the wire
  NAME.out  the exact expected stdout of
            certcookie --cert-file tests/data/cert.pem < NAME.req
            (absent: nothing may be written)
  NAME.err  the expected exit status, when it is not 0

Every expected output below is written out by hand; C stands for the
certificate of tests/data/cert.pem as base64url without padding.  Run
from the top directory after adding a case; tests/corpus.bats checks
the files, not this script.
"""
import base64, os, subprocess, sys

top = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
der = subprocess.run(["certtool", "--certificate-info", "--infile",
                      os.path.join(top, "tests/data/cert.pem"), "--outder"],
                     capture_output=True, check=True).stdout
C = base64.urlsafe_b64encode(der).rstrip(b"=")

H = b"Host: a\r\n"
CK = b"Cookie: CERT=" + C + b"\r\n"
GET = b"GET / HTTP/1.1\r\n" + H
GOT = GET + CK + b"\r\n"          # GET rewritten
POST = b"POST /p HTTP/1.1\r\n" + H
CHK = b"Transfer-Encoding: chunked\r\n"

cases = []


def case(name, req, out=b"", status=0):
    cases.append((name, req, out, status))


def bad(name, req, out=b""):
    """Refused: exit 65, out holds the earlier requests, whole."""
    case(name, req, out, 65)


# Requests that pass: a cookie is added, bodies pass byte for byte.
case("ok-get", GET + b"\r\n", GOT)
case("ok-get-cookie-appended", GET + b"Cookie: a=1; b=2\r\n\r\n",
     GET + b"Cookie: a=1; b=2; CERT=" + C + b"\r\n\r\n")
case("ok-get-cookie-placed-last",
     b"GET /x?y=1 HTTP/1.1\r\nCookie: s=1\r\n" + H + b"Accept: */*\r\n\r\n",
     b"GET /x?y=1 HTTP/1.1\r\n" + H + b"Accept: */*\r\nCookie: s=1; CERT=" +
     C + b"\r\n\r\n")
case("ok-http10", b"GET / HTTP/1.0\r\n\r\n",
     b"GET / HTTP/1.0\r\n" + CK + b"\r\n")
case("ok-head", b"HEAD / HTTP/1.1\r\n" + H + b"\r\n",
     b"HEAD / HTTP/1.1\r\n" + H + CK + b"\r\n")
case("ok-leading-crlf", b"\r\n\r\n" + GET + b"\r\n", GOT)
case("ok-empty-input", b"", b"")
case("ok-pipeline-get3", GET + b"\r\n" + GET + b"\r\n" + GET + b"\r\n",
     GOT * 3)
body = b"a=1&b=2\r\nGET /smuggled HTTP/1.1\r\nCookie: CERT=evil\r\n\r\n"
case("ok-post-cl-body-looks-like-request",
     POST + b"Content-Length: %d\r\n\r\n" % len(body) + body + GET + b"\r\n",
     POST + b"Content-Length: %d\r\n" % len(body) + CK + b"\r\n" + body + GOT)
binbody = bytes(range(256))
case("ok-post-cl-binary",
     POST + b"Content-Length: 256\r\n\r\n" + binbody + GET + b"\r\n",
     POST + b"Content-Length: 256\r\n" + CK + b"\r\n" + binbody + GOT)
case("ok-post-cl0", POST + b"Content-Length: 0\r\n\r\n" + GET + b"\r\n",
     POST + b"Content-Length: 0\r\n" + CK + b"\r\n" + GOT)
chunks = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
case("ok-post-chunked", POST + CHK + b"\r\n" + chunks + GET + b"\r\n",
     POST + CHK + CK + b"\r\n" + chunks + GOT)
data = b"GET / HTTP/1.1\r\nX: 1\r\n\r\n"
chunks = (b"%x\r\n" % len(data) + data + b"\r\n"
          b"0\r\nX-Checksum: abc\r\nExpires: 0\r\n\r\n")
case("ok-post-chunked-trailers",
     POST + CHK + b"\r\n" + chunks + GET + b"\r\n",
     POST + CHK + CK + b"\r\n" + chunks + GOT)
case("ok-pipeline-mixed",
     POST + b"Content-Length: 3\r\n\r\nabc" + POST + CHK + b"\r\n" +
     b"3\r\nxyz\r\n0\r\n\r\n" + b"GET /3 HTTP/1.1\r\n" + H +
     b"Cookie: k=v\r\n\r\n",
     POST + b"Content-Length: 3\r\n" + CK + b"\r\nabc" + POST + CHK + CK +
     b"\r\n3\r\nxyz\r\n0\r\n\r\n" + b"GET /3 HTTP/1.1\r\n" + H +
     b"Cookie: k=v; CERT=" + C + b"\r\n\r\n")
case("ok-te-ows", POST + b"Transfer-Encoding: \t chunked\r\n\r\n0\r\n\r\n",
     POST + b"Transfer-Encoding: \t chunked\r\n" + CK + b"\r\n0\r\n\r\n")
case("ok-te-case", POST + b"transfer-encoding: CHUNKED\r\n\r\n0\r\n\r\n",
     POST + b"transfer-encoding: CHUNKED\r\n" + CK + b"\r\n0\r\n\r\n")
case("ok-upgrade-websocket",
     GET + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
     b"Sec-WebSocket-Version: 13\r\n\r\n",
     GET + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
     b"Sec-WebSocket-Version: 13\r\n" + CK + b"\r\n")
case("ok-upgrade-h2c-removed",
     GET + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
     b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
     GET + b"Connection: Upgrade, HTTP2-Settings\r\n" + CK + b"\r\n")
case("ok-obs-text-value", GET + b"X-Name: caf\xc3\xa9\r\n\r\n",
     GET + b"X-Name: caf\xc3\xa9\r\n" + CK + b"\r\n")

# Spoofing: every client copy of the cookie or header is removed.
case("spoof-case", GET + b"Cookie: cert=evil; a=1; Cert=evil; cErT=e\r\n\r\n",
     GET + b"Cookie: a=1; CERT=" + C + b"\r\n\r\n")
case("spoof-spaces",
     GET + b"Cookie:  CERT =evil; a=1;\tCERT\t=evil; CERT= evil \r\n\r\n",
     GET + b"Cookie: a=1; CERT=" + C + b"\r\n\r\n")
case("spoof-duplicates", GET + b"Cookie: CERT=evil; CERT=evil2\r\n\r\n",
     GOT)
case("spoof-second-line", GET + b"Cookie: a=1\r\nCookie: CERT=evil\r\n\r\n",
     GET + b"Cookie: a=1; CERT=" + C + b"\r\n\r\n")
case("spoof-third-line-lower",
     GET + b"Cookie: a=1\r\nX: y\r\ncookie: b=2\r\ncOOKIE: CERT=evil\r\n\r\n",
     GET + b"X: y\r\nCookie: a=1; b=2; CERT=" + C + b"\r\n\r\n")
case("spoof-comma", GET + b"Cookie: a=1,CERT=evil; b=2, CERT=evil\r\n\r\n",
     GET + b"Cookie: CERT=" + C + b"\r\n\r\n")
case("spoof-space-split",
     GET + b"Cookie: a=1 CERT=evil; b=2\tCERT=evil; c=3 CERT =evil\r\n\r\n",
     GET + b"Cookie: CERT=" + C + b"\r\n\r\n")
case("spoof-percent", GET + b"Cookie: %43ERT=evil; CE%52T=e; %63ert=e\r\n\r\n",
     GOT)
case("spoof-php-brackets", GET + b"Cookie: CERT[]=evil; CERT[a]=e\r\n\r\n",
     GOT)
case("spoof-quote-backslash",
     GET + b"Cookie: a=\"b\"CERT=evil; c=d\\CERT=evil; e=f\r\n\r\n",
     GET + b"Cookie: e=f; CERT=" + C + b"\r\n\r\n")
case("spoof-non-ascii", GET + b"Cookie: a=\xc3\xa9CERT=evil; b=1\r\n\r\n",
     GET + b"Cookie: b=1; CERT=" + C + b"\r\n\r\n")
case("spoof-field-names",
     GET + b"Cookie: CERT_VERIFY=SUCCESS; CERT_S_DN=CN%3Dadmin; "
     b"cert_sha256=00; CERT.V.END=x\r\n\r\n", GOT)
case("spoof-lookalikes-kept",
     GET + b"Cookie: a=x-CERT=y; c=CERT=y; CERTX=1; XCERT=2\r\n\r\n",
     GET + b"Cookie: a=x-CERT=y; c=CERT=y; CERTX=1; XCERT=2; CERT=" + C +
     b"\r\n\r\n")
case("spoof-only-ours-line-dropped",
     GET + b"Cookie: CERT=evil\r\nCookie: a=1\r\n\r\n",
     GET + b"Cookie: a=1; CERT=" + C + b"\r\n\r\n")
case("spoof-client-cert-headers",
     GET + b"Client-Cert: :AAAA:\r\nclient-cert-chain: :AAAA:\r\nX: 1\r\n\r\n",
     GET + b"X: 1\r\n" + CK + b"\r\n")
case("spoof-pipelined-2nd",
     GET + b"\r\n" + GET + b"Cookie: CERT=evil\r\n\r\n", GOT * 2)
case("spoof-pipelined-3rd",
     GET + b"\r\n" + GET + b"\r\n" + GET + b"Cookie: a=1, CERT=evil\r\n\r\n",
     GOT * 3)
case("spoof-after-body",
     POST + b"Content-Length: 4\r\n\r\nabcd" + GET +
     b"Cookie: x=1 CERT=evil\r\n\r\n",
     POST + b"Content-Length: 4\r\n" + CK + b"\r\nabcd" + GOT)
case("spoof-after-chunked",
     POST + CHK + b"\r\n2\r\nab\r\n0\r\n\r\n" + GET +
     b"Cookie: cert=evil\r\n\r\n",
     POST + CHK + CK + b"\r\n2\r\nab\r\n0\r\n\r\n" + GOT)

# Trailers must never carry a cookie or certificate header: the request
# is cut off, the backend sees it incomplete.
cut = POST + CHK + CK + b"\r\n5\r\nhello\r\n0\r\n"
bad("spoof-trailer-cookie",
    POST + CHK + b"\r\n5\r\nhello\r\n0\r\nCookie: CERT=evil\r\n\r\n", cut)
bad("spoof-trailer-cookie-lower",
    POST + CHK + b"\r\n5\r\nhello\r\n0\r\nX: 1\r\ncookie: a=1\r\n\r\n", cut)
bad("spoof-trailer-client-cert",
    POST + CHK + b"\r\n5\r\nhello\r\n0\r\nClient-Cert: :AAAA:\r\n\r\n", cut)
# Nor a field that frames or routes the request, for a backend that
# merges trailers into the header section.
for name, fld in (("cl", b"Content-Length: 5"),
                  ("te", b"Transfer-Encoding: chunked"),
                  ("host", b"Host: evil"), ("upgrade", b"Upgrade: h2c")):
    bad("smuggle-trailer-" + name,
        POST + CHK + b"\r\n5\r\nhello\r\n0\r\n" + fld + b"\r\n\r\n", cut)
bad("spoof-trailer-after-good", GET + b"\r\n" + POST + CHK +
    b"\r\n5\r\nhello\r\n0\r\nCookie: CERT=evil\r\n\r\n" + GET + b"\r\n",
    GOT + cut)

# Smuggling: ambiguous framing is refused before a byte is forwarded.
bad("cl-te", POST + b"Content-Length: 6\r\n" + CHK + b"\r\n0\r\n\r\nG")
bad("te-cl", POST + CHK + b"Content-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n")
bad("cl-te-after-good", GET + b"\r\n" + POST + b"Content-Length: 4\r\n" +
    CHK + b"\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n", GOT)
bad("te-xchunked", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n")
bad("te-chunkedx", POST + b"Transfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n")
bad("te-chunked-identity",
    POST + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")
bad("te-identity", POST + b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n")
bad("te-gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n")
bad("te-chunked-chunked",
    POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n")
bad("te-duplicate", POST + CHK + CHK + b"\r\n0\r\n\r\n")
bad("te-duplicate-identity",
    POST + CHK + b"Transfer-Encoding: identity\r\n\r\n0\r\n\r\n")
bad("te-http10", b"POST / HTTP/1.0\r\n" + CHK + b"\r\n0\r\n\r\n")
bad("te-obs-fold", POST + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n")
bad("te-obs-fold-after", POST + b"X: 1\r\n Transfer-Encoding: chunked\r\n"
    b"\r\n0\r\n\r\n")
bad("te-space-before-colon",
    POST + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n")
bad("te-tab-before-colon",
    POST + b"Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n")
# OWS around a value is no part of it, but Python's http.client keeps
# it after the value: "chunked " is not chunked to http.server, and the
# body would be its next request.  Forwarded without the white space.
data = b"GET / HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n"
body = b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n"
case("te-trailing-space", POST + b"Transfer-Encoding: chunked \r\n\r\n" +
     body, POST + CHK + CK + b"\r\n" + body)
case("te-trailing-tab", POST + b"Transfer-Encoding:\tchunked\t\r\n\r\n"
     b"0\r\n\r\n", POST + CHK + CK + b"\r\n0\r\n\r\n")
bad("te-vertical-tab", POST + b"Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n")
bad("te-form-feed", POST + b"Transfer-Encoding:\x0cchunked\r\n\r\n0\r\n\r\n")
bad("te-nul", POST + b"Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n")
bad("te-quoted", POST + b"Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n")
bad("cl-duplicate-same",
    POST + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
bad("cl-duplicate-differ",
    POST + b"Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc")
bad("cl-plus", POST + b"Content-Length: +3\r\n\r\nabc")
bad("cl-minus", POST + b"Content-Length: -3\r\n\r\nabc")
bad("cl-inner-space", POST + b"Content-Length: 1 3\r\n\r\nabc")
bad("cl-comma-list", POST + b"Content-Length: 3, 3\r\n\r\nabc")
bad("cl-comma-list-differ", POST + b"Content-Length: 3,30\r\n\r\nabc")
bad("cl-hex", POST + b"Content-Length: 0x3\r\n\r\nabc")
bad("cl-empty", POST + b"Content-Length:\r\n\r\nabc")
bad("cl-overflow", POST + b"Content-Length: 18446744073709551619\r\n\r\nabc")
bad("cl-space-before-colon", POST + b"Content-Length : 3\r\n\r\nabc")
bad("cl-obs-fold", POST + b"Content-Length:\r\n 3\r\n\r\nabc")
bad("obs-fold", GET + b"X-A: 1\r\n\t2\r\n\r\n")
bad("obs-fold-cookie", GET + b"Cookie: a=1;\r\n CERT=evil\r\n\r\n")
bad("obs-fold-after-good", GET + b"\r\n" + GET + b"X: 1\r\n 2\r\n\r\n", GOT)
bad("bare-cr-value", GET + b"X: a\rCookie: CERT=evil\r\n\r\n")
bad("bare-cr-line-end", GET + b"X: a\r\r\n\r\n")
bad("bare-lf-field", GET + b"X: a\nCookie: CERT=evil\r\n\r\n")
bad("bare-lf-request-line", b"GET / HTTP/1.1\n" + H + b"\r\n")
bad("bare-lf-end", GET + b"\n")
bad("bare-lf-all", b"GET / HTTP/1.1\nHost: a\n\n")
bad("nul-value", GET + b"X: a\x00b\r\n\r\n")
bad("nul-name", GET + b"X\x00Y: 1\r\n\r\n")
bad("nul-target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n")
bad("ctl-value", GET + b"X: a\x1bb\r\n\r\n")
bad("space-before-colon", GET + b"Cookie : CERT=evil\r\n\r\n")
bad("space-before-colon-host", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n")
bad("no-colon", GET + b"Cookie CERT=evil\r\n\r\n")
bad("non-token-name", GET + b"Coo(kie): CERT=evil\r\n\r\n")
bad("version-2", b"GET / HTTP/2.0\r\n" + H + b"\r\n")
bad("version-12", b"GET / HTTP/1.2\r\n" + H + b"\r\n")
bad("version-garbage", b"GET / HTTP/1.x\r\n" + H + b"\r\n")
bad("version-lower", b"GET / http/1.1\r\n" + H + b"\r\n")
bad("version-missing", b"GET /\r\n\r\n")
bad("request-line-double-space", b"GET  / HTTP/1.1\r\n" + H + b"\r\n")
bad("request-line-leading-space", b" GET / HTTP/1.1\r\n" + H + b"\r\n")
bad("host-missing", b"GET / HTTP/1.1\r\nX: 1\r\n\r\n")
bad("host-twice", GET + b"Host: b\r\n\r\n")
bad("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
bad("leading-crlf-9", b"\r\n" * 9 + GET + b"\r\n")
bad("good-good-bad", GET + b"\r\n" + GET + b"\r\n" + POST +
    b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab" + GET + b"\r\n",
    GOT * 2)
many = b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(100))
bad("fields-101", GET + many + b"\r\n")
# Our Cookie field counts: the output may hold 100 fields, no more, so
# that it parses again (here, and in http.server with the same limit).
bad("fields-100", GET + many[:-len(b"X-99: 99\r\n")] + b"\r\n")
case("fields-99", GET + many[:-len(b"X-98: 98\r\nX-99: 99\r\n")] +
     b"\r\n", GET + many[:-len(b"X-98: 98\r\nX-99: 99\r\n")] + CK +
     b"\r\n")
case("fields-100-with-cookie", GET + many[:-len(b"X-98: 98\r\nX-99: 99\r\n")] +
     b"Cookie: a=1\r\n\r\n", GET +
     many[:-len(b"X-98: 98\r\nX-99: 99\r\n")] + b"Cookie: a=1; CERT=" +
     C + b"\r\n\r\n")
bad("head-too-big", GET + b"X: " + b"a" * 65536 + b"\r\n\r\n")
bad("head-too-big-after-good", GET + b"\r\n" + GET + b"X: " +
    b"a" * 70000 + b"\r\n\r\n", GOT)
bad("connect", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")
# Request targets outside RFC 9112's four forms: backends differ on them.
bad("target-relative", b"GET p HTTP/1.1\r\n" + H + b"\r\n")
bad("target-asterisk-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n")

# Chunk-size tricks: the body is cut where it turns bad.
head = POST + CHK + b"\r\n"
fwd = POST + CHK + CK + b"\r\n"
bad("chunk-hex-overflow",
    head + b"10000000000000005\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-0x", head + b"0x5\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-negative", head + b"-5\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-leading-space", head + b" 5\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-trailing-space", head + b"5 \r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-ext-trailing-tab", head + b"5;a=b\t\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-no-size", head + b"\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-not-hex", head + b"5g\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-bare-lf", head + b"5\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-bare-cr", head + b"5\rhello\r\n0\r\n\r\n", fwd)
bad("chunk-ext-too-long",
    head + b"5;" + b"e" * 5000 + b"\r\nhello\r\n0\r\n\r\n", fwd)
bad("chunk-missing-crlf", head + b"5\r\nhelloX\r\n0\r\n\r\n",
    fwd + b"5\r\nhello")
bad("chunk-data-longer",
    head + b"3\r\nhello\r\n0\r\n\r\n", fwd + b"3\r\nhel")
bad("chunk-data-lf-only", head + b"5\r\nhello\n0\r\n\r\n", fwd + b"5\r\nhello")
bad("chunk-second-bad", head + b"5\r\nhello\r\nzz\r\nx\r\n0\r\n\r\n",
    fwd + b"5\r\nhello\r\n")
bad("chunk-trailer-obs-fold", head + b"0\r\nX: 1\r\n 2\r\n\r\n", fwd + b"0\r\n")
bad("chunk-trailer-bare-lf", head + b"0\r\nX: 1\n\r\n", fwd + b"0\r\n")

# End of input inside a request.
bad("eof-in-head", GET)
bad("eof-in-request-line", b"GET / HTT")
bad("eof-in-head-after-good", GET + b"\r\n" + GET + b"Cookie: a", GOT)
bad("eof-in-cl-body", POST + b"Content-Length: 10\r\n\r\nhello",
    POST + b"Content-Length: 10\r\n" + CK + b"\r\nhello")
bad("eof-in-chunk", head + b"a\r\nhello", fwd + b"a\r\nhello")
bad("eof-before-last-chunk", head + b"5\r\nhello\r\n", fwd + b"5\r\nhello\r\n")
bad("eof-in-trailers", head + b"0\r\nX: 1\r\n", fwd + b"0\r\n")


def main():
    d = os.path.join(top, "tests/data/http1")
    os.makedirs(d, exist_ok=True)
    names = set()
    for name, req, out, status in cases:
        assert name not in names, name
        names.add(name)
        for ext in ("req", "out", "err"):
            p = os.path.join(d, name + "." + ext)
            if os.path.exists(p):
                os.unlink(p)
        with open(os.path.join(d, name + ".req"), "wb") as f:
            f.write(req)
        if out:
            with open(os.path.join(d, name + ".out"), "wb") as f:
                f.write(out)
        if status:
            with open(os.path.join(d, name + ".err"), "w") as f:
                f.write("%d\n" % status)
    print("%d cases" % len(cases), file=sys.stderr)


if __name__ == "__main__":
    main()
