#!/usr/bin/python3
"""Make the inputs of bench/filter.sh, and the output certcookie should
produce from them (the default rewrite: "; CERT=<base64url DER>" appended
to the Cookie field, nothing else changed).

  gen.py post CERT.der IN OUT   1 GiB of POST bodies: 1024 requests with a
                                1 MiB Content-Length body each
  gen.py get  CERT.der IN OUT   1,000,000 pipelined browser-like GETs with
                                four cookies

Files are written whole, then renamed, so an interrupted run leaves no
half-made input behind.
"""
import base64, os, sys

COOKIES = ("_ga=GA1.2.1843207126.1764201600; "
           "sessionid=q7v1xk3m9c2p8r5t0w4z6y1a; theme=dark; lang=en-US")


def cert_value(der_path):
    der = open(der_path, "rb").read()
    return base64.urlsafe_b64encode(der).rstrip(b"=")


def get_head(i):
    return (
        f"GET /assets/item/{i}/thumb.webp?v=3 HTTP/1.1\r\n"
        "Host: shop.example.org\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) "
        "Gecko/20100101 Firefox/115.0\r\n"
        "Accept: image/avif,image/webp,*/*\r\n"
        "Accept-Language: en-US,en;q=0.5\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Referer: https://shop.example.org/\r\n"
        f"Cookie: {COOKIES}\r\n"
        "\r\n").encode()


def post_head(i, n):
    return (
        f"POST /upload/{i} HTTP/1.1\r\n"
        "Host: shop.example.org\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) "
        "Gecko/20100101 Firefox/115.0\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {n}\r\n"
        f"Cookie: {COOKIES}\r\n"
        "\r\n").encode()


def rewrite(head, value):
    """The expected rewrite: the cookie appended to the Cookie line."""
    line = b"Cookie: " + COOKIES.encode()
    assert head.count(line) == 1
    return head.replace(line, line + b"; CERT=" + value)


def main():
    kind, der, inp, out = sys.argv[1:5]
    value = cert_value(der)
    with open(inp + ".tmp", "wb") as fi, open(out + ".tmp", "wb") as fo:
        if kind == "get":
            batch_i, batch_o = [], []
            for i in range(1_000_000):
                h = get_head(i)
                batch_i.append(h)
                batch_o.append(rewrite(h, value))
                if len(batch_i) == 10_000:
                    fi.write(b"".join(batch_i))
                    fo.write(b"".join(batch_o))
                    batch_i, batch_o = [], []
        elif kind == "post":
            size = 1 << 20
            body = (bytes(range(256)) * (size // 256))
            for i in range(1024):
                h = post_head(i, size)
                fi.write(h + body)
                fo.write(rewrite(h, value) + body)
        else:
            sys.exit("usage: gen.py post|get CERT.der IN OUT")
    os.rename(inp + ".tmp", inp)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
