"""PHP's $_COOKIE, as PHP's built-in server reads a Cookie field.

    with PhpCookies(DIR) as php:
        jar = php.read(b"a=1; CERT=x")     # {"a": "1", "CERT": "x"}

`php -S` serves a script, written to DIR, that prints $_COOKIE as JSON.
It starts on a free port and counts as started only once its own
process listens there (tests/listening.py), on another port when that
one was taken meanwhile: a probe connection could reach another
process's server.  Used by tests/consumers.py and tests/data/mutate.py.
"""
import json, os, socket, subprocess, sys

LISTENING = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "listening.py")


class PhpCookies:
    def __init__(self, dir):
        self.script = os.path.join(dir, "cookies-%d.php" % os.getpid())
        self.srv = None

    def __enter__(self):
        with open(self.script, "w") as f:
            f.write("<?php echo json_encode($_COOKIE, "
                    "JSON_INVALID_UTF8_SUBSTITUTE);\n")
        for _ in range(5):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
            self.srv = subprocess.Popen(
                ["php", "-S", "127.0.0.1:%d" % self.port, self.script],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            st = subprocess.call([sys.executable, LISTENING,
                                  str(self.srv.pid), str(self.port)])
            if st == 0:
                return self
            self.srv.kill()
            self.srv.wait()
            if st != 2:
                break
        os.unlink(self.script)
        raise RuntimeError("php -S did not start")

    def __exit__(self, *exc):
        self.srv.kill()
        self.srv.wait()
        os.unlink(self.script)

    def read(self, cookie):
        """$_COOKIE for one request with Cookie field cookie (bytes), or
        none when cookie is None; {} when PHP made it a list."""
        with socket.create_connection(("127.0.0.1", self.port), 10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n"
                      b"Connection: close\r\n" +
                      (b"Cookie: " + cookie + b"\r\n" if cookie is not None
                       else b"") + b"\r\n")
            resp = c.makefile("rb").read()    # to the end: close
        jar = json.loads(resp.split(b"\r\n\r\n", 1)[1] or b"{}")
        return jar if isinstance(jar, dict) else {}
