"""The payments service's API end to end (issue 10, docs/payments-api.md), through
the web server against the whole fleet and the gateway emulator: POST /payments
(the card tokens, declines, validation, card data refused, idempotency, order
not payable, payment in progress), GET /payments/{id} and ?order_id=, refunds
(admin), the webhook endpoint's signature checks, /health/payments. After each
test PaymentsCase.assertLedgerAgrees checks the service against the emulator's
ledger (GET /v1/charges, /v1/refunds with the fleet's secret key)."""

import time
import unittest
import uuid

from arcadetest import (API, PAYMENT_FIELDS, PAYMENT_STATUSES, PAYMENTS, PAYMENTS_HEALTH,
                        REFUND_FIELDS, ArcadeTestCase, admin_headers, awaiting_payment_order,
                        gateway, gateway_event, gateway_secret_key, get, is_int,
                        ledger_charges, ledger_charges_of_order, ledger_refunds, log_files,
                        new_customer, pay, post, post_webhook, stripe_signature, wait_until,
                        webhook_secret)
from test_fleet_events import manifest_daemons

ORDERS = API + "/orders"
DECLINES = {"pm_card_chargeDeclined": "card_declined",
            "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
            "pm_card_chargeDeclinedFraudulent": "fraudulent"}
SETTLE = 60  # seconds the reconciler and webhooks may take to settle a payment


def key():
    return uuid.uuid4().hex


def order_of(oid, who=None):
    r = get("%s/%d" % (ORDERS, oid), headers=who.headers if who else admin_headers())
    assert r.status == 200, r
    return r.json


def payments_of(oid):
    r = get("%s?order_id=%d" % (PAYMENTS, oid), headers=admin_headers())
    assert r.status == 200, r
    return r.json["items"]


