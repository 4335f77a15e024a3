"""The catalog's side of the stock saga (docs/events.md, "Order and stock events"):
order events published to the broker as the orders service does, the catalog's
`stock.*` answers read back from a test queue bound to arcade.events, and the
stock read through GET /api/v1/products/{id}/inventory and the product document.

Real components only: the fleet's RabbitMQ, relay and consumer, and MariaDB.
"""

import json
import os
import signal
import subprocess
import time
import unittest

from arcadetest import (RUN_ID, Amqp, ArcadeTestCase, admin_headers, arcade, create_product, get,
                        product_path, put, service_db, wait_until)
from test_fleet_events import children, environ, manifest_daemons, multiwatch_pid

EXCHANGE = "arcade.events"
UNKNOWN_PRODUCT = 9_000_000_000_000
_order_seq = [int(RUN_ID, 16) % 100_000 * 100_000]


def new_order_id():
    _order_seq[0] += 1
    return _order_seq[0]


def envelope(type_, order_id, data, eid=None):
    eid = eid or os.urandom(16).hex()
    body = {"id": eid, "type": type_, "occurred_at": "2026-12-03T12:00:00.000Z",
            "source": "orders", "key": "order:%d" % order_id, "version": 1, "data": data}
    return eid, json.dumps(body).encode()


def catalog_db(sql):
    return service_db("catalog", sql)


