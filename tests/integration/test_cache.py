"""Caching end to end: a read after a write is never stale, on any worker; a
cache that is down makes the fleet slower, never wrong or broken
(docs/catalog-api.md "Health"; design: "Caching").

The pool has several single-threaded workers, and each may keep its own copy of
a product (memcached, and possibly a per-process cache). Reads are sent
concurrently so that they spread over the workers, and the workers are warmed
with the old value before each write, so that a worker that missed the
invalidation shows up as a stale read.
"""

import collections
import json
import threading
import time
import unittest

from arcadetest import (API, HEALTH, ArcadeTestCase, admin_headers, arcade, create_category,
                        create_product, delete, get, parallel, patch, product_path, put,
                        wait_until)

READS = 60  # reads after each write (concurrent), plus SEQUENTIAL one after another
SEQUENTIAL = 10
SLOW_READ_S = 2.0  # a read while memcached is down must not stall on cache timeouts


def health():
    r = get(HEALTH)
    return r


def checks_of(doc):
    """A health answer without its details (the outbox backlog moves with every write)."""
    return {k: v for k, v in doc.items() if k != "details"} if isinstance(doc, dict) else doc


def health_is(status, cache):
    def pred():
        r = health()
        if isinstance(r.json, dict) and r.json.get("status") == status and \
                (r.json.get("checks") or {}).get("cache") == cache:
            return r
        return None
    return pred


class CacheTestCase(ArcadeTestCase):

    def read_many(self, path, headers=None, n=READS, sequential=SEQUENTIAL):
        def one(_):
            t0 = time.monotonic()
            r = get(path, headers=headers)
            r.elapsed = time.monotonic() - t0
            return r
        results = parallel(one, range(n), workers=16)
        results += [one(i) for i in range(sequential)]
        return results

    def assertAllReads(self, results, check, what):
        """check(r) raises AssertionError for a wrong read; all must pass."""
        bad = []
        for i, r in enumerate(results):
            if isinstance(r, Exception):
                bad.append("#%d: %r" % (i, r))
                continue
            try:
                check(r)
            except AssertionError as e:
                bad.append("#%d: %s" % (i, str(e).splitlines()[0][:300]))
        if bad:
            self.fail("%s: %d of %d reads wrong, e.g.\n  %s"
                      % (what, len(bad), len(results), "\n  ".join(bad[:5])))

    def warm(self, pid):
        etag = None
        results = self.read_many(product_path(pid))

        def ok(r):
            self.assertEqual(r.status, 200, r)
        self.assertAllReads(results, ok, "warming product %d" % pid)
        etag = results[0].header("ETag")
        return etag

    def assertAllShow(self, pid, expect, etag=None, what="read after write"):
        """Every read (concurrent and sequential) is 200 with the expected field
        values (and the ETag of the write)."""
        def check(r):
            self.assertEqual(r.status, 200, r)
            for k, v in expect.items():
                self.assertEqual(r.json.get(k), v, "%s: %r" % (k, r))
            if etag is not None:
                self.assertEqual(r.header("ETag"), etag, "ETag of %r" % (r,))
        self.assertAllReads(self.read_many(product_path(pid)), check, what)


