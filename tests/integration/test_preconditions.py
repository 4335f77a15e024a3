"""Conditional writes end to end (docs/catalog-api.md, "Preconditions"): every
unsafe method honours If-Match (strong) and If-None-Match (weak) with 412, a
malformed header is 400 invalid_header, and the check is made on the locked row
inside the write's transaction."""

import threading
import unittest

from arcadetest import (API, ArcadeTestCase, admin_headers, create_product, delete, get,
                        parallel, patch, post, product_body, product_path, put, unique_slug)

PRODUCTS = API + "/products"
UNKNOWN_ID = 999_999_999

# Well-formed? No: each is a 400 invalid_header on every unsafe method. (An
# empty value is one too, but lighttpd does not pass it on: see
# test_empty_if_match_is_not_absent.)
MALFORMED = [
    ("only commas", ", ,"),
    ("garbage", "garbage"),
    ("unquoted", "p1-v1"),
    ("unterminated quote", '"p1-v1'),
    ("two tags without a comma", '"a" "b"'),
    ("garbage after a tag", '"a"x'),
    ("star in a list", '*, "a"'),
    ("lower-case weak prefix", 'w/"a"'),
]


def inventory(pid, on_hand, headers=None):
    return put(product_path(pid) + "/inventory", {"on_hand": on_hand},
               headers=admin_headers(headers))


class PreconditionTestCase(ArcadeTestCase):

    def current(self, pid):
        """(ETag, product) of an active product as readers see it."""
        r = get(product_path(pid))
        self.assertStatus(r, 200)
        return self.assertEtag(r), r.json

    def stale_product(self, **fields):
        """A product written once after its first ETag: (product id, stale ETag,
        current ETag)."""
        p = create_product(**fields)
        stale, _ = self.current(p["id"])
        r = patch(product_path(p["id"]), {"price": 1234}, headers=admin_headers())
        self.assertStatus(r, 200)
        fresh = self.assertEtag(r)
        self.assertNotEqual(stale, fresh)
        return p["id"], stale, fresh

    def assertUnchanged(self, pid, etag, msg):
        now, _ = self.current(pid)
        self.assertEqual(now, etag, "%s: the ETag moved, so something was written" % msg)

    def assert412(self, r, msg=None):
        self.assertError(r, 412, "precondition_failed", msg=msg)
        self.assertIsNone(r.header("ETag"), "a 412 carries no ETag of a write: %r" % (r,))


class IfMatchTests(PreconditionTestCase):

    def test_put_inventory_with_stale_if_match_is_412(self):
        pid, stale, fresh = self.stale_product(on_hand=5)
        r = inventory(pid, 50, {"If-Match": stale})
        self.assert412(r)
        self.assertUnchanged(pid, fresh, "PUT inventory with a stale If-Match")
        self.assertEqual(self.current(pid)[1]["stock"], 5)

        r = inventory(pid, 51, {"If-Match": '"nope", %s' % fresh})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["stock"], 51)
        newer = self.assertEtag(r)
        self.assertNotEqual(newer, fresh)
        self.assert412(inventory(pid, 52, {"If-Match": fresh}), "the ETag just changed")
        self.assert412(inventory(pid, 53, {"If-Match": "W/" + newer}),
                       "If-Match compares strongly: a weak tag never matches")
        r = inventory(pid, 54, {"If-Match": "*"})
        self.assertStatus(r, 200)
        self.assertEqual(self.current(pid)[1]["stock"], 54)

    def test_delete_with_stale_if_match_is_412(self):
        pid, stale, fresh = self.stale_product()
        r = delete(product_path(pid), headers=admin_headers({"If-Match": stale}))
        self.assert412(r)
        self.assertUnchanged(pid, fresh, "DELETE with a stale If-Match")
        self.assert412(delete(product_path(pid), headers=admin_headers({"If-Match": "W/" + fresh})))
        self.assertUnchanged(pid, fresh, "DELETE with a weak If-Match")

        r = delete(product_path(pid), headers=admin_headers({"If-Match": fresh}))
        self.assertStatus(r, 204)
        self.assertError(get(product_path(pid)), 404, "not_found")

    def test_patch_with_stale_if_match_is_412(self):
        pid, stale, fresh = self.stale_product()
        self.assert412(patch(product_path(pid), {"price": 9}, headers=admin_headers(
            {"If-Match": stale})))
        self.assertUnchanged(pid, fresh, "PATCH with a stale If-Match")
        r = patch(product_path(pid), {"price": 9}, headers=admin_headers({"If-Match": fresh}))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["price"], 9)

    def test_inactive_product_keeps_its_etag(self):
        # Writes reach inactive products; their preconditions use the ETag the
        # last write answered (a GET is 404 for them).
        p = create_product(on_hand=1)
        self.assertStatus(delete(product_path(p["id"]), headers=admin_headers()), 204)
        r = inventory(p["id"], 2)
        self.assertStatus(r, 200)
        etag = self.assertEtag(r)
        r = inventory(p["id"], 3, {"If-Match": etag})
        self.assertStatus(r, 200)
        self.assert412(inventory(p["id"], 4, {"If-Match": etag}))
        self.assert412(delete(product_path(p["id"]), headers=admin_headers({"If-Match": etag})))
        r = delete(product_path(p["id"]), headers=admin_headers({"If-Match": r.header("ETag")}))
        self.assertStatus(r, 204, "deleting an inactive product with its current ETag")


