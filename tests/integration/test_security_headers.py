"""Security headers on every answer (README "Security notes"): X-Content-Type-Options:
nosniff always, Cache-Control: no-store on every error and on every answer to a request
that carried an Authorization header."""

from arcadetest import (API, ArcadeTestCase, admin_headers, delete, get, patch, post,
                        product_body, product_path, request)


class SecurityHeaderTests(ArcadeTestCase):

    def assertNosniff(self, r):
        self.assertEqual(r.header_all("X-Content-Type-Options"), ["nosniff"], r)

    def assertNoStore(self, r):
        self.assertEqual(r.header_all("Cache-Control"), ["no-store"], r)

    def test_every_answer_is_nosniff(self):
        for path in (product_path(1), API + "/products?per_page=1", API + "/categories",
                     API + "/search?q=kettle", "/health/catalog", "/health/users",
                     "/health/search", product_path(999999999), "/no/such/route"):
            with self.subTest(path=path):
                self.assertNosniff(get(path))
        self.assertNosniff(request("HEAD", product_path(1)))

    def test_public_reads_stay_cacheable(self):
        r = get(product_path(1))
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Cache-Control"), [], "no no-store on a public read")

    def test_errors_are_no_store(self):
        cases = [
            ("unknown product", get(product_path(999999999))),
            ("unknown route of a service", get(product_path(1) + "/nothing")),
            ("bad parameter", get(API + "/products?per_page=abc")),
            ("401 without credentials", post(API + "/products", product_body())),
            ("401 with a wrong key", post(API + "/products", product_body(),
                                          headers={"Authorization": "Bearer wrong"})),
            ("401 users/me", get(API + "/users/me")),
            ("422", post(API + "/products", {"sku": ""}, headers=admin_headers())),
            ("405", request("DELETE", "/health/catalog")),
        ]
        for what, r in cases:
            with self.subTest(what):
                self.assertGreaterEqual(r.status, 400, r)
                self.assertNoStore(r)
                self.assertNosniff(r)

    def test_authenticated_answers_are_no_store(self):
        r = post(API + "/products", product_body(), headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertNoStore(r)
        pid = r.json["id"]
        r = get(product_path(pid), headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertNoStore(r)
        r = patch(product_path(pid), {"price": 1}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertNoStore(r)
        r = delete(product_path(pid), headers=admin_headers())
        self.assertStatus(r, 204)
        self.assertNoStore(r)


if __name__ == "__main__":
    import unittest
    unittest.main()
