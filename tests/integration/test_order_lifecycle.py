"""An order after its stock is reserved (docs/orders-api.md, docs/events.md "Payment
events"): the payments' events move it (payment.succeeded to paid, with order.paid for
the catalog; payment.failed leaves it awaiting payment; payment.refunded records the
refunds and a full one makes it refunded), and an admin ships and delivers it.

The payments' events are published to the fleet's RabbitMQ as the payments service
publishes them (its envelope, its routing keys): the contract between the two
services, checked from the orders' side. The rest is the real fleet."""

import json
import os
import signal
import time

from arcadetest import (RUN_ID, Amqp, admin_headers, create_product, get, internal_url, new_admin,
                        parallel, post, service_db, wait_until)
from test_fleet_events import children, multiwatch_pid
from test_orders import ORDERS, OrdersCase, checkout, customers, inventory, items

EXCHANGE = "arcade.events"
_payment_seq = [int(RUN_ID, 16) % 100_000 * 100_000]


def new_payment_id():
    _payment_seq[0] += 1
    return _payment_seq[0]


def publish(amqp, type_, data, eid=None):
    """One payment.* event as the payments service writes it; its id."""
    eid = eid or os.urandom(16).hex()
    body = {"id": eid, "type": type_, "occurred_at": "2026-12-03T12:00:00.000Z",
            "source": "payments", "key": "order:%d" % data["order_id"], "version": 1,
            "data": data}
    amqp.publish_to(EXCHANGE, type_, json.dumps(body).encode(), eid, type_)
    return eid


def catalog_state(oid):
    rows = service_db("catalog", "SELECT state FROM order_stock WHERE order_id = %d" % oid)
    return rows[0][0] if rows else None


def timeline(who, oid):
    r = get("%s/%d/timeline" % (ORDERS, oid), headers=who.headers)
    return [(i["status"], i["actor"], i["reason"]) for i in r.json["items"]]


