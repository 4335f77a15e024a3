"""Products API end to end (docs/catalog-api.md, "Products" and "Conventions")."""

import base64
import json
import unittest

from arcadetest import (API, BODY_MAX, MAX_ON_HAND, MAX_PRICE, SORTS,
                        ArcadeTestCase, admin_headers, admin_key, create_category, create_product,
                        create_product_response, delete, get, new_traceparent,
                        parse_allow, parse_time, parse_traceparent, patch, post,
                        product_body, product_path, put, request, resolve_location,
                        unique_slug, unique_sku, utcnow, wait_until)

PRODUCTS = API + "/products"
UNKNOWN_ID = 999_999_999  # far above the demo ids and anything a test run creates


def list_all(query, per_page=100):
    """Every item of a (small) list, following pages."""
    items, page = [], 1
    while True:
        r = get("%s?%s&per_page=%d&page=%d" % (PRODUCTS, query, per_page, page))
        if r.status != 200:
            raise AssertionError("listing %s page %d: %r" % (query, page, r))
        items += r.json["items"]
        if len(r.json["items"]) < per_page:
            return items, r.json["total"]
        page += 1


def wait_past(ts):
    """Waits until the wall clock is past the time ts (milliseconds), so that a
    later write must get a later updated_at."""
    t = parse_time(ts)
    wait_until(lambda: (utcnow() - t).total_seconds() >= 0.01, timeout=3,
               interval=0.005, message="the clock to pass %s" % ts)


