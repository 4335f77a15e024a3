"""Checkout and the orders' side of the stock saga, through the web server against
the whole fleet (docs/orders-api.md, docs/events.md "Order and stock events"):
POST /orders from the cart or from items, priced by the catalog, refused at once
when a line is short, 503 without the catalog; Idempotency-Key semantics; the saga
to awaiting_payment or rejected; the hot product; the orders daemons SIGKILLed
mid-saga."""

import base64
import hashlib
import os
import signal
import threading
import time
import unittest
import uuid

from arcadetest import (API, ArcadeTestCase, address_body, admin_headers, arcade,
                        create_product, get, new_customer, parallel, post, put,
                        service_db, wait_until)
from test_fleet_events import children, manifest_daemons, multiwatch_pid

ORDERS = API + "/orders"
CART = API + "/cart"
ORDER_FIELDS = {"id", "status", "items", "total", "currency", "shipping_address", "reason",
                "rejected_lines", "created_at", "updated_at", "expires_at", "payment_id",
                "paid_at", "amount_refunded", "shipment"}
ADDRESS = {"name": "Ada Lovelace", "line1": "12 Test Street", "line2": "", "city": "Berlin",
           "postal_code": "10115", "country": "DE", "phone": "+49 30 123456"}


def key():
    return uuid.uuid4().hex


def checkout(who, body=None, idem=None, **kw):
    h = dict(who.headers)
    if idem is not False:
        h["Idempotency-Key"] = idem or key()
    return post(ORDERS, body if body is not None else {"shipping_address": ADDRESS},
                headers=h, **kw)


def items(*lines):
    return {"shipping_address": ADDRESS,
            "items": [{"product_id": p, "quantity": q} for p, q in lines]}


class Buyer:
    """A customer account with a session, made straight in the users schema (a
    fixture: 200 registrations and logins would be 400 Argon2 checks, which the
    users service bounds on purpose). The session is a real one: its token's
    SHA-256 in sessions, as POST /sessions stores it."""

    def __init__(self, uid, token):
        self.id = uid
        self.user = {"id": uid}
        self.headers = {"Authorization": "Bearer " + token}


