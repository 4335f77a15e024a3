"""The stock saga's fault invariants end to end (issue 9): real checkouts (POST
/api/v1/orders through the web server, many clients at once) over a few products
with little stock, paid (payment.succeeded published as the payments service
does), cancelled, refunded and shipped while a fault strikes mid-saga:

- an orders FastCGI worker SIGKILLed during a burst of checkouts (and during 20
  concurrent POSTs with one Idempotency-Key);
- the catalog consumer (`arcade-catalog consume`) SIGKILLed with a backlog of
  order events in hand;
- the catalog relay SIGKILLed with stock answers waiting in its outbox;
- RabbitMQ restarted, and MariaDB restarted, while the saga runs.

A client may see a 5xx or a broken connection while a worker dies or a server
restarts; it retries with the same Idempotency-Key, as a real client would. What
it was answered is not the truth: after recovery sagacheck.assert_settled checks
both services' databases (no order left pending, stock conserved, reserved =
what the orders awaiting payment hold, every reservation belongs to an order in
a matching state, nothing released or returned twice), and each buyer has at
most one order.
"""

import os
import random
import signal
import sys
import threading
import time
import unittest

import sagacheck
from arcadetest import (RUN_ID, Amqp, admin_headers, arcade, create_product, parallel, post,
                        service_db, wait_until)
from test_fleet_events import children, manifest_daemons, multiwatch_pid
from test_order_lifecycle import new_payment_id, publish
from test_orders import ORDERS, OrdersCase, checkout, customers, items, key, orders_db

STOCK = (9, 7, 6)  # on_hand of the products of one scenario
WAVE1, WAVE2 = 16, 24  # buyers before the fault, and during it
SPREAD = 3.0  # seconds over which wave 2, the payments and the cancels start


def daemon_pid(name):
    """The running process of a daemon (multiwatch's child), waiting for one."""
    mw = multiwatch_pid(name)
    return wait_until(lambda: children(mw), timeout=15, message="a %s process" % name)[0]


def statuses(ids):
    rows = orders_db("SELECT id, status, total FROM orders WHERE id IN (%s)"
                     % (",".join(str(i) for i in ids) or "0"))
    return {int(i): (s, int(t)) for i, s, t in rows}


class Payments:
    """The payments service's side, as far as these tests need it: payment.* events
    published to the fleet's broker, reconnecting (and publishing again) while
    the broker is away. Without publisher confirms a message sent just before the
    broker stops may be lost: that order then stays awaiting payment, which the
    invariants allow."""

    def __init__(self):
        self.lock = threading.Lock()
        self.amqp = None

    def publish(self, type_, data, timeout=60):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                try:
                    if self.amqp is None:
                        self.amqp = Amqp()
                    return publish(self.amqp, type_, data)
                except (OSError, AssertionError, KeyError) as e:
                    self.drop()
                    if time.monotonic() > deadline:
                        raise AssertionError("publishing %s: %r" % (type_, e)) from None
                    time.sleep(0.5)

    def drop(self):
        if self.amqp is not None:
            try:
                self.amqp.sock.close()
            except OSError:
                pass
            self.amqp = None

    def close(self):
        with self.lock:
            if self.amqp is not None:
                try:
                    self.amqp.close()
                except (OSError, AssertionError):
                    pass
                self.amqp = None