class GetProductTests(ArcadeTestCase):

    def test_demo_product_shape(self):
        r = get(product_path(1))
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertProduct(r.json)
        self.assertEqual(r.json["id"], 1)
        self.assertEtag(r)

    def test_created_product_shape_and_values(self):
        cat = create_category()
        body = product_body(description="A description", price=6999, currency="USD",
                            category=cat["slug"], on_hand=17)
        before = utcnow().replace(microsecond=0)
        r = post(PRODUCTS, body, headers=admin_headers())
        self.assertStatus(r, 201)
        after = utcnow()
        p = r.json
        self.assertProduct(p, {"sku": body["sku"], "name": body["name"],
                               "description": "A description", "price": 6999,
                               "currency": "USD", "category": cat["slug"], "stock": 17})
        self.assertEqual(p["category"], {"id": cat["id"], "slug": cat["slug"],
                                         "name": cat["name"]})
        created = parse_time(p["created_at"])
        # The clock of the database and of this host are the same machine's:
        # a time zone mix-up shows as hours of difference.
        self.assertTrue(before.timestamp() - 120 <= created.timestamp() <= after.timestamp() + 120,
                        "created_at %s is not now (%s) in UTC" % (p["created_at"], before))
        g = get(product_path(p["id"]))
        self.assertStatus(g, 200)
        self.assertEqual(g.json, p, "GET differs from the POST answer")

    def test_defaults(self):
        body = product_body()
        p = create_product(**{k: body[k] for k in ("sku", "name", "price", "currency")})
        self.assertProduct(p, {"description": "", "category": None, "stock": 0})
        self.assertIsNone(p["category"])

    def test_stock_is_on_hand_minus_reserved(self):
        # Without orders nothing is reserved, so stock equals on_hand (with orders:
        # test_stock_saga.py checks stock = on_hand - reserved).
        p = create_product(on_hand=42)
        self.assertEqual(p["stock"], 42)
        self.assertEqual(get(product_path(p["id"])).json["stock"], 42)

    def test_etag_and_if_none_match(self):
        p = create_product()
        r = get(product_path(p["id"]))
        self.assertStatus(r, 200)
        etag = self.assertEtag(r)
        cases = [
            ("exact", etag, 304),
            ("star", "*", 304),
            ("in a list", '"nope-1", %s, "nope-2"' % etag, 304),
            ("in a list without spaces", '"nope-1",%s' % etag, 304),
            ("weak form matches (weak comparison)", "W/" + etag, 304),
            ("other tag", '"nope"', 200),
            ("list of other tags", '"a", "b"', 200),
        ]
        for name, value, status in cases:
            with self.subTest(name, if_none_match=value):
                c = get(product_path(p["id"]), headers={"If-None-Match": value})
                self.assertStatus(c, status)
                if status == 304:
                    self.assertEqual(c.body, b"", "a 304 has no body")
                    self.assertEqual(c.header("ETag"), etag, "a 304 repeats the ETag (RFC 9110)")
                else:
                    self.assertProduct(c.json, {"id": p["id"]})
                    self.assertEqual(c.header("ETag"), etag)

    def test_etag_is_stable_between_reads(self):
        p = create_product()
        e1 = self.assertEtag(get(product_path(p["id"])))
        e2 = self.assertEtag(get(product_path(p["id"])))
        self.assertEqual(e1, e2)

    def test_post_etag_matches_get(self):
        r = create_product_response()
        etag = self.assertEtag(r)
        g = get(product_path(r.json["id"]))
        self.assertEqual(g.header("ETag"), etag)
        c = get(product_path(r.json["id"]), headers={"If-None-Match": etag})
        self.assertStatus(c, 304)

    def test_bad_ids_are_400(self):
        # A positive integer of at most 18 decimal digits; anything else is 400.
        for bad in ("abc", "0", "-1", "-5", "1.5", "1e3", "0x10", "1a", "%20", "00",
                    "1000000000000000000", "9223372036854775808", "99999999999999999999999"):
            with self.subTest(id=bad):
                r = get(PRODUCTS + "/" + bad)
                self.assertError(r, 400, "invalid_parameter")

    def test_unknown_ids_are_404(self):
        for unknown in (UNKNOWN_ID, 99_999_999_999, 999_999_999_999_999_999):
            with self.subTest(id=unknown):
                self.assertError(get(product_path(unknown)), 404, "not_found")

    def test_inactive_product_is_404(self):
        p = create_product()
        self.assertStatus(delete(product_path(p["id"]), headers=admin_headers()), 204)
        self.assertError(get(product_path(p["id"])), 404, "not_found")

    def test_unicode_round_trip(self):
        names = ["Café ☕ 日本", "Ünïcödé — “quotes” ‘single’", "emoji 😀🎮 astral 𝄞",
                 'quote " backslash \\ slash /', "<script>&amp;</script>"]
        for name in names:
            with self.subTest(name=name):
                # A name is one line; a description may hold tabs and line breaks.
                description = (name + "\ttab\nnewline\r\n") * 3
                p = create_product(name=name, description=description)
                self.assertEqual(p["name"], name)
                g = get(product_path(p["id"]))
                self.assertStatus(g, 200)
                self.assertEqual(g.json["name"], name)
                self.assertEqual(g.json["description"], description)

    def test_unicode_escapes_in_request(self):
        # The same text sent as \\u escapes (what json.dumps does by default).
        body = product_body(name="Café ☕ 日本 😀")
        raw = json.dumps(body, ensure_ascii=True)
        self.assertIn("\\u2615", raw)
        r = post(PRODUCTS, body=raw, content_type="application/json", headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertEqual(r.json["name"], "Café ☕ 日本 😀")
        self.assertEqual(get(product_path(r.json["id"])).json["name"], "Café ☕ 日本 😀")

    def test_length_limits_count_characters(self):
        for text in ("é", "日", "😀", "a"):
            with self.subTest(char=text):
                p = create_product(name=text * 200, description=text * 5000)
                self.assertEqual(p["name"], text * 200)
                self.assertEqual(get(product_path(p["id"])).json["description"], text * 5000)
                r = post(PRODUCTS, product_body(name=text * 201), headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "name")
                r = post(PRODUCTS, product_body(description=text * 5001), headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "description")


class ListProductsTests(ArcadeTestCase):
    """A known data set under a fresh category tree:
    root <- child <- grandchild, and an unrelated other root."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = create_category()
        cls.child = create_category(parent=cls.root["slug"])
        cls.grandchild = create_category(parent=cls.child["slug"])
        cls.other = create_category()
        spec = [  # (category, name, price) in creation order; ties on name and price
            (cls.root, "delta", 500), (cls.child, "bravo", 300), (cls.grandchild, "echo", 300),
            (cls.root, "alpha", 900), (cls.child, "bravo", 100), (cls.grandchild, "charlie", 500),
            (cls.root, "foxtrot", 300), (cls.child, "alpha", 700),
            (cls.other, "golf", 1), (cls.other, "hotel", 2),
        ]
        cls.products = [create_product(category=c["slug"], name=n, price=pr) for c, n, pr in spec]
        cls.by_cat = {}
        for (c, _, _), p in zip(spec, cls.products):
            cls.by_cat.setdefault(c["slug"], []).append(p)

    def expected_in(self, cat):
        """Products of cat and its sub-categories."""
        tree = {self.root["slug"]: [self.root, self.child, self.grandchild],
                self.child["slug"]: [self.child, self.grandchild],
                self.grandchild["slug"]: [self.grandchild],
                self.other["slug"]: [self.other]}[cat["slug"]]
        return [p for c in tree for p in self.by_cat.get(c["slug"], [])]

    @staticmethod
    def sort_key(sort):
        field = {"name": "name", "price": "price", "created": "created_at"}[sort.lstrip("-")]
        return lambda p: p[field]

    def expected_order(self, items, sort):
        """Ties are always broken by id, ascending (descending sorts too)."""
        by_id = sorted(items, key=lambda p: p["id"])
        return [p["id"] for p in sorted(by_id, key=self.sort_key(sort),
                                        reverse=sort.startswith("-"))]

    def test_list_shape_and_defaults(self):
        r = get(PRODUCTS)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        body = r.json
        self.assertEqual(set(body), {"items", "page", "per_page", "total"})
        self.assertEqual(body["page"], 1)
        self.assertEqual(body["per_page"], 20)
        self.assertIsInstance(body["total"], int)
        self.assertGreaterEqual(body["total"], 1)
        self.assertEqual(len(body["items"]), min(20, body["total"]))
        for p in body["items"]:
            self.assertProduct(p)

    def test_per_page_cap_and_values(self):
        for asked, served in ((1, 1), (5, 5), (100, 100), (101, 100), (1000, 100),
                              (10**9, 100), (2**63 - 1, 100)):
            with self.subTest(per_page=asked):
                r = get("%s?per_page=%d" % (PRODUCTS, asked))
                self.assertStatus(r, 200)
                self.assertEqual(r.json["per_page"], served)
                self.assertEqual(len(r.json["items"]), min(served, r.json["total"]))

    def test_paging_is_consistent(self):
        a = get(PRODUCTS + "?per_page=10&page=1").json["items"]
        b1 = get(PRODUCTS + "?per_page=5&page=1").json
        b2 = get(PRODUCTS + "?per_page=5&page=2").json
        self.assertEqual(b2["page"], 2)
        self.assertEqual([p["id"] for p in b1["items"] + b2["items"]], [p["id"] for p in a])

    def test_page_past_the_end_is_empty(self):
        total = get(PRODUCTS).json["total"]
        r = get("%s?per_page=100&page=%d" % (PRODUCTS, total // 100 + 2))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["items"], [])
        self.assertEqual(r.json["total"], total)

    def test_bad_parameters_are_400(self):
        cases = [("page", v) for v in ("0", "-1", "abc", "1.5", "1e2", "0x1", "1000000001",
                                       "99999999999999999999999", "")]
        cases += [("per_page", v) for v in ("0", "-1", "abc", "2.5", "1e2",
                                            "9223372036854775808", "")]
        cases += [("sort", v) for v in ("foo", "NAME", "+name", "--name", "name,price", "id",
                                        "price-", "created_at", "")]
        for param, value in cases:
            with self.subTest(param=param, value=value):
                r = get("%s?%s=%s" % (PRODUCTS, param, value))
                self.assertError(r, 400, "invalid_parameter", param)

    def test_several_bad_parameters_are_all_named(self):
        r = get(PRODUCTS + "?page=0&sort=nope&per_page=x")
        self.assertError(r, 400, "invalid_parameter", fields=["page", "sort", "per_page"])

    def test_last_page_number_allowed(self):
        r = get(PRODUCTS + "?page=1000000000")
        self.assertStatus(r, 200)
        self.assertEqual((r.json["items"], r.json["page"]), ([], 1_000_000_000))

    def test_malformed_query_string_is_400(self):
        for name, query in (("bad escape", "page=%zz"), ("truncated escape", "sort=price%"),
                            ("invalid UTF-8", "category=%ff%fe"),
                            ("33 pairs", "&".join("x%d=1" % i for i in range(33)))):
            with self.subTest(name):
                self.assertError(get(PRODUCTS + "?" + query), 400, "invalid_parameter")

    def test_repeated_parameter_first_wins(self):
        r = get(PRODUCTS + "?per_page=3&per_page=50&sort=-price&sort=price")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["per_page"], 3)
        prices = [p["price"] for p in r.json["items"]]
        self.assertEqual(prices, sorted(prices, reverse=True))

    def test_unknown_category_is_404(self):
        for slug in (unique_slug("nope"), "UPPER", "under_score", "x" * 65, "%C3%A9"):
            with self.subTest(category=slug):
                r = get(PRODUCTS + "?category=" + slug)
                self.assertError(r, 404, "not_found")

    def test_category_filter_includes_subcategories(self):
        for cat in (self.root, self.child, self.grandchild, self.other):
            with self.subTest(category=cat["slug"]):
                items, total = list_all("category=" + cat["slug"])
                expected = self.expected_in(cat)
                self.assertEqual(total, len(expected))
                self.assertEqual(sorted(p["id"] for p in items), sorted(p["id"] for p in expected))
                for p in items:
                    self.assertProduct(p)

    def test_empty_category(self):
        empty = create_category(parent=self.root["slug"])
        r = get(PRODUCTS + "?category=" + empty["slug"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["items"], [])
        self.assertEqual(r.json["total"], 0)

    def test_every_sort_order(self):
        items = self.expected_in(self.root)
        for sort in SORTS + (None,):
            with self.subTest(sort=sort or "default"):
                q = "category=%s" % self.root["slug"] + ("&sort=%s" % sort if sort else "")
                got, _ = list_all(q)
                self.assertEqual([p["id"] for p in got], self.expected_order(items, sort or "created"),
                                 "order for sort=%s: %s" % (sort, [(p["id"], p["name"], p["price"],
                                                                    p["created_at"]) for p in got]))

    def test_sort_is_stable_across_pages(self):
        for sort in SORTS:
            with self.subTest(sort=sort):
                q = "category=%s&sort=%s" % (self.root["slug"], sort)
                whole, _ = list_all(q, per_page=100)
                paged, _ = list_all(q, per_page=3)
                self.assertEqual([p["id"] for p in paged], [p["id"] for p in whole])

    def test_global_sort_orders(self):
        """Across the whole catalog (demo data): each page is in order."""
        for sort in SORTS:
            with self.subTest(sort=sort):
                for page in (1, 2):
                    r = get("%s?sort=%s&per_page=100&page=%d" % (PRODUCTS, sort, page))
                    self.assertStatus(r, 200)
                    items = r.json["items"]
                    if sort.lstrip("-") == "name":
                        # Collation decides between different names; only check ties
                        # (equal names must come by id).
                        for a, b in zip(items, items[1:]):
                            if a["name"] == b["name"]:
                                self.assertLess(a["id"], b["id"], "ties by id")
                        continue
                    key = self.sort_key(sort)
                    for a, b in zip(items, items[1:]):
                        if sort.startswith("-"):
                            self.assertGreaterEqual(key(a), key(b), (a, b))
                        else:
                            self.assertLessEqual(key(a), key(b), (a, b))
                        if key(a) == key(b):
                            self.assertLess(a["id"], b["id"], "ties by id: %r %r" % (a, b))

    def test_deleted_products_leave_the_list(self):
        cat = create_category()
        keep = create_product(category=cat["slug"])
        gone = create_product(category=cat["slug"])
        self.assertStatus(delete(product_path(gone["id"]), headers=admin_headers()), 204)
        items, total = list_all("category=" + cat["slug"])
        self.assertEqual([p["id"] for p in items], [keep["id"]])
        self.assertEqual(total, 1)
        r = get(PRODUCTS + "?sort=-created&per_page=100")
        self.assertNotIn(gone["id"], [p["id"] for p in r.json["items"]])
        self.assertIn(keep["id"], [p["id"] for p in r.json["items"]])


class CreateProductTests(ArcadeTestCase):

    def test_created_with_location_and_etag(self):
        body = product_body(on_hand=3)
        r = post(PRODUCTS, body, headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertJsonResponse(r)
        self.assertProduct(r.json, {"sku": body["sku"], "name": body["name"], "price": 1000,
                                    "currency": "EUR", "stock": 3})
        etag = self.assertEtag(r)
        loc = r.header("Location")
        self.assertIsNotNone(loc, "201 without Location")
        path = resolve_location(loc)
        self.assertEqual(path, product_path(r.json["id"]))
        g = get(path)
        self.assertStatus(g, 200)
        self.assertEqual(g.json, r.json)
        self.assertEqual(g.header("ETag"), etag)

    def test_unknown_members_are_ignored(self):
        r = post(PRODUCTS, product_body(colour="red", id=5, stock=99, created_at="x"),
                 headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertNotEqual(r.json["id"], 5)
        self.assertEqual(r.json["stock"], 0)

    def test_create_inactive(self):
        r = post(PRODUCTS, product_body(active=False), headers=admin_headers())
        self.assertStatus(r, 201)
        self.assertProduct(r.json, {"active": False})
        self.assertError(get(product_path(r.json["id"])), 404, "not_found")
        r = patch(product_path(r.json["id"]), {"active": True}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertStatus(get(product_path(r.json["id"])), 200)
        for bad in ("yes", 1, None):
            with self.subTest(active=bad):
                r = post(PRODUCTS, product_body(active=bad), headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "active")

    def test_duplicate_sku_is_409(self):
        p = create_product()
        r = post(PRODUCTS, product_body(sku=p["sku"]), headers=admin_headers())
        self.assertError(r, 409, "conflict")

    def test_content_type_with_charset_is_accepted(self):
        for ctype in ("application/json; charset=utf-8", "application/json;charset=UTF-8"):
            with self.subTest(content_type=ctype):
                r = post(PRODUCTS, product_body(), headers=admin_headers(), content_type=ctype)
                self.assertStatus(r, 201)

    def test_trailing_whitespace_is_fine(self):
        raw = json.dumps(product_body()) + " \r\n\t"
        r = post(PRODUCTS, body=raw, content_type="application/json", headers=admin_headers())
        self.assertStatus(r, 201)

    def test_boundary_values_are_valid(self):
        cat = create_category()
        cases = [
            ("price 0", {"price": 0}),
            ("max price", {"price": MAX_PRICE}),
            ("max on_hand", {"on_hand": MAX_ON_HAND}),
            ("on_hand 0", {"on_hand": 0}),
            ("USD", {"currency": "USD"}),
            ("64-char sku", {"sku": (unique_sku() + "._-" + "x" * 64)[:64]}),
            ("1-char name", {"name": "x"}),
            ("200-char name", {"name": "n" * 200}),
            ("5000-char description", {"description": "d" * 5000}),
            ("empty description", {"description": ""}),
            ("null category", {"category": None}),
            ("category", {"category": cat["slug"]}),
        ]
        for name, fields in cases:
            with self.subTest(name):
                body = product_body(**fields)
                r = post(PRODUCTS, body, headers=admin_headers())
                self.assertStatus(r, 201)
                expect = {k: v for k, v in fields.items()}
                self.assertProduct(r.json, expect)

    def test_validation_rules(self):
        long_sku = "S" * 65
        cases = [
            ("sku", {"sku": ""}), ("sku", {"sku": "has space"}), ("sku", {"sku": "slash/x"}),
            ("sku", {"sku": "é-accent"}), ("sku", {"sku": "semi;colon"}), ("sku", {"sku": long_sku}),
            ("sku", {"sku": 12345}), ("sku", {"sku": None}),
            ("name", {"name": ""}), ("name", {"name": "n" * 201}), ("name", {"name": 12}),
            ("name", {"name": None}), ("name", {"name": ["x"]}),
            ("description", {"description": "d" * 5001}), ("description", {"description": 5}),
            ("price", {"price": "12"}), ("price", {"price": 12.5}), ("price", {"price": True}),
            ("price", {"price": -1}), ("price", {"price": MAX_PRICE + 1}),
            ("price", {"price": 10**12}), ("price", {"price": 2**63 - 1}),
            ("price", {"price": 2**63}), ("price", {"price": 2**64}), ("price", {"price": 10**30}),
            ("price", {"price": -(2**63)}), ("price", {"price": -(2**64)}),
            ("price", {"price": None}), ("price", {"price": {"amount": 1}}),
            ("currency", {"currency": "XYZ"}), ("currency", {"currency": "eur"}),
            ("currency", {"currency": "XXX"}), ("currency", {"currency": "DEM"}),
            ("currency", {"currency": "Eur"}),
            ("currency", {"currency": "EURO"}), ("currency", {"currency": "EU"}),
            ("currency", {"currency": ""}), ("currency", {"currency": 978}),
            ("currency", {"currency": None}),
            ("category", {"category": unique_slug("nope")}), ("category", {"category": 5}),
            ("category", {"category": ""}), ("category", {"category": {"slug": "x"}}),
            ("on_hand", {"on_hand": -1}), ("on_hand", {"on_hand": "5"}),
            ("on_hand", {"on_hand": 1.5}), ("on_hand", {"on_hand": MAX_ON_HAND + 1}),
            ("on_hand", {"on_hand": 2**64}), ("on_hand", {"on_hand": True}),
        ]
        for field, fields in cases:
            with self.subTest(field=field, value=repr(fields[field])[:40]):
                body = product_body(**fields)
                r = post(PRODUCTS, body, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", field)
                self.assertEqual(set(r.json["error"]["fields"]), {field},
                                 "only the bad field is named")
                # Nothing was created.
                if isinstance(body["sku"], str) and body["sku"].startswith("T-"):
                    ok = post(PRODUCTS, product_body(sku=body["sku"]), headers=admin_headers())
                    self.assertStatus(ok, 201, "the sku of a refused product is still free")

    def test_price_as_raw_json_numbers(self):
        # Number forms Python would not produce: not JSON integers, or out of range.
        for lit in ("1e3", "1.0e3", "1000.0", "-0.0", "1E400", "123456789012345678901234567890",
                    "-123456789012345678901234567890"):
            with self.subTest(price=lit):
                b = product_body()
                del b["price"]
                raw = json.dumps(b)[:-1] + ', "price": %s}' % lit
                r = post(PRODUCTS, body=raw, content_type="application/json",
                         headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "price")

    def test_missing_required_fields(self):
        for missing in ("sku", "name", "price", "currency"):
            with self.subTest(missing=missing):
                body = product_body()
                del body[missing]
                r = post(PRODUCTS, body, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", missing)
        r = post(PRODUCTS, {}, headers=admin_headers())
        self.assertError(r, 422, "validation_failed", fields=["sku", "name", "price", "currency"])

    def test_body_format_errors_are_400(self):
        good = json.dumps(product_body())
        nested = '{"a":' * 50 + "1" + "}" * 50
        nested_value = good[:-1] + ', "x": ' + "[" * 50 + "]" * 50 + "}"
        nested_20 = good[:-1] + ', "x": ' + '{"y":' * 19 + "1" + "}" * 19 + "}"
        cases = [
            ("truncated", good[:-5]),
            ("malformed", '{"sku": "x", name: "y"}'),
            ("single quotes", "{'sku': 'x'}"),
            ("trailing comma", good[:-1] + ",}"),
            ("empty", ""),
            ("array", "[" + good + "]"),
            ("empty array", "[]"),
            ("string", '"hello"'),
            ("number", "42"),
            ("null", "null"),
            ("two objects", good + good),
            ("trailing garbage", good + " x"),
            ("nested 50", nested),
            ("nested 50 inside a value", nested_value),
            ("nested 20 inside a value", nested_20),
            ("comment", "/* c */" + good),
            ("NaN", good[:-1] + ', "x": NaN}'),
        ]
        for name, raw in cases:
            with self.subTest(name):
                r = post(PRODUCTS, body=raw, content_type="application/json",
                         headers=admin_headers())
                self.assertError(r, 400, "invalid_json")

    def test_nesting_limit_is_16_levels(self):
        # The body object is level 1; an ignored member "x" holds the other levels.
        def body(levels, kind):
            k = levels - 1
            nested = ('{"y":' * (k - 1) + "{}" + "}" * (k - 1)) if kind == "object" \
                else "[" * k + "]" * k
            return json.dumps(product_body())[:-1] + ', "x": ' + nested + "}"
        for kind in ("object", "array"):
            with self.subTest(kind=kind):
                r = post(PRODUCTS, body=body(16, kind), content_type="application/json",
                         headers=admin_headers())
                self.assertStatus(r, 201, "16 levels are allowed")
                r = post(PRODUCTS, body=body(17, kind), content_type="application/json",
                         headers=admin_headers())
                self.assertError(r, 400, "invalid_json", msg="17 levels are too deep")

    def test_invalid_utf8_is_400(self):
        good = json.dumps(product_body()).encode()
        for name, bad in (("0xff", b"\xff\xfe"), ("lone continuation", b"\x80"),
                          ("truncated sequence", b"\xe6\x97"), ("invalid lead", b"\xf8\x88\x80\x80\x80")):
            with self.subTest(name):
                raw = good.replace(b'"Test product', b'"Test ' + bad + b' product', 1)
                self.assertNotEqual(raw, good)
                r = post(PRODUCTS, body=raw, content_type="application/json",
                         headers=admin_headers())
                self.assertError(r, 400, "invalid_json")

    def test_wrong_content_type_is_415(self):
        body = json.dumps(product_body())
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                      "text/json", "multipart/form-data; boundary=x", None):
            with self.subTest(content_type=ctype):
                r = post(PRODUCTS, body=body, content_type=ctype, headers=admin_headers())
                self.assertError(r, 415, "unsupported_media_type")

    def test_body_over_64_kib_is_413(self):
        for size in (BODY_MAX + 1, 65 * 1024 + 1024, 256 * 1024):
            with self.subTest(size=size):
                b = product_body(description="")
                raw = json.dumps(b)
                raw = raw[:-1] + ', "pad": "' + "p" * (size - len(raw) - 11) + '"}'
                self.assertEqual(len(raw), size)
                r = post(PRODUCTS, body=raw, content_type="application/json",
                         headers=admin_headers())
                self.assertError(r, 413, "payload_too_large")

    def test_size_is_checked_before_anything_else(self):
        raw = '{"pad": "%s"}' % ("p" * (65 * 1024))
        for name, method, path, headers in (
                ("no credentials", "POST", PRODUCTS, {}),
                ("unknown path", "POST", API + "/products/1/nope", admin_headers()),
                ("PATCH", "PATCH", product_path(1), {}),
                ("wrong content type", "PUT", product_path(1) + "/inventory", admin_headers())):
            with self.subTest(name):
                r = request(method, path, body=raw, headers=headers,
                            content_type="text/plain" if name == "wrong content type"
                            else "application/json")
                self.assertError(r, 413, "payload_too_large")

    def test_body_up_to_64_kib_is_read(self):
        # A body within the limit is parsed: the long description is a 422, not a 413.
        for size in (60 * 1024, BODY_MAX):
            with self.subTest(size=size):
                b = product_body(description="")
                raw = json.dumps(b)
                raw = raw.replace('"description": ""', '"description": "%s"'
                                  % ("d" * (size - len(raw))))
                self.assertEqual(len(raw.encode()), size)
                r = post(PRODUCTS, body=raw, content_type="application/json",
                         headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "description")


class PatchProductTests(ArcadeTestCase):

    def test_partial_update(self):
        cat = create_category()
        p = create_product(description="keep me", category=cat["slug"], on_hand=5, price=111)
        etag = get(product_path(p["id"])).header("ETag")
        wait_past(p["updated_at"])
        r = patch(product_path(p["id"]), {"name": "Renamed"}, headers=admin_headers())
        self.assertStatus(r, 200)
        q = r.json
        self.assertProduct(q, {"name": "Renamed"})
        for k in ("id", "sku", "description", "price", "currency", "category", "stock",
                  "created_at"):
            self.assertEqual(q[k], p[k], "%s changed by a PATCH of name only" % k)
        self.assertGreater(parse_time(q["updated_at"]), parse_time(p["updated_at"]),
                           "updated_at moves on a write")
        new_etag = self.assertEtag(r)
        self.assertNotEqual(new_etag, etag, "the ETag changes with every write")
        g = get(product_path(p["id"]))
        self.assertEqual(g.json, q)
        self.assertEqual(g.header("ETag"), new_etag)

    def test_each_field(self):
        cat = create_category()
        cases = [
            {"sku": unique_sku()}, {"name": "Patched name ☕"}, {"description": "new text"},
            {"description": ""}, {"price": 0}, {"price": MAX_PRICE}, {"currency": "USD"},
            {"category": cat["slug"]}, {"category": None},
            {"name": "two fields", "price": 4242},
        ]
        for fields in cases:
            with self.subTest(fields=fields):
                p = create_product(category=create_category()["slug"])
                r = patch(product_path(p["id"]), fields, headers=admin_headers())
                self.assertStatus(r, 200)
                self.assertProduct(r.json, fields)
                self.assertProduct(get(product_path(p["id"])).json, fields)

    def test_empty_patch_changes_nothing_but_counts_as_a_write(self):
        r0 = create_product_response()
        p = r0.json
        r = patch(product_path(p["id"]), {}, headers=admin_headers())
        self.assertStatus(r, 200)
        for k in PRODUCT_KEYS_STABLE:
            self.assertEqual(r.json[k], p[k])
        self.assertNotEqual(self.assertEtag(r), r0.header("ETag"), "the ETag changes")

    def test_on_hand_is_refused(self):
        p = create_product(on_hand=3)
        r = patch(product_path(p["id"]), {"on_hand": 5}, headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "on_hand")
        self.assertEqual(get(product_path(p["id"])).json["stock"], 3)

    def test_unknown_members_are_ignored(self):
        p = create_product(price=5)
        r = patch(product_path(p["id"]), {"price": 6, "colour": "red", "id": 1},
                  headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual((r.json["id"], r.json["price"]), (p["id"], 6))

    def test_category_move_changes_lists(self):
        a, b = create_category(), create_category()
        p = create_product(category=a["slug"])
        r = patch(product_path(p["id"]), {"category": b["slug"]}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual(get(PRODUCTS + "?category=" + a["slug"]).json["total"], 0)
        lb = get(PRODUCTS + "?category=" + b["slug"]).json
        self.assertEqual([x["id"] for x in lb["items"]], [p["id"]])

    def test_if_match(self):
        p = create_product()
        etag = get(product_path(p["id"])).header("ETag")
        r = patch(product_path(p["id"]), {"price": 1}, headers=admin_headers({"If-Match": etag}))
        self.assertStatus(r, 200)
        etag2 = self.assertEtag(r)
        self.assertNotEqual(etag2, etag)

        r = patch(product_path(p["id"]), {"price": 2}, headers=admin_headers({"If-Match": etag}))
        self.assertError(r, 412, "precondition_failed")
        self.assertEqual(get(product_path(p["id"])).json["price"], 1, "a 412 changes nothing")

        r = patch(product_path(p["id"]), {"price": 3},
                  headers=admin_headers({"If-Match": '"nope", %s' % etag2}))
        self.assertStatus(r, 200)
        etag3 = r.header("ETag")

        r = patch(product_path(p["id"]), {"price": 4}, headers=admin_headers({"If-Match": "*"}))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["price"], 4)

        r = patch(product_path(p["id"]), {"price": 5},
                  headers=admin_headers({"If-Match": "W/" + r.header("ETag")}))
        self.assertError(r, 412, "precondition_failed", msg="If-Match uses strong comparison")

        r = patch(product_path(p["id"]), {"price": 6}, headers=admin_headers({"If-Match": etag3}))
        self.assertError(r, 412, "precondition_failed")
        self.assertEqual(get(product_path(p["id"])).json["price"], 4)

    def test_validation(self):
        other = create_product()
        cases = [
            ("sku", {"sku": "bad sku"}), ("sku", {"sku": ""}), ("sku", {"sku": None}),
            ("name", {"name": ""}), ("name", {"name": "n" * 201}), ("name", {"name": None}),
            ("description", {"description": "d" * 5001}),
            ("price", {"price": -1}), ("price", {"price": "5"}), ("price", {"price": 1.5}),
            ("price", {"price": 2**64}), ("price", {"price": None}),
            ("currency", {"currency": "eur"}), ("currency", {"currency": "XYZ"}),
            ("currency", {"currency": None}),
            ("category", {"category": unique_slug("nope")}), ("category", {"category": 3}),
            ("active", {"active": "yes"}), ("active", {"active": 1}), ("active", {"active": None}),
        ]
        p = create_product(price=777)
        for field, fields in cases:
            with self.subTest(field=field, value=repr(fields[field])[:30]):
                r = patch(product_path(p["id"]), fields, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", field)
        # A refused PATCH changes nothing, not even its valid fields.
        r = patch(product_path(p["id"]), {"name": "half", "price": -1}, headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "price")
        g = get(product_path(p["id"])).json
        self.assertEqual((g["name"], g["price"]), (p["name"], 777))
        self.assertNotEqual(other["sku"], p["sku"])
        r = patch(product_path(p["id"]), {"sku": other["sku"]}, headers=admin_headers())
        self.assertError(r, 409, "conflict")

    def test_unknown_and_bad_ids(self):
        self.assertError(patch(product_path(UNKNOWN_ID), {"name": "x"}, headers=admin_headers()),
                         404, "not_found")
        self.assertError(patch(PRODUCTS + "/abc", {"name": "x"}, headers=admin_headers()),
                         400, "invalid_parameter")
        self.assertError(patch(product_path(0), {"name": "x"}, headers=admin_headers()),
                         400, "invalid_parameter")
        # A bad id is refused before the credentials are looked at.
        self.assertError(patch(PRODUCTS + "/abc", {"name": "x"}), 400, "invalid_parameter")
        # Validation comes before the database: an unknown id with a bad body is 422.
        self.assertError(patch(product_path(UNKNOWN_ID), {"price": -1}, headers=admin_headers()),
                         422, "validation_failed", "price")

    def test_body_errors(self):
        p = create_product()
        r = patch(product_path(p["id"]), body='{"name":', content_type="application/json",
                  headers=admin_headers())
        self.assertError(r, 400, "invalid_json")
        r = patch(product_path(p["id"]), body='{"name":"x"}', content_type="text/plain",
                  headers=admin_headers())
        self.assertError(r, 415, "unsupported_media_type")


PRODUCT_KEYS_STABLE = ("id", "sku", "name", "description", "price", "currency", "category",
                       "stock", "active", "created_at")


class DeleteProductTests(ArcadeTestCase):

    def test_delete_and_reactivate(self):
        cat = create_category()
        p = create_product(category=cat["slug"], price=4321)
        etag = get(product_path(p["id"])).header("ETag")
        r = delete(product_path(p["id"]), headers=admin_headers())
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertError(get(product_path(p["id"])), 404, "not_found")
        self.assertEqual(get(PRODUCTS + "?category=" + cat["slug"]).json["total"], 0)

        r = patch(product_path(p["id"]), {"active": True}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertProduct(r.json, {"id": p["id"], "price": 4321, "sku": p["sku"]})
        self.assertNotEqual(r.header("ETag"), etag)
        g = get(product_path(p["id"]))
        self.assertStatus(g, 200)
        self.assertEqual(g.json["price"], 4321)
        lst = get(PRODUCTS + "?category=" + cat["slug"]).json
        self.assertEqual([x["id"] for x in lst["items"]], [p["id"]])

    def test_patch_active_false_deactivates(self):
        p = create_product()
        r = patch(product_path(p["id"]), {"active": False}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertIs(r.json["active"], False)
        self.assertError(get(product_path(p["id"])), 404, "not_found")

    def test_deleted_sku_is_still_taken(self):
        p = create_product()
        self.assertStatus(delete(product_path(p["id"]), headers=admin_headers()), 204)
        r = post(PRODUCTS, product_body(sku=p["sku"]), headers=admin_headers())
        self.assertError(r, 409, "conflict")

    def test_delete_inactive_is_204(self):
        p = create_product()
        for _ in range(2):
            r = delete(product_path(p["id"]), headers=admin_headers())
            self.assertStatus(r, 204)
        self.assertError(get(product_path(p["id"])), 404, "not_found")

    def test_delete_unknown_and_bad(self):
        self.assertError(delete(product_path(UNKNOWN_ID), headers=admin_headers()), 404, "not_found")
        self.assertError(delete(PRODUCTS + "/x1", headers=admin_headers()), 400, "invalid_parameter")


class InventoryTests(ArcadeTestCase):

    def test_put_inventory(self):
        p = create_product(on_hand=5)
        etag = get(product_path(p["id"])).header("ETag")
        for n in (42, 0, MAX_ON_HAND, 7):
            with self.subTest(on_hand=n):
                r = put(product_path(p["id"]) + "/inventory", {"on_hand": n},
                        headers=admin_headers())
                self.assertStatus(r, 200)
                self.assertProduct(r.json, {"id": p["id"], "stock": n, "price": p["price"]})
                g = get(product_path(p["id"]))
                self.assertEqual(g.json["stock"], n)
                new_etag = g.header("ETag")
                self.assertNotEqual(new_etag, etag, "the ETag changes with an inventory write")
                etag = new_etag

    def test_validation(self):
        p = create_product(on_hand=5)
        for body in ({"on_hand": -1}, {"on_hand": "5"}, {"on_hand": 1.5}, {"on_hand": True},
                     {"on_hand": None}, {"on_hand": MAX_ON_HAND + 1}, {"on_hand": 2**63},
                     {"on_hand": 2**64}, {}):
            with self.subTest(body=body):
                r = put(product_path(p["id"]) + "/inventory", body, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "on_hand")
        self.assertEqual(get(product_path(p["id"])).json["stock"], 5)

    def test_inactive_product(self):
        p = create_product(on_hand=1)
        self.assertStatus(delete(product_path(p["id"]), headers=admin_headers()), 204)
        r = put(product_path(p["id"]) + "/inventory", {"on_hand": 8}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertProduct(r.json, {"active": False, "stock": 8})
        r = patch(product_path(p["id"]), {"active": True}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual(get(product_path(p["id"])).json["stock"], 8)

    def test_unknown_product_and_body_errors(self):
        self.assertError(put(product_path(UNKNOWN_ID) + "/inventory", {"on_hand": 1},
                             headers=admin_headers()), 404, "not_found")
        p = create_product()
        self.assertError(put(product_path(p["id"]) + "/inventory", body="[1]",
                             content_type="application/json", headers=admin_headers()),
                         400, "invalid_json")
        self.assertError(put(product_path(p["id"]) + "/inventory", body='{"on_hand":1}',
                             content_type="text/plain", headers=admin_headers()),
                         415, "unsupported_media_type")


class RoutingTests(ArcadeTestCase):

    def test_wrong_method_is_405_with_allow(self):
        products = {"GET", "HEAD", "POST"}
        product = {"GET", "HEAD", "PATCH", "DELETE"}
        cases = [
            ("DELETE", PRODUCTS, products), ("PUT", PRODUCTS, products),
            ("PATCH", PRODUCTS, products), ("OPTIONS", PRODUCTS, products),
            ("PUT", product_path(1), product), ("POST", product_path(1), product),
            ("DELETE", product_path(1) + "/inventory", {"GET", "HEAD", "PUT"}),
            ("POST", product_path(1) + "/inventory", {"GET", "HEAD", "PUT"}),
            ("DELETE", API + "/categories", {"GET", "HEAD", "POST"}),
            ("PUT", API + "/categories/some-slug", {"GET", "HEAD"}),
            ("POST", API + "/categories/some-slug", {"GET", "HEAD"}),
        ]
        for method, path, allow in cases:
            for auth in (True, False):
                with self.subTest(method=method, path=path, credentials=auth):
                    headers = admin_headers() if auth else {}
                    if method in ("GET", "DELETE", "OPTIONS"):
                        r = request(method, path, headers=headers)
                    else:
                        r = request(method, path, headers=headers, json_body={})
                    self.assertError(r, 405, "method_not_allowed")
                    self.assertEqual(parse_allow(r.header("Allow")), allow,
                                     "Allow: %r" % r.header("Allow"))

    def test_head(self):
        for path, status in ((product_path(1), 200), (PRODUCTS + "?per_page=2", 200),
                             (API + "/categories", 200), (product_path(UNKNOWN_ID), 404),
                             (PRODUCTS + "/abc", 400)):
            with self.subTest(path=path):
                g = get(path)
                h = request("HEAD", path)
                self.assertStatus(h, status)
                self.assertEqual(g.status, status)
                self.assertEqual(h.body, b"")
                self.assertEqual(h.header("Content-Type"), g.header("Content-Type"))
                self.assertEqual(h.header("ETag"), g.header("ETag"))
                self.assertTraceparent(h)
                if g.header("Content-Length") is not None and h.header("Content-Length") is not None:
                    self.assertEqual(h.header("Content-Length"), g.header("Content-Length"))

    def test_unknown_paths_are_404_json(self):
        for path in (PRODUCTS + "/1/nope", PRODUCTS + "/1/inventory/x", API + "/productsx",
                     API + "/categories/a/b", PRODUCTS + "/1/inventory/1"):
            with self.subTest(path=path):
                self.assertError(get(path), 404, "not_found")
        # Outside the catalog's prefixes the web server may answer itself, but 404.
        self.assertStatus(get(API + "/no-such-service"), 404)


class AuthTests(ArcadeTestCase):

    def admin_calls(self):
        p = create_product()
        return [
            ("POST products", "POST", PRODUCTS, product_body()),
            ("PATCH product", "PATCH", product_path(p["id"]), {"name": "hacked"}),
            ("DELETE product", "DELETE", product_path(p["id"]), None),
            ("PUT inventory", "PUT", product_path(p["id"]) + "/inventory", {"on_hand": 99}),
            ("POST categories", "POST", API + "/categories",
             {"slug": unique_slug(), "name": "x", "parent": None}),
        ], p

    def test_admin_endpoints_need_the_key(self):
        key = admin_key()
        creds = [
            ("none", None),
            ("wrong key", "Bearer wrong-" + key),
            ("key prefix", "Bearer " + key[:-1]),
            ("key plus suffix", "Bearer " + key + "x"),
            ("empty bearer", "Bearer "),
            ("bare key", key),
            ("basic", "Basic " + base64.b64encode(("admin:" + key).encode()).decode()),
            ("basic key", "Basic " + base64.b64encode(key.encode()).decode()),
        ]
        calls, p = self.admin_calls()
        for cname, auth in creds:
            for name, method, path, body in calls:
                with self.subTest(call=name, credentials=cname):
                    headers = {"Authorization": auth} if auth is not None else {}
                    if body is None:
                        r = request(method, path, headers=headers)
                    else:
                        r = request(method, path, headers=headers, json_body=body)
                    self.assertError(r, 401, "unauthorized")
                    www = r.header("WWW-Authenticate") or ""
                    self.assertTrue(www.startswith('Bearer realm="arcade"'),
                                    "WWW-Authenticate %r" % www)
                    if cname in ("wrong key", "key prefix", "key plus suffix"):
                        self.assertIn('error="invalid_token"', www)
                    elif cname in ("none", "basic", "basic key"):
                        self.assertNotIn("error=", www)
        g = get(product_path(p["id"]))
        self.assertStatus(g, 200, "refused calls changed nothing")
        self.assertEqual(g.json, get(product_path(p["id"])).json)
        self.assertEqual((g.json["name"], g.json["stock"]), (p["name"], p["stock"]))

    def test_auth_comes_before_body_checks(self):
        r = post(PRODUCTS, body="{not json", content_type="application/json")
        self.assertError(r, 401, "unauthorized")
        r = post(PRODUCTS, body="x", content_type="text/plain")
        self.assertError(r, 401, "unauthorized")

    def test_reads_need_no_key(self):
        self.assertStatus(get(product_path(1)), 200)
        self.assertStatus(get(PRODUCTS), 200)
        self.assertStatus(get(API + "/categories"), 200)


class TraceparentTests(ArcadeTestCase):

    def test_valid_traceparent_is_continued(self):
        for path, status in ((product_path(1), 200), (product_path(UNKNOWN_ID), 404),
                             (PRODUCTS + "/abc", 400), (PRODUCTS + "?sort=bad", 400)):
            for flags in ("01", "00"):
                with self.subTest(path=path, flags=flags):
                    sent = new_traceparent(flags)
                    r = get(path, headers={"traceparent": sent})
                    self.assertStatus(r, status)
                    trace_id, span_id, got_flags = self.assertTraceparent(r)
                    self.assertEqual(trace_id, sent.split("-")[1], "same trace")
                    self.assertNotEqual(span_id, sent.split("-")[2], "a new span")
                    self.assertEqual(got_flags, flags)

    def test_on_writes_and_errors(self):
        sent = new_traceparent()
        for r in (post(PRODUCTS, product_body(), headers=admin_headers({"traceparent": sent})),
                  post(PRODUCTS, {}, headers=admin_headers({"traceparent": sent})),
                  post(PRODUCTS, product_body(), headers={"traceparent": sent}),
                  request("DELETE", PRODUCTS, headers=admin_headers({"traceparent": sent}))):
            with self.subTest(status=r.status):
                trace_id, _, _ = self.assertTraceparent(r)
                self.assertEqual(trace_id, sent.split("-")[1])

    def test_fresh_trace_without_or_with_invalid_traceparent(self):
        tid, pid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        cases = [
            ("none", None), ("garbage", "garbage"), ("empty", ""),
            ("zero trace id", "00-%s-%s-01" % ("0" * 32, pid)),
            ("zero parent id", "00-%s-%s-01" % (tid, "0" * 16)),
            ("upper case", "00-%s-%s-01" % (tid.upper(), pid.upper())),
            ("short trace id", "00-%s-%s-01" % (tid[:31], pid)),
            ("long parent id", "00-%s-%s0-01" % (tid, pid)),
            ("version ff", "ff-%s-%s-01" % (tid, pid)),
            ("extra field in version 00", "00-%s-%s-01-xx" % (tid, pid)),
            ("bad separators", "00_%s_%s_01" % (tid, pid)),
            ("non-hex", "00-%s-%s-01" % ("g" * 32, pid)),
        ]
        seen = set()
        for name, value in cases:
            with self.subTest(name):
                headers = {"traceparent": value} if value is not None else {}
                r = get(product_path(1), headers=headers)
                self.assertStatus(r, 200)
                trace_id, span_id, _ = self.assertTraceparent(r)
                self.assertNotEqual(trace_id, tid)
                self.assertNotIn(trace_id, seen, "every fresh trace has its own id")
                seen.add(trace_id)


if __name__ == "__main__":
    unittest.main()