def customers(n):
    tag = uuid.uuid4().hex[:12]
    rows = ",".join("('buyer-%s-%d@example.com', 'x', 'Buyer %d')" % (tag, i, i)
                    for i in range(n))
    service_db("users", "INSERT INTO users (email, password_hash, name) VALUES " + rows)
    ids = [int(r[0]) for r in service_db(
        "users", "SELECT id FROM users WHERE email LIKE 'buyer-%s-%%' ORDER BY id" % tag)]
    # as the users service makes them: base64url of 32 random bytes, 43 characters
    tokens = [base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=") for _ in ids]
    service_db("users", "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES " +
               ",".join("(%d, '%s', NOW(3) + INTERVAL 1 HOUR)"
                        % (uid, hashlib.sha256(t.encode()).hexdigest())
                        for uid, t in zip(ids, tokens)))
    return [Buyer(uid, t) for uid, t in zip(ids, tokens)]


def inventory(pid):
    return get("%s/products/%d/inventory" % (API, pid), headers=admin_headers()).json


def orders_db(sql):
    return service_db("orders", sql)


class OrdersCase(ArcadeTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if ("orders", "consume") not in manifest_daemons():
            raise unittest.SkipTest("no orders consumer in this fleet")

    def settled(self, who, oid, timeout=30):
        """The order once it left pending."""
        out = {}

        def done():
            r = get("%s/%d" % (ORDERS, oid), headers=who.headers)
            self.assertStatus(r, 200)
            out["o"] = r.json
            return r.json["status"] != "pending"
        wait_until(done, timeout=timeout, interval=0.05, message="order %d to settle" % oid)
        return out["o"]


class CheckoutTest(OrdersCase):

    def test_from_the_cart(self):
        who = new_customer()
        a = create_product(price=1250, on_hand=5)
        b = create_product(price=99, on_hand=100)
        self.assertStatus(put("%s/items/%d" % (CART, a["id"]), {"quantity": 2},
                              headers=who.headers), 200)
        self.assertStatus(put("%s/items/%d" % (CART, b["id"]), {"quantity": 3},
                              headers=who.headers), 200)
        body = {"shipping_address": ADDRESS, "total": 1, "unit_price": 1}  # prices: no effect
        r = checkout(who, body)
        self.assertStatus(r, 201)
        o = r.json
        self.assertEqual(set(o), ORDER_FIELDS)
        self.assertEqual(r.header("Location"), "/api/v1/orders/%d" % o["id"])
        self.assertEqual((o["status"], o["total"], o["currency"]), ("pending", 2797, "EUR"))
        self.assertEqual(o["items"], [
            {"product_id": a["id"], "sku": a["sku"], "name": a["name"], "unit_price": 1250,
             "quantity": 2, "line_total": 2500},
            {"product_id": b["id"], "sku": b["sku"], "name": b["name"], "unit_price": 99,
             "quantity": 3, "line_total": 297}])
        self.assertEqual(o["shipping_address"], ADDRESS)
        self.assertIsNone(o["expires_at"])
        self.assertTime(o["created_at"])
        self.assertEqual(get(CART, headers=who.headers).json["count"], 0, "the cart is emptied")
        s = self.settled(who, o["id"])
        self.assertEqual(s["status"], "awaiting_payment")
        self.assertTime(s["expires_at"])
        self.assertEqual(inventory(a["id"])["reserved"], 2)
        tl = get("%s/%d/timeline" % (ORDERS, o["id"]), headers=who.headers)
        self.assertStatus(tl, 200)
        self.assertEqual([(i["status"], i["actor"], i["reason"]) for i in tl.json["items"]],
                         [("pending", "customer", None), ("awaiting_payment", "system", None)])
        # mine, newest first; another user's is 404; an admin sees it
        other = new_customer()
        self.assertError(get("%s/%d" % (ORDERS, o["id"]), headers=other.headers), 404,
                         "not_found")
        self.assertStatus(get("%s/%d" % (ORDERS, o["id"]), headers=admin_headers()), 200)
        r2 = checkout(who, items((b["id"], 1)))
        self.assertStatus(r2, 201)
        lst = get(ORDERS, headers=who.headers)
        self.assertStatus(lst, 200)
        self.assertEqual([x["id"] for x in lst.json["items"]], [r2.json["id"], o["id"]])
        self.assertEqual(get(ORDERS, headers=other.headers).json["items"], [])
        mine = get(ORDERS + "?status=awaiting_payment&per_page=1", headers=who.headers).json
        self.assertEqual(len(mine["items"]), 1)
        adm = get(ORDERS + "?user_id=%d" % who.user["id"], headers=admin_headers())
        self.assertEqual({x["id"] for x in adm.json["items"]}, {o["id"], r2.json["id"]})

    def test_from_items_and_address_id(self):
        who = new_customer()
        p = create_product(price=500, on_hand=3)
        r = checkout(who, items((p["id"], 3)))
        self.assertStatus(r, 201)
        self.assertEqual(r.json["total"], 1500)
        self.assertEqual(self.settled(who, r.json["id"])["status"], "awaiting_payment")
        # an address of the user's book, read from the users service
        a = post(API + "/users/me/addresses", address_body(), headers=who.headers)
        self.assertStatus(a, 201)
        q = create_product(on_hand=1)
        r = checkout(who, {"address_id": a.json["id"],
                           "items": [{"product_id": q["id"], "quantity": 1}]})
        self.assertStatus(r, 201)
        want = {k: a.json[k] for k in ADDRESS}
        self.assertEqual(r.json["shipping_address"], want)
        # another user's address is not an address of this buyer (with items, so
        # that the address is the one thing wrong)
        other = new_customer()
        spare = create_product(on_hand=5)
        self.assertError(checkout(other, {"address_id": a.json["id"],
                                          "items": [{"product_id": spare["id"], "quantity": 1}]}),
                         422, "validation_failed", field="address_id")

    def test_refusals(self):
        who = new_customer()
        self.assertError(checkout(who, idem=False), 400, "idempotency_key_required")
        self.assertError(checkout(who), 422, "cart_empty")
        short = create_product(on_hand=2)
        ok = create_product(on_hand=9)
        r = checkout(who, items((ok["id"], 1), (short["id"], 3), (9_000_000_000_000, 1)))
        self.assertStatus(r, 409)
        self.assertEqual(set(r.json["error"]), {"code", "message", "lines"})
        self.assertEqual(r.json["error"]["code"], "out_of_stock")
        self.assertEqual(r.json["error"]["lines"], [
            {"product_id": short["id"], "requested": 3, "available": 2},
            {"product_id": 9_000_000_000_000, "requested": 1, "available": 0}])
        usd = create_product(on_hand=5, currency="USD")
        self.assertError(checkout(who, items((ok["id"], 1), (usd["id"], 1))), 422,
                         "mixed_currencies")
        self.assertError(checkout(who, {"items": [{"product_id": ok["id"], "quantity": 1}]}),
                         422, "validation_failed", field="shipping_address")
        self.assertError(checkout(who, {"shipping_address": dict(ADDRESS, country="XX")}), 422,
                         "validation_failed", field="shipping_address.country")
        self.assertError(checkout(who, items((ok["id"], 100))), 422, "validation_failed",
                         field="items[0].quantity")
        self.assertError(checkout(who, items((ok["id"], 1), (ok["id"], 1))), 422,
                         "validation_failed", field="items[1].product_id")
        self.assertEqual(inventory(ok["id"])["reserved"], 0, "no order, no reservation")
        self.assertError(get(ORDERS + "/999999999", headers=who.headers), 404, "not_found")


class IdempotencyTest(OrdersCase):

    def test_replay_and_reuse(self):
        who = new_customer()
        p = create_product(on_hand=10)
        k = key()
        first = checkout(who, items((p["id"], 1)), idem=k)
        self.assertStatus(first, 201)
        self.assertIsNone(first.header("Idempotent-Replayed"))
        again = checkout(who, items((p["id"], 1)), idem=k)
        self.assertStatus(again, 201)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.json, first.json)
        self.assertEqual(again.header("Location"), first.header("Location"))
        self.assertError(checkout(who, items((p["id"], 2)), idem=k), 422,
                         "idempotency_key_reused")
        # the key is the user's: another user's same key is another order
        other = checkout(new_customer(), items((p["id"], 1)), idem=k)
        self.assertStatus(other, 201)
        self.assertNotEqual(other.json["id"], first.json["id"])
        # a refusal keeps no key: the same key works once the cause is gone
        k2 = key()
        self.assertError(checkout(who, idem=k2), 422, "cart_empty")
        self.assertStatus(put("%s/items/%d" % (CART, p["id"]), {"quantity": 1},
                              headers=who.headers), 200)
        self.assertStatus(checkout(who, idem=k2), 201)

    def test_twenty_concurrent_posts_one_key(self):
        who = new_customer()
        p = create_product(on_hand=50)
        k = key()
        body = items((p["id"], 1))
        rs = parallel(lambda _: checkout(who, body, idem=k), range(20), workers=20)
        for r in rs:
            if isinstance(r, Exception):
                raise r
        created = [r for r in rs if r.status == 201 and r.header("Idempotent-Replayed") is None]
        replays = [r for r in rs if r.status == 201 and r.header("Idempotent-Replayed")]
        in_use = [r for r in rs if r.status == 409]
        self.assertEqual(len(created), 1, [r.status for r in rs])
        self.assertEqual(len(created) + len(replays) + len(in_use), 20, [r.status for r in rs])
        for r in in_use:
            self.assertEqual(r.json["error"]["code"], "idempotency_key_in_use")
        for r in replays:
            self.assertEqual(r.json["id"], created[0].json["id"])
        self.assertEqual(len(get(ORDERS, headers=who.headers).json["items"]), 1)
        self.settled(who, created[0].json["id"])
        self.assertEqual(inventory(p["id"])["reserved"], 1)

    def test_stale_claim_is_taken_over(self):
        """A claim left by a worker that died (claimed long ago, never done) does not
        block the key for ever."""
        who = new_customer()
        p = create_product(on_hand=5)
        k = key()
        body = items((p["id"], 1))
        # a real key, turned back into a claim by hand: first a fresh one, then an old one
        r = checkout(who, body, idem=k)
        self.assertStatus(r, 201)
        orders_db("UPDATE idempotency_keys SET state = 'claimed', claimed_at = "
                  "CURRENT_TIMESTAMP(3) - INTERVAL 5 SECOND, status = NULL, body = NULL "
                  "WHERE idem_key = '%s'" % k)
        self.assertError(checkout(who, body, idem=k), 409, "idempotency_key_in_use")
        orders_db("UPDATE idempotency_keys SET claimed_at = CURRENT_TIMESTAMP(3) - "
                  "INTERVAL 1 HOUR WHERE idem_key = '%s'" % k)
        r2 = checkout(who, body, idem=k)
        self.assertStatus(r2, 201)
        self.assertIsNone(r2.header("Idempotent-Replayed"))


class CatalogDownCheckoutTest(OrdersCase):

    def test_catalog_stopped_is_503_and_no_order(self):
        who = new_customer()
        p = create_product(on_hand=5)
        self.addCleanup(lambda: arcade("svc", "start", "catalog", check=False))
        arcade("svc", "stop", "catalog")
        k = key()
        for _ in range(8):
            t0 = time.monotonic()
            self.assertError(checkout(who, items((p["id"], 1)), idem=k), 503, "unavailable")
            self.assertLess(time.monotonic() - t0, 1.5)
        self.assertEqual(get(ORDERS, headers=who.headers).json["items"], [])
        arcade("svc", "start", "catalog")
        # the key was released: the same request succeeds once the catalog is back
        wait_until(lambda: checkout(who, items((p["id"], 1)), idem=k).status == 201,
                   timeout=30, message="checkout once the catalog is back")
        # every orders worker's breaker may still be open for its cool-down (5 s): wait
        # it out, so the tests after this one find the catalog reachable from every worker
        time.sleep(5.5)


class SagaTest(OrdersCase):

    def assertSettledAll(self, results, pid, on_hand):
        """Every order created settles; exactly on_hand of them hold stock."""
        created = [r.json["id"] for r, _ in results if r.status == 201]
        refused = [r for r, _ in results if r.status != 201]
        for r in refused:
            self.assertEqual((r.status, r.json["error"]["code"]), (409, "out_of_stock"))
        ids = ",".join(str(i) for i in created) or "0"

        def none_pending():
            rows = orders_db("SELECT COUNT(*) FROM orders WHERE id IN (%s) AND status = "
                             "'pending'" % ids)
            return int(rows[0][0]) == 0
        wait_until(none_pending, timeout=90, interval=0.2, message="no order left pending")
        rows = orders_db("SELECT status, COUNT(*) FROM orders WHERE id IN (%s) GROUP BY status"
                         % ids)
        counts = {s: int(n) for s, n in rows}
        self.assertEqual(counts.get("awaiting_payment", 0), on_hand, counts)
        self.assertEqual(set(counts) - {"awaiting_payment", "rejected"}, set(), counts)
        inv = inventory(pid)
        self.assertEqual((inv["reserved"], inv["on_hand"]), (on_hand, on_hand), inv)
        for (r, who) in results[:5]:
            if r.status == 201:
                o = get("%s/%d" % (ORDERS, r.json["id"]), headers=who.headers).json
                if o["status"] == "rejected":
                    self.assertEqual(o["reason"], "out_of_stock")
                    self.assertEqual(o["rejected_lines"][0]["product_id"], pid)
        return counts

    def hot(self, users, on_hand, during=None):
        pid = create_product(on_hand=on_hand)["id"]
        whos = customers(users)
        start = threading.Barrier(min(users, 50))

        def go(who):
            try:
                start.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            return checkout(who, items((pid, 1))), who
        if during:
            threading.Timer(0.3, during).start()
        results = parallel(go, whos, workers=50)
        for r in results:
            if isinstance(r, Exception):
                raise r
        return pid, results

    def test_hot_product(self):
        """10 in stock, 200 users buy one each at once: exactly 10 orders reach
        awaiting_payment, every other is 409 out_of_stock or rejected."""
        pid, results = self.hot(200, 10)
        self.assertSettledAll(results, pid, 10)

    def test_daemons_killed_mid_saga(self):
        """SIGKILL of the orders relay and the orders consumer while 100 checkouts for 10
        units run: multiwatch starts new ones and every order still settles."""
        def kill_both():
            for name in ("orders-relay", "orders-consume"):
                try:
                    for pid in children(multiwatch_pid(name)):
                        os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        pid, results = self.hot(100, 10, during=kill_both)
        self.assertSettledAll(results, pid, 10)

    def test_second_stock_event_has_no_effect(self):
        """A stock.rejected for an order already awaiting payment (or a second
        stock.reserved) changes nothing: the guard is the order's status."""
        from arcadetest import Amqp
        import json
        who = new_customer()
        p = create_product(on_hand=3)
        r = checkout(who, items((p["id"], 1)))
        self.assertStatus(r, 201)
        oid = r.json["id"]
        self.assertEqual(self.settled(who, oid)["status"], "awaiting_payment")
        amqp = Amqp()
        try:
            for type_, data in (("stock.rejected", {"reason": "out_of_stock", "lines": [
                    {"product_id": p["id"], "requested": 1, "available": 0}]}),
                    ("stock.reserved", {"items": [{"product_id": p["id"], "quantity": 1}]})):
                eid = os.urandom(16).hex()
                body = {"id": eid, "type": type_, "occurred_at": "2026-12-03T12:00:00.000Z",
                        "source": "catalog", "key": "order:%d" % oid, "version": 1,
                        "data": dict(data, order_id=oid)}
                amqp.publish_to("arcade.events", type_, json.dumps(body).encode(), eid, type_)
        finally:
            amqp.close()
        time.sleep(1.0)
        o = get("%s/%d" % (ORDERS, oid), headers=who.headers).json
        self.assertEqual(o["status"], "awaiting_payment")
        tl = get("%s/%d/timeline" % (ORDERS, oid), headers=who.headers).json["items"]
        self.assertEqual([i["status"] for i in tl], ["pending", "awaiting_payment"])


class CancelTest(OrdersCase):

    def cancel(self, who, oid):
        return post("%s/%d/cancel" % (ORDERS, oid), {}, headers=who.headers)

    def test_cancel_releases_the_stock_once(self):
        who = new_customer()
        p = create_product(on_hand=4)
        r = checkout(who, items((p["id"], 2)))
        self.assertStatus(r, 201)
        oid = r.json["id"]
        self.assertEqual(self.settled(who, oid)["status"], "awaiting_payment")
        self.assertEqual(inventory(p["id"])["reserved"], 2)
        self.assertError(self.cancel(new_customer(), oid), 404, "not_found")
        c = self.cancel(who, oid)
        self.assertStatus(c, 200)
        self.assertEqual((c.json["status"], c.json["reason"]), ("cancelled", "customer"))
        wait_until(lambda: inventory(p["id"])["reserved"] == 0, timeout=20,
                   message="the reservation released")
        again = self.cancel(who, oid)
        self.assertStatus(again, 409)
        self.assertEqual((again.json["error"]["code"], again.json["error"]["status"]),
                         ("invalid_transition", "cancelled"))
        tl = get("%s/%d/timeline" % (ORDERS, oid), headers=who.headers).json["items"]
        self.assertEqual([(i["status"], i["actor"]) for i in tl],
                         [("pending", "customer"), ("awaiting_payment", "system"),
                          ("cancelled", "customer")])
        self.assertEqual(inventory(p["id"]), {"on_hand": 4, "reserved": 0, "sold": 0,
                                              "available": 4})

    def test_cancel_while_pending_and_by_admin(self):
        """Cancelled before the catalog answered: the late stock.reserved has no effect
        on the order, and the catalog releases what it reserved."""
        who = new_customer()
        p = create_product(on_hand=3)
        r = checkout(who, items((p["id"], 3)))
        self.assertStatus(r, 201)
        c = post("%s/%d/cancel" % (ORDERS, r.json["id"]), {}, headers=admin_headers())
        self.assertStatus(c, 200)
        self.assertEqual(c.json["reason"], "admin")
        wait_until(lambda: inventory(p["id"])["reserved"] == 0 and int(service_db(
            "catalog", "SELECT COUNT(*) FROM order_stock WHERE order_id = %d AND state IN "
            "('released', 'cancelled')" % r.json["id"])[0][0]) == 1,
            timeout=20, message="the catalog to release or tombstone")
        time.sleep(0.5)
        self.assertEqual(get("%s/%d" % (ORDERS, r.json["id"]),
                             headers=who.headers).json["status"], "cancelled")
        # after shipping it would be a return: refused, naming the status (no ship
        # endpoint yet, so the status is set by hand)
        d = checkout(who, items((p["id"], 1)))
        self.assertStatus(d, 201)
        self.settled(who, d.json["id"])
        orders_db("UPDATE orders SET status = 'shipped' WHERE id = %d" % d.json["id"])
        e = self.cancel(who, d.json["id"])
        self.assertStatus(e, 409)
        self.assertEqual((e.json["error"]["code"], e.json["error"]["status"]),
                         ("invalid_transition", "shipped"))

class ExpiryTest(OrdersCase):

    def test_unpaid_order_expires_and_its_stock_comes_back(self):
        """arcade-orders expire: an awaiting_payment order past expires_at (moved into
        the past by hand; the fleet's TTL is 15 minutes) is cancelled with reason
        payment_timeout and the catalog releases its reservation."""
        if ("orders", "expire") not in manifest_daemons():
            self.skipTest("no orders expiry daemon in this fleet")
        who = new_customer()
        p = create_product(on_hand=2)
        r = checkout(who, items((p["id"], 2)))
        self.assertStatus(r, 201)
        oid = r.json["id"]
        self.assertEqual(self.settled(who, oid)["status"], "awaiting_payment")
        self.assertEqual(inventory(p["id"])["reserved"], 2)
        orders_db("UPDATE orders SET expires_at = CURRENT_TIMESTAMP(3) - INTERVAL 1 SECOND "
                  "WHERE id = %d" % oid)
        wait_until(lambda: get("%s/%d" % (ORDERS, oid), headers=who.headers).json["status"]
                   == "cancelled", timeout=20, message="the order to expire")
        o = get("%s/%d" % (ORDERS, oid), headers=who.headers).json
        self.assertEqual(o["reason"], "payment_timeout")
        tl = get("%s/%d/timeline" % (ORDERS, oid), headers=who.headers).json["items"]
        self.assertEqual((tl[-1]["status"], tl[-1]["actor"], tl[-1]["reason"]),
                         ("cancelled", "system", "payment_timeout"))
        wait_until(lambda: inventory(p["id"])["reserved"] == 0, timeout=20,
                   message="the reservation released")
        again = post("%s/%d/cancel" % (ORDERS, oid), {}, headers=who.headers)
        self.assertStatus(again, 409)
        self.assertEqual(again.json["error"]["code"], "invalid_transition")


if __name__ == "__main__":
    unittest.main()