class ReadAfterWriteTests(CacheTestCase):

    def test_patch_name(self):
        p = create_product(name="Before")
        self.warm(p["id"])
        for i in range(5):
            with self.subTest(round=i):
                r = patch(product_path(p["id"]), {"name": "After %d ☕" % i}, headers=admin_headers())
                self.assertStatus(r, 200)
                self.assertAllShow(p["id"], {"name": "After %d ☕" % i}, r.header("ETag"),
                                   "name after PATCH round %d" % i)

    def test_patch_price(self):
        p = create_product(price=100)
        self.warm(p["id"])
        for i, price in enumerate((200, 150, 999_999_999_999, 0, 4999)):
            with self.subTest(price=price):
                r = patch(product_path(p["id"]), {"price": price}, headers=admin_headers())
                self.assertStatus(r, 200)
                self.assertAllShow(p["id"], {"price": price}, r.header("ETag"),
                                   "price after PATCH round %d" % i)

    def test_put_inventory(self):
        p = create_product(on_hand=10)
        self.warm(p["id"])
        for n in (11, 0, 500, 3):
            with self.subTest(on_hand=n):
                r = put(product_path(p["id"]) + "/inventory", {"on_hand": n},
                        headers=admin_headers())
                self.assertStatus(r, 200)
                self.assertAllShow(p["id"], {"stock": n}, r.header("ETag"),
                                   "stock after PUT inventory %d" % n)

    def test_delete_is_404_at_once_and_reactivate(self):
        p = create_product(price=321)
        for i in range(2):
            with self.subTest(round=i):
                self.warm(p["id"])
                self.assertStatus(delete(product_path(p["id"]), headers=admin_headers()), 204)

                def gone(r):
                    self.assertEqual(r.status, 404, r)
                self.assertAllReads(self.read_many(product_path(p["id"])), gone,
                                    "GET after DELETE")
                r = patch(product_path(p["id"]), {"active": True}, headers=admin_headers())
                self.assertStatus(r, 200)
                self.assertAllShow(p["id"], {"price": 321, "active": True}, r.header("ETag"),
                                   "GET after reactivation")

    def test_old_etag_never_304_after_write(self):
        p = create_product(price=1)
        old = self.warm(p["id"])

        def not_modified(r):
            self.assertEqual(r.status, 304, r)
        self.assertAllReads(self.read_many(product_path(p["id"]), {"If-None-Match": old}),
                            not_modified, "If-None-Match before the write")
        r = patch(product_path(p["id"]), {"price": 2}, headers=admin_headers())
        self.assertStatus(r, 200)

        def fresh(r):
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["price"], 2, r)
        self.assertAllReads(self.read_many(product_path(p["id"]), {"If-None-Match": old}),
                            fresh, "If-None-Match with the old ETag after the write")

    def test_list_after_write(self):
        cat = create_category()
        p = create_product(category=cat["slug"], name="listed before", price=5)
        path = API + "/products?category=" + cat["slug"]
        parallel(lambda _: get(path), range(30))
        r = patch(product_path(p["id"]), {"name": "listed after", "price": 6},
                  headers=admin_headers())
        self.assertStatus(r, 200)

        def check(r):
            self.assertEqual(r.status, 200, r)
            self.assertEqual([(x["id"], x["name"], x["price"]) for x in r.json["items"]],
                             [(p["id"], "listed after", 6)], r)
        self.assertAllReads(self.read_many(path), check, "list after PATCH")

    def test_reads_racing_writes(self):
        """Readers run while a writer raises the price step by step. A read that
        starts after PATCH k returned must show a price >= k; at the end every
        read shows the last price (a reader that filled the cache with an old
        value after the invalidation would be caught here)."""
        p = create_product(price=0)
        steps = 40
        acked = []  # (monotonic time when PATCH k returned, k)
        reads = []  # (start time, status, price or None)
        stop = threading.Event()
        lock = threading.Lock()

        def reader():
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    r = get(product_path(p["id"]))
                    item = (t0, r.status, r.json.get("price") if isinstance(r.json, dict) else None)
                except OSError as e:
                    item = (t0, repr(e), None)
                with lock:
                    reads.append(item)

        threads = [threading.Thread(target=reader, daemon=True) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            for k in range(1, steps + 1):
                r = patch(product_path(p["id"]), {"price": k}, headers=admin_headers())
                self.assertStatus(r, 200)
                acked.append((time.monotonic(), k))
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        self.assertGreater(len(reads), steps, "readers made progress")
        bad = []
        for t0, status, price in reads:
            floor = max([k for t, k in acked if t < t0], default=0)
            if status != 200 or price is None or price < floor:
                bad.append((status, price, floor))
        self.assertEqual(bad, [], "stale or failed reads (status, price, lowest allowed) "
                                  "out of %d" % len(reads))
        self.assertAllShow(p["id"], {"price": steps}, what="after the race")


class MemcachedDownTests(CacheTestCase):
    """`arcade svc stop memcached` / `arcade svc start memcached`: always started
    again, and the fleet healthy again, when a test ends."""

    def stop_memcached(self):
        arcade("svc", "stop", "memcached")
        self.addCleanup(self.ensure_memcached)

    def ensure_memcached(self):
        cp = arcade("svc", "start", "memcached", check=False)
        wait_until(health_is("ok", "ok"), timeout=15,
                   message="health ok after `arcade svc start memcached` (exit %d: %s)"
                   % (cp.returncode, (cp.stderr or "").strip()[-300:]))

    def assertSteadyHealth(self, status, cache, n=20):
        """n health checks in a row (spread over the workers) all say so."""
        results = parallel(lambda _: health(), range(n), workers=8)
        results += [health() for _ in range(n)]
        got = [(r.status, checks_of(r.json)) if not isinstance(r, Exception) else repr(r)
               for r in results]
        want = (200, {"status": status, "checks": {"db": "ok", "cache": cache, "broker": "ok"}})
        wrong = collections.Counter(json.dumps(g) for g in got if g != want)
        self.assertEqual(dict(wrong), {}, "%d of %d health checks are not %r"
                         % (sum(wrong.values()), len(got), want))

    def assertDegraded(self):
        r = wait_until(health_is("degraded", "unavailable"), timeout=10,
                       message="/health/catalog to report the cache down")
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(checks_of(r.json), {"status": "degraded",
                                             "checks": {"db": "ok", "cache": "unavailable",
                                                        "broker": "ok"}})
        # Not just once: every health check while memcached is down says so.
        self.assertSteadyHealth("degraded", "unavailable")

    def assertFast(self, results):
        slow = [round(r.elapsed, 2) for r in results
                if not isinstance(r, Exception) and r.elapsed > SLOW_READ_S]
        self.assertEqual(slow, [], "reads slower than %ss with memcached down" % SLOW_READ_S)

    def test_reads_and_writes_while_down(self):
        cat = create_category()
        p = create_product(price=10, name="cached", category=cat["slug"], on_hand=4)
        self.warm(p["id"])
        self.stop_memcached()
        self.assertDegraded()

        results = self.read_many(product_path(p["id"]))
        self.assertAllReads(results, lambda r: self.assertEqual(
            (r.status, r.json["price"], r.json["name"]), (200, 10, "cached"), r),
            "reads with memcached down")
        self.assertFast(results)

        r = patch(product_path(p["id"]), {"price": 11, "name": "patched while down"},
                  headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertAllShow(p["id"], {"price": 11, "name": "patched while down"},
                           r.header("ETag"), "PATCH with memcached down")

        r = put(product_path(p["id"]) + "/inventory", {"on_hand": 9}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertAllShow(p["id"], {"stock": 9}, r.header("ETag"), "inventory with memcached down")

        q = create_product(price=77, category=cat["slug"])
        self.assertAllShow(q["id"], {"price": 77}, what="new product with memcached down")
        lst = get(API + "/products?category=%s&sort=price" % cat["slug"])
        self.assertStatus(lst, 200)
        self.assertEqual([x["id"] for x in lst.json["items"]], [p["id"], q["id"]])

        self.assertStatus(delete(product_path(q["id"]), headers=admin_headers()), 204)

        def gone(r):
            self.assertEqual(r.status, 404, r)
        self.assertAllReads(self.read_many(product_path(q["id"])), gone,
                            "DELETE with memcached down")
        self.assertStatus(get(product_path(1)), 200)
        self.assertStatus(get(API + "/categories"), 200)

        # Back up: healthy within a few seconds, and still correct.
        arcade("svc", "start", "memcached")
        r = wait_until(health_is("ok", "ok"), timeout=15,
                       message="/health/catalog ok after memcached started")
        self.assertEqual(checks_of(r.json),
                         {"status": "ok", "checks": {"db": "ok", "cache": "ok", "broker": "ok"}})
        self.assertAllShow(p["id"], {"price": 11, "name": "patched while down", "stock": 9},
                           what="reads after memcached came back")
        self.assertAllReads(self.read_many(product_path(q["id"])), gone,
                            "deleted product after memcached came back")
        r = patch(product_path(p["id"]), {"price": 12}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertAllShow(p["id"], {"price": 12}, r.header("ETag"),
                           "PATCH after memcached came back")

    def test_writes_while_down_are_not_undone_by_old_cache_entries(self):
        """Values cached before the outage must not come back after it."""
        p = create_product(price=1)
        self.warm(p["id"])
        self.stop_memcached()
        self.assertDegraded()
        for price in (2, 3):
            r = patch(product_path(p["id"]), {"price": price}, headers=admin_headers())
            self.assertStatus(r, 200)
        self.assertAllShow(p["id"], {"price": 3}, what="during the outage")
        arcade("svc", "start", "memcached")
        wait_until(health_is("ok", "ok"), timeout=15, message="health ok again")
        self.assertAllShow(p["id"], {"price": 3}, what="after the outage")

    def test_health_degraded_then_ok(self):
        self.stop_memcached()
        self.assertDegraded()
        arcade("svc", "start", "memcached")
        r = wait_until(health_is("ok", "ok"), timeout=15,
                       message="/health/catalog ok after memcached started")
        self.assertStatus(r, 200)
        self.assertEqual(checks_of(r.json),
                         {"status": "ok", "checks": {"db": "ok", "cache": "ok", "broker": "ok"}})
        self.assertSteadyHealth("ok", "ok")


if __name__ == "__main__":
    unittest.main()