class IfNoneMatchTests(PreconditionTestCase):

    def test_if_none_match_star_on_patch_of_existing_product_is_412(self):
        p = create_product(price=100)
        etag, _ = self.current(p["id"])
        r = patch(product_path(p["id"]), {"price": 200},
                  headers=admin_headers({"If-None-Match": "*"}))
        self.assert412(r)
        self.assertUnchanged(p["id"], etag, "PATCH with If-None-Match: *")
        self.assertEqual(self.current(p["id"])[1]["price"], 100)

    def test_matching_if_none_match_is_412_on_every_write(self):
        p = create_product(on_hand=3)
        etag, _ = self.current(p["id"])
        for value in ("*", etag, "W/" + etag, '"other", ' + etag):
            with self.subTest(if_none_match=value):
                h = {"If-None-Match": value}
                self.assert412(patch(product_path(p["id"]), {"price": 7},
                                     headers=admin_headers(h)), "PATCH")
                self.assert412(inventory(p["id"], 8, h), "PUT inventory")
                self.assert412(delete(product_path(p["id"]), headers=admin_headers(h)), "DELETE")
                self.assertUnchanged(p["id"], etag, "If-None-Match %s" % value)

    def test_other_tags_in_if_none_match_let_the_write_through(self):
        pid, stale, fresh = self.stale_product(on_hand=3)
        r = inventory(pid, 9, {"If-None-Match": stale})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["stock"], 9)
        r = patch(product_path(pid), {"price": 11},
                  headers=admin_headers({"If-None-Match": '"a", W/"b"'}))
        self.assertStatus(r, 200)
        current = self.assertEtag(r)
        r = delete(product_path(pid), headers=admin_headers({"If-None-Match": stale}))
        self.assertStatus(r, 204)
        self.assertNotEqual(current, stale)

    def test_both_headers_must_hold(self):
        p = create_product()
        etag, _ = self.current(p["id"])
        h = {"If-Match": etag, "If-None-Match": etag}
        self.assert412(patch(product_path(p["id"]), {"price": 5}, headers=admin_headers(h)))
        h = {"If-Match": etag, "If-None-Match": '"p0-v0"'}
        self.assertStatus(patch(product_path(p["id"]), {"price": 5}, headers=admin_headers(h)),
                          200)


class MalformedHeaderTests(PreconditionTestCase):

    def test_malformed_headers_are_400_and_change_nothing(self):
        for header in ("If-Match", "If-None-Match"):
            for name, value in MALFORMED:
                with self.subTest(header=header, case=name, value=value):
                    p = create_product(on_hand=4)
                    etag, _ = self.current(p["id"])
                    h = {header: value}
                    calls = [
                        ("PATCH", patch(product_path(p["id"]), {"price": 1},
                                        headers=admin_headers(h))),
                        ("PUT inventory", inventory(p["id"], 1, h)),
                        ("DELETE", delete(product_path(p["id"]), headers=admin_headers(h))),
                    ]
                    for what, r in calls:
                        err = self.assertError(r, 400, "invalid_header", msg=what)
                        self.assertIn(header, err["message"], "the message names the header")
                    self.assertUnchanged(p["id"], etag, "%s %r" % (header, value))
                    self.assertEqual(self.current(p["id"])[1]["stock"], 4)

    # An empty If-Match is malformed (400), not absent: the service says so
    # (unit.precond_test; through Apache in test_apache). lighttpd 1.4.69 drops a
    # header field whose value is empty (or only white space) while parsing the
    # request, before conditions and backends see it, so through lighttpd the
    # request arrives without If-Match and the write goes ahead.
    @unittest.expectedFailure
    def test_empty_if_match_is_not_absent(self):
        p = create_product(on_hand=2)
        etag, _ = self.current(p["id"])
        self.assertError(inventory(p["id"], 3, {"If-Match": ""}), 400, "invalid_header")
        self.assertError(delete(product_path(p["id"]), headers=admin_headers({"If-Match": ""})),
                         400, "invalid_header")
        self.assertUnchanged(p["id"], etag, "an empty If-Match")

    def test_order_of_checks(self):
        # Credentials come first, then the header's syntax, then the body; an
        # unknown product is 404 whatever the preconditions say.
        bad = {"If-Match": '"open'}
        r = put(product_path(1) + "/inventory", {"on_hand": 1}, headers=bad)
        self.assertError(r, 401, "unauthorized")
        r = put(product_path(1) + "/inventory", body="{", content_type="application/json",
                headers=admin_headers(bad))
        self.assertError(r, 400, "invalid_header")
        r = inventory(UNKNOWN_ID, 1, {"If-Match": '"p1-v1"'})
        self.assertError(r, 404, "not_found")
        r = delete(product_path(UNKNOWN_ID), headers=admin_headers({"If-None-Match": "*"}))
        self.assertError(r, 404, "not_found")
        r = patch(product_path(UNKNOWN_ID), {"price": 1},
                  headers=admin_headers({"If-Match": "*"}))
        self.assertError(r, 404, "not_found")

    def test_reads_ignore_a_malformed_if_none_match(self):
        p = create_product()
        etag, _ = self.current(p["id"])
        r = get(product_path(p["id"]), headers={"If-None-Match": '"open'})
        self.assertStatus(r, 200)
        r = get(product_path(p["id"]), headers={"If-None-Match": etag + " garbage"})
        self.assertStatus(r, 200, "a malformed list matches nothing")


