"""Search end to end (docs/search-api.md): the read model follows the catalog through
events, and GET /api/v1/search and /search/suggest answer with the right items, totals,
facets and errors.

Every product a test makes carries a word of its own in its name (a RUN_ID token), and
the category trees are made by the tests, so the demo catalog (and products of other
tests) never count: searches filter with q=<token> or category=<a category of this run>.
Changes reach search asynchronously (catalog outbox -> relay -> RabbitMQ -> consumer):
every check of a change waits for it (wait_until, a few seconds).
"""

import socket
import unittest
import urllib.parse
import uuid

from arcadetest import (API, RUN_ID, ArcadeTestCase, admin_headers, arcade, create_category,
                        delete, env_value, get, is_int, new_customer, parse_time, patch, post,
                        put, service_db, unique_sku, wait_until)
from test_fleet_events import manifest_daemons

SEARCH = API + "/search"
SUGGEST = API + "/search/suggest"
ITEM_FIELDS = frozenset({"id", "sku", "name", "price", "currency", "category", "in_stock"})
WAIT = 10.0  # seconds for a change to reach search (an idle fleet takes well under one)

_serial = [0]


def token(prefix="sr"):
    """A word no other product has (letters and digits: one full-text token). It ends
    with a letter, so that no token is a prefix of another ("x1k" / "x12k")."""
    _serial[0] += 1
    return "%s%sx%dk" % (prefix, RUN_ID, _serial[0])


def search_response(**params):
    return get(SEARCH + "?" + urllib.parse.urlencode(params))


def search(**params):
    r = search_response(**params)
    if r.status != 200 or not isinstance(r.json, dict):
        raise AssertionError("search %r: %r" % (params, r))
    return r.json


def ids(answer):
    return [it["id"] for it in answer["items"]]


def create(name, **fields):
    body = {"sku": unique_sku("SR"), "name": name, "price": 1000, "currency": "EUR"}
    body.update(fields)
    r = post(API + "/products", body, headers=admin_headers())
    if r.status != 201:
        raise AssertionError("create %r: %r" % (body, r))
    return r.json


def change(pid, **fields):
    r = patch(API + "/products/%d" % pid, fields, headers=admin_headers())
    if r.status != 200:
        raise AssertionError("patch %d %r: %r" % (pid, fields, r))
    return r.json


def set_stock(pid, on_hand):
    r = put(API + "/products/%d/inventory" % pid, {"on_hand": on_hand}, headers=admin_headers())
    if r.status != 200:
        raise AssertionError("inventory %d: %r" % (pid, r))


def facet_counts(answer):
    """({slug: count}, {(min, max): count}) of an answer's facets."""
    cats = {c["slug"]: c["count"] for c in answer["facets"]["category"]}
    prices = {(p["min"], p["max"]): p["count"] for p in answer["facets"]["price"]}
    return cats, prices


class SearchTestCase(ArcadeTestCase):

    def assertAnswer(self, r):
        """The shape of a search answer; returns it."""
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        a = r.json
        self.assertEqual(set(a), {"items", "total", "page", "per_page", "facets"}, r)
        self.assertTrue(is_int(a["total"]) and a["total"] >= 0)
        self.assertEqual(set(a["facets"]), {"category", "price"})
        for it in a["items"]:
            self.assertEqual(set(it), ITEM_FIELDS, it)
            self.assertTrue(is_int(it["id"]) and is_int(it["price"]), it)
            self.assertIsInstance(it["in_stock"], bool)
            self.assertRegex(it["currency"], r"^[A-Z]{3}$")
            if it["category"] is not None:
                self.assertEqual(set(it["category"]), {"slug", "name"}, it)
        for c in a["facets"]["category"]:
            self.assertEqual(set(c), {"slug", "name", "count"}, c)
            self.assertGreater(c["count"], 0)
        counts = [c["count"] for c in a["facets"]["category"]]
        self.assertEqual(counts, sorted(counts, reverse=True), "categories by count")
        bands = a["facets"]["price"]
        for b in bands:
            self.assertEqual(set(b), {"min", "max", "count"}, b)
            self.assertGreater(b["count"], 0, "empty bands are left out")
        self.assertEqual([b["min"] for b in bands], sorted(b["min"] for b in bands))
        return a

    def assertBadParameter(self, r, field):
        self.assertError(r, 400, "invalid_parameter", field=field)


