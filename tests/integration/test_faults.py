"""Faults: MariaDB restarted or stopped, workers killed with SIGKILL, and client
garbage. A client's input never causes a 500; a fault the fleet recovers from
costs at most the requests in flight when it struck.

Everything stopped here is started again in a cleanup, and each test ends with
the fleet healthy.
"""

import json
import os
import random
import socket
import threading
import time
import unittest
import urllib.parse

from arcadetest import (API, HEALTH, ArcadeTestCase, admin_headers, arcade, create_product,
                        fleet_env, get, parallel, patch, post, product_body,
                        product_path, put, raw_request, request, unique_slug, wait_until)

PRODUCTS = API + "/products"
DEMO_MAX = 10000


def db_endpoint():
    """Where the fleet's MariaDB listens, from fleet.env (ARCADE_DB_SOCKET or
    ARCADE_DB_HOST/ARCADE_DB_PORT as in shared/include/arcade/config.h); None
    when fleet.env does not say."""
    env = fleet_env(reload=True)
    sock = env.get("ARCADE_DB_SOCKET")
    if sock:
        return ("unix", sock)
    port = env.get("ARCADE_DB_PORT")
    if port and port.isdigit():
        return ("tcp", (env.get("ARCADE_DB_HOST") or "127.0.0.1", int(port)))
    return None


