#!/usr/bin/python3
"""Drive certcookie in proxy mode for tests/proxy.bats, as a client on
its stdin and stdout (pipes or a socket), never through a shell pipe.

  proxy_client.py run REQFILE RAWFILE [--then REQFILE2]... [--keep-open]
                    [--heads=I,J] -- CMD...
      write REQFILE to CMD's stdin (each REQFILE2 once one more
      response has come back), close it (half-close) unless
      --keep-open, read CMD's stdout to EOF into RAWFILE, then print
      JSON: {"exit": STATUS, "responses": [{"status", "headers",
      "body", "json"}]} with the responses as parsed from RAWFILE;
      --heads lists the indices of responses to HEAD requests.
  proxy_client.py ws COOKIE -- CMD...
      a WebSocket client (python3-websockets) over a socketpair that is
      CMD's stdin and stdout; prints JSON: what the server saw and
      echoed.  CMD must connect to a websockets server (see serve-ws).
  proxy_client.py serve-ws PORTFILE
      a websockets echo server on 127.0.0.1; the first message it sends
      is the request's Cookie field.
  proxy_client.py serve-connect PORTFILE
      answers CONNECT ok:1 with 200 and echoes from then on; CONNECT
      to another host 403, other requests a JSON list of their head
      lines.
  proxy_client.py serve-426 PORTFILE
      a keep-alive HTTP/1.1 server that answers a request with an
      Upgrade field 426 and any other one with a JSON description of
      its Cookie field.
"""
import asyncio, json, os, socket, subprocess, sys, threading

TIMEOUT = 20


