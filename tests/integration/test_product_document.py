"""The product document end to end (shared/include/arcade/product.h): whatever the catalog
accepts — names and descriptions at their longest, in every script, with quotes and
backslashes, prices and stock at their limits, the longest SKU, the deepest category with
the longest slug and name — reaches search as the catalog shows it, and no event of it is
dead-lettered. What the catalog refuses ("a\\u0000b" and the other text the shop's rule
refuses) never becomes an event at all.

Each event is followed by its (product, version) in the consumer's log (test_events); a
product's version is the one in its ETag."""

import re
import unittest
import urllib.parse

from arcadetest import (API, MAX_ON_HAND, MAX_PRICE, RUN_ID, ArcadeTestCase, admin_headers,
                        arcade, create_category, delete, get, patch, post, put, unique_slug,
                        wait_until)
from test_events import handled_lines

PRODUCTS = API + "/products"
NAME_MAX, DESCRIPTION_MAX, CATEGORY_NAME_MAX, SKU_MAX, SLUG_MAX = 200, 5000, 100, 64, 64
CATEGORY_DEPTH = 8  # the catalog nests categories at most 8 levels deep
ETAG_VERSION = re.compile(r'^"p(\d+)-v(\d+)"$')
_serial = [0]


def token():
    """A word no other product has: full-text search finds exactly this product."""
    _serial[0] += 1
    return "pd%sn%d" % (RUN_ID, _serial[0])


def padded(word, fill, length=NAME_MAX):
    """word, a space, then fill repeated: exactly length characters."""
    return (word + " " + fill * length)[:length]


def search_items(word):
    r = get(API + "/search?" + urllib.parse.urlencode({"q": word, "per_page": 100}))
    if r.status != 200:
        raise AssertionError("search %r: %r" % (word, r))
    return {it["id"]: it for it in r.json["items"]}


def dead_letters():
    return get("/health/search").json["details"]["dead_letters"]


def version_of(r):
    m = ETAG_VERSION.match(r.header("ETag") or "")
    if not m:
        raise AssertionError("no product ETag: %r" % r)
    return int(m.group(2))


