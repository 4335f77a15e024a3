"""Events end to end (docs/events.md): catalog writes travel outbox -> relay -> RabbitMQ ->
the search consumer -> the search read model, and survive faults.

- a change made through the catalog API shows up in search, and the consumer continues
  the request's trace;
- the broker stopped while products are written: the catalog keeps answering, its health
  shows the backlog, and once the broker is back every change arrives, none twice;
- the consumer SIGKILLed mid-batch (supervised, so restarted): no change lost or applied
  twice;
- the relay SIGKILLed while products are written: nothing lost;
- a poison message ends in search.catalog.dead and the consumer goes on.

"None twice" is read from the consumer's log: it writes one "applied" line per event it
applied (a redelivered event is recorded as a duplicate, not applied), so every
(product, version) must be applied exactly once. Products carry a token of this run in
their names, so the demo catalog never disturbs what is searched.
"""

import os
import re
import signal
import threading
import time
import unittest
import urllib.parse

from arcadetest import (API, HOME, RUN_ID, Amqp, ArcadeTestCase, admin_headers, arcade, delete,
                        get, new_traceparent, parse_traceparent, patch, post, put, unique_sku,
                        wait_until)

_serial = [0]
HANDLED = re.compile(r'"msg":"event ([0-9a-f]{32}) (\S+) product:(\d+) v(\d+) (applied|duplicate)"')


def token():
    """A word no other product has: FULLTEXT finds exactly this test's products."""
    _serial[0] += 1
    return "ev%sn%d" % (RUN_ID, _serial[0])


def search(**params):
    r = get(API + "/search?" + urllib.parse.urlencode(params))
    if r.status != 200:
        raise AssertionError("search %r: %r" % (params, r))
    return r.json


def found(word):
    """{id: item} of the active products whose names hold word."""
    return {it["id"]: it for it in search(q=word, per_page=100)["items"]}


def handled_lines():
    """[(event_id, product_id, version, "applied" | "duplicate")] of every event the
    consumer committed: "applied" when it took effect, "duplicate" when the inbox knew
    it already (a redelivery: acknowledged without a second effect)."""
    out = []
    with open(os.path.join(HOME, "log", "search.log"), encoding="utf-8", errors="replace") as f:
        for line in f:
            m = HANDLED.search(line)
            if m:
                out.append((m.group(1), int(m.group(3)), int(m.group(4)), m.group(5)))
    return out


def create(word, **fields):
    body = {"sku": unique_sku("EV"), "name": "Item %s" % word,
            "price": 1000, "currency": "EUR"}
    body.update(fields)
    r = post(API + "/products", body, headers=admin_headers())
    if r.status != 201:
        raise AssertionError("create %r: %r" % (body, r))
    return r.json


def catalog_health():
    return get("/health/catalog").json


