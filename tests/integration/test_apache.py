"""Smoke run through Apache (`arcade svc start apache`, ARCADE_APACHE_PORT): the
same service behind the other supported web server. Apache is stopped again
when the module ends."""

import json
import unittest

from arcadetest import (API, HEALTH, ArcadeTestCase, admin_headers, apache_url, arcade,
                        create_category, get, new_traceparent, parse_allow, patch, post,
                        product_body, product_path, request, resolve_location, wait_until)

PRODUCTS = API + "/products"


class ApacheTests(ArcadeTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        arcade("svc", "start", "apache")
        try:
            cls.base = apache_url(reload=True)
            wait_until(lambda: get(HEALTH, base=cls.base).status == 200, timeout=15,
                       message="Apache at %s to answer" % cls.base)
        except BaseException:
            arcade("svc", "stop", "apache", check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        arcade("svc", "stop", "apache")
        super().tearDownClass()

    def test_get_product(self):
        r = get(product_path(1), base=self.base)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertProduct(r.json, {"id": 1})
        etag = self.assertEtag(r)
        self.assertTraceparent(r)
        c = get(product_path(1), base=self.base, headers={"If-None-Match": etag})
        self.assertStatus(c, 304)
        self.assertEqual(c.body, b"")

    def test_list(self):
        r = get(PRODUCTS + "?per_page=5&sort=price", base=self.base)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["per_page"], 5)
        self.assertEqual(len(r.json["items"]), min(5, r.json["total"]))
        prices = [p["price"] for p in r.json["items"]]
        self.assertEqual(prices, sorted(prices))

    def test_not_found_and_errors(self):
        self.assertError(get(product_path(999_999_999), base=self.base), 404, "not_found")
        self.assertError(get(PRODUCTS + "/abc", base=self.base), 400, "invalid_parameter")
        r = request("DELETE", PRODUCTS, base=self.base, headers=admin_headers())
        self.assertError(r, 405, "method_not_allowed")
        self.assertTrue({"GET", "POST"} <= parse_allow(r.header("Allow")))

    def test_nosniff_everywhere_and_no_store_on_errors(self):
        for path in (product_path(1), product_path(999_999_999), "/no/such/route"):
            with self.subTest(path=path):
                r = get(path, base=self.base)
                self.assertEqual(r.header_all("X-Content-Type-Options"), ["nosniff"], r)
        r = get(product_path(999_999_999), base=self.base)
        self.assertEqual(r.header_all("Cache-Control"), ["no-store"], r)

    def test_nul_in_the_target_and_short_body_are_400(self):
        from arcadetest import raw_request
        r = raw_request(b"GET /api/v1/products/1\x00 HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n", base=self.base)
        self.assertEqual(r.status, 400, r)
        r = raw_request(b"POST /api/v1/products HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100\r\n"
                        b"Connection: close\r\n\r\n{\"sku\":", base=self.base,
                        shutdown_write=True)
        self.assertEqual(r.status, 400, r)

    def test_empty_if_match_is_400(self):
        # Apache passes an empty header on (lighttpd drops it: test_preconditions).
        p = post(PRODUCTS, product_body(on_hand=1), headers=admin_headers(), base=self.base)
        self.assertStatus(p, 201)
        for header in ("If-Match", "If-None-Match"):
            with self.subTest(header=header):
                r = request("PUT", product_path(p.json["id"]) + "/inventory",
                            json_body={"on_hand": 2}, headers=admin_headers({header: ""}),
                            base=self.base)
                err = self.assertError(r, 400, "invalid_header")
                self.assertIn(header, err["message"])
        self.assertEqual(get(product_path(p.json["id"]), base=self.base).json["stock"], 1)

    def test_post_with_admin_key(self):
        cat = create_category(base=self.base)
        body = product_body(category=cat["slug"], name="Via Apache ☕")
        sent = new_traceparent()
        r = post(PRODUCTS, body, base=self.base, headers=admin_headers({"traceparent": sent}))
        self.assertStatus(r, 201)
        self.assertProduct(r.json, {"sku": body["sku"], "name": "Via Apache ☕",
                                    "category": cat["slug"]})
        self.assertEqual(self.assertTraceparent(r)[0], sent.split("-")[1])
        loc = r.header("Location")
        self.assertIsNotNone(loc)
        g = get(resolve_location(loc, base=self.base), base=self.base)
        self.assertStatus(g, 200)
        self.assertEqual(g.json["id"], r.json["id"])
        # The same product through the default web server.
        self.assertEqual(get(product_path(r.json["id"])).json, g.json)
        r = patch(product_path(r.json["id"]), {"price": 1},
                  base=self.base, headers=admin_headers({"If-Match": g.header("ETag")}))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["price"], 1)

    def test_admin_key_required(self):
        r = post(PRODUCTS, product_body(), base=self.base)
        self.assertError(r, 401, "unauthorized")
        self.assertTrue((r.header("WWW-Authenticate") or "").startswith("Bearer"))

    def test_body_limits(self):
        raw = json.dumps(product_body())
        raw = raw[:-1] + ', "pad": "' + "p" * (65 * 1024) + '"}'
        r = post(PRODUCTS, body=raw, content_type="application/json", base=self.base,
                 headers=admin_headers())
        self.assertError(r, 413, "payload_too_large")
        r = post(PRODUCTS, body="{", content_type="application/json", base=self.base,
                 headers=admin_headers())
        self.assertError(r, 400, "invalid_json")

    def test_health(self):
        r = get(HEALTH, base=self.base)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "ok")
        self.assertEqual(r.json["checks"], {"db": "ok", "cache": "ok", "broker": "ok"})


if __name__ == "__main__":
    unittest.main()
