"""The orders service's cart, through the web server against the whole fleet
(docs/orders-api.md): priced from the catalog's internal lookup at read time,
one currency per cart, at most 50 lines even under concurrent writes, and the
catalog's internal lookup only on the internal listener."""

import time
import unittest

from arcadetest import (API, ArcadeTestCase, admin_headers, arcade, create_product, delete, get,
                        internal_url, new_customer, parallel, patch, put, wait_until)

CART = API + "/cart"
LINES_MAX = 50
LINE_FIELDS = {"product_id", "sku", "name", "unit_price", "currency", "quantity",
               "line_total", "available"}


def item_path(pid):
    return "%s/items/%d" % (CART, pid)


def products(n, **fields):
    """n fresh products (created in parallel), in id order."""
    made = parallel(lambda _: create_product(**fields), range(n), workers=8)
    for p in made:
        if isinstance(p, Exception):
            raise p
    return sorted(made, key=lambda p: p["id"])


class CartTest(ArcadeTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_customer()
        cls.bob = new_customer()

    def setUp(self):
        for who in (self.alice, self.bob):
            self.assertStatus(delete(CART, headers=who.headers), 204)

    def cart(self, who):
        r = get(CART, headers=who.headers)
        self.assertStatus(r, 200)
        return r.json

    def test_empty_cart(self):
        self.assertEqual(self.cart(self.alice),
                         {"items": [], "count": 0, "total": 0, "currency": None})

    def test_put_get_and_remove_priced_from_the_catalog(self):
        a = create_product(price=1250, on_hand=5)
        b = create_product(price=99, on_hand=100)
        h = self.alice.headers
        r = put(item_path(a["id"]), {"quantity": 2}, headers=h)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["count"], 1)
        line = r.json["items"][0]
        self.assertEqual(set(line), LINE_FIELDS)
        self.assertEqual(line, {"product_id": a["id"], "sku": a["sku"], "name": a["name"],
                                "unit_price": 1250, "currency": "EUR", "quantity": 2,
                                "line_total": 2500, "available": True})
        self.assertEqual((r.json["total"], r.json["currency"]), (2500, "EUR"))

        r = put(item_path(b["id"]), {"quantity": 3}, headers=h)
        self.assertStatus(r, 200)
        self.assertEqual([i["product_id"] for i in r.json["items"]], [a["id"], b["id"]])
        self.assertEqual((r.json["count"], r.json["total"]), (2, 2500 + 297))
        # the quantity is set, not added; the line keeps its place
        r = put(item_path(a["id"]), {"quantity": 1}, headers=h)
        self.assertEqual([(i["product_id"], i["quantity"]) for i in r.json["items"]],
                         [(a["id"], 1), (b["id"], 3)])
        # priced at read time: a new price shows at once
        self.assertStatus(patch("%s/products/%d" % (API, b["id"]), {"price": 100},
                                headers=admin_headers()), 200)
        c = self.cart(self.alice)
        self.assertEqual((c["items"][1]["unit_price"], c["total"]), (100, 1250 + 300))
        # 0 removes; DELETE removes; both answer the cart
        r = put(item_path(a["id"]), {"quantity": 0}, headers=h)
        self.assertStatus(r, 200)
        self.assertEqual([i["product_id"] for i in r.json["items"]], [b["id"]])
        r = delete(item_path(b["id"]), headers=h)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"items": [], "count": 0, "total": 0, "currency": None})
        r = delete(item_path(b["id"]), headers=h)  # not there: still the cart
        self.assertStatus(r, 200)

    def test_carts_are_per_user(self):
        p = create_product()
        self.assertStatus(put(item_path(p["id"]), {"quantity": 1}, headers=self.alice.headers),
                          200)
        self.assertEqual(self.cart(self.bob)["count"], 0)
        self.assertEqual(self.cart(self.alice)["count"], 1)
        self.assertStatus(delete(CART, headers=self.alice.headers), 204)
        self.assertEqual(self.cart(self.alice)["count"], 0)

    def test_unavailable_lines_and_unknown_products(self):
        short = create_product(on_hand=1)
        gone = create_product(on_hand=10)
        h = self.alice.headers
        self.assertStatus(put(item_path(short["id"]), {"quantity": 3}, headers=h), 200)
        self.assertStatus(put(item_path(gone["id"]), {"quantity": 1}, headers=h), 200)
        self.assertStatus(delete("%s/products/%d" % (API, gone["id"]), headers=admin_headers()),
                          204)
        c = self.cart(self.alice)
        self.assertEqual([(i["product_id"], i["available"]) for i in c["items"]],
                         [(short["id"], False), (gone["id"], False)])
        # an inactive or unknown product cannot be put in
        self.assertError(put(item_path(gone["id"]), {"quantity": 1}, headers=h), 404, "not_found")
        self.assertError(put(item_path(999999999), {"quantity": 1}, headers=h), 404, "not_found")

    def test_one_currency_per_cart(self):
        eur = create_product(currency="EUR")
        usd = create_product(currency="USD")
        h = self.alice.headers
        self.assertStatus(put(item_path(eur["id"]), {"quantity": 1}, headers=h), 200)
        self.assertError(put(item_path(usd["id"]), {"quantity": 1}, headers=h), 409,
                         "currency_mismatch")
        self.assertEqual(self.cart(self.alice)["count"], 1)
        self.assertStatus(delete(item_path(eur["id"]), headers=h), 200)
        r = put(item_path(usd["id"]), {"quantity": 1}, headers=h)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["currency"], "USD")

    def test_bad_input(self):
        p = create_product()
        h = self.alice.headers
        for body in ({}, {"quantity": 100}, {"quantity": -1}, {"quantity": "1"},
                     {"quantity": 1.5}, {"quantity": None}):
            self.assertError(put(item_path(p["id"]), body, headers=h), 422, "validation_failed",
                             field="quantity")
        self.assertStatus(put(item_path(p["id"]), body="{", content_type="application/json",
                              headers=h), 400)
        self.assertStatus(put(item_path(p["id"]), {"quantity": 1}, content_type="text/plain",
                              headers=h), 415)
        self.assertStatus(put(CART + "/items/x", {"quantity": 1}, headers=h), 400)
        self.assertStatus(get(CART), 401)
        self.assertStatus(get(CART, headers=admin_headers()), 403)
        self.assertEqual(self.cart(self.alice)["count"], 0)

    def test_parallel_puts_lose_no_line(self):
        ps = products(20, on_hand=10)
        h = self.bob.headers
        rs = parallel(lambda p: put(item_path(p["id"]), {"quantity": 2}, headers=h), ps,
                      workers=20)
        self.assertEqual([r.status for r in rs], [200] * 20, rs)
        c = self.cart(self.bob)
        self.assertEqual(sorted(i["product_id"] for i in c["items"]), [p["id"] for p in ps])
        self.assertEqual(c["total"], 20 * 2 * 1000)

    def test_line_limit_holds_under_concurrency(self):
        ps = products(LINES_MAX - 5 + 20, on_hand=10)
        h = self.alice.headers
        first, rest = ps[:LINES_MAX - 5], ps[LINES_MAX - 5:]
        rs = parallel(lambda p: put(item_path(p["id"]), {"quantity": 1}, headers=h), first,
                      workers=8)
        self.assertEqual({r.status for r in rs}, {200})
        rs = parallel(lambda p: put(item_path(p["id"]), {"quantity": 1}, headers=h), rest,
                      workers=20)
        statuses = sorted(r.status for r in rs)
        self.assertEqual(statuses, [200] * 5 + [422] * 15, rs)
        for r in rs:
            if r.status == 422:
                self.assertError(r, 422, "cart_full")
        c = self.cart(self.alice)
        self.assertEqual(c["count"], LINES_MAX)
        self.assertTrue(all(i["available"] for i in c["items"]))
        # a full cart still takes a new quantity of a line it has
        r = put(item_path(first[0]["id"]), {"quantity": 7}, headers=h)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["count"], LINES_MAX)

    def test_lookup_only_on_the_internal_listener(self):
        p = create_product(price=4321, on_hand=3)
        path = "/internal/v1/products/lookup?ids=%d" % p["id"]
        self.assertStatus(get(path), 404)
        r = get(path, base=internal_url())
        self.assertStatus(r, 200)
        self.assertEqual(r.json["items"], [{"id": p["id"], "sku": p["sku"], "name": p["name"],
                                            "price": 4321, "currency": "EUR", "active": True,
                                            "available": 3}])
        self.assertStatus(get("/internal/v1/products/lookup?ids=a", base=internal_url()), 400)

    def test_health(self):
        r = get("/health/orders")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "ok", r.json)
        self.assertEqual(r.json["checks"]["catalog"], "ok")
        self.assertEqual(r.json["checks"]["db"], "ok")

    def test_status_shows_the_pool(self):
        out = arcade("status", check=False).stdout
        rows = [line.split() for line in out.splitlines()]
        self.assertTrue(any(row[:2] == ["orders", "running"] and "ok" in row for row in rows),
                        out)