class LifecycleCase(OrdersCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.amqp = Amqp()
        cls.events_queue = "test.orders.%s.%s" % (RUN_ID, cls.__name__)
        cls.amqp.declare(cls.events_queue)
        cls.amqp.bind(cls.events_queue, EXCHANGE, "order.*")
        cls.seen = []

    @classmethod
    def tearDownClass(cls):
        try:
            cls.amqp.delete(cls.events_queue)
        finally:
            cls.amqp.close()
        super().tearDownClass()

    def assertInvalidTransition(self, r, status=None):
        self.assertStatus(r, 409)
        err = r.json["error"]
        self.assertEqual((set(err), err["code"]),
                         ({"code", "message", "status"}, "invalid_transition"), err)
        if status is not None:
            self.assertEqual(err["status"], status)

    def order_events(self, oid, type_):
        """The order.* events of type for order oid published so far."""
        while True:
            body = self.amqp.get(self.events_queue)
            if body is None:
                break
            self.seen.append(json.loads(body))
        return [e for e in self.seen if e["type"] == type_ and e["data"]["order_id"] == oid]

    def reserved_order(self, who, lines):
        r = checkout(who, items(*lines))
        self.assertStatus(r, 201)
        o = self.settled(who, r.json["id"])
        self.assertEqual(o["status"], "awaiting_payment")
        return o

    def pay(self, o, payment_id=None, amount=None, currency=None, eid=None):
        payment_id = payment_id or new_payment_id()
        publish(self.amqp, "payment.succeeded",
                {"order_id": o["id"], "payment_id": payment_id,
                 "amount": o["total"] if amount is None else amount,
                 "currency": currency or o["currency"]}, eid)
        return payment_id

    def refund(self, o, payment_id, refunded, amount=None):
        publish(self.amqp, "payment.refunded",
                {"order_id": o["id"], "payment_id": payment_id,
                 "refund_id": new_payment_id(), "amount": amount or refunded,
                 "currency": o["currency"], "amount_refunded": refunded})

    def wait_status(self, who, oid, status, timeout=20):
        out = {}

        def reached():
            out["o"] = get("%s/%d" % (ORDERS, oid), headers=who.headers).json
            return out["o"]["status"] == status
        wait_until(reached, timeout=timeout, interval=0.05,
                   message="order %d to be %s" % (oid, status))
        return out["o"]

    def settle_payments(self, who):
        """Every payment event published before has been handled: a sentinel order's
        payment, published after them, is (one consumer handles in order)."""
        o = self.reserved_order(who, [(self.sentinel["id"], 1)])
        self.pay(o)
        self.wait_status(who, o["id"], "paid")

    def setUp(self):
        super().setUp()
        if not hasattr(type(self), "sentinel"):
            type(self).sentinel = create_product(on_hand=1000)


class PaymentTest(LifecycleCase):

    def test_paid_then_shipped_and_delivered(self):
        who = customers(1)[0]
        p = create_product(price=700, on_hand=5)
        o = self.reserved_order(who, [(p["id"], 2)])
        self.assertIsNone(o["payment_id"])
        self.assertIsNone(o["shipment"])
        payment = self.pay(o)
        paid = self.wait_status(who, o["id"], "paid")
        self.assertEqual(paid["payment_id"], payment)
        self.assertTime(paid["paid_at"])
        self.assertEqual(paid["amount_refunded"], 0)
        wait_until(lambda: inventory(p["id"])["sold"] == 2, timeout=20,
                   message="the catalog sells the reserved units")
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 3, "reserved": 0, "sold": 2, "available": 3})
        self.assertEqual(catalog_state(o["id"]), "sold")
        wait_until(lambda: len(self.order_events(o["id"], "order.paid")) == 1, timeout=10,
                   message="order.paid published")
        self.assertEqual(self.order_events(o["id"], "order.paid")[0]["data"],
                         {"order_id": o["id"], "payment_id": payment})

        path = "%s/%d" % (ORDERS, o["id"])
        shipment = {"carrier": "DHL", "tracking_number": "JJD0099 8877"}
        self.assertError(post(path + "/ship", shipment, headers=who.headers), 403, "forbidden")
        self.assertError(post(path + "/deliver", {}, headers=who.headers), 403, "forbidden")
        self.assertError(post(path + "/ship", {"carrier": "DHL"}, headers=admin_headers()),
                         422, "validation_failed", field="tracking_number")
        self.assertError(post(path + "/ship", dict(shipment, carrier="x" * 65),
                              headers=admin_headers()), 422, "validation_failed", field="carrier")
        self.assertError(post(path + "/ship", dict(shipment, tracking_number="a\nb"),
                              headers=admin_headers()), 422, "validation_failed",
                         field="tracking_number")
        self.assertError(post(path + "/ship", dict(shipment, carrier=7),
                              headers=admin_headers()), 422, "validation_failed", field="carrier")
        self.assertInvalidTransition(post(path + "/deliver", {}, headers=admin_headers()), "paid")
        self.assertError(post("%s/%d/ship" % (ORDERS, 9_000_000_000_000), shipment,
                              headers=admin_headers()), 404, "not_found")

        admin = new_admin()
        s = post(path + "/ship", shipment, headers=admin.headers)
        self.assertStatus(s, 200)
        self.assertEqual(s.json["status"], "shipped")
        self.assertEqual({k: s.json["shipment"][k] for k in ("carrier", "tracking_number")},
                         shipment)
        self.assertTime(s.json["shipment"]["shipped_at"])
        self.assertIsNone(s.json["shipment"]["delivered_at"])
        again = post(path + "/ship", shipment, headers=admin_headers())
        self.assertInvalidTransition(again, "shipped")
        self.assertInvalidTransition(post(path + "/cancel", {}, headers=who.headers), "shipped")

        d = post(path + "/deliver", {}, headers=admin_headers())
        self.assertStatus(d, 200)
        self.assertEqual(d.json["status"], "delivered")
        self.assertTime(d.json["shipment"]["delivered_at"])
        self.assertEqual(get(path, headers=who.headers).json, d.json)
        self.assertInvalidTransition(post(path + "/deliver", {}, headers=admin_headers()),
                                     "delivered")
        self.assertEqual(timeline(who, o["id"]), [
            ("pending", "customer", None), ("awaiting_payment", "system", None),
            ("paid", "system", None), ("shipped", "admin", None),
            ("delivered", "admin", None)])
        wait_until(lambda: self.order_events(o["id"], "order.delivered"), timeout=10,
                   message="order.delivered published")
        self.assertEqual([e["data"] for e in self.order_events(o["id"], "order.shipped")],
                         [dict(shipment, order_id=o["id"])])
        self.assertEqual(inventory(p["id"])["sold"], 2, "shipping moves no stock")

    def test_internal_read_for_the_payments_service(self):
        """GET /internal/v1/orders/{id}: what an order costs and whose it is, on the
        internal listener only."""
        who = customers(1)[0]
        p = create_product(price=333, on_hand=3)
        o = self.reserved_order(who, [(p["id"], 3)])
        path = "/internal/v1/orders/%d" % o["id"]
        self.assertStatus(get(path, headers=admin_headers()), 404)
        r = get(path, base=internal_url())
        self.assertStatus(r, 200)
        self.assertEqual(r.json, dict(o, user_id=who.id))
        self.assertEqual((r.json["total"], r.json["currency"]), (999, "EUR"))
        self.assertError(get("/internal/v1/orders/9000000000000", base=internal_url()), 404,
                         "not_found")
        self.assertError(get("/internal/v1/orders/x", base=internal_url()), 400,
                         "invalid_parameter")

    def test_ship_needs_a_paid_order(self):
        who = customers(1)[0]
        p = create_product(on_hand=3)
        o = self.reserved_order(who, [(p["id"], 1)])
        r = post("%s/%d/ship" % (ORDERS, o["id"]), {"carrier": "UPS", "tracking_number": "1Z"},
                 headers=admin_headers())
        self.assertInvalidTransition(r, "awaiting_payment")
        h = admin_headers({"Content-Type": "application/json"})
        self.assertError(post("%s/%d/ship" % (ORDERS, o["id"]), headers=h, body=b"{"), 400,
                         "invalid_json")

    def test_failed_payment_leaves_the_order_awaiting_payment(self):
        who = customers(1)[0]
        p = create_product(on_hand=3)
        o = self.reserved_order(who, [(p["id"], 1)])
        publish(self.amqp, "payment.failed", {"order_id": o["id"], "payment_id": new_payment_id(),
                                              "code": "card_declined"})
        wait_until(lambda: len(timeline(who, o["id"])) == 3, timeout=20,
                   message="the failed attempt on the timeline")
        self.assertEqual(timeline(who, o["id"])[-1],
                         ("awaiting_payment", "system", "payment_failed"))
        self.assertEqual(get("%s/%d" % (ORDERS, o["id"]), headers=who.headers).json["status"],
                         "awaiting_payment")
        self.assertEqual(inventory(p["id"])["reserved"], 1, "the reservation holds")
        self.pay(o)
        self.wait_status(who, o["id"], "paid")

    def test_a_payment_that_matches_no_order_is_dead_lettered(self):
        """Another amount or currency than the order's: the order stays unpaid and the
        event waits in orders.payments.dead for an operator."""
        who = customers(1)[0]
        p = create_product(price=500, on_hand=3)
        o = self.reserved_order(who, [(p["id"], 1)])
        dead_before = self.amqp.declare("orders.payments.dead", passive=True)
        self.pay(o, amount=o["total"] - 1)
        self.pay(o, currency="USD")
        publish(self.amqp, "payment.succeeded", {"order_id": o["id"], "payment_id": "x"})
        wait_until(lambda: self.amqp.declare("orders.payments.dead", passive=True)
                   >= dead_before + 3, timeout=20, message="three dead letters")
        self.settle_payments(who)
        self.assertEqual(get("%s/%d" % (ORDERS, o["id"]), headers=who.headers).json["status"],
                         "awaiting_payment")

    def test_payment_after_cancel_has_no_effect(self):
        """Cancelled before the payment arrived: the order stays cancelled (the payments
        service refunds what it took) and its stock is back once."""
        who = customers(1)[0]
        p = create_product(on_hand=3)
        o = self.reserved_order(who, [(p["id"], 2)])
        self.assertStatus(post("%s/%d/cancel" % (ORDERS, o["id"]), {}, headers=who.headers), 200)
        payment = self.pay(o)
        self.refund(o, payment, o["total"])
        self.settle_payments(who)
        got = get("%s/%d" % (ORDERS, o["id"]), headers=who.headers).json
        self.assertEqual((got["status"], got["payment_id"], got["amount_refunded"]),
                         ("cancelled", None, 0))
        wait_until(lambda: inventory(p["id"])["reserved"] == 0, timeout=20,
                   message="the reservation released")
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 3, "reserved": 0, "sold": 0, "available": 3})

    def test_paid_then_cancelled_then_refunded(self):
        """A paid order cancelled: its units go back once; the payments' full refund makes
        it refunded, and a repeated refund event changes nothing."""
        who = customers(1)[0]
        p = create_product(price=1000, on_hand=4)
        o = self.reserved_order(who, [(p["id"], 3)])
        payment = self.pay(o)
        self.wait_status(who, o["id"], "paid")
        wait_until(lambda: inventory(p["id"])["sold"] == 3, timeout=20, message="sold")
        c = post("%s/%d/cancel" % (ORDERS, o["id"]), {}, headers=who.headers)
        self.assertStatus(c, 200)
        self.assertEqual(c.json["status"], "cancelled")
        wait_until(lambda: inventory(p["id"])["sold"] == 0, timeout=20, message="returned")
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 4, "reserved": 0, "sold": 0, "available": 4})
        self.refund(o, payment, 1000)
        self.refund(o, payment, 3000)
        self.refund(o, payment, 3000)
        r = self.wait_status(who, o["id"], "refunded")
        self.assertEqual(r["amount_refunded"], 3000)
        self.settle_payments(who)
        self.assertEqual([s for s, _, _ in timeline(who, o["id"])],
                         ["pending", "awaiting_payment", "paid", "cancelled", "refunded"])
        self.assertEqual(catalog_state(o["id"]), "returned")
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 4, "reserved": 0, "sold": 0, "available": 4})

    def test_refund_of_a_paid_order(self):
        """Refunded while paid (an admin refund at the payments service): a partial refund
        is recorded, the full one makes the order refunded and its units go back."""
        who = customers(1)[0]
        p = create_product(price=250, on_hand=2)
        o = self.reserved_order(who, [(p["id"], 2)])
        payment = self.pay(o)
        self.wait_status(who, o["id"], "paid")
        self.refund(o, new_payment_id(), 500)  # another payment's: not this order's money
        self.refund(o, payment, 200)
        wait_until(lambda: get("%s/%d" % (ORDERS, o["id"]), headers=who.headers)
                   .json["amount_refunded"] == 200, timeout=20, message="the partial refund")
        self.assertEqual(get("%s/%d" % (ORDERS, o["id"]), headers=who.headers).json["status"],
                         "paid")
        self.refund(o, payment, 500, amount=300)
        self.wait_status(who, o["id"], "refunded")
        wait_until(lambda: inventory(p["id"])["on_hand"] == 2, timeout=20,
                   message="the units back")
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 2, "reserved": 0, "sold": 0, "available": 2})
        cancelled = self.order_events(o["id"], "order.cancelled")
        self.assertEqual([e["data"]["reason"] for e in cancelled], ["refunded"])
        self.assertEqual(timeline(who, o["id"])[-1], ("refunded", "system", "refunded"))