class CreateTests(PreconditionTestCase):
    """A POST's target is the collection: it exists and has no entity tag."""

    def test_post_products(self):
        for h, status in (({"If-None-Match": "*"}, 412), ({"If-Match": '"p1-v1"'}, 412),
                          ({"If-Match": "*"}, 201), ({"If-None-Match": '"x"'}, 201),
                          ({"If-Match": '"open'}, 400), ({"If-None-Match": "nope"}, 400)):
            with self.subTest(headers=h):
                body = product_body()
                r = post(PRODUCTS, body, headers=admin_headers(h))
                self.assertStatus(r, status)
                if status != 201:
                    self.assertError(r, status, {412: "precondition_failed",
                                                 400: "invalid_header"}[status])
                    r = post(PRODUCTS, body, headers=admin_headers())
                    self.assertStatus(r, 201, "a refused create created nothing: the sku is free")

    def test_post_categories(self):
        body = {"slug": unique_slug(), "name": "Conditional"}
        r = post(API + "/categories", body, headers=admin_headers({"If-None-Match": "*"}))
        self.assertError(r, 412, "precondition_failed")
        r = post(API + "/categories", body, headers=admin_headers({"If-Match": "'x'"}))
        self.assertError(r, 400, "invalid_header")
        self.assertError(get(API + "/categories/" + body["slug"]), 404, "not_found")
        r = post(API + "/categories", body, headers=admin_headers({"If-Match": "*"}))
        self.assertStatus(r, 201)


class ConcurrencyTests(PreconditionTestCase):

    N = 20

    def test_parallel_inventory_writes_with_one_etag_have_one_winner(self):
        # All N requests carry the same, current ETag: the check runs on the
        # locked row, so the first write moves the ETag and every other one
        # sees the new one and is refused. Checked outside the lock, several
        # would pass and overwrite each other.
        p = create_product(on_hand=1)
        etag, _ = self.current(p["id"])
        start = threading.Barrier(self.N)

        def one(i):
            start.wait(timeout=10)
            return inventory(p["id"], 1000 + i, {"If-Match": etag})

        results = parallel(one, range(self.N), workers=self.N)
        for i, r in enumerate(results):
            if isinstance(r, Exception):
                self.fail("request %d raised %r" % (i, r))
        ok = [(i, r) for i, r in enumerate(results) if 200 <= r.status < 300]
        refused = [r for r in results if r.status == 412]
        self.assertEqual(len(ok), 1, "exactly one write wins, got %d: %s"
                         % (len(ok), [(i, r.json.get("stock")) for i, r in ok]))
        self.assertEqual(len(refused), self.N - 1,
                         "the others are 412: %r" % [r for r in results if r.status != 412][:3])
        for r in refused:
            self.assertError(r, 412, "precondition_failed")
        winner, w = ok[0]
        self.assertEqual(w.json["stock"], 1000 + winner)
        now, product = self.current(p["id"])
        self.assertEqual(product["stock"], 1000 + winner, "the winner's value stays")
        self.assertEqual(now, w.header("ETag"), "the current ETag is the one the winner answered")
        v0 = int(etag.strip('"').rsplit("-v", 1)[1])
        v1 = int(now.strip('"').rsplit("-v", 1)[1])
        self.assertEqual(v1, v0 + 1, "exactly one write happened")


if __name__ == "__main__":
    unittest.main()