class EventsTest(ArcadeTestCase):

    def setUp(self):
        # Every daemon runs (a test that stops one starts it again in its cleanup).
        arcade("svc", "start", "catalog-relay", timeout=60)
        arcade("svc", "start", "search-consume", timeout=60)

    def assert_applied_once(self, ids, versions):
        """Every (id, version) of ids up to versions[id] applied exactly once."""
        applied, handled = {}, set()
        for _, pid, ver, how in handled_lines():
            if pid in ids:
                handled.add((pid, ver))
                if how == "applied":
                    applied[(pid, ver)] = applied.get((pid, ver), 0) + 1
        twice = {k: n for k, n in applied.items() if n > 1}
        self.assertEqual(twice, {}, "events applied more than once")
        # (a consumer killed between its commit and its log line leaves only the
        # redelivery's "duplicate" line: committed once all the same)
        missing = [(pid, v) for pid in ids for v in range(1, versions[pid] + 1)
                   if (pid, v) not in handled]
        self.assertEqual(missing, [], "events never applied")

    def test_change_reaches_search_with_its_trace(self):
        word = token()
        tp = new_traceparent()
        body = {"sku": unique_sku("EV"), "name": "Traced %s" % word, "price": 1500,
                "currency": "EUR"}
        r = post(API + "/products", body, headers=admin_headers({"traceparent": tp}))
        self.assertStatus(r, 201)
        pid = r.json["id"]
        wait_until(lambda: pid in found(word), timeout=10, message="product in search")
        trace_id = parse_traceparent(tp)[0]
        with open(os.path.join(HOME, "log", "search.log"), encoding="utf-8") as f:
            lines = [ln for ln in f if "product:%d " % pid in ln and " applied" in ln]
        self.assertTrue(lines, "the consumer logged the event")
        self.assertIn('"trace_id":"%s"' % trace_id, lines[-1])

    def test_visible_within_a_second(self):
        word = token()
        p = create(word, price=2000)
        wait_until(lambda: p["id"] in found(word), timeout=10, message="created")
        t0 = time.monotonic()
        r = patch(API + "/products/%d" % p["id"], {"price": 2500}, headers=admin_headers())
        self.assertStatus(r, 200)
        wait_until(lambda: found(word).get(p["id"], {}).get("price") == 2500, timeout=10,
                   interval=0.02, message="price in search")
        self.assertLess(time.monotonic() - t0, 1.0, "visible in search within a second")

    def test_broker_down_while_writing(self):
        word = token()
        arcade("svc", "stop", "rabbitmq", timeout=120)
        self.addCleanup(lambda: arcade("svc", "start", "rabbitmq", check=False, timeout=120))
        ids, versions = [], {}
        for i in range(5):
            p = create(word, price=1000 + i)  # the catalog answers without a broker
            ids.append(p["id"])
        for pid in ids:
            r = patch(API + "/products/%d" % pid, {"name": "Renamed %s %d" % (word, pid)},
                      headers=admin_headers())
            self.assertStatus(r, 200)
            versions[pid] = 2
        r = put(API + "/products/%d/inventory" % ids[0], {"on_hand": 7}, headers=admin_headers())
        self.assertStatus(r, 200)
        versions[ids[0]] = 3
        h = catalog_health()
        self.assertEqual(h["checks"]["broker"], "unavailable")
        self.assertEqual(h["status"], "degraded")
        self.assertGreaterEqual(h["details"]["outbox"]["pending"], 11)

        arcade("svc", "start", "rabbitmq", timeout=120)
        wait_until(lambda: catalog_health()["details"]["outbox"]["pending"] == 0, timeout=30,
                   message="outbox drained")

        def arrived():
            got = found(word)
            return (len(got) == 5 and all(got[pid]["name"] == "Renamed %s %d" % (word, pid)
                                          for pid in ids) and got[ids[0]]["in_stock"])
        wait_until(arrived, timeout=30, message="every change in search")
        self.assert_applied_once(ids, versions)

    def test_consumer_killed_mid_batch(self):
        word = token()
        ids = [create(word, price=100)["id"] for _ in range(10)]
        wait_until(lambda: len(found(word)) == 10, timeout=15, message="created")
        versions = {pid: 1 for pid in ids}
        arcade("svc", "stop", "search-consume", timeout=60)
        self.addCleanup(lambda: arcade("svc", "start", "search-consume", check=False, timeout=60))
        # 10 products x 50 price changes wait in the queue
        for step in range(1, 51):
            for pid in ids:
                r = patch(API + "/products/%d" % pid, {"price": 100 + step},
                          headers=admin_headers())
                self.assertStatus(r, 200)
                versions[pid] += 1
        # SIGKILL the consumer as soon as it has applied a few: a thread follows the
        # log's new lines (they carry the consumer's pid) while it starts
        log = open(os.path.join(HOME, "log", "search.log"), "rb")
        self.addCleanup(log.close)
        log.seek(0, os.SEEK_END)
        state = {"seen": 0, "pid": None}

        def killer():
            buf, deadline = b"", time.monotonic() + 30
            while state["seen"] < 5 and time.monotonic() < deadline:
                buf += log.read()
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    m = re.search(rb'"pid":(\d+),.* applied"', line)
                    if m:
                        state["seen"] += 1
                        state["pid"] = int(m.group(1))
            if state["pid"]:
                os.kill(state["pid"], signal.SIGKILL)
            state["seen"] += (buf + log.read()).count(b' applied"')
        t = threading.Thread(target=killer)
        t.start()
        arcade("svc", "start", "search-consume", timeout=60)
        t.join()
        self.assertGreaterEqual(state["seen"], 5, "the consumer started applying")
        self.assertLess(state["seen"], 500, "killed before the batch was done")

        def done():
            got = found(word)
            return len(got) == 10 and all(got[pid]["price"] == 150 for pid in ids)
        wait_until(done, timeout=30, message="every change in search")
        # applied in order: a killed consumer's unacknowledged events come back, and the
        # inbox turns the ones already committed into duplicates
        self.assert_applied_once(ids, versions)

    def test_relay_killed_while_writing(self):
        word = token()
        ids = []
        for i in range(30):
            ids.append(create(word, price=500 + i)["id"])
            if i == 10:
                arcade("svc", "kill-daemon", "catalog-relay", timeout=60)
        wait_until(lambda: len(found(word)) == 30, timeout=30, message="every product")
        self.assert_applied_once(ids, {pid: 1 for pid in ids})

    def test_deactivated_and_reactivated(self):
        word = token()
        p = create(word)
        wait_until(lambda: p["id"] in found(word), timeout=10, message="created")
        self.assertStatus(delete(API + "/products/%d" % p["id"], headers=admin_headers()), 204)
        wait_until(lambda: p["id"] not in found(word), timeout=10, message="deactivated")
        r = patch(API + "/products/%d" % p["id"], {"active": True}, headers=admin_headers())
        self.assertStatus(r, 200)
        wait_until(lambda: p["id"] in found(word), timeout=10, message="active again")

    def test_poison_message_is_dead_lettered_and_the_consumer_goes_on(self):
        word = token()
        amqp = Amqp()
        try:
            # the queue may hold dead letters of earlier runs
            dead_before = amqp.declare("search.catalog.dead", passive=True)
            amqp.publish("search.catalog", b"this is not an event", "poison-%s" % RUN_ID,
                         "product.updated")
            bad_data = ('{"id":"%032x","type":"product.updated","occurred_at":"2026-11-23T00:00'
                        ':00.000Z","source":"catalog","key":"product:1","version":1,'
                        '"data":{"id":"not a number"}}' % (int(RUN_ID, 16) + 7))
            amqp.publish("search.catalog", bad_data.encode(), "%032x" % (int(RUN_ID, 16) + 7),
                         "product.updated")
        finally:
            amqp.close()
        # the next real change still arrives
        p = create(word)
        wait_until(lambda: p["id"] in found(word), timeout=10, message="consumer goes on")

        def dead_count():
            a = Amqp()
            try:
                return a.declare("search.catalog.dead", passive=True)
            finally:
                a.close()
        wait_until(lambda: dead_count() >= dead_before + 2, timeout=15,
                   message="both poison messages in search.catalog.dead")
        out = arcade("events").stdout
        self.assertRegex(out, r"search\.catalog\.dead")
        listing = arcade("events", "dead", "search.catalog").stdout
        self.assertIn("poison-%s" % RUN_ID, listing)
        self.assertIn("not an event envelope", listing)

        # Dead letters make search's health say so (docs/search-api.md), until they
        # are dealt with (here: dropped, so that later tests see a healthy fleet).
        dead = dead_count()
        h = get("/health/search")
        self.assertStatus(h, 200)
        self.assertEqual(h.json["status"], "degraded", h.json)
        self.assertEqual(h.json["checks"], {"db": "ok", "broker": "ok"})
        self.assertEqual(h.json["details"]["dead_letters"], dead)
        a = Amqp()
        try:
            a.purge("search.catalog.dead")
        finally:
            a.close()
        wait_until(lambda: get("/health/search").json["status"] == "ok", timeout=10,
                   message="search healthy again without dead letters")


if __name__ == "__main__":
    unittest.main()