class FaultCase(OrdersCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if ("orders", "consume-payments") not in manifest_daemons():
            raise unittest.SkipTest("no orders payments consumer in this fleet")

    def setUp(self):
        self.payments = Payments()
        self.addCleanup(self.payments.close)
        self.errors = []  # what clients saw on the way: 5xx, broken connections
        self.lock = threading.Lock()

    # -- clients --------------------------------------------------------------

    def buy(self, who, body, timeout=60):
        """One checkout as a careful client makes it: one Idempotency-Key, retried
        on a 5xx or a broken connection (and on idempotency_key_in_use: a claim
        a killed worker left is aged by hand, as 30 s would). The order, or None
        when refused out_of_stock."""
        k = key()
        deadline = time.monotonic() + timeout
        in_use_since = None
        while True:
            try:
                r = checkout(who, body, idem=k)
                outcome = r.status
            except OSError as e:
                r, outcome = None, e
            if r is not None and r.status == 201:
                return r.json
            code = (r.json or {}).get("error", {}).get("code") if r is not None and \
                isinstance(r.json, dict) else None
            if r is not None and r.status == 409 and code == "out_of_stock":
                return None
            if r is not None and r.status == 409 and code == "idempotency_key_in_use":
                now = time.monotonic()
                in_use_since = in_use_since or now
                if now - in_use_since > 3:
                    orders_db("UPDATE idempotency_keys SET claimed_at = claimed_at - INTERVAL 1 "
                              "HOUR WHERE user_id = %d AND idem_key = '%s' AND state = 'claimed'"
                              % (who.id, k))
            elif r is None or r.status in (500, 502, 503, 504):
                with self.lock:
                    self.errors.append(outcome)
            else:
                self.fail("checkout answered %r" % (r,))
            if time.monotonic() > deadline:
                self.fail("checkout of %r did not succeed within %d s (last %r)"
                          % (who.id, timeout, outcome))
            time.sleep(0.3)

    def burst(self, buyers, pids, rng, cancel_every=0, spread=0.0):
        """Every buyer checks out one or two lines of the products, all at once or
        each after a random delay of up to spread seconds (so that a fault finds
        checkouts and their events in flight); every cancel_every-th cancels its
        order right away (often while it is pending). Returns the orders the
        clients were answered."""
        bodies, delays = [], []
        for _ in buyers:
            lines = rng.sample(pids, rng.choice((1, 1, 2)))
            bodies.append(items(*[(p, rng.choice((1, 1, 2))) for p in lines]))
            delays.append(rng.uniform(0, spread))

        def go(i):
            time.sleep(delays[i])
            o = self.buy(buyers[i], bodies[i])
            if o is not None and cancel_every and i % cancel_every == 0:
                self.cancel(buyers[i], o["id"])
            return o
        out = parallel(go, range(len(buyers)), workers=len(buyers))
        for r in out:
            if isinstance(r, Exception):
                raise r
        return [o for o in out if o is not None]

    def cancel(self, who, oid, timeout=60):
        """POST /cancel until it is answered (200, or 409 once it moved on)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = post("%s/%d/cancel" % (ORDERS, oid), {}, headers=who.headers)
                if r.status in (200, 409):
                    return r
                outcome = r.status
            except OSError as e:
                outcome = e
            with self.lock:
                self.errors.append(outcome)
            if time.monotonic() > deadline:
                self.fail("cancelling order %d: %r" % (oid, outcome))
            time.sleep(0.3)

    def admin_post(self, path, body, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = post(path, body, headers=admin_headers())
                if r.status < 500:
                    return r
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail("POST %s did not get through" % path)
            time.sleep(0.3)

    def pay(self, oid, total):
        pay_id = new_payment_id()
        self.payments.publish("payment.succeeded", {"order_id": oid, "payment_id": pay_id,
                                                    "amount": total, "currency": "EUR"})
        return pay_id

    def refund(self, oid, pay_id, total):
        self.payments.publish("payment.refunded", {
            "order_id": oid, "payment_id": pay_id, "refund_id": new_payment_id(),
            "amount": total, "currency": "EUR", "amount_refunded": total})

    # -- the scenario -----------------------------------------------------------

    def saga_under(self, fault):
        """Wave 1 of checkouts settles; then, with the fault under way, wave 2
        checks out (a fifth cancelling at once), half of wave 1's held orders are
        paid and a quarter cancelled; once paid, some are cancelled (a return),
        refunded, shipped, shipped and refunded. fault: an object with before()
        (before wave 2), during() (in a thread, as wave 2 starts; wave2_sent is
        set once every request of this phase was answered) and after()."""
        rng = random.Random(RUN_ID + type(fault).__name__)
        pids = [create_product(on_hand=n, price=100 * (i + 1))["id"]
                for i, n in enumerate(STOCK)]
        sagacheck.baseline(pids)
        self.pids = pids
        buyers = customers(WAVE1 + WAVE2)
        buyer_of = {}
        wave1 = self.burst(buyers[:WAVE1], pids, rng)
        for o in wave1:
            buyer_of[o["id"]] = o
        wait_until(lambda: not sagacheck.pending(pids), timeout=60, interval=0.2,
                   message="wave 1 settled")
        st = statuses([o["id"] for o in wave1])
        held = [oid for oid, (s, _) in sorted(st.items()) if s == "awaiting_payment"]
        self.assertGreaterEqual(len(held), 6, "wave 1 holds stock: %r" % st)
        to_pay, to_cancel = held[0::2], held[1::4]
        who = {b.id: b for b in buyers}
        owner = {r_id: who[int(u)] for r_id, u in (
            (int(i), u) for i, u in orders_db("SELECT id, user_id FROM orders WHERE id IN (%s)"
                                              % ",".join(str(h) for h in held)))}

        fault.wave2_sent = threading.Event()
        fault.test = self
        fault.before()
        t = threading.Thread(target=self._run_fault, args=(fault,), daemon=True)
        t.start()
        paid_ids = {}

        def payments_and_cancels():
            for oid in rng.sample(to_pay + to_cancel, len(to_pay) + len(to_cancel)):
                time.sleep(SPREAD / (len(to_pay) + len(to_cancel)))
                if oid in to_pay:
                    paid_ids[oid] = self.pay(oid, st[oid][1])
                else:
                    self.cancel(owner[oid], oid)
        side = threading.Thread(target=self._collect(payments_and_cancels), daemon=True)
        side.start()
        wave2 = self.burst(buyers[WAVE1:], pids, rng, cancel_every=5, spread=SPREAD)
        side.join(90)
        fault.wave2_sent.set()
        t.join(120)
        self.assertFalse(t.is_alive(), "the fault did not finish")
        self.assertFalse(side.is_alive(), "payments and cancels did not finish")
        for e in self.side_errors + getattr(fault, "errors", []):
            raise e
        fault.after()

        # Once paid: cancel two (their units are returned), refund one in full
        # (refunded: returned), ship one, ship and refund another (refunded: sold).
        def paid():
            s = statuses(to_pay)
            return all(v[0] == "paid" for v in s.values())
        try:
            wait_until(paid, timeout=60, interval=0.3, message="the paid orders")
        except AssertionError:
            pass  # a payment published as the broker stopped may be lost: fewer paid
        now = statuses(to_pay)
        got_paid = [oid for oid in to_pay if now[oid][0] == "paid"]
        for oid in got_paid[:2]:
            self.cancel(owner[oid], oid)
        if len(got_paid) > 2:
            self.refund(got_paid[2], paid_ids[got_paid[2]], now[got_paid[2]][1])
        for oid in got_paid[3:5]:
            r = self.admin_post("%s/%d/ship" % (ORDERS, oid),
                                {"carrier": "DHL", "tracking_number": "T%d" % oid})
            self.assertStatus(r, 200)
        if len(got_paid) > 4:
            self.refund(got_paid[4], paid_ids[got_paid[4]], now[got_paid[4]][1])

        all_ids = [o["id"] for o in wave1 + wave2]
        orders = sagacheck.assert_settled(self, pids, all_ids, timeout=90)
        per_user = {}
        for oid, o in orders.items():
            per_user.setdefault(o["user_id"], []).append(oid)
        twice = {u: os_ for u, os_ in per_user.items() if len(os_) > 1}
        self.assertEqual(twice, {}, "one checkout (one key) per buyer, one order at most")
        unseen = set(orders) - set(all_ids)
        self.assertEqual(unseen, set(), "orders no client was answered for")
        self.summary("%s %s" % (type(fault).__name__, getattr(fault, "note", "")), orders)
        return orders

    def summary(self, what, orders):
        """One line on stderr: the orders' end states and the clients' errors."""
        counts = {}
        for o in orders.values():
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        states = dict(service_db("catalog", "SELECT state, COUNT(*) FROM order_stock WHERE "
                                 "order_id IN (%s) GROUP BY state"
                                 % ",".join(str(i) for i in orders)))
        sys.stderr.write("\n  %s: orders %s; catalog %s; client errors %d %s\n"
                         % (what, counts, states, len(self.errors),
                            sorted({repr(e) for e in self.errors})[:4]))

    def _collect(self, fn):
        self.side_errors = []

        def run():
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - raised in the test's thread
                self.side_errors.append(e)
        return run

    def _run_fault(self, fault):
        fault.errors = []
        try:
            fault.during()
        except Exception as e:  # noqa: BLE001 - raised in the test's thread
            fault.errors.append(e)


class Fault:
    def before(self):
        pass

    def during(self):
        pass

    def after(self):
        pass


def busy_workers(pool):
    """The pool's workers that are not waiting in accept(): handling a request."""
    busy = []
    for pid in children(multiwatch_pid(pool)):
        try:
            with open("/proc/%d/syscall" % pid, encoding="ascii") as f:
                nr = f.read().split()[0]
        except (OSError, IndexError):
            continue
        if nr not in ("43", "288"):  # accept, accept4 (x86-64)
            busy.append(pid)
    return busy


class KillOrdersWorkers(Fault):
    """Two orders workers SIGKILLed while they handle a checkout (a worker not in
    accept(); the oldest one when none is caught busy within 2 s)."""

    def during(self):
        self.note = []
        for delay in (0.5, 0.5):
            time.sleep(delay)
            deadline = time.monotonic() + 2
            victims = busy_workers("orders")
            while not victims and time.monotonic() < deadline:
                victims = busy_workers("orders")
            if victims:
                os.kill(victims[0], signal.SIGKILL)
                self.note.append("busy")
            else:
                arcade("svc", "kill-worker", "orders", timeout=30)
                self.note.append("idle")


class KillDaemonMidStream(Fault):
    """The daemon paused (SIGSTOP) while work for it piles up, resumed, and
    SIGKILLed delay seconds later, in the middle of that backlog (note: how far
    it got, by progress())."""
    name = None
    delay = 0.03

    def progress(self):
        raise NotImplementedError

    def before(self):
        self.victim = daemon_pid(self.name)
        os.kill(self.victim, signal.SIGSTOP)

    def during(self):
        try:
            self.wave2_sent.wait(120)
            time.sleep(1.0)  # the orders relay publishes what wave 2 wrote
            start = self.progress()
        finally:
            os.kill(self.victim, signal.SIGCONT)
        time.sleep(self.delay)  # under way: a backlog takes it far longer than this
        os.kill(self.victim, signal.SIGKILL)
        self.note = [self.progress() - start]
        mw = multiwatch_pid(self.name)
        wait_until(lambda: children(mw) and self.victim not in children(mw), timeout=20,
                   message="multiwatch's next %s" % self.name)


class KillCatalogConsumer(KillDaemonMidStream):
    name = "catalog-consume"

    def progress(self):
        return int(service_db("catalog", "SELECT COUNT(*) FROM inbox")[0][0])


class KillCatalogRelay(KillDaemonMidStream):
    name = "catalog-relay"

    def progress(self):  # rows published (and deleted) since the pause
        n = int(service_db("catalog", "SELECT COUNT(*) FROM outbox")[0][0])
        self.peak = max(getattr(self, "peak", 0), n)
        return self.peak - n


class RestartServer(KillDaemonMidStream):
    """`arcade svc restart <server>` mid-saga: the catalog consumer is paused
    while wave 2, the payments and the cancels are sent (orders pending, order
    events queued), resumed, and the server restarted as it works them off."""
    name = "catalog-consume"
    server = None

    def during(self):
        try:
            self.wave2_sent.wait(120)
            time.sleep(1.0)
            self.note = [len(sagacheck.pending(self.test.pids))]
        finally:
            os.kill(self.victim, signal.SIGCONT)
        arcade("svc", "restart", self.server, timeout=180)


class RestartRabbitMQ(RestartServer):
    server = "rabbitmq"


class RestartMariaDB(RestartServer):
    server = "mariadb"


class OrderFaultTest(FaultCase):

    def test_orders_worker_killed_mid_burst(self):
        self.saga_under(KillOrdersWorkers())

    def test_catalog_consumer_killed_mid_saga(self):
        self.saga_under(KillCatalogConsumer())

    def test_catalog_relay_killed_mid_saga(self):
        self.saga_under(KillCatalogRelay())

    def test_rabbitmq_restarted_mid_saga(self):
        self.saga_under(RestartRabbitMQ())

    def test_mariadb_restarted_mid_saga(self):
        self.saga_under(RestartMariaDB())

    def test_one_key_twenty_posts_worker_killed(self):
        """20 concurrent POSTs with one Idempotency-Key while an orders worker is
        SIGKILLed: retried until answered, every answer is the one order."""
        pid = create_product(on_hand=5)["id"]
        sagacheck.baseline([pid])
        who = customers(1)[0]
        k = key()
        body = items((pid, 1))
        killed = []

        def kill_busy():
            deadline = time.monotonic() + 2
            while not killed and time.monotonic() < deadline:
                for pid in busy_workers("orders")[:1]:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        killer = threading.Thread(target=kill_busy, daemon=True)
        killer.start()

        def go(_):
            deadline = time.monotonic() + 40
            while True:
                try:
                    r = checkout(who, body, idem=k)
                    if r.status == 201:
                        return r.json["id"]
                    if r.status == 409 and r.json["error"]["code"] == "idempotency_key_in_use":
                        orders_db("UPDATE idempotency_keys SET claimed_at = claimed_at - "
                                  "INTERVAL 1 HOUR WHERE user_id = %d AND idem_key = '%s' AND "
                                  "state = 'claimed' AND claimed_at < CURRENT_TIMESTAMP(3) - "
                                  "INTERVAL 3 SECOND" % (who.id, k))
                    elif r.status < 500:
                        raise AssertionError("answered %r" % (r,))
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("no 201 within 40 s")
                time.sleep(0.2)
        got = parallel(go, range(20), workers=20)
        killer.join(5)
        if not killed:  # all 20 answered before a worker was seen busy: still checked
            sys.stderr.write("\n  no orders worker caught busy during the 20 POSTs\n")
        for g in got:
            if isinstance(g, Exception):
                raise g
        self.assertEqual(len(set(got)), 1, got)
        orders = sagacheck.assert_settled(self, [pid], got[:1], timeout=60)
        self.assertEqual(list(orders), got[:1], "one order for one key")


if __name__ == "__main__":
    unittest.main()