class ProductDocumentTests(ArcadeTestCase):

    def setUp(self):
        arcade("svc", "start", "catalog-relay", timeout=60)
        arcade("svc", "start", "search-consume", timeout=60)
        self.dead_before = dead_letters()
        self.versions = {}  # product id -> the last version written

    def write(self, r, status):
        self.assertStatus(r, status)
        self.versions[r.json["id"]] = version_of(r)
        return r.json

    def create(self, **fields):
        return self.write(post(PRODUCTS, fields, headers=admin_headers()), 201)

    def deepest_category(self):
        """A chain as deep as the catalog allows; the leaf has the longest slug and name."""
        parent = None
        for depth in range(CATEGORY_DEPTH):
            leaf = depth == CATEGORY_DEPTH - 1
            slug = unique_slug("pd")
            name = "Category %d" % depth
            if leaf:
                slug = (slug + "-" + "x" * SLUG_MAX)[:SLUG_MAX]
                name = "\u65e5" * CATEGORY_NAME_MAX  # 100 CJK characters
            parent = create_category(slug=slug, name=name, parent=parent)["slug"]
        return parent

    def assert_all_applied(self):
        def missing():
            handled = {(pid, ver) for _, pid, ver, _ in handled_lines()}
            return [(pid, v) for pid, last in self.versions.items()
                    for v in range(1, last + 1) if (pid, v) not in handled]
        wait_until(lambda: not missing(), timeout=20,
                   message="every event of these products applied by search")
        self.assertEqual(missing(), [])
        self.assertEqual(dead_letters(), self.dead_before, "no event dead-lettered")

    def assert_in_search(self, word, p):
        wait_until(lambda: p["id"] in search_items(word), timeout=20,
                   message="product %d in search" % p["id"])
        item = search_items(word)[p["id"]]
        self.assertEqual((item["sku"], item["name"], item["price"], item["currency"]),
                         (p["sku"], p["name"], p["price"], p["currency"]))
        if p["category"] is None:
            self.assertIsNone(item["category"])
        else:
            self.assertEqual(item["category"], {"slug": p["category"]["slug"],
                                                "name": p["category"]["name"]})
        self.assertEqual(item["in_stock"], p["stock"] > 0)

    def test_what_the_catalog_accepts_reaches_search(self):
        leaf = self.deepest_category()
        words = [token() for _ in range(9)]
        sku = ("PD-%s-" % RUN_ID).ljust(SKU_MAX, "x")
        bodies = [
            # the longest name in characters, 4 bytes each; the longest SKU; the largest
            # price and stock; the deepest category with the longest slug and name
            {"sku": sku, "name": padded(words[0], "\U0001F600"), "price": MAX_PRICE,
             "currency": "JPY", "category": leaf, "on_hand": MAX_ON_HAND},
            # the longest description, with every line break and tab it may hold
            {"name": padded(words[1], "e\u0301"),
             "description": ("a\tb\r\nc\n" * DESCRIPTION_MAX)[:DESCRIPTION_MAX],
             "price": 0, "currency": "EUR"},
            {"name": words[2] + ' "quoted" \\ back\\slash </script> &amp; \u2019',
             "price": 1, "currency": "USD", "description": "\u00a0leading nbsp\n"},
            {"name": words[3] + " \u0639\u0631\u0628\u064a \u05e2\u05d1\u05e8\u05d9\u05ea",
             "price": 4200, "currency": "AED"},
            {"name": words[4] + " a\u200db \u2060joined\u2060 Zo\u00eb \u65e5\u672c",
             "price": 99, "currency": "CHF", "category": leaf},
            {"name": "  " + words[5] + "  padded  ", "price": 10, "currency": "GBP"},
            {"name": words[6] + " " + "\U0001F468\u200d\U0001F469\u200d\U0001F467" * 20,
             "price": 10, "currency": "SEK"},
        ]
        created = []
        for i, b in enumerate(bodies):
            b.setdefault("sku", "PD-%s-%d" % (RUN_ID, i))
            with self.subTest(i=i):
                created.append((words[i], self.create(**b)))
        for word, p in created:
            with self.subTest(product=p["id"]):
                self.assert_in_search(word, p)

        # Changes carry the whole document again: a name at its limit, deactivation,
        # inventory to zero and back to the largest count.
        p = created[2][1]
        self.write(patch("%s/%d" % (PRODUCTS, p["id"]),
                         {"name": padded(words[7], "\u00df"), "description": "x\ty"},
                         headers=admin_headers()), 200)
        self.write(put("%s/%d/inventory" % (PRODUCTS, created[0][1]["id"]), {"on_hand": 0},
                       headers=admin_headers()), 200)
        q = self.write(put("%s/%d/inventory" % (PRODUCTS, created[0][1]["id"]),
                           {"on_hand": MAX_ON_HAND}, headers=admin_headers()), 200)
        d = post(PRODUCTS, {"sku": "PD-%s-gone" % RUN_ID, "name": words[8], "price": 5,
                            "currency": "EUR"}, headers=admin_headers())
        gone = self.write(d, 201)
        self.assertStatus(delete("%s/%d" % (PRODUCTS, gone["id"]), headers=admin_headers()), 204)
        self.versions[gone["id"]] += 1
        self.assert_all_applied()
        self.assert_in_search(words[7], get("%s/%d" % (PRODUCTS, p["id"])).json)
        self.assert_in_search(words[0], q)
        wait_until(lambda: gone["id"] not in search_items(words[8]), timeout=20,
                   message="deactivated product gone from search")

    def test_what_the_catalog_refuses_is_never_an_event(self):
        word = token()
        for value in ("a\u0000b", word + "\u0000", "a\nb", "a\u202eb", "\u200b",
                      "n" * (NAME_MAX + 1)):
            with self.subTest(value=value):
                r = post(PRODUCTS, {"sku": "PD-%s-bad" % RUN_ID, "name": value, "price": 1,
                                    "currency": "EUR"}, headers=admin_headers())
                self.assertError(r, 422, "validation_failed", "name")
        r = post(PRODUCTS, {"sku": "PD-%s-bad" % RUN_ID, "name": word, "price": 1,
                            "currency": "EUR", "description": "x" * (DESCRIPTION_MAX + 1)},
                 headers=admin_headers())
        self.assertError(r, 422, "validation_failed", "description")
        # and nothing of it reached the read model
        self.assertEqual(search_items(word), {})
        self.assertEqual(dead_letters(), self.dead_before)


if __name__ == "__main__":
    unittest.main()