def db_greets():
    """True when MariaDB accepts a connection and sends its handshake packet."""
    ep = db_endpoint()
    if ep is None:
        return True  # nothing to poll: rely on `arcade svc start` returning when ready
    kind, addr = ep
    s = socket.socket(socket.AF_UNIX if kind == "unix" else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(addr)
        return len(s.recv(64)) > 4
    except OSError:
        return False
    finally:
        s.close()


def healthy():
    r = get(HEALTH)
    return r.status == 200 and isinstance(r.json, dict) and r.json.get("status") == "ok"


class FaultTestCase(ArcadeTestCase):

    def ensure_healthy(self):
        wait_until(healthy, timeout=30, message="the fleet to be healthy again")

    def some_demo_ids(self, n):
        return random.sample(range(2, DEMO_MAX + 1), n)

    def fresh_ids(self, n):
        """Products nobody has read: created here and never fetched, so no cache
        holds them and a read must reach the database (a write invalidates, it
        does not fill the cache)."""
        return [create_product()["id"] for _ in range(n)]

    def first_requests_succeed(self, p, fresh):
        """Right after the database came back: a burst of concurrent requests
        (spread over the workers) and then sequential ones, reads that must reach
        the database and writes; every one must succeed. fresh: >= 7 unread ids."""
        ids = list(fresh)

        def call(i):
            kind = i % 6
            if kind == 0:
                return "GET uncached", get(product_path(ids[i // 6])), 200
            if kind == 1:
                return "PATCH", patch(product_path(p["id"]), {"name": "after fault %d" % i},
                                      headers=admin_headers()), 200
            if kind == 2:
                return "POST", post(PRODUCTS, product_body(), headers=admin_headers()), 201
            if kind == 3:
                return "PUT inventory", put(product_path(p["id"]) + "/inventory",
                                            {"on_hand": i}, headers=admin_headers()), 200
            if kind == 4:
                return "GET list", get(PRODUCTS + "?sort=-price&per_page=5&page=%d" % (i + 1)), 200
            return "GET categories", get(API + "/categories"), 200

        results = parallel(call, range(24), workers=24)
        results += [call(i) for i in range(24, 40)]
        bad = []
        for i, res in enumerate(results):
            if isinstance(res, Exception):
                bad.append("#%d: %r" % (i, res))
            elif res[1].status != res[2]:
                bad.append("#%d %s: %r" % (i, res[0], res[1]))
        self.assertEqual(bad, [], "requests after the database came back must all succeed")


class MariaDBTests(FaultTestCase):

    def test_restart_then_the_first_requests_succeed(self):
        p = create_product()
        fresh = self.fresh_ids(8)
        # Every worker has a live database connection before the restart.
        parallel(lambda i: get(product_path(i)), self.some_demo_ids(30), workers=16)
        self.addCleanup(self.ensure_healthy)
        arcade("svc", "restart", "mariadb")
        wait_until(db_greets, timeout=30, message="MariaDB to accept connections")
        self.first_requests_succeed(p, fresh)
        self.assertTrue(healthy())

    def test_stopped_is_503_then_recovers(self):
        p = create_product(price=5)
        cached = create_product(price=6)
        for _ in range(3):
            get(product_path(cached["id"]))
        during, after = self.fresh_ids(12), self.fresh_ids(8)
        parallel(lambda i: get(product_path(i)), self.some_demo_ids(30), workers=16)
        arcade("svc", "stop", "mariadb")
        self.addCleanup(self.ensure_healthy)
        self.addCleanup(lambda: arcade("svc", "start", "mariadb", check=False))

        r = get(HEALTH)
        self.assertStatus(r, 503)
        self.assertJsonResponse(r)
        self.assertEqual(r.json, {"status": "unavailable",
                                  "checks": {"db": "unavailable", "cache": "ok", "broker": "ok"}})

        calls = [("GET uncached %d" % i, lambda i=i: get(product_path(i))) for i in during]
        calls += [
            ("GET list", lambda: get(PRODUCTS + "?per_page=5")),
            ("GET list by category", lambda: get(PRODUCTS + "?category=" + unique_slug())),
            ("GET categories", lambda: get(API + "/categories")),
            ("POST product", lambda: post(PRODUCTS, product_body(), headers=admin_headers())),
            ("PATCH product", lambda: patch(product_path(p["id"]), {"price": 7},
                                            headers=admin_headers())),
            ("PUT inventory", lambda: put(product_path(p["id"]) + "/inventory", {"on_hand": 1},
                                          headers=admin_headers())),
            ("POST category", lambda: post(API + "/categories",
                                           {"slug": unique_slug(), "name": "x", "parent": None},
                                           headers=admin_headers())),
        ]
        for name, call in calls:
            with self.subTest(name):
                t0 = time.monotonic()
                r = call()
                self.assertError(r, 503, "unavailable")
                self.assertLess(time.monotonic() - t0, 8, "answered within the DB timeouts")
                self.assertRegex(r.header("Retry-After") or "", r"^\d+$", "Retry-After")
        with self.subTest("cached product"):
            r = get(product_path(cached["id"]))
            # Served from the cache or refused; never a 500.
            self.assertIn(r.status, (200, 503), r)
            if r.status == 200:
                self.assertEqual(r.json["price"], 6)
            else:
                self.assertError(r, 503, "unavailable")

        arcade("svc", "start", "mariadb")
        wait_until(db_greets, timeout=30, message="MariaDB to accept connections")
        self.first_requests_succeed(p, after)
        r = get(HEALTH)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "ok")
        g = get(product_path(p["id"]))
        self.assertNotEqual(g.json["price"], 7, "a write refused with 503 did not happen")


class WorkerKillTests(FaultTestCase):

    def sequential_requests_succeed(self, p, n=100):
        bad = []
        for i in range(n):
            if i % 10 == 9:
                r = patch(product_path(p["id"]), {"price": i}, headers=admin_headers())
            else:
                r = get(product_path(p["id"]) if i % 2 else PRODUCTS + "?per_page=3")
            if r.status != 200:
                bad.append("#%d: %r" % (i, r))
        self.assertEqual(bad, [], "%d sequential requests after the kills" % n)

    def test_kill_idle_workers(self):
        p = create_product()
        self.addCleanup(self.ensure_healthy)
        for _ in range(3):
            arcade("svc", "kill-worker", "catalog")
            self.sequential_requests_succeed(p, 20)
        self.sequential_requests_succeed(p, 100)

    def test_kill_workers_under_load(self):
        p = create_product()
        self.addCleanup(self.ensure_healthy)
        kills = 4
        stop = threading.Event()
        lock = threading.Lock()
        done = [0]
        failures = []  # (status or exception, what)

        def load(n):
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 5 == 0:
                        r = patch(product_path(p["id"]), {"price": i}, headers=admin_headers())
                    else:
                        r = get(product_path(p["id"]))
                    outcome = r.status
                except OSError as e:
                    outcome = e
                with lock:
                    done[0] += 1
                    if outcome != 200:
                        failures.append(outcome)

        threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(8)]
        for t in threads:
            t.start()
        try:
            for _ in range(kills):
                mark = done[0]
                wait_until(lambda: done[0] >= mark + 50, timeout=30,
                           message="load to make progress between kills")
                arcade("svc", "kill-worker", "catalog")
            mark = done[0]
            wait_until(lambda: done[0] >= mark + 100, timeout=30,
                       message="load to make progress after the kills")
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        tolerated = [f for f in failures if f in (500, 502, 503) or isinstance(f, OSError)]
        other = [f for f in failures if f not in tolerated]
        self.assertEqual(other, [], "failures other than a killed in-flight request")
        self.assertLessEqual(len(tolerated), kills,
                             "at most one in-flight request per killed worker may fail; "
                             "got %r out of %d requests" % (tolerated, done[0]))
        self.sequential_requests_succeed(p, 100)


class ClientGarbageTests(FaultTestCase):
    """A fuzz-ish loop: garbage paths, query strings, bodies and headers never get
    a 500 (nor a 502/503/504, the web server's sign of a dead or stuck worker)."""

    SEED = int(os.environ.get("ARCADE_FUZZ_SEED") or random.randrange(1 << 30))

    def setUp(self):
        self.rng = random.Random(self.SEED)
        self.bad = []
        self.count = 0

    def rbytes(self, lo=1, hi=40):
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(lo, hi)))

    def record(self, what, status, body=b""):
        self.count += 1
        if status in (500, 502, 503, 504):
            self.bad.append("%s -> %s %r" % (what[:200], status, body[:200]))

    def send(self, what, method, path, **kw):
        try:
            r = request(method, path, **kw)
        except OSError as e:
            self.bad.append("%s -> %r" % (what[:200], e))
            return None
        self.record(what, r.status, r.body)
        if r.status >= 400 and r.content_type.startswith("application/json") and r.json is not None:
            err = r.json.get("error") if isinstance(r.json, dict) else None
            if not (isinstance(err, dict) and isinstance(err.get("code"), str)
                    and isinstance(err.get("message"), str)):
                self.bad.append("%s -> %s with a malformed error body %r"
                                % (what[:200], r.status, r.body[:200]))
        return r

    def send_raw(self, what, data, shutdown_write=False):
        try:
            r = raw_request(data, shutdown_write=shutdown_write, timeout=5)
        except OSError:
            # The web server may drop a connection it cannot parse, or keep
            # waiting for a body that never comes: neither reaches a worker.
            return
        if r.status is not None:
            self.record(what, r.status, r.body)

    def finish(self):
        self.assertEqual(self.bad, [], "seed %d: server errors caused by client input "
                         "(%d requests)" % (self.SEED, self.count))
        # The service still answers, on every worker.
        results = parallel(lambda _: get(product_path(1)), range(30))
        self.assertEqual([r.status if not isinstance(r, Exception) else repr(r) for r in results],
                         [200] * 30, "the service answers after the garbage (seed %d)" % self.SEED)
        self.assertTrue(healthy())

    def test_garbage_paths(self):
        q = urllib.parse.quote
        paths = [PRODUCTS + "/%00", PRODUCTS + "/1%00", PRODUCTS + "/%zz", PRODUCTS + "/%",
                 PRODUCTS + "/%2", PRODUCTS + "/1%2F2", PRODUCTS + "/..%2F..%2Fetc%2Fpasswd",
                 PRODUCTS + "/" + "9" * 5000, PRODUCTS + "/" + "a" * 8000, API + "/" + "x/" * 2000,
                 API + "/categories/" + "%ff" * 50, PRODUCTS + "//1", PRODUCTS + "/./1",
                 PRODUCTS + "/1/../2", PRODUCTS + "/1;x=y", PRODUCTS + "/18446744073709551616",
                 PRODUCTS + "/9223372036854775807", PRODUCTS + "/9223372036854775808",
                 PRODUCTS + "/-9223372036854775808", PRODUCTS + "/1/inventory%00",
                 API + "/categories/%C0%AF", API + "/categories/" + q("ü☕"), PRODUCTS + "/1?",
                 PRODUCTS + "/" + "1" * 19, PRODUCTS + "/0000000000000000000001"]
        paths += [PRODUCTS + "/" + q(self.rbytes(), safe="") for _ in range(60)]
        paths += [API + "/categories/" + q(self.rbytes(), safe="") for _ in range(30)]
        # GET and POST only: a garbage path the web server normalises to a real
        # product ("/1/../2") must not deactivate demo data.
        for path in paths:
            self.send("GET " + path, "GET", path)
            self.send("POST " + path, "POST", path, json_body={}, headers=admin_headers())
        self.finish()

    def test_garbage_query_strings(self):
        q = urllib.parse.quote
        queries = ["page=%zz", "page=%00", "page=%", "page=%ff%fe", "sort=%00%00", "category=%00",
                   "=&&=", "&&&", "page", "page=1&page=2", "per_page=-0", "page=+1", "page=1%20",
                   "page=%201", "per_page=0x10", "page=" + q("١"), "category=" + "a" * 5000,
                   "sort=" + "n" * 3000, "&".join("p%d=1" for _ in range(200)),
                   "&".join("p%d=%d" % (i, i) for i in range(2000)),
                   "&".join("page=1" for _ in range(100)), "category=" + q("ü☕"),
                   "category=%C0%AF", "per_page=99999999999999999999999999",
                   "page=-99999999999999999999999", "sort=-", "sort=--price", "x=" + "%41" * 2000]
        queries += ["%s=%s" % (self.rng.choice(["page", "per_page", "sort", "category", "x"]),
                               q(self.rbytes(), safe=""))
                    for _ in range(120)]
        for query in queries:
            self.send("GET ?" + query, "GET", PRODUCTS + "?" + query)
        self.send("GET product with query", "GET", product_path(1) + "?" + queries[0])
        self.finish()

    def garbage_bodies(self):
        good = json.dumps(product_body())
        bodies = [b"", b"\x00", b"\xff" * 100, b"{", b"}", b'{"sku":', b"[" * 5000, b"{" * 5000,
                  b'{"a":' * 1000 + b"1" + b"}" * 1000, b'{"price": 1e999999}',
                  b'{"price": -1e999999}', b'{"name": "\\u0000"}', b'{"name": "\\ud800"}',
                  b'{"name": "\\udfff\\ud800"}', b'{"name": "\\uZZZZ"}', b'{"name": "\\x41"}',
                  b'{"": 1}', b'{"sku": {"$gt": ""}}', b'{"price": [1]}', b'{"category": ["a"]}',
                  b'{"category": {"slug": "x"}}', b'{"on_hand": 1e308}', b'{"price": 0e0}',
                  b'{"price": 1, "price": "x"}', b'{"name": "' + b"\\\\" * 20000 + b'"}',
                  b'{"description": "' + b"\\u0000" * 10000 + b'"}', b"\xef\xbb\xbf" + good.encode(),
                  good.encode() + b"\x00", good.replace('"sku"', '"sk\\u0000u"').encode(),
                  b'{"name": "a\x00b"}', b'{"name": "\x01\x02\x7f"}', b"null", b"true", b'"x"',
                  b"-", b"0", b"1e5", b"NaN", b"Infinity", b"[]", b"{}", b"{} {}", b"{}}",
                  good.encode() * 2, b" " * 70000]
        for _ in range(80):
            bodies.append(self.rbytes(1, 300))
        for _ in range(80):  # mutations of a valid body
            b = bytearray(json.dumps(product_body(), ensure_ascii=False).encode())
            for _ in range(self.rng.randint(1, 4)):
                pos = self.rng.randrange(len(b))
                op = self.rng.randrange(3)
                if op == 0:
                    del b[pos]
                elif op == 1:
                    b.insert(pos, self.rng.randrange(256))
                else:
                    b[pos] = self.rng.choice(b'{}[]":,\\0-9eE.+ \x00\xff')
            bodies.append(bytes(b))
        return bodies

    def test_garbage_bodies(self):
        p = create_product()
        targets = [("POST", PRODUCTS), ("PATCH", product_path(p["id"])),
                   ("PUT", product_path(p["id"]) + "/inventory"), ("POST", API + "/categories")]
        ctypes = ["application/json", "application/json; charset=utf-8", "text/plain", None,
                  "application/json; charset=ebcdic", "application/json; boundary=" + "a" * 2000,
                  ";;;", "application/json\t"]
        for i, body in enumerate(self.garbage_bodies()):
            method, path = targets[i % len(targets)]
            ctype = ctypes[0] if i % 3 else self.rng.choice(ctypes)
            self.send("%s %s body %r (%s)" % (method, path, body[:60], ctype), method, path,
                      body=body, content_type=ctype, headers=admin_headers())
        self.finish()

    def test_garbage_headers(self):
        p = create_product()
        path = product_path(p["id"])
        values = ["garbage", '"', "*, *", '""', "W/", 'W/"x"', "," * 100, "a" * 4000,
                  '"' + "x" * 4000 + '"', ", ".join('"e%d"' % i for i in range(500)), "\x01\x02",
                  "é☕", "W/*", '"unterminated', "\t"]
        values = [v.encode("utf-8") for v in values] + [self.rbytes(1, 60).replace(b"\r", b"")
                                                         .replace(b"\n", b"") for _ in range(20)]
        for v in values:
            self.send("GET If-None-Match %r" % v[:40], "GET", path, headers={"If-None-Match": v})
            self.send("PATCH If-Match %r" % v[:40], "PATCH", path, json_body={"price": 1},
                      headers=admin_headers({"If-Match": v}))
            self.send("GET traceparent %r" % v[:40], "GET", path, headers={"traceparent": v})
            self.send("PATCH Authorization %r" % v[:40], "PATCH", path, json_body={"price": 1},
                      headers={"Authorization": b"Bearer " + v})
            self.send("PATCH Authorization raw %r" % v[:40], "PATCH", path, json_body={"price": 1},
                      headers={"Authorization": v})
        self.send("X-HTTP-Method-Override", "GET", path,
                  headers={"X-HTTP-Method-Override": "DELETE", "X-Method-Override": "DELETE"})
        self.send("many headers", "GET", path, headers={"X-H%d" % i: "v" * 50 for i in range(100)})
        self.send("Content-Encoding gzip", "POST", PRODUCTS, json_body=product_body(),
                  headers=admin_headers({"Content-Encoding": "gzip"}))
        self.send("Expect", "POST", PRODUCTS, json_body=product_body(),
                  headers=admin_headers({"Expect": "100-continue"}))
        self.assertEqual(get(path).status, 200, "header tricks did not delete the product")
        self.finish()

    def test_raw_requests(self):
        host = b"Host: 127.0.0.1\r\n"
        auth = ("Authorization: Bearer %s\r\n" % admin_headers()["Authorization"][7:]).encode()
        body = json.dumps(product_body()).encode()
        cases = [
            ("huge Content-Length, small body",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n"
             + body, True),
            ("Content-Length 60000, small body",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nContent-Length: 60000\r\nConnection: close\r\n\r\n"
             + body, True),
            ("Content-Length beyond 64 bits",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nContent-Length: 99999999999999999999999\r\n"
             b"Connection: close\r\n\r\n" + body, True),
            ("negative Content-Length",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nContent-Length: -1\r\nConnection: close\r\n\r\n"
             + body, True),
            ("two Content-Lengths",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nContent-Length: 5\r\nContent-Length: %d\r\n"
             b"Connection: close\r\n\r\n" % len(body) + body, True),
            ("Content-Length smaller than the body",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
             + body, False),
            ("chunked body",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n", False),
            ("bad chunk size",
             b"POST /api/v1/products HTTP/1.1\r\n" + host + auth +
             b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             b"zz\r\n{}\r\n0\r\n\r\n", True),
            ("raw bytes in query",
             b"GET /api/v1/products?page=\xff\xfe&sort=\x01 HTTP/1.1\r\n" + host +
             b"Connection: close\r\n\r\n", False),
            ("raw bytes in path",
             b"GET /api/v1/products/\xff\xfe HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n", False),
            ("NUL in path",
             b"GET /api/v1/products/1\x00 HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n", False),
            ("NUL in header",
             b"GET /api/v1/products/1 HTTP/1.1\r\n" + host + b"If-None-Match: \"a\x00b\"\r\n"
             b"Connection: close\r\n\r\n", False),
            ("unknown method",
             b"FROB /api/v1/products/1 HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n", False),
            ("OPTIONS",
             b"OPTIONS /api/v1/products/1 HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n", False),
            ("HEAD",
             b"HEAD /api/v1/products/1 HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n", False),
            ("HTTP/1.0 without Host",
             b"GET /api/v1/products/1 HTTP/1.0\r\n\r\n", False),
            ("absolute-form target",
             b"GET http://127.0.0.1/api/v1/products/1 HTTP/1.1\r\n" + host +
             b"Connection: close\r\n\r\n", False),
            ("8 KiB header",
             b"GET /api/v1/products/1 HTTP/1.1\r\n" + host + b"X-Big: " + b"b" * 8000 +
             b"\r\nConnection: close\r\n\r\n", False),
            ("header without colon",
             b"GET /api/v1/products/1 HTTP/1.1\r\n" + host + b"garbage\r\nConnection: close\r\n\r\n",
             False),
            ("garbage request line", self.rbytes(50, 200) + b"\r\n\r\n", True),
        ]
        for what, data, shut in cases:
            self.send_raw(what, data, shutdown_write=shut)
        for i in range(30):
            self.send_raw("random bytes %d" % i, self.rbytes(1, 500), shutdown_write=True)
        self.finish()


if __name__ == "__main__":
    unittest.main()