def parse_responses(raw, heads=()):
    """Split raw into responses; heads: indices of HEAD requests."""
    out, p, i = [], 0, 0
    while p < len(raw):
        e = raw.find(b"\r\n\r\n", p)
        if e < 0:
            out.append({"status": None, "partial": raw[p:].decode("latin1")})
            break
        lines = raw[p:e].decode("latin1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [l.split(":", 1) for l in lines[1:]]
        headers = [[k, v.strip()] for k, v in headers]
        h = {k.lower(): v for k, v in headers}
        p = e + 4
        body = b""
        if status < 200 and status != 101:
            out.append({"status": status, "headers": headers, "body": ""})
            continue
        if i in heads or status in (204, 304):
            pass
        elif status == 101:
            body = raw[p:]
            p = len(raw)
        elif h.get("transfer-encoding", "").lower() == "chunked":
            while True:
                le = raw.index(b"\r\n", p)
                n = int(raw[p:le].split(b";")[0], 16)
                p = le + 2
                if n == 0:
                    p = raw.index(b"\r\n\r\n", p - 2) + 4
                    break
                body += raw[p:p + n]
                p += n + 2
        elif "content-length" in h:
            n = int(h["content-length"])
            body = raw[p:p + n]
            p += n
        else:
            body = raw[p:]
            p = len(raw)
        r = {"status": status, "headers": headers,
             "body": body.decode("latin1"), "body_len": len(body)}
        if h.get("content-type") == "application/json" and body:
            r["json"] = json.loads(body)
        out.append(r)
        i += 1
    return out


def complete(raw, heads):
    """How many whole responses raw holds."""
    try:
        r = parse_responses(raw, heads)
    except (ValueError, IndexError):
        return 0
    return len([x for x in r if x["status"] is not None])


def run(args):
    keep = "--keep-open" in args
    heads = ()
    parts = [open(args[0], "rb").read()]
    for i, a in enumerate(args):
        if a.startswith("--heads="):
            heads = tuple(int(x) for x in a[8:].split(","))
        if a == "--then":
            parts.append(open(args[i + 1], "rb").read())
    cmd = args[args.index("--") + 1:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    got = bytearray()
    cv = threading.Condition()
    stalled = []

    def writer():
        """Each --then part goes once a response per part came back."""
        try:
            for i, part in enumerate(parts):
                with cv:
                    if not cv.wait_for(
                            lambda: complete(bytes(got), heads) >= i,
                            TIMEOUT):
                        stalled.append(i)
                        p.kill()
                        return
                p.stdin.write(part)
                p.stdin.flush()
            if not keep:
                p.stdin.close()
        except BrokenPipeError:
            pass
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    timer = threading.Timer(TIMEOUT, p.kill)
    timer.start()
    while True:
        b = p.stdout.read1(1 << 16)
        if not b:
            break
        with cv:
            got += b
            cv.notify_all()
    raw = bytes(got)
    if keep:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
    st = p.wait()
    timed_out = not timer.is_alive() or bool(stalled)
    timer.cancel()
    open(args[1], "wb").write(raw)
    print(json.dumps({"exit": st, "timeout": timed_out,
                      "responses": parse_responses(raw, heads)}, indent=1))


async def ws_client(cookie, cmd):
    import websockets
    a, b = socket.socketpair()
    p = subprocess.Popen(cmd, stdin=b, stdout=b)
    b.close()
    res = {}
    async with websockets.connect(
            "ws://backend/chat", sock=a, max_size=None,
            extra_headers={"Cookie": cookie}) as ws:
        res["server_saw_cookie"] = await ws.recv()
        await ws.send("hello")
        res["echo_text"] = await ws.recv()
        big = bytes(range(256)) * 1024
        await ws.send(big)
        res["echo_binary_ok"] = (await ws.recv()) == big
        await ws.send("bye")
        res["echo_last"] = await ws.recv()
    res["exit"] = await asyncio.get_running_loop().run_in_executor(
        None, p.wait)
    return res


def ws(args):
    cookie = args[0]
    cmd = args[args.index("--") + 1:]
    res = asyncio.run(asyncio.wait_for(ws_client(cookie, cmd), TIMEOUT))
    print(json.dumps(res, indent=1))


def write_port(pf, port):
    with open(pf + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(pf + ".tmp", pf)


async def ws_server(pf):
    import websockets

    async def handler(ws, path):
        await ws.send(ws.request_headers.get("Cookie", ""))
        async for m in ws:
            await ws.send(m)
    async with websockets.serve(handler, "127.0.0.1", 0,
                                max_size=None) as srv:
        write_port(pf, srv.sockets[0].getsockname()[1])
        await asyncio.Future()


def serve_426(pf):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.headers.get("Upgrade"):
                body = b"upgrade refused\n"
                self.send_response(426)
                self.send_header("Content-Type", "text/plain")
            else:
                body = json.dumps({"cookie": self.headers.get_all(
                    "Cookie") or []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    write_port(pf, srv.server_address[1])
    srv.serve_forever()


def serve_connect(pf):
    """CONNECT to "ok:1" is answered 200 and the connection becomes an
    echo; to any other host 403, and the connection stays HTTP."""
    import socketserver

    class H(socketserver.StreamRequestHandler):
        def handle(self):
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                head = [line]
                while head[-1] not in (b"\r\n", b""):
                    head.append(self.rfile.readline())
                words = line.split()
                if words[0] == b"CONNECT" and words[1] == b"ok:1":
                    self.wfile.write(b"HTTP/1.1 200 Connection established"
                                     b"\r\n\r\n")
                    while True:
                        b = self.request.recv(65536)
                        if not b:
                            return
                        self.wfile.write(b)
                body = json.dumps([h.decode("latin1") for h in head])
                st = b"403 Forbidden" if words[0] == b"CONNECT" else b"200 OK"
                self.wfile.write(b"HTTP/1.1 " + st + b"\r\nContent-Type: "
                                 b"application/json\r\nContent-Length: " +
                                 str(len(body)).encode() + b"\r\n\r\n" +
                                 body.encode())

    socketserver.ThreadingTCPServer.daemon_threads = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
    write_port(pf, srv.server_address[1])
    srv.serve_forever()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "run":
        run(args)
    elif cmd == "ws":
        ws(args)
    elif cmd == "serve-ws":
        asyncio.run(ws_server(args[0]))
    elif cmd == "serve-426":
        serve_426(args[0])
    elif cmd == "serve-connect":
        serve_connect(args[0])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