class KnownDataSetTests(SearchTestCase):
    """Filters, sorts, relevance, paging and facets over a small known data set:

        root ─┬─ a ── a1        p1 alpha  500  a1  in stock
              └─ b              p2 bravo  1500 a   out of stock
                                p3 charlie 3000 b  in stock
                                p4 delta 60000 b   out of stock
                                p5 echo  12000 -   in stock (no category)
                                p6 foxtrot 2000 a1 inactive
                                p7 golf  7000  a   in stock; the word only in its description
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        t = cls.t = token()
        cls.root = create_category(name="Root %s" % t)
        cls.a = create_category(name="A %s" % t, parent=cls.root["slug"])
        cls.a1 = create_category(name="A1 %s" % t, parent=cls.a["slug"])
        cls.b = create_category(name="B %s" % t, parent=cls.root["slug"])
        spec = [
            ("p1", "Alpha %s lamp" % t, 500, cls.a1, 5, True, ""),
            ("p2", "Bravo %s lamp" % t, 1500, cls.a, 0, True, ""),
            ("p3", "Charlie %s kettle" % t, 3000, cls.b, 3, True, ""),
            ("p4", "Delta %s kettle" % t, 60000, cls.b, 0, True, ""),
            ("p5", "Echo %s" % t, 12000, None, 1, True, ""),
            ("p6", "Foxtrot %s" % t, 2000, cls.a1, 9, False, ""),
            ("p7", "Golf lamp", 7000, cls.a, 2, True, "Goes well with anything %s." % t),
        ]
        cls.p = {}
        for key, name, price, cat, on_hand, active, desc in spec:
            cls.p[key] = create(name, price=price, category=cat["slug"] if cat else None,
                                on_hand=on_hand, active=active, description=desc)["id"]
        # Every product (the last one created included) has reached search.
        last = cls.p["p7"]
        wait_until(lambda: last in ids(search(q=t)), timeout=WAIT, message="data set in search")
        wait_until(lambda: search(q=t)["total"] == 6, timeout=WAIT, message="all six")

    def pids(self, *keys):
        return [self.p[k] for k in keys]

    def test_words_find_names_and_descriptions_never_inactive(self):
        a = self.assertAnswer(search_response(q=self.t))
        self.assertEqual(a["total"], 6)
        self.assertEqual(set(ids(a)), set(self.pids("p1", "p2", "p3", "p4", "p5", "p7")))
        self.assertNotIn(self.p["p6"], ids(a), "inactive products never appear")
        # Name matches rank above a match in the description only.
        self.assertEqual(ids(a)[-1], self.p["p7"])
        self.assertEqual(a["page"], 1)
        self.assertEqual(a["per_page"], 20)

    def test_every_word_is_required_and_case_does_not_matter(self):
        a = search(q="%s LAMP" % self.t.upper())
        self.assertEqual(set(ids(a)), set(self.pids("p1", "p2", "p7")))
        # Operators are plain separators: the same words.
        a = search(q='-%s +"lamp" (kettle)' % self.t)
        self.assertEqual(a["total"], 0, "lamp and kettle: no product has both")
        # A word prefix matches (the last word being typed).
        a = search(q="%s charl" % self.t)
        self.assertEqual(ids(a), self.pids("p3"))

    def test_item_fields(self):
        a = search(q="alpha %s" % self.t)
        self.assertEqual(ids(a), self.pids("p1"))
        it = a["items"][0]
        self.assertEqual(it["name"], "Alpha %s lamp" % self.t)
        self.assertEqual(it["price"], 500)
        self.assertEqual(it["currency"], "EUR")
        self.assertEqual(it["category"], {"slug": self.a1["slug"], "name": self.a1["name"]})
        self.assertIs(it["in_stock"], True)
        self.assertRegex(it["sku"], r"^SR-")
        a = search(q="echo %s" % self.t)
        self.assertIsNone(a["items"][0]["category"])
        a = search(q="bravo %s" % self.t)
        self.assertIs(a["items"][0]["in_stock"], False)

    def test_facets_count_the_whole_result(self):
        a = self.assertAnswer(search_response(q=self.t, per_page=1))
        self.assertEqual(len(a["items"]), 1)
        cats, prices = facet_counts(a)
        # By leaf category; the product without one counts in total and price only.
        self.assertEqual(cats, {self.a1["slug"]: 1, self.a["slug"]: 2, self.b["slug"]: 2})
        names = {c["slug"]: c["name"] for c in a["facets"]["category"]}
        self.assertEqual(names[self.b["slug"]], self.b["name"])
        self.assertEqual(prices, {(0, 1000): 1, (1000, 2500): 1, (2500, 5000): 1,
                                  (5000, 10000): 1, (10000, 25000): 1, (50000, None): 1})
        self.assertEqual(sum(prices.values()), a["total"])

    def test_category_includes_its_subcategories(self):
        self.assertEqual(set(ids(search(q=self.t, category=self.root["slug"]))),
                         set(self.pids("p1", "p2", "p3", "p4", "p7")))
        self.assertEqual(set(ids(search(q=self.t, category=self.a["slug"]))),
                         set(self.pids("p1", "p2", "p7")))
        self.assertEqual(ids(search(q=self.t, category=self.a1["slug"])), self.pids("p1"))
        a = search(q=self.t, category=self.a["slug"])
        self.assertEqual(facet_counts(a)[0], {self.a1["slug"]: 1, self.a["slug"]: 2})
        # A category nobody has: nothing, not an error.
        a = search(q=self.t, category="no-such-category-%s" % RUN_ID)
        self.assertEqual((a["total"], a["items"]), (0, []))

    def test_filters_combine(self):
        self.assertEqual(set(ids(search(q=self.t, in_stock="true"))),
                         set(self.pids("p1", "p3", "p5", "p7")))
        self.assertEqual(search(q=self.t, in_stock="false")["total"], 6, "false: no filter")
        self.assertEqual(set(ids(search(q=self.t, min_price=1000, max_price=5000))),
                         set(self.pids("p2", "p3")))
        self.assertEqual(ids(search(q=self.t, min_price=60000)), self.pids("p4"))
        self.assertEqual(ids(search(q=self.t, max_price=500)), self.pids("p1"),
                         "max_price is inclusive")
        a = search(q=self.t, category=self.root["slug"], in_stock="true", min_price=1000)
        self.assertEqual(set(ids(a)), set(self.pids("p3", "p7")))
        cats, prices = facet_counts(a)
        self.assertEqual(cats, {self.a["slug"]: 1, self.b["slug"]: 1})
        self.assertEqual(prices, {(2500, 5000): 1, (5000, 10000): 1})
        # Empty values count as absent.
        self.assertEqual(search(q=self.t, category="", min_price="", in_stock="")["total"], 6)

    def test_sorts_and_pages(self):
        by_price = self.pids("p1", "p2", "p3", "p7", "p5", "p4")
        self.assertEqual(ids(search(q=self.t, sort="price")), by_price)
        self.assertEqual(ids(search(q=self.t, sort="-price")), by_price[::-1])
        newest = self.pids("p7", "p5", "p4", "p3", "p2", "p1")
        self.assertEqual(ids(search(q=self.t, sort="newest")), newest)
        pages = [search(q=self.t, sort="price", per_page=4, page=n) for n in (1, 2, 3)]
        self.assertEqual([ids(a) for a in pages], [by_price[:4], by_price[4:], []])
        for n, a in enumerate(pages, 1):
            self.assertEqual((a["total"], a["page"], a["per_page"]), (6, n, 4))
            self.assertEqual(facet_counts(a), facet_counts(pages[0]), "facets on every page")
        a = search(q=self.t, per_page=1000)
        self.assertEqual(a["per_page"], 100, "per_page is capped at 100")
        self.assertEqual(len(a["items"]), 6)

    def test_browsing_a_category_without_words(self):
        # No q: the newest first, facets from the counts kept by every change.
        a = self.assertAnswer(search_response(category=self.root["slug"]))
        self.assertEqual(ids(a), self.pids("p7", "p4", "p3", "p2", "p1"))
        cats, prices = facet_counts(a)
        self.assertEqual(cats, {self.a1["slug"]: 1, self.a["slug"]: 2, self.b["slug"]: 2})
        self.assertEqual(prices, {(0, 1000): 1, (1000, 2500): 1, (2500, 5000): 1,
                                  (5000, 10000): 1, (50000, None): 1})
        self.assertEqual(ids(search(category=self.root["slug"], sort="relevance")), ids(a),
                         "relevance without words is newest first")
        a = search(category=self.root["slug"], in_stock="true")
        self.assertEqual(set(ids(a)), set(self.pids("p1", "p3", "p7")))
        self.assertEqual(facet_counts(a)[0], {self.a1["slug"]: 1, self.a["slug"]: 1,
                                              self.b["slug"]: 1})
        # A band picked from the price facet, and a range that is not a band: the same.
        band = search(category=self.root["slug"], min_price=1000, max_price=2499)
        other = search(category=self.root["slug"], min_price=1000, max_price=2500)
        self.assertEqual(ids(band), self.pids("p2"))
        self.assertEqual(ids(other), self.pids("p2"))
        self.assertEqual(band["facets"], other["facets"])
        self.assertEqual(ids(search(category=self.b["slug"], sort="-price")),
                         self.pids("p4", "p3"))

    def test_short_words_match_name_prefixes(self):
        # "go" is too short for the full-text index: the name starts a word with it.
        a = search(q="go", category=self.root["slug"])
        self.assertEqual(ids(a), self.pids("p7"))
        self.assertEqual(search(q="go", category=self.b["slug"])["total"], 0)

    def test_suggest(self):
        r = get(SUGGEST + "?q=" + self.t[:-1])
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(set(r.json), {"suggestions"})
        got = r.json["suggestions"]
        for s in got:
            self.assertEqual(set(s), {"id", "name"})
        # Names only, active only.
        self.assertEqual({s["id"] for s in got},
                         set(self.pids("p1", "p2", "p3", "p4", "p5")))
        got = get(SUGGEST + "?q=" + urllib.parse.quote("%s char" % self.t)).json["suggestions"]
        self.assertEqual(got, [{"id": self.p["p3"], "name": "Charlie %s kettle" % self.t}])
        self.assertLessEqual(len(get(SUGGEST + "?q=e").json["suggestions"]), 10)
        for q in ("", "?q=", "?q=%20-"):
            r = get(SUGGEST + q)
            self.assertStatus(r, 200)
            self.assertEqual(r.json, {"suggestions": []})


class FollowsTheCatalogTests(SearchTestCase):
    """Each catalog write shows up in search."""

    def found(self, word, **params):
        return {it["id"]: it for it in search(q=word, per_page=100, **params)["items"]}

    def wait_for(self, pred, message):
        wait_until(pred, timeout=WAIT, interval=0.05, message=message)

    def test_create_update_deactivate_reactivate(self):
        t = token()
        cat = create_category()
        other = create_category()
        p = create("Hotel %s original" % t, price=1200, category=cat["slug"], on_hand=1)
        pid = p["id"]
        self.wait_for(lambda: pid in self.found(t), "created")
        self.assertEqual(self.found(t)[pid]["price"], 1200)

        change(pid, price=45000)
        self.wait_for(lambda: self.found(t).get(pid, {}).get("price") == 45000, "price")
        self.assertEqual(facet_counts(search(q=t))[1], {(25000, 50000): 1}, "band follows")

        change(pid, name="Hotel %s renamed" % t)
        self.wait_for(lambda: pid in self.found("%s renamed" % t), "name")
        self.assertEqual(self.found("%s original" % t), {})

        change(pid, category=other["slug"])
        self.wait_for(lambda: pid in self.found(t, category=other["slug"]), "category")
        self.assertEqual(self.found(t, category=cat["slug"]), {})
        self.assertEqual(ids(search(category=other["slug"])), [pid], "browse follows")
        self.assertEqual(search(category=cat["slug"])["total"], 0)

        change(pid, category=None)
        self.wait_for(lambda: self.found(t).get(pid, {"category": 1})["category"] is None,
                      "no category")
        self.assertEqual(search(category=other["slug"])["total"], 0)

        r = delete(API + "/products/%d" % pid, headers=admin_headers())
        self.assertStatus(r, 204)
        self.wait_for(lambda: pid not in self.found(t), "deactivated")
        self.assertEqual(get(SUGGEST + "?q=" + t).json["suggestions"], [])

        change(pid, active=True, category=cat["slug"])
        self.wait_for(lambda: pid in self.found(t), "active again")
        self.assertEqual(ids(search(category=cat["slug"])), [pid])

    def test_stock(self):
        t = token()
        cat = create_category()
        pid = create("India %s" % t, category=cat["slug"], on_hand=0)["id"]
        self.wait_for(lambda: pid in self.found(t), "created")
        self.assertIs(self.found(t)[pid]["in_stock"], False)
        self.assertEqual(search(q=t, in_stock="true")["total"], 0)
        set_stock(pid, 4)
        self.wait_for(lambda: self.found(t)[pid]["in_stock"] is True, "in stock")
        self.assertEqual(ids(search(q=t, in_stock="true")), [pid])
        self.assertEqual(ids(search(category=cat["slug"], in_stock="true")), [pid])
        set_stock(pid, 2)  # still in stock: nothing a search shows changes
        set_stock(pid, 0)
        self.wait_for(lambda: self.found(t)[pid]["in_stock"] is False, "out of stock")
        self.assertEqual(search(category=cat["slug"], in_stock="true")["total"], 0)
        self.assertEqual(search(category=cat["slug"])["total"], 1)

    def test_reindex_keeps_the_read_model(self):
        t = token()
        pid = create("Juliet %s" % t, price=3300)["id"]
        self.wait_for(lambda: pid in self.found(t), "created")
        before = search(q=t)
        out = arcade("reindex", timeout=300).stdout
        self.assertRegex(out, r"\d+ products applied, \d+ removed")
        self.assertEqual(search(q=t), before)
        # Changes still arrive afterwards.
        change(pid, price=3400)
        self.wait_for(lambda: self.found(t).get(pid, {}).get("price") == 3400, "after reindex")


class ParameterTests(SearchTestCase):

    def test_bad_parameters_are_400(self):
        cases = [
            ({"q": "x" * 201}, "q"),
            ({"category": "Not A Slug"}, "category"),
            ({"category": "a_b"}, "category"),
            ({"min_price": "-1"}, "min_price"),
            ({"min_price": "abc"}, "min_price"),
            ({"max_price": "1e3"}, "max_price"),
            ({"max_price": "1000000000000"}, "max_price"),
            ({"min_price": "5", "max_price": "4"}, "max_price"),
            ({"in_stock": "yes"}, "in_stock"),
            ({"in_stock": "1"}, "in_stock"),
            ({"sort": "name"}, "sort"),
            ({"sort": "-newest"}, "sort"),
            ({"page": "0"}, "page"),
            ({"page": "x"}, "page"),
            ({"per_page": "0"}, "per_page"),
            ({"per_page": "-5"}, "per_page"),
            ({"page": "501", "per_page": "20"}, "page"),  # past the first 10,000 results
        ]
        for params, field in cases:
            with self.subTest(params=params):
                self.assertBadParameter(search_response(**params), field)
        r = get(SEARCH + "?q=%zz")
        self.assertError(r, 400, "invalid_parameter")
        self.assertBadParameter(get(SUGGEST + "?q=" + "y" * 201), "q")
        # Every problem at once.
        r = search_response(sort="x", page="0", in_stock="maybe")
        err = self.assertError(r, 400, "invalid_parameter", fields=["sort", "page", "in_stock"])
        self.assertEqual(set(err["fields"]), {"sort", "page", "in_stock"})

    def test_limits_that_are_fine(self):
        a = self.assertAnswer(search_response(q="x" * 200, page=500, per_page=20))
        self.assertEqual(a["items"], [])
        a = self.assertAnswer(search_response(per_page=3))
        self.assertEqual(len(a["items"]), 3)
        self.assertGreater(a["total"], 0)
        # Without words: newest first (the demo and test products' ids grow with time).
        self.assertEqual(ids(a), sorted(ids(a), reverse=True))

    def test_methods_and_public_access(self):
        r = post(SEARCH, {"q": "x"})
        self.assertError(r, 405, "method_not_allowed")
        self.assertIn("GET", r.header("Allow", ""))
        # Public: a wrong token does not matter.
        r = get(SEARCH + "?q=kettle", headers={"Authorization": "Bearer nope"})
        self.assertStatus(r, 200)


def generation():
    """The read model's generation (search_state): cached answers are keyed by it."""
    return int(service_db("search", "SELECT generation FROM search_state WHERE id = 1")[0][0])