class SagaCase(ArcadeTestCase):
    """A broker connection and a queue of the catalog's stock.* answers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if ("catalog", "consume") not in manifest_daemons():
            raise unittest.SkipTest("no catalog consumer in this fleet")
        cls.amqp = Amqp()
        cls.answers_queue = "test.stock.%s.%s" % (RUN_ID, cls.__name__)
        cls.amqp.declare(cls.answers_queue)
        cls.amqp.bind(cls.answers_queue, EXCHANGE, "stock.*")
        cls.seen = {}

    @classmethod
    def tearDownClass(cls):
        try:
            cls.amqp.delete(cls.answers_queue)
        finally:
            cls.amqp.close()
        super().tearDownClass()

    def publish(self, type_, order_id, data, eid=None):
        eid, body = envelope(type_, order_id, dict(data, order_id=order_id), eid)
        self.amqp.publish_to(EXCHANGE, type_, body, eid, type_)
        return eid

    def created(self, order_id, items, eid=None):
        return self.publish("order.created", order_id,
                            {"user_id": 1, "currency": "EUR",
                             "items": [{"product_id": p, "quantity": q} for p, q in items]},
                            eid)

    def drain(self):
        while True:
            body = self.amqp.get(self.answers_queue)
            if body is None:
                return
            ev = json.loads(body)
            self.assertEqual(ev["source"], "catalog")
            self.assertIn(ev["type"], ("stock.reserved", "stock.rejected"))
            self.assertEqual(ev["key"], "order:%d" % ev["data"]["order_id"])
            self.seen.setdefault(ev["data"]["order_id"], []).append(ev)

    def answers(self, order_ids, timeout=30):
        """Each order's stock.* answers, once every one has at least one."""
        def all_answered():
            self.drain()
            return all(o in self.seen for o in order_ids)
        wait_until(all_answered, timeout=timeout, interval=0.2,
                   message="a stock.* answer for each of %d orders" % len(order_ids))
        return {o: self.seen[o] for o in order_ids}

    def answer(self, order_id):
        evs = self.answers([order_id])[order_id]
        self.assertEqual(len(evs), 1, "one answer for order %d: %r" % (order_id, evs))
        return evs[0]

    def settle(self):
        """Waits until the consumer handled everything published before: a sentinel
        order's answer comes after them (one consumer handles in order)."""
        sentinel = new_order_id()
        self.created(sentinel, [(UNKNOWN_PRODUCT, 1)])
        self.answer(sentinel)

    def inventory(self, pid):
        r = get(product_path(pid) + "/inventory", headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual(set(r.json), {"on_hand", "reserved", "sold", "available"})
        self.assertEqual(r.json["available"], r.json["on_hand"] - r.json["reserved"])
        return r.json

    def order_state(self, order_id):
        rows = catalog_db("SELECT state FROM order_stock WHERE order_id = %d" % order_id)
        return rows[0][0] if rows else None

    def held_sum(self, pid):
        rows = catalog_db("SELECT COALESCE(SUM(quantity), 0) FROM reservations "
                          "WHERE product_id = %d AND state = 'held'" % pid)
        return int(rows[0][0])

    def assertStock(self, pid, on_hand, reserved, sold):
        inv = self.inventory(pid)
        self.assertEqual((inv["on_hand"], inv["reserved"], inv["sold"]),
                         (on_hand, reserved, sold), "on_hand, reserved, sold of %d" % pid)
        self.assertEqual(self.held_sum(pid), reserved, "reserved = the held reservations")
        doc = get(product_path(pid))
        self.assertStatus(doc, 200)
        self.assertEqual(doc.json["stock"], on_hand - reserved, "the document's stock, not stale")


class SagaTest(SagaCase):

    def test_inventory_endpoint(self):
        p = create_product(on_hand=7)
        self.assertEqual(self.inventory(p["id"]),
                         {"on_hand": 7, "reserved": 0, "sold": 0, "available": 7})
        r = get(product_path(p["id"]) + "/inventory")
        self.assertIn(r.status, (401, 403))
        self.assertError(get(product_path(UNKNOWN_PRODUCT) + "/inventory",
                             headers=admin_headers()), 404, "not_found")

    def test_reserve_pay_cancel(self):
        p = create_product(on_hand=10)
        pid = p["id"]
        self.assertEqual(get(product_path(pid)).json["stock"], 10)  # cached by a worker now
        o = new_order_id()
        self.created(o, [(pid, 3)])
        ev = self.answer(o)
        self.assertEqual(ev["type"], "stock.reserved")
        self.assertEqual(ev["data"], {"order_id": o, "items": [{"product_id": pid, "quantity": 3}]})
        self.assertEqual(self.order_state(o), "held")
        self.assertStock(pid, 10, 3, 0)

        paid = self.publish("order.paid", o, {})
        self.publish("order.paid", o, {}, eid=paid)   # redelivered
        self.publish("order.paid", o, {})             # a second event, same transition
        self.settle()
        self.assertEqual(self.order_state(o), "sold")
        self.assertStock(pid, 7, 0, 3)

        self.publish("order.cancelled", o, {"reason": "admin"})
        self.publish("order.cancelled", o, {"reason": "admin"})
        self.publish("order.paid", o, {})
        self.settle()
        self.assertEqual(self.order_state(o), "returned")
        self.assertStock(pid, 10, 0, 0)
        self.assertEqual(len(self.seen[o]), 1, "one answer in all")

    def test_cancel_held_releases_once(self):
        pid = create_product(on_hand=5)["id"]
        o = new_order_id()
        self.created(o, [(pid, 5)])
        self.assertEqual(self.answer(o)["type"], "stock.reserved")
        self.assertStock(pid, 5, 5, 0)
        self.assertEqual(get(product_path(pid)).json["stock"], 0)
        for _ in range(2):
            self.publish("order.cancelled", o, {"reason": "payment_timeout"})
        self.publish("order.paid", o, {})  # too late: nothing to sell
        self.settle()
        self.assertEqual(self.order_state(o), "released")
        self.assertStock(pid, 5, 0, 0)

    def test_rejected_reserves_nothing(self):
        a = create_product(on_hand=5)["id"]
        b = create_product(on_hand=1)["id"]
        inactive = create_product(on_hand=9, active=False)["id"]
        o = new_order_id()
        self.created(o, [(b, 2), (a, 3), (UNKNOWN_PRODUCT, 1), (inactive, 1)])
        ev = self.answer(o)
        self.assertEqual(ev["type"], "stock.rejected")
        self.assertEqual(ev["data"], {"order_id": o, "reason": "out_of_stock", "lines": [
            {"product_id": b, "requested": 2, "available": 1},
            {"product_id": inactive, "requested": 1, "available": 0},
            {"product_id": UNKNOWN_PRODUCT, "requested": 1, "available": 0},
        ]})
        self.assertEqual(self.order_state(o), "rejected")
        self.assertStock(a, 5, 0, 0)
        self.assertStock(b, 1, 0, 0)
        # A rejected order has nothing to sell or release.
        self.publish("order.paid", o, {})
        self.publish("order.cancelled", o, {"reason": "customer"})
        self.settle()
        self.assertStock(a, 5, 0, 0)

    def test_lines_of_one_product_add_up(self):
        pid = create_product(on_hand=4)["id"]
        o = new_order_id()
        self.created(o, [(pid, 1), (pid, 3)])
        ev = self.answer(o)
        self.assertEqual(ev["data"]["items"], [{"product_id": pid, "quantity": 4}])
        self.assertStock(pid, 4, 4, 0)

    def test_duplicates_have_no_second_effect(self):
        pid = create_product(on_hand=10)["id"]
        o = new_order_id()
        eid = self.created(o, [(pid, 2)])
        self.created(o, [(pid, 2)], eid=eid)  # the same event again
        self.created(o, [(pid, 2)])           # a second event for the same order
        self.settle()
        self.assertEqual(len(self.seen[o]), 1, self.seen[o])
        self.assertStock(pid, 10, 2, 0)

    def test_cancel_before_create_is_a_tombstone(self):
        pid = create_product(on_hand=10)["id"]
        o = new_order_id()
        self.publish("order.cancelled", o, {"reason": "customer"})
        self.created(o, [(pid, 2)])
        self.settle()
        self.assertNotIn(o, self.seen, "no answer for a cancelled order")
        self.assertEqual(self.order_state(o), "cancelled")
        self.assertStock(pid, 10, 0, 0)

    def test_paid_before_created_waits_for_it(self):
        pid = create_product(on_hand=10)["id"]
        o = new_order_id()
        self.publish("order.paid", o, {})  # goes to the retry queue, comes back
        self.created(o, [(pid, 1)])
        self.assertEqual(self.answer(o)["type"], "stock.reserved")
        wait_until(lambda: self.order_state(o) == "sold", timeout=20,
                   message="the retried order.paid applied")
        self.assertStock(pid, 9, 0, 1)

    def test_inventory_put_below_reserved(self):
        pid = create_product(on_hand=10)["id"]
        o = new_order_id()
        self.created(o, [(pid, 4)])
        self.answer(o)
        r = put(product_path(pid) + "/inventory", {"on_hand": 3}, headers=admin_headers())
        self.assertError(r, 409, "below_reserved", field="on_hand")
        self.assertStock(pid, 10, 4, 0)
        r = put(product_path(pid) + "/inventory", {"on_hand": 4}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual(r.json["stock"], 0)
        self.assertStock(pid, 4, 4, 0)

    def test_malformed_order_event_is_dead_lettered(self):
        o = new_order_id()
        self.publish("order.created", o, {"items": [{"product_id": 1, "quantity": 0}]})
        self.settle()
        self.assertIsNone(self.order_state(o))
        self.assertNotIn(o, self.seen)


def spawn_consumers(n):
    """n more `arcade-catalog consume` processes, as further web hosts would run,
    with the environment of the fleet's own; returns their Popen objects."""
    mw = multiwatch_pid("catalog-consume")
    kids = wait_until(lambda: children(mw), timeout=10, message="the catalog consumer")
    exe = os.readlink("/proc/%d/exe" % kids[0])
    env = {k.decode(): v.decode() for k, v in environ(kids[0]).items()}
    return [subprocess.Popen([exe, "consume"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def stop_consumers(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class SagaInvariantTest(SagaCase):

    def hot_product(self, on_hand, orders):
        pid = create_product(on_hand=on_hand)["id"]
        ids = [new_order_id() for _ in range(orders)]
        return pid, ids

    def check_answers(self, pid, ids, on_hand):
        got = self.answers(ids, timeout=120)
        multi = {o: evs for o, evs in got.items() if len(evs) != 1}
        self.assertEqual(multi, {}, "exactly one answer per order")
        reserved = [o for o in ids if got[o][0]["type"] == "stock.reserved"]
        rejected = [o for o in ids if got[o][0]["type"] == "stock.rejected"]
        self.assertEqual(len(reserved), on_hand, "orders that got stock")
        self.assertEqual(len(rejected), len(ids) - on_hand)
        for o in rejected:
            self.assertEqual(got[o][0]["data"]["lines"],
                             [{"product_id": pid, "requested": 1, "available": 0}])
        self.assertStock(pid, on_hand, on_hand, 0)
        states = catalog_db("SELECT state, COUNT(*) FROM order_stock WHERE order_id BETWEEN %d "
                            "AND %d GROUP BY state" % (ids[0], ids[-1]))
        self.assertEqual(dict((s, int(n)) for s, n in states),
                         {"held": on_hand, "rejected": len(ids) - on_hand})
        return reserved

    def test_hot_product_concurrent_consumers(self):
        """200 orders of one unit for 10 units, handled by 4 consumers at once."""
        pid, ids = self.hot_product(10, 200)
        extra = spawn_consumers(3)
        self.addCleanup(stop_consumers, extra)
        time.sleep(1)  # let them declare and start consuming
        for o in ids:
            self.created(o, [(pid, 1)])
        samples = []

        def sample():
            inv = self.inventory(pid)
            samples.append(inv)
            self.drain()
            return all(o in self.seen for o in ids)
        wait_until(sample, timeout=120, interval=0.05, message="answers for 200 orders")
        for inv in samples:
            self.assertLessEqual(inv["reserved"], inv["on_hand"], "never more reserved than held")
            self.assertGreaterEqual(inv["available"], 0)
        reserved = self.check_answers(pid, ids, 10)
        stop_consumers(extra)  # one consumer again: settle() relies on its order

        # Pay 6, cancel 2 of them afterwards, cancel 2 held: on_hand + sold stays 10.
        for o in reserved[:6]:
            self.publish("order.paid", o, {})
        for o in reserved[6:8]:
            self.publish("order.cancelled", o, {"reason": "customer"})
        self.settle()
        for o in reserved[:2]:
            self.publish("order.cancelled", o, {"reason": "admin"})
        for o in ids:  # a replay of every creation changes nothing
            self.created(o, [(pid, 1)])
        self.settle()
        inv = self.inventory(pid)
        self.assertEqual(inv["on_hand"] + inv["sold"], 10, "conserved: %r" % inv)
        self.assertStock(pid, 6, 2, 4)

    def test_consumer_killed_mid_stream(self):
        """SIGKILL while a backlog is being worked off: the consumer is paused
        (SIGSTOP) while 1000 orders are published, resumed, and killed once it
        has handled some 50 of them; multiwatch starts the next one."""
        pid, ids = self.hot_product(40, 1000)
        mw = multiwatch_pid("catalog-consume")
        victim = wait_until(lambda: children(mw), timeout=10, message="the consumer")[0]
        os.kill(victim, signal.SIGSTOP)
        try:
            for o in ids:
                self.created(o, [(pid, 1)])
            self.inventory(pid)  # a round trip: the broker has them all by now
        finally:
            os.kill(victim, signal.SIGCONT)
        count = ("SELECT COUNT(*) FROM order_stock WHERE order_id BETWEEN %d AND %d"
                 % (ids[0], ids[-1]))
        wait_until(lambda: int(catalog_db(count)[0][0]) >= 50, timeout=60, interval=0.01,
                   message="the consumer under way")
        os.kill(victim, signal.SIGKILL)
        handled = int(catalog_db(count)[0][0])
        self.assertLess(handled, len(ids), "killed mid-stream")
        wait_until(lambda: children(mw) and victim not in children(mw), timeout=20,
                   message="multiwatch's next consumer")
        self.check_answers(pid, ids, 40)

    def test_broker_restarted_mid_stream(self):
        """RabbitMQ stopped and started while the consumer works off a backlog: the
        persistent deliveries it had not acknowledged come back, the inbox absorbs
        them, and the answers wait in the outbox meanwhile."""
        pid, ids = self.hot_product(25, 500)
        mw = multiwatch_pid("catalog-consume")
        victim = wait_until(lambda: children(mw), timeout=10, message="the consumer")[0]
        os.kill(victim, signal.SIGSTOP)
        try:
            for o in ids:
                self.created(o, [(pid, 1)])
            self.inventory(pid)
        finally:
            os.kill(victim, signal.SIGCONT)
        count = ("SELECT COUNT(*) FROM order_stock WHERE order_id BETWEEN %d AND %d"
                 % (ids[0], ids[-1]))
        wait_until(lambda: int(catalog_db(count)[0][0]) >= 50, timeout=60, interval=0.01,
                   message="the consumer under way")
        # Paused again while the broker stops (else it works off the whole backlog
        # during the broker's shutdown), then resumed with deliveries in hand
        # whose acks cannot be sent: they come back, and are duplicates.
        os.kill(victim, signal.SIGSTOP)
        handled = int(catalog_db(count)[0][0])
        self.amqp.sock.close()
        try:
            arcade("svc", "stop", "rabbitmq", timeout=120)
        finally:
            os.kill(victim, signal.SIGCONT)
            time.sleep(1)
            arcade("svc", "start", "rabbitmq", timeout=120)
            type(self).amqp = Amqp()
        self.assertLess(handled, len(ids), "stopped mid-stream")
        self.check_answers(pid, ids, 25)

if __name__ == "__main__":
    unittest.main()