class PaymentRaceTest(LifecycleCase):

    def test_duplicate_payments_sell_once_with_the_consumer_killed(self):
        """40 orders, each payment.succeeded published three times (new event ids: the
        status guard, not the inbox, must hold), the payments consumer SIGKILLed
        mid-stream: every order paid once, the catalog sells each unit once, on_hand +
        sold unchanged."""
        buyers = customers(40)
        p = create_product(price=100, on_hand=100)
        orders = parallel(lambda b: checkout(b, items((p["id"], 2))), buyers, workers=20)
        for r in orders:
            self.assertStatus(r, 201)
        settled = [self.settled(b, r.json["id"]) for b, r in zip(buyers, orders)]
        self.assertTrue(all(o["status"] == "awaiting_payment" for o in settled))
        self.assertEqual(inventory(p["id"])["reserved"], 80)
        payments = {}
        for rnd in range(3):
            for o in settled:
                payments[o["id"]] = self.pay(o, payment_id=payments.get(o["id"]))
            if rnd == 0:
                for pid in children(multiwatch_pid("orders-consume-payments")):
                    os.kill(pid, signal.SIGKILL)
        for b, o in zip(buyers, settled):
            self.wait_status(b, o["id"], "paid", timeout=60)
        wait_until(lambda: inventory(p["id"])["sold"] == 80, timeout=30, message="80 sold")
        time.sleep(1.0)  # a second sale would show now
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 20, "reserved": 0, "sold": 80, "available": 20})
        ids = ",".join(str(o["id"]) for o in settled)
        rows = service_db("orders", "SELECT order_id, COUNT(*) FROM order_timeline WHERE "
                          "status = 'paid' AND order_id IN (%s) GROUP BY order_id" % ids)
        self.assertEqual(sorted(int(n) for _, n in rows), [1] * 40, "one paid row per order")
        for o in settled:
            got = {e["id"] for e in self.order_events(o["id"], "order.paid")}
            self.assertEqual(len(got), 1, "one order.paid for order %d" % o["id"])

    def test_payment_racing_a_cancel(self):
        """30 orders, each paid and cancelled at the same moment: whichever comes first,
        every order ends cancelled and the catalog has every unit back exactly once
        (released, or sold and returned)."""
        buyers = customers(30)
        p = create_product(on_hand=60)
        orders = parallel(lambda b: checkout(b, items((p["id"], 2))), buyers, workers=20)
        settled = [self.settled(b, r.json["id"]) for b, r in zip(buyers, orders)]
        self.assertEqual(inventory(p["id"])["reserved"], 60)

        amqp = Amqp()
        try:
            for o in settled:
                publish(amqp, "payment.succeeded",
                        {"order_id": o["id"], "payment_id": new_payment_id(),
                         "amount": o["total"], "currency": o["currency"]})
        finally:
            amqp.close()
        statuses = parallel(lambda bo: post("%s/%d/cancel" % (ORDERS, bo[1]["id"]), {},
                                            headers=bo[0].headers).status,
                            list(zip(buyers, settled)), workers=30)
        self.assertEqual(statuses, [200] * 30, "paid or not, a cancel is allowed")
        for b, o in zip(buyers, settled):
            self.wait_status(b, o["id"], "cancelled")

        def all_back():
            inv = inventory(p["id"])
            return inv["reserved"] == 0 and inv["sold"] == 0
        wait_until(all_back, timeout=30, message="every unit back")
        time.sleep(1.0)  # a second return would show now
        self.assertEqual(inventory(p["id"]),
                         {"on_hand": 60, "reserved": 0, "sold": 0, "available": 60})
        states = {catalog_state(o["id"]) for o in settled}
        self.assertLessEqual(states, {"released", "returned"})