class PaymentsCase(ArcadeTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if ("payments", "reconcile") not in manifest_daemons():
            raise unittest.SkipTest("no payments service in this fleet")

    def setUp(self):
        super().setUp()
        gateway_faults_clear()
        self.addCleanup(gateway_faults_clear)

    # -- assertions --

    def assertPayment(self, p, exact=False):
        self.assertIsInstance(p, dict, p)
        if exact:
            self.assertEqual(set(p), PAYMENT_FIELDS, "payment keys of %r" % (p,))
        else:
            self.assertTrue(PAYMENT_FIELDS <= set(p), "payment keys of %r" % (p,))
        self.assertTrue(is_int(p["id"]) or isinstance(p["id"], str), p)
        self.assertIn(p["status"], PAYMENT_STATUSES, p)
        self.assertTrue(is_int(p["amount"]) and p["amount"] >= 0, p)
        self.assertRegex(p["currency"], r"^[A-Z]{3}$")
        self.assertTime(p["created_at"], "created_at")
        self.assertTime(p["updated_at"], "updated_at")
        for k in ("number", "card_number", "cvc", "exp_month", "exp_year", "secret"):
            self.assertNotIn(k, p)
        return p

    def paid(self, who=None, price=1234, pm="pm_card_visa"):
        who = who or new_customer()
        o, prod = awaiting_payment_order(who, price=price)
        r = pay(who, o["id"], pm)
        self.assertStatus(r, 201)
        self.assertEqual(r.json["status"], "succeeded", r)
        self.wait_order(o["id"], "paid")
        return who, o, r.json, prod

    def wait_order(self, oid, status, timeout=SETTLE):
        return wait_until(lambda: order_of(oid)["status"] == status and order_of(oid),
                          timeout=timeout, interval=0.1,
                          message="order %d to be %s" % (oid, status))

    def wait_payment(self, pid, statuses, timeout=SETTLE):
        statuses = (statuses,) if isinstance(statuses, str) else statuses

        def reached():
            r = get("%s/%s" % (PAYMENTS, pid), headers=admin_headers())
            return r.status == 200 and r.json["status"] in statuses and r.json
        return wait_until(reached, timeout=timeout, interval=0.1,
                          message="payment %s to be %s" % (pid, "/".join(statuses)))

    def ledger_problems(self, oid):
        """What is wrong between the order, its payments and the ledger (empty: agree)."""
        bad = []
        o = order_of(oid)
        ps = payments_of(oid)
        charges = ledger_charges_of_order(oid)
        ok_charges = [c for c in charges if c["status"] == "succeeded" and c["paid"]]
        if len(ok_charges) > 1:
            bad.append("%d succeeded charges for order %d: %r"
                       % (len(ok_charges), oid, [c["id"] for c in ok_charges]))
        money = [p for p in ps if p["status"] in ("succeeded", "partially_refunded",
                                                  "refunded")]
        if len(money) > 1:
            bad.append("%d payments took money for order %d: %r" % (len(money), oid, money))
        left = [p for p in ps if p["status"] == "processing"]
        if left:
            bad.append("payments still processing: %r" % left)
        if o["status"] in ("paid", "shipped", "delivered"):
            if len(money) != 1 or money[0]["status"] != "succeeded" and o["status"] == "paid" \
                    and o["amount_refunded"] == 0:
                bad.append("order %d is %s without one succeeded payment: %r"
                           % (oid, o["status"], ps))
            if o.get("payment_id") is not None and money and \
                    str(o["payment_id"]) != str(money[0]["id"]):
                bad.append("order's payment_id %r is not the payment %r"
                           % (o["payment_id"], money[0]["id"]))
        for p in money:
            if (p["amount"], p["currency"]) != (o["total"], o["currency"]):
                bad.append("payment %r: amount/currency %r/%r, order %r/%r"
                           % (p["id"], p["amount"], p["currency"], o["total"], o["currency"]))
            mine = [c for c in ok_charges if c["payment_intent"] == p["gateway_reference"]]
            if len(mine) != 1:
                bad.append("payment %r (%s) has %d succeeded charges in the ledger"
                           % (p["id"], p["gateway_reference"], len(mine)))
                continue
            c = mine[0]
            if (c["amount"], c["currency"]) != (o["total"], o["currency"].lower()):
                bad.append("charge %s: %r %r, order %r %r" % (c["id"], c["amount"],
                                                               c["currency"], o["total"],
                                                               o["currency"]))
            refunds = [r for r in ledger_refunds(c["payment_intent"])
                       if r["status"] == "succeeded"]
            total = sum(r["amount"] for r in refunds)
            if total > c["amount"] or c["amount_refunded"] > c["amount"]:
                bad.append("refunds %d exceed the capture %d" % (total, c["amount"]))
            if total != c["amount_refunded"]:
                bad.append("charge %s amount_refunded %d, refunds add up to %d"
                           % (c["id"], c["amount_refunded"], total))
            want = "succeeded" if total == 0 else \
                ("refunded" if total == c["amount"] else "partially_refunded")
            if p["status"] != want:
                bad.append("payment %r is %s, the ledger says %s" % (p["id"], p["status"], want))
            if o["amount_refunded"] != total:
                bad.append("order %d amount_refunded %d, ledger %d"
                           % (oid, o["amount_refunded"], total))
            if total == c["amount"] and o["status"] != "refunded":
                bad.append("order %d fully refunded in the ledger but %s" % (oid, o["status"]))
        by_pi = {p["gateway_reference"] for p in money}
        for c in ok_charges:
            if c["payment_intent"] not in by_pi:
                bad.append("charge %s (%s) succeeded in the ledger, no payment of the service "
                           "has it as succeeded: %r" % (c["id"], c["payment_intent"], ps))
            if o["status"] in ("cancelled", "expired") and c["amount_refunded"] != c["amount"]:
                bad.append("order %d is %s but charge %s is not refunded in full"
                           % (oid, o["status"], c["id"]))
        if ok_charges and o["status"] == "awaiting_payment":
            bad.append("order %d has a succeeded charge but is awaiting payment" % oid)
        return bad

    def assertLedgerAgrees(self, *oids, timeout=SETTLE):
        """Waits until every order's payments, the order and the ledger agree
        (at most one succeeded charge, of the order's amount and currency, refunds
        within the capture, nothing left processing); fails naming what is left."""
        deadline = time.monotonic() + timeout
        while True:
            bad = [b for oid in oids for b in self.ledger_problems(oid)]
            if not bad:
                return
            if time.monotonic() > deadline:
                self.fail("the service and the ledger disagree after %d s:\n  %s"
                          % (timeout, "\n  ".join(bad)))
            time.sleep(0.5)


def gateway_faults_clear():
    from arcadetest import emulator_faults
    try:
        emulator_faults(None)
    except (OSError, AssertionError):
        pass


class PayTest(PaymentsCase):

    def test_visa_and_mastercard(self):
        for pm in ("pm_card_visa", "pm_card_mastercard"):
            with self.subTest(pm=pm):
                who = new_customer()
                o, _ = awaiting_payment_order(who, price=2599, quantity=2)
                r = pay(who, o["id"], pm)
                self.assertStatus(r, 201)
                self.assertJsonResponse(r)
                p = self.assertPayment(r.json, exact=True)
                self.assertEqual((p["order_id"], p["status"], p["amount"], p["currency"]),
                                 (o["id"], "succeeded", 5198, "EUR"))
                self.assertIsNone(p["failure_code"])
                self.assertIsNone(p["next_action"])
                self.assertRegex(p["gateway_reference"], r"^pi_")
                g = get("%s/%s" % (PAYMENTS, p["id"]), headers=who.headers)
                self.assertStatus(g, 200)
                self.assertEqual(g.json, p)
                lst = get("%s?order_id=%d" % (PAYMENTS, o["id"]), headers=who.headers)
                self.assertStatus(lst, 200)
                self.assertEqual(lst.json["items"], [p])
                paid = self.wait_order(o["id"], "paid")
                self.assertEqual(str(paid["payment_id"]), str(p["id"]))
                charges = ledger_charges(p["gateway_reference"])
                self.assertEqual(len(charges), 1, charges)
                c = charges[0]
                self.assertEqual((c["amount"], c["currency"], c["captured"], c["paid"],
                                  c["status"]), (5198, "eur", True, True, "succeeded"))
                self.assertEqual(str(c["metadata"]["order_id"]), str(o["id"]))
                self.assertEqual(str(c["metadata"]["payment_id"]), str(p["id"]))
                self.assertLedgerAgrees(o["id"])

    def test_amount_and_currency_come_from_the_order(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who, price=777)
        r = pay(who, o["id"], body={"order_id": o["id"], "payment_method": "pm_card_visa",
                                    "amount": 1, "currency": "USD"})
        if r.status == 422:
            self.assertError(r, 422, "validation_failed")
            self.assertEqual(ledger_charges_of_order(o["id"]), [])
        else:
            self.assertStatus(r, 201)
            self.assertEqual((r.json["amount"], r.json["currency"]), (777, "EUR"))
        self.assertLedgerAgrees(o["id"])

    def test_declines_leave_the_order_payable(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who, price=1500)
        for pm, code in DECLINES.items():
            with self.subTest(pm=pm):
                r = pay(who, o["id"], pm)
                self.assertStatus(r, 201)
                p = self.assertPayment(r.json, exact=True)
                self.assertEqual((p["status"], p["failure_code"]), ("failed", code))
                self.assertEqual(order_of(o["id"])["status"], "awaiting_payment")
        r = pay(who, o["id"], "pm_card_visa")
        self.assertStatus(r, 201)
        self.assertEqual(r.json["status"], "succeeded")
        self.wait_order(o["id"], "paid")
        ps = payments_of(o["id"])
        self.assertEqual(sorted(p["status"] for p in ps), ["failed"] * 3 + ["succeeded"])
        failed = [c for c in ledger_charges_of_order(o["id"]) if c["status"] == "failed"]
        self.assertEqual(len(failed), 3, failed)
        self.assertLedgerAgrees(o["id"])

    def test_unknown_payment_method(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who)
        r = pay(who, o["id"], "pm_card_doesnotexist")
        # the gateway's resource_missing: a client error, never a 5xx, nothing charged
        self.assertStatus(r, (201, 422))
        if r.status == 201:
            self.assertEqual(r.json["status"], "failed")
        self.assertEqual(order_of(o["id"])["status"], "awaiting_payment")
        self.assertLedgerAgrees(o["id"])


class ValidationTest(PaymentsCase):

    def test_bad_bodies(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who)
        for body, field in (({"payment_method": "pm_card_visa"}, "order_id"),
                            ({"order_id": "x", "payment_method": "pm_card_visa"}, "order_id"),
                            ({"order_id": -1, "payment_method": "pm_card_visa"}, "order_id"),
                            ({"order_id": o["id"]}, "payment_method"),
                            ({"order_id": o["id"], "payment_method": 42}, "payment_method"),
                            ({"order_id": o["id"], "payment_method": "card_visa"},
                             "payment_method"),
                            ({"order_id": o["id"], "payment_method": ""}, "payment_method")):
            with self.subTest(body=body):
                self.assertError(pay(who, o["id"], body=body), 422, "validation_failed",
                                 field=field)
        r = post(PAYMENTS, body=b"{not json", content_type="application/json",
                 headers=dict(who.headers, **{"Idempotency-Key": key()}))
        self.assertStatus(r, (400, 422))
        self.assertJsonResponse(r)
        self.assertEqual(ledger_charges_of_order(o["id"]), [])
        self.assertEqual(payments_of(o["id"]), [])

    def test_card_data_refused(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who)
        bodies = [
            {"order_id": o["id"], "payment_method": "4242424242424242"},
            {"order_id": o["id"], "payment_method": "4242 4242 4242 4242"},
            {"order_id": o["id"], "payment_method": "pm_card_visa",
             "note": "my card 4000-0566-5566-5556 thanks"},
            {"order_id": o["id"], "payment_method": "pm_card_visa",
             "card": {"number": "5555555555554444", "exp_month": 12, "exp_year": 2030,
                      "cvc": "123"}},
            {"order_id": o["id"], "payment_method": "pm_card_visa", "cvc": "123"},
            {"order_id": o["id"], "payment_method": "pm_card_visa", "card_number": "x"},
            {"order_id": o["id"], "payment_method": "pm_card_visa", "exp_month": 1},
        ]
        for body in bodies:
            with self.subTest(body=body):
                self.assertError(pay(who, o["id"], body=body), 422, "card_data_refused")
        self.assertEqual(ledger_charges_of_order(o["id"]), [])
        self.assertEqual(payments_of(o["id"]), [])
        for path in log_files():
            with open(path, "rb") as f:
                data = f.read()
            for number in (b"4242424242424242", b"4000-0566-5566-5556", b"5555555555554444"):
                self.assertNotIn(number, data, "a card number in %s" % path)
        # 16 digits that fail Luhn are not a card number: the order id is just unknown
        r = pay(who, 1234567812345678)
        self.assertStatus(r, (404, 422))
        if r.status == 422:
            self.assertNotEqual(r.json["error"]["code"], "card_data_refused")

    def test_idempotency(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who)
        self.assertError(pay(who, o["id"], idem=None), 400, "idempotency_key_required")
        for bad in ("", "x" * 256, "has\tcontrol"):
            with self.subTest(key=bad):
                self.assertError(pay(who, o["id"], idem=bad), 400, "invalid_idempotency_key")
        k = key()
        first = pay(who, o["id"], idem=k)
        self.assertStatus(first, 201)
        again = pay(who, o["id"], idem=k)
        self.assertStatus(again, 201)
        self.assertEqual(again.json, first.json)
        self.assertError(pay(who, o["id"], "pm_card_mastercard", idem=k), 422,
                         "idempotency_key_reused")
        self.assertEqual(len(ledger_charges_of_order(o["id"])), 1)
        self.assertLedgerAgrees(o["id"])


class AccessTest(PaymentsCase):

    def test_owner_admin_and_others(self):
        who, o, p, _ = self.paid()
        other = new_customer()
        self.assertError(post(PAYMENTS, {"order_id": o["id"], "payment_method": "pm_card_visa"},
                              headers={"Idempotency-Key": key()}), 401, "unauthorized")
        self.assertError(get("%s/%s" % (PAYMENTS, p["id"])), 401, "unauthorized")
        self.assertError(get("%s/%s" % (PAYMENTS, p["id"]), headers=other.headers), 404,
                         "not_found")
        self.assertEqual(get("%s?order_id=%d" % (PAYMENTS, o["id"]),
                             headers=other.headers).status, 404)
        self.assertStatus(get("%s/%s" % (PAYMENTS, p["id"]), headers=admin_headers()), 200)
        self.assertError(get(PAYMENTS + "/999999999", headers=who.headers), 404, "not_found")
        self.assertError(get(PAYMENTS + "/abc", headers=who.headers), 404, "not_found")
        r = get(PAYMENTS, headers=who.headers)  # no order_id
        self.assertStatus(r, (400, 422))
        self.assertJsonResponse(r)
        # another user's order, an unknown one: 404 and nothing charged
        o2, _ = awaiting_payment_order(new_customer())
        self.assertError(pay(other, o2["id"]), 404, "not_found")
        self.assertError(pay(other, 999999999), 404, "not_found")
        self.assertEqual(ledger_charges_of_order(o2["id"]), [])

    def test_order_not_payable(self):
        who, o, p, _ = self.paid()
        r = pay(who, o["id"])
        self.assertStatus(r, 409)
        self.assertEqual((r.json["error"]["code"], r.json["error"]["status"]),
                         ("order_not_payable", "paid"))
        o2, _ = awaiting_payment_order(who)
        self.assertStatus(post("%s/%d/cancel" % (ORDERS, o2["id"]), {}, headers=who.headers),
                          200)
        r = pay(who, o2["id"])
        self.assertStatus(r, 409)
        self.assertEqual((r.json["error"]["code"], r.json["error"]["status"]),
                         ("order_not_payable", "cancelled"))
        self.assertEqual(ledger_charges_of_order(o2["id"]), [])
        self.assertLedgerAgrees(o["id"], o2["id"])

    def test_payment_in_progress(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who)
        r = pay(who, o["id"], "pm_card_authenticationRequired")
        self.assertStatus(r, 201)
        p = r.json
        self.assertEqual(p["status"], "requires_action")
        r2 = pay(who, o["id"], "pm_card_visa")
        self.assertStatus(r2, 409)
        self.assertEqual(r2.json["error"]["code"], "payment_in_progress")
        self.assertEqual(str(r2.json["error"]["payment_id"]), str(p["id"]))
        self.assertEqual(len(ledger_charges_of_order(o["id"])), 0)


class RefundTest(PaymentsCase):

    def refund(self, pid, body=None, idem="new", headers=None):
        h = dict(headers if headers is not None else admin_headers())
        if idem == "new":
            idem = key()
        if idem is not None:
            h["Idempotency-Key"] = idem
        return post("%s/%s/refunds" % (PAYMENTS, pid), body if body is not None else {},
                    headers=h)

    def test_partial_then_rest(self):
        who, o, p, _ = self.paid(price=1000)
        self.assertError(self.refund(p["id"], {"amount": 100}, headers=who.headers), 403,
                         "forbidden")
        self.assertError(self.refund(p["id"], {"amount": 100}, idem=None), 400,
                         "idempotency_key_required")
        for bad in ({"amount": 0}, {"amount": -5}, {"amount": "100"}, {"amount": 1.5}):
            with self.subTest(body=bad):
                self.assertError(self.refund(p["id"], bad), 422, "validation_failed",
                                 field="amount")
        k = key()
        r = self.refund(p["id"], {"amount": 300}, idem=k)
        self.assertStatus(r, 201)
        self.assertEqual(set(r.json), REFUND_FIELDS)
        self.assertEqual((str(r.json["payment_id"]), r.json["amount"]), (str(p["id"]), 300))
        self.assertTime(r.json["created_at"])
        again = self.refund(p["id"], {"amount": 300}, idem=k)
        self.assertStatus(again, 201)
        self.assertEqual(again.json, r.json)
        self.assertError(self.refund(p["id"], {"amount": 200}, idem=k), 422,
                         "idempotency_key_reused")
        self.assertEqual(len(ledger_refunds(p["gateway_reference"])), 1)
        self.wait_payment(p["id"], "partially_refunded")
        big = self.refund(p["id"], {"amount": 701})
        self.assertStatus(big, 422)
        self.assertEqual((big.json["error"]["code"], big.json["error"]["refundable"]),
                         ("refund_exceeds_captured", 700))
        rest = self.refund(p["id"])
        self.assertStatus(rest, 201)
        self.assertEqual(rest.json["amount"], 700)
        self.wait_payment(p["id"], "refunded")
        self.wait_order(o["id"], "refunded")
        r = self.refund(p["id"], {"amount": 1})
        self.assertStatus(r, 409)
        self.assertEqual((r.json["error"]["code"], r.json["error"]["status"]),
                         ("payment_not_refundable", "refunded"))
        self.assertEqual(sum(x["amount"] for x in ledger_refunds(p["gateway_reference"])),
                         1000)
        self.assertLedgerAgrees(o["id"])

    def test_not_refundable(self):
        who = new_customer()
        o, _ = awaiting_payment_order(who)
        r = pay(who, o["id"], "pm_card_chargeDeclined")
        self.assertStatus(r, 201)
        x = self.refund(r.json["id"])
        self.assertStatus(x, 409)
        self.assertEqual((x.json["error"]["code"], x.json["error"]["status"]),
                         ("payment_not_refundable", "failed"))
        self.assertError(self.refund(999999999), 404, "not_found")
        self.assertLedgerAgrees(o["id"])


class WebhookTest(PaymentsCase):

    def test_signatures(self):
        ev = gateway_event("payment_intent.succeeded", {"id": "pi_none", "object":
                                                        "payment_intent"})
        body = b'{"id":"evt_x","type":"payment_intent.succeeded","data":{"object":{}}}'
        now = int(time.time())
        for what, sig in (("unsigned", None), ("empty", ""), ("garbage", "nonsense"),
                          ("wrong secret", stripe_signature(body, secret="whsec_wrong")),
                          ("stale", stripe_signature(body, t=now - 600)),
                          ("future", stripe_signature(body, t=now + 600)),
                          ("no v1", "t=%d" % now),
                          ("other body", stripe_signature(body + b" "))):
            with self.subTest(what=what):
                self.assertError(post_webhook(ev, signature=sig, raw=body), 400,
                                 "invalid_signature")

    def test_unknown_type_and_duplicate(self):
        ev = gateway_event("customer.created", {"id": "cus_1", "object": "customer"})
        self.assertStatus(post_webhook(ev), 200)
        self.assertStatus(post_webhook(ev), 200)

    def test_secrets_never_logged(self):
        self.paid()
        for path in log_files():
            with open(path, "rb") as f:
                data = f.read()
            self.assertNotIn(gateway_secret_key().encode(), data, path)
            self.assertNotIn(webhook_secret().encode(), data, path)


class HealthTest(PaymentsCase):

    def test_health(self):
        r = get(PAYMENTS_HEALTH)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(r.json["status"], "ok")
        for c in ("db", "cache", "gateway"):
            self.assertEqual(r.json["checks"].get(c), "ok", r.json)
        self.assertStatus(gateway("GET", "/v1/balance"), 200)
        self.assertEqual(gateway("GET", "/v1/balance", key="sk_test_wrong").status, 401)


if __name__ == "__main__":
    unittest.main()
