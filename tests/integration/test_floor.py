"""The bench floor (fcgi-bin/floor/main.c) stops cleanly on every signal a
supervisor sends for a graceful stop.

No fleet: each test starts build/bin/arcade-floor the way spawn-fcgi does (a
listening socket on 127.0.0.1:0 as descriptor 0, then exec), speaks FastCGI to
it directly, signals it and expects it to exit promptly with status 0.
Debian's multiwatch 1.0 sends its children QUIT when told `-s TERM` (what
`arcade` passes), INT when told QUIT, HUP when told INT; libfcgi's own
convention is USR1; TERM and INT come from a shell or systemd.
"""

import os
import signal
import socket
import struct
import subprocess
import time
import unittest

REPO = os.path.abspath(
    os.environ.get("ARCADE_REPO")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("ARCADE_BUILD_DIR") or os.path.join(REPO, "build")
FLOOR = os.environ.get("ARCADE_FLOOR_BIN") or os.path.join(BUILD, "bin", "arcade-floor")

TIMEOUT = 5.0  # seconds: every socket operation, every wait for an exit

FCGI_VERSION = 1
FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_RESPONDER = 1


def record(rtype, req_id, content):
    return struct.pack("!BBHHBx", FCGI_VERSION, rtype, req_id, len(content), 0) + content


def name_value(name, value):
    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise AssertionError("the floor closed the connection mid-record")
        data += chunk
    return data


def fastcgi_get(port, path="/bench/floor/product"):
    """One GET over FastCGI; returns the responder's stdout (headers and body)."""
    params = b"".join(name_value(k, v) for k, v in (
        (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", path.encode()),
        (b"SCRIPT_NAME", b"/bench/floor"), (b"CONTENT_LENGTH", b"0")))
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(record(FCGI_BEGIN_REQUEST, 1, struct.pack("!HB5x", FCGI_RESPONDER, 0))
                     + record(FCGI_PARAMS, 1, params) + record(FCGI_PARAMS, 1, b"")
                     + record(FCGI_STDIN, 1, b""))
        out = b""
        while True:
            _, rtype, _, clen, plen = struct.unpack("!BBHHBx", recv_exact(conn, 8))
            content = recv_exact(conn, clen + plen)[:clen]
            if rtype == FCGI_STDOUT:
                out += content
            elif rtype == FCGI_END_REQUEST:
                return out


class FloorSignals(unittest.TestCase):
    def setUp(self):
        if not os.access(FLOOR, os.X_OK):
            self.fail("%s is not built (cmake --build %s)" % (FLOOR, BUILD))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        # As spawn-fcgi: the listening socket is descriptor 0, nothing else open.
        self.proc = subprocess.Popen([FLOOR], stdin=listener.fileno(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, close_fds=True)
        listener.close()
        self.addCleanup(self.reap)

    def reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)

    def assert_stops_on(self, sig):
        out = fastcgi_get(self.port)  # serving, then idle in accept()
        self.assertTrue(out.startswith(b"Status: 200 OK\r\n"), out[:200])
        self.assertIn(b'"sku":"ARC-004242"', out)
        start = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("the floor still runs %.0f s after %s" % (TIMEOUT, sig.name))
        self.assertEqual(rc, 0, "the floor ended by %s with status %d (negative: killed by "
                         "that signal)" % (sig.name, rc))
        self.assertLess(time.monotonic() - start, 2.0)

    def test_quit_what_multiwatch_sends_for_term(self):
        self.assert_stops_on(signal.SIGQUIT)

    def test_term(self):
        self.assert_stops_on(signal.SIGTERM)

    def test_int(self):
        self.assert_stops_on(signal.SIGINT)

    def test_hup(self):
        self.assert_stops_on(signal.SIGHUP)

    def test_usr1(self):
        self.assert_stops_on(signal.SIGUSR1)


if __name__ == "__main__":
    unittest.main()
