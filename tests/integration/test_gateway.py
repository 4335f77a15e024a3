"""The payment gateway emulator (gateway/arcade-gateway) started alone, as the
fleet will start it: Stripe's protocol subset, its idempotency, its ledger,
its signed webhooks, its faults, and its state surviving a restart.

Standalone (no fleet): the emulator is a separate process in a temp directory
on a free loopback port; a tiny local receiver takes its webhooks and checks
their Stripe-Signature with Python's own hmac, independently of both the
emulator and the payments service.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GATEWAY = os.path.join(REPO, "gateway", "arcade-gateway")
SK = "sk_test_" + uuid.uuid4().hex
WHSEC = "whsec_" + uuid.uuid4().hex


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(http.server.ThreadingHTTPServer):
    """Records every webhook POST: (headers, raw body, signature valid)."""

    daemon_threads = True

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        self.fail_next = 0  # answer 500 to this many deliveries first
        super().__init__(("127.0.0.1", 0), ReceiverHandler)


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig = self.headers.get("Stripe-Signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
        want = hmac.new(WHSEC.encode(), parts.get("t", "").encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, parts.get("v1", ""))
        with self.server.lock:
            failing = self.server.fail_next > 0
            if failing:
                self.server.fail_next -= 1
            else:
                self.server.events.append((json.loads(body), ok, int(parts.get("t", "0"))))
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Gateway:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="arcade-gw-")
        self.port = free_port()
        self.receiver = Receiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        self.proc = None

    def start(self):
        env = dict(os.environ, ARCADE_GATEWAY_PORT=str(self.port), ARCADE_GATEWAY_SECRET_KEY=SK,
                   ARCADE_GATEWAY_WEBHOOK_SECRET=WHSEC,
                   ARCADE_GATEWAY_WEBHOOK_URL="http://127.0.0.1:%d/hook"
                   % self.receiver.server_address[1],
                   ARCADE_GATEWAY_STATE_DIR=os.path.join(self.dir, "state"),
                   ARCADE_GATEWAY_LOG=os.path.join(self.dir, "gateway.log"),
                   ARCADE_GATEWAY_WEBHOOK_RETRY_MAX_S="0.5")
        self.proc = subprocess.Popen([GATEWAY], env=env)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("arcade-gateway did not listen on %d" % self.port)

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
            self.proc = None

    def call(self, method, path, params=None, key=SK, idem=None, json_body=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {}
        body = None
        if key:
            headers["Authorization"] = "Bearer " + key
        if idem:
            headers["Idempotency-Key"] = idem
        if json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        elif params is not None and method == "POST":
            body = urllib.parse.urlencode(params)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif params:
            path += "?" + urllib.parse.urlencode(params)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else None), dict(r.getheaders())
        finally:
            conn.close()

    def pay(self, pm="pm_card_visa", amount=1999, idem=None, **extra):
        params = {"amount": str(amount), "currency": "eur", "payment_method": pm,
                  "confirm": "true", "metadata[order_id]": extra.pop("order_id", "7"),
                  "metadata[payment_id]": "1"}
        params.update(extra)
        return self.call("POST", "/v1/payment_intents", params, idem=idem)

    def order_charges(self, order):
        """Every charge in the ledger for metadata[order_id] = order (all pages)."""
        out, q = [], {"limit": "100"}
        while True:
            st, page, _ = self.call("GET", "/v1/charges", q)
            assert st == 200, page
            out += [c for c in page["data"] if c["metadata"].get("order_id") == order]
            if not page["has_more"]:
                return out
            q["starting_after"] = page["data"][-1]["id"]

    def charges(self, pi):
        st, body, _ = self.call("GET", "/v1/charges", {"payment_intent": pi, "limit": "100"})
        assert st == 200, body
        return body["data"]


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway()
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.gw.receiver.shutdown()
        cls.gw.receiver.server_close()
        shutil.rmtree(cls.gw.dir, ignore_errors=True)

    def setUp(self):
        self.gw.call("DELETE", "/_emulator/faults", key=None)

    def wait_events(self, pi, etype, n=1, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.gw.receiver.lock:
                got = [e for e in self.gw.receiver.events
                       if e[0]["type"] == etype and (e[0]["data"]["object"].get("payment_intent")
                                                     or e[0]["data"]["object"]["id"]) == pi]
            if len(got) >= n:
                return got
            time.sleep(0.05)
        self.fail("no %d %s webhook(s) for %s" % (n, etype, pi))

    def test_auth_required(self):
        st, body, _ = self.gw.call("GET", "/v1/balance", key=None)
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["type"], "invalid_request_error")
        st, _, _ = self.gw.call("GET", "/v1/balance", key="sk_test_wrong")
        self.assertEqual(st, 401)
        with open(os.path.join(self.gw.dir, "gateway.log")) as f:
            self.assertNotIn(SK, f.read())

    def test_visa_succeeds_with_one_charge_and_signed_webhook(self):
        st, pi, _ = self.gw.pay("pm_card_visa", 2500, idem=uuid.uuid4().hex, order_id="41")
        self.assertEqual(st, 200, pi)
        self.assertEqual(pi["status"], "succeeded")
        self.assertEqual(pi["currency"], "eur")
        ch = self.gw.charges(pi["id"])
        self.assertEqual(len(ch), 1)
        self.assertEqual((ch[0]["amount"], ch[0]["captured"], ch[0]["paid"], ch[0]["status"]),
                         (2500, True, True, "succeeded"))
        self.assertEqual(ch[0]["metadata"]["order_id"], "41")
        ev, ok, t = self.wait_events(pi["id"], "payment_intent.succeeded")[0]
        self.assertTrue(ok, "Stripe-Signature does not verify")
        self.assertLess(abs(time.time() - t), 60)

    def test_declines(self):
        for pm, decline in (("pm_card_chargeDeclined", "generic_decline"),
                            ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
                            ("pm_card_chargeDeclinedFraudulent", "fraudulent")):
            with self.subTest(pm=pm):
                st, body, _ = self.gw.pay(pm, idem=uuid.uuid4().hex)
                self.assertEqual(st, 402, body)
                err = body["error"]
                self.assertEqual((err["type"], err["code"], err["decline_code"]),
                                 ("card_error", "card_declined", decline))
                pi = err["payment_intent"]["id"]
                self.assertFalse([c for c in self.gw.charges(pi) if c["status"] == "succeeded"])
                self.wait_events(pi, "payment_intent.payment_failed")

    def test_idempotency(self):
        key = uuid.uuid4().hex
        st1, a, _ = self.gw.pay(amount=1000, idem=key)
        st2, b, h = self.gw.pay(amount=1000, idem=key)
        self.assertEqual((st1, st2), (200, 200))
        self.assertEqual(a["id"], b["id"])
        self.assertEqual(h.get("Idempotent-Replayed"), "true")
        st3, c, _ = self.gw.pay(amount=1001, idem=key)
        self.assertEqual(st3, 400)
        self.assertEqual(c["error"]["type"], "idempotency_error")
        self.assertEqual(len(self.gw.charges(a["id"])), 1)

    def test_concurrent_same_key_charges_once(self):
        key, order = uuid.uuid4().hex, uuid.uuid4().hex
        results = []

        def attempt():
            results.append(self.gw.pay(amount=700, idem=key, order_id=order))
        threads = [threading.Thread(target=attempt) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in results if r[0] == 200]
        self.assertTrue(ok)
        self.assertTrue(all(r[0] in (200, 409) for r in results), [r[0] for r in results])
        self.assertEqual(len({r[1]["id"] for r in ok}), 1)
        self.assertEqual(len(self.gw.order_charges(order)), 1)

    def test_manual_capture_and_refund_limits(self):
        st, pi, _ = self.gw.pay(amount=3000, idem=uuid.uuid4().hex, capture_method="manual")
        self.assertEqual((st, pi["status"]), (200, "requires_capture"))
        self.assertFalse(self.gw.charges(pi["id"])[0]["captured"])
        st, pi, _ = self.gw.call("POST", "/v1/payment_intents/%s/capture" % pi["id"], {},
                                 idem=uuid.uuid4().hex)
        self.assertEqual((st, pi["status"]), (200, "succeeded"))
        st, r1, _ = self.gw.call("POST", "/v1/refunds", {"payment_intent": pi["id"],
                                                        "amount": "1000"}, idem=uuid.uuid4().hex)
        self.assertEqual((st, r1["amount"], r1["status"]), (200, 1000, "succeeded"))
        st, err, _ = self.gw.call("POST", "/v1/refunds", {"payment_intent": pi["id"],
                                                         "amount": "2001"}, idem=uuid.uuid4().hex)
        self.assertEqual(st, 400, err)
        st, r2, _ = self.gw.call("POST", "/v1/refunds", {"payment_intent": pi["id"]},
                                 idem=uuid.uuid4().hex)
        self.assertEqual((st, r2["amount"]), (200, 2000))
        ch = self.gw.charges(pi["id"])[0]
        self.assertEqual((ch["amount_refunded"], ch["refunded"]), (3000, True))
        st, refunds, _ = self.gw.call("GET", "/v1/refunds", {"payment_intent": pi["id"]})
        self.assertEqual(sum(r["amount"] for r in refunds["data"]), 3000)
        self.wait_events(pi["id"], "charge.refunded")

    def test_cancel_authorisation(self):
        st, pi, _ = self.gw.pay(amount=500, idem=uuid.uuid4().hex, capture_method="manual")
        st, pi, _ = self.gw.call("POST", "/v1/payment_intents/%s/cancel" % pi["id"], {},
                                 idem=uuid.uuid4().hex)
        self.assertEqual((st, pi["status"]), (200, "canceled"))
        self.assertFalse([c for c in self.gw.charges(pi["id"]) if c["captured"]])
        self.wait_events(pi["id"], "payment_intent.canceled")

    def test_three_d_secure(self):
        for action, want in (("complete", "succeeded"), ("fail", "requires_payment_method")):
            with self.subTest(action=action):
                st, pi, _ = self.gw.pay("pm_card_authenticationRequired", idem=uuid.uuid4().hex)
                self.assertEqual((st, pi["status"]), (200, "requires_action"))
                url = pi["next_action"]["redirect_to_url"]["url"]
                path = urllib.parse.urlsplit(url).path
                self.assertEqual(path, "/_emulator/authenticate/" + pi["id"])
                st, _, _ = self.gw.call("POST", path + "/" + action, {}, key=None)
                self.assertLess(st, 400)
                st, pi, _ = self.gw.call("GET", "/v1/payment_intents/" + pi["id"])
                self.assertEqual(pi["status"], want)
                self.wait_events(pi["id"], "payment_intent.succeeded" if action == "complete"
                                 else "payment_intent.payment_failed")

    def test_ledger_pagination(self):
        order = uuid.uuid4().hex
        for _ in range(5):
            self.gw.pay(amount=100, idem=uuid.uuid4().hex, order_id=order)
        seen, after = [], None
        while True:
            q = {"limit": "2"}
            if after:
                q["starting_after"] = after
            st, page, _ = self.gw.call("GET", "/v1/charges", q)
            self.assertEqual(st, 200)
            self.assertLessEqual(len(page["data"]), 2)
            seen += page["data"]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        self.assertEqual(len(seen), len({c["id"] for c in seen}))
        self.assertEqual(len([c for c in seen if c["metadata"].get("order_id") == order]), 5)
        st, _, _ = self.gw.call("GET", "/v1/charges", {"limit": "101"})
        self.assertEqual(st, 400)

    def test_faults(self):
        # error_before_charge: 500, nothing charged, the retry charges once
        order = uuid.uuid4().hex
        key = uuid.uuid4().hex
        st, _, _ = self.gw.call("POST", "/_emulator/faults", key=None,
                                json_body={"mode": "error_before_charge", "count": 1})
        self.assertLess(st, 300)
        st, _, _ = self.gw.pay(idem=key, order_id=order)
        self.assertEqual(st, 500)
        st, pi, _ = self.gw.pay(idem=key, order_id=order)
        self.assertEqual(st, 200)
        self.assertEqual(len(self.gw.order_charges(order)), 1)
        # error_after_charge and drop_after_charge: charged; the retry with the same key
        # gets the stored success, one charge
        for mode in ("error_after_charge", "drop_after_charge"):
            with self.subTest(mode=mode):
                key, order = uuid.uuid4().hex, uuid.uuid4().hex
                self.gw.call("POST", "/_emulator/faults", key=None,
                             json_body={"mode": mode, "count": 1})
                if mode == "drop_after_charge":
                    with self.assertRaises((http.client.HTTPException, ConnectionError)):
                        self.gw.pay(idem=key, order_id=order)
                else:
                    self.assertEqual(self.gw.pay(idem=key, order_id=order)[0], 500)
                st, pi, h = self.gw.pay(idem=key, order_id=order)
                self.assertEqual((st, pi["status"]), (200, "succeeded"))
                self.assertEqual(len(self.gw.order_charges(order)), 1)
        # delay
        self.gw.call("POST", "/_emulator/faults", key=None,
                     json_body={"mode": "delay", "count": 1, "delay_ms": 600})
        t0 = time.time()
        self.gw.pay(idem=uuid.uuid4().hex)
        self.assertGreaterEqual(time.time() - t0, 0.5)

    def test_webhooks_retried_until_2xx_and_duplicated(self):
        with self.gw.receiver.lock:
            self.gw.receiver.fail_next = 2
        st, pi, _ = self.gw.pay(idem=uuid.uuid4().hex)
        ev = self.wait_events(pi["id"], "payment_intent.succeeded", timeout=15)
        self.assertTrue(ev[0][1])
        self.gw.call("POST", "/_emulator/faults", key=None, json_body={"webhooks": "duplicate"})
        st, pi, _ = self.gw.pay(idem=uuid.uuid4().hex)
        two = self.wait_events(pi["id"], "payment_intent.succeeded", n=2)
        self.assertEqual(two[0][0]["id"], two[1][0]["id"])  # the same event, twice

    def test_state_survives_restart(self):
        st, pi, _ = self.gw.pay(amount=4242, idem=uuid.uuid4().hex)
        key = uuid.uuid4().hex
        st, first, _ = self.gw.pay(amount=4343, idem=key)
        self.gw.stop()
        self.gw.start()
        st, again, _ = self.gw.call("GET", "/v1/payment_intents/" + pi["id"])
        self.assertEqual((st, again["amount"], again["status"]), (200, 4242, "succeeded"))
        self.assertEqual(len(self.gw.charges(pi["id"])), 1)
        st, replay, h = self.gw.pay(amount=4343, idem=key)
        self.assertEqual(replay["id"], first["id"])
        self.assertEqual(h.get("Idempotent-Replayed"), "true")


if __name__ == "__main__":
    unittest.main()