class CatalogDownTest(ArcadeTestCase):
    """The catalog's pool stopped: pricing a cart is 503 with Retry-After, fast (the
    web server has no backend; after a few failures each orders worker's breaker
    answers without a call), emptying still works, and carts come back with it."""

    def test_catalog_stopped_is_503_then_recovers(self):
        who = new_customer()
        p = create_product(on_hand=5)
        self.assertStatus(put(item_path(p["id"]), {"quantity": 1}, headers=who.headers), 200)
        self.addCleanup(lambda: arcade("svc", "start", "catalog", check=False))
        arcade("svc", "stop", "catalog")
        for _ in range(12):
            t0 = time.monotonic()
            r = get(CART, headers=who.headers)
            self.assertError(r, 503, "unavailable")
            self.assertGreaterEqual(int(r.header("Retry-After")), 1)
            self.assertLess(time.monotonic() - t0, 1.5)
            self.assertError(put(item_path(p["id"]), {"quantity": 2}, headers=who.headers), 503,
                             "unavailable")
        self.assertEqual(get("/health/orders").json["checks"]["catalog"], "unavailable")
        # what needs no price still works
        self.assertStatus(delete(item_path(p["id"]), headers=who.headers), 200)
        arcade("svc", "start", "catalog")
        # every worker's breaker lets a trial through after its cool-down (5 s)
        wait_until(lambda: put(item_path(p["id"]), {"quantity": 2},
                               headers=who.headers).status == 200,
                   timeout=20, message="the cart to be priced again")

        def priced():
            r = get(CART, headers=who.headers)
            return r.status == 200 and [(i["product_id"], i["quantity"], i["available"])
                                        for i in r.json["items"]] == [(p["id"], 2, True)]
        # another worker's breaker may still be in its cool-down: the next GETs retry
        wait_until(priced, timeout=20, message="every worker to price the cart")


if __name__ == "__main__":
    unittest.main()
