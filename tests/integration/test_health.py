"""GET /health/catalog when the fleet is healthy (docs/catalog-api.md, "Health")."""

import time
import unittest

from arcadetest import HEALTH, ArcadeTestCase, get, new_traceparent, parse_allow, request


class HealthTests(ArcadeTestCase):

    def test_shape_when_healthy(self):
        r = get(HEALTH)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(r.json["status"], "ok")
        self.assertEqual(r.json["checks"], {"db": "ok", "cache": "ok", "broker": "ok"})
        # the outbox backlog (docs/events.md): events not yet confirmed by the broker
        outbox = r.json["details"]["outbox"]
        self.assertEqual(sorted(outbox), ["oldest_ms", "pending"])
        self.assertTrue(all(isinstance(v, int) and v >= 0 for v in outbox.values()), outbox)
        self.assertEqual(sorted(r.json), ["checks", "details", "status"])
        self.assertTraceparent(r)
        self.assertIn("no-store", (r.header("Cache-Control") or "").lower(), "never cached")

    def test_head(self):
        r = request("HEAD", HEALTH)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")
        self.assertTraceparent(r)

    def test_needs_no_credentials_and_is_fast(self):
        for _ in range(5):
            t0 = time.monotonic()
            r = get(HEALTH)
            self.assertStatus(r, 200)
            self.assertLess(time.monotonic() - t0, 1.0, "a health check answers at once")

    def test_continues_the_trace(self):
        sent = new_traceparent()
        trace_id, span_id, _ = self.assertTraceparent(get(HEALTH, headers={"traceparent": sent}))
        self.assertEqual(trace_id, sent.split("-")[1])
        self.assertNotEqual(span_id, sent.split("-")[2])

    def test_only_get(self):
        for method in ("POST", "PUT", "DELETE"):
            with self.subTest(method=method):
                r = request(method, HEALTH, json_body={})
                self.assertError(r, 405, "method_not_allowed")
                self.assertEqual(parse_allow(r.header("Allow")), {"GET", "HEAD"})


if __name__ == "__main__":
    unittest.main()