def read_model_stock(pid):
    """The stock search holds for a product (None before it has the product)."""
    rows = service_db("search", "SELECT stock FROM products WHERE id = %d" % pid)
    return int(rows[0][0]) if rows else None


def memcached_gets():
    """memcached's (get_hits, get_misses) so far (the fleet's first server)."""
    host, _, port = env_value("ARCADE_MEMCACHED_SERVERS").split(",")[0].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as c:
        c.sendall(b"stats\r\n")
        buf = b""
        while not buf.endswith(b"END\r\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
    stats = dict(line.split()[1:3] for line in buf.decode().splitlines()
                 if line.startswith("STAT "))
    return int(stats["get_hits"]), int(stats["get_misses"])


class CachedAnswersTests(SearchTestCase):
    """A stock change that no search can tell (10 -> 9 -> 8, still in stock) leaves the
    cached answers in place: the generation stays, and an answer cached before it is a
    memcached hit after it. Going out of stock (the items' in_stock, the in_stock
    filter) moves the generation: the next search is computed again. The e2e tests run
    one at a time, so the fleet's memcached sees only this test's requests."""

    def search_gets(self, path):
        """(answer, memcached hits, misses) of one search."""
        h0, m0 = memcached_gets()
        r = get(path)
        self.assertStatus(r, 200)
        h1, m1 = memcached_gets()
        return r.body, h1 - h0, m1 - m0

    def applied(self, pid, stock):
        wait_until(lambda: read_model_stock(pid) == stock, timeout=WAIT, interval=0.05,
                   message="stock %d of product %d in the read model" % (stock, pid))

    def assertStillCached(self, path, answer, g0, what):
        self.assertEqual(generation(), g0, "%s moved the read model's generation" % what)
        body, hits, misses = self.search_gets(path)
        self.assertEqual((hits, misses), (1, 0),
                         "after %s, the cached answer of %s was not a memcached hit" % (what, path))
        self.assertEqual(body, answer, "after %s" % what)

    def test_stock_changes_a_search_cannot_tell_keep_cached_answers(self):
        t = token("ca")
        pid = create("Kilo %s" % t, on_hand=10)["id"]
        self.applied(pid, 10)
        paths = [SEARCH + "?q=" + t, SEARCH + "?q=%s&in_stock=true" % t]
        answers = {}
        for path in paths:
            answers[path] = self.search_gets(path)[0]  # computed and cached (or a hit)
            body, hits, misses = self.search_gets(path)
            self.assertEqual((body, hits, misses), (answers[path], 1, 0), "cached: " + path)
        self.assertEqual(ids(search(q=t, in_stock="true")), [pid])
        g0 = generation()

        set_stock(pid, 9)  # the admin's PUT …/inventory
        self.applied(pid, 9)
        for path in paths:
            self.assertStillCached(path, answers[path], g0, "stock 10 -> 9 (PUT inventory)")

        if ("orders", "consume") in manifest_daemons():  # the saga reserves one unit
            who = new_customer()
            r = post(API + "/orders", {"shipping_address": {
                "name": "Ada Lovelace", "line1": "12 Test Street", "line2": "", "city": "Berlin",
                "postal_code": "10115", "country": "DE", "phone": "+49 30 123456"},
                "items": [{"product_id": pid, "quantity": 1}]},
                headers=dict(who.headers, **{"Idempotency-Key": uuid.uuid4().hex}))
            self.assertStatus(r, 201)
            self.applied(pid, 8)
            for path in paths:
                self.assertStillCached(path, answers[path], g0, "stock 9 -> 8 (a reservation)")

        r = get(API + "/products/%d/inventory" % pid, headers=admin_headers())
        set_stock(pid, r.json["reserved"])  # available 0: out of stock
        self.applied(pid, 0)
        self.assertGreater(generation(), g0, "going out of stock must move the generation")
        body, hits, misses = self.search_gets(paths[0])
        self.assertEqual((hits, misses), (0, 1), "out of stock: the answer is computed again")
        self.assertIs(self.found_item(t, pid)["in_stock"], False)
        body, hits, misses = self.search_gets(paths[1])
        self.assertEqual((hits, misses), (0, 1), "out of stock: the filtered answer too")
        self.assertEqual(ids(search(q=t, in_stock="true")), [])

    def found_item(self, t, pid):
        return {it["id"]: it for it in search(q=t)["items"]}[pid]


class HealthTests(SearchTestCase):

    def test_health_reports_db_broker_and_lag(self):
        r = get("/health/search")
        self.assertStatus(r, 200)
        h = r.json
        self.assertEqual(h["status"], "ok", h)
        self.assertEqual(h["checks"], {"db": "ok", "broker": "ok"})
        lag = h["details"]["lag"]
        self.assertTrue(is_int(lag["events"]) and lag["events"] >= 0, h)
        self.assertEqual(lag["events"], lag["waiting"] + lag["retrying"])
        self.assertTrue(is_int(h["details"]["dead_letters"]), h)
        parse_time(h["details"]["last_change_at"])
        self.assertEqual(r.header("Cache-Control"), "no-store")


if __name__ == "__main__":
    unittest.main()
