"""Authentication across services (docs/users-api.md, shared/include/arcade/auth.h):
the catalog's admin endpoints and session tokens, logout everywhere at once,
sessions with memcached down, the internal session endpoint (never public), and
no token or password in the logs.

No test here fails a login: the address throttling budget is test_users' (see there).
"""

import time
import unittest

from arcadetest import (API, HEALTH, INTERNAL_SESSION, ME, SECRETS, SESSIONS, USERS_HEALTH,
                        UsersTestCase, admin_headers, arcade, bearer, create_product, delete,
                        get, internal_url, log_files, login, login_response, new_admin,
                        new_customer, parallel, patch, post, product_body, product_path, put,
                        raw_request, secrets_in_logs, wait_until)

PRODUCTS = API + "/products"
N = 24  # concurrent requests, to reach every worker of a pool


def fleet_healthy():
    for path in (HEALTH, USERS_HEALTH):
        r = get(path)
        if not (r.status == 200 and isinstance(r.json, dict) and r.json.get("status") == "ok"
                and (r.json.get("checks") or {}).get("cache") == "ok"):
            return None
    return True


class AuthTestCase(UsersTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_admin()

    def admin_session(self):
        """A new session of the admin (so that logging out ends only this one)."""
        return login(self.admin.email, self.admin.password)

    def catalog_admin_calls(self, headers, p):
        """Every catalog admin endpoint once, with these headers: [(name, response)]."""
        return [("POST product", post(PRODUCTS, product_body(), headers=headers)),
                ("PATCH product", patch(product_path(p["id"]), {"name": "auth test"},
                                        headers=headers)),
                ("PUT inventory", put(product_path(p["id"]) + "/inventory", {"on_hand": 5},
                                      headers=headers)),
                ("POST category", post(API + "/categories",
                                       {"slug": "auth-%s" % time.monotonic_ns(), "name": "A",
                                        "parent": None}, headers=headers)),
                ("DELETE product", delete(product_path(p["id"]), headers=headers))]

    def assertEverywhere(self, token, users_status, catalog_status, what, n=N):
        """n concurrent calls on /users/me and on POST /products (spread over the
        workers) and a few sequential ones: all answer as expected."""
        def one(i):
            if i % 2:
                return "GET /users/me", get(ME, headers=bearer(token)), users_status
            return "POST /products", post(PRODUCTS, product_body(), headers=bearer(token)), \
                catalog_status
        results = parallel(one, range(n), workers=n)
        results += [one(i) for i in range(6)]
        bad = []
        for res in results:
            if isinstance(res, Exception):
                bad.append(repr(res))
                continue
            name, r, want = res
            if r.status != want:
                bad.append("%s: %r" % (name, r))
            elif want == 401:
                self.assertUnauthorized(r, what)
        self.assertEqual(bad, [], "%s: calls that did not answer %s/%s"
                         % (what, users_status, catalog_status))


class CatalogAuthTests(AuthTestCase):

    def test_admin_session_and_operator_key(self):
        want = {"POST product": 201, "PATCH product": 200, "PUT inventory": 200,
                "POST category": 201, "DELETE product": 204}
        for name, headers in (("admin session", self.admin.headers),
                              ("operator key", admin_headers())):
            p = create_product()
            for call, r in self.catalog_admin_calls(headers, p):
                with self.subTest(credentials=name, call=call):
                    self.assertStatus(r, want[call])
                    if call != "DELETE product":
                        self.assertJsonResponse(r)

    def test_customer_session_is_403(self):
        acct = new_customer()
        p = create_product(name="untouched", on_hand=3)
        for call, r in self.catalog_admin_calls(acct.headers, p):
            with self.subTest(call=call):
                self.assertForbidden(r)
        g = get(product_path(p["id"]))
        self.assertStatus(g, 200, "refused calls changed nothing")
        self.assertEqual((g.json["name"], g.json["stock"]), ("untouched", 3))

    def test_bad_tokens_are_401(self):
        logged_out = self.admin_session()
        self.assertStatus(post(PRODUCTS, product_body(), headers=bearer(logged_out)), 201)
        self.assertStatus(delete(SESSIONS + "/current", headers=bearer(logged_out)), 204)
        p = create_product()
        tokens = [("garbage", "garbage"), ("unknown, well-formed", "A" * 43),
                  ("unknown, base64url", "abc-_" * 8 + "xyz"),
                  ("truncated", self.admin.token[:-1]), ("extended", self.admin.token + "x"),
                  ("logged out", logged_out)]
        for name, token in tokens:
            for call, r in self.catalog_admin_calls(bearer(token), p):
                with self.subTest(token=name, call=call):
                    self.assertUnauthorized(r)
            with self.subTest(token=name, call="GET /users/me"):
                self.assertUnauthorized(get(ME, headers=bearer(token)))
        self.assertStatus(get(product_path(p["id"])), 200, "refused calls changed nothing")


class LogoutEverywhereTests(AuthTestCase):

    def test_logged_out_token_is_rejected_everywhere_at_once(self):
        token = self.admin_session()
        # Used successfully everywhere first, so that caches hold it.
        self.assertEverywhere(token, 200, 201, "before logout")
        self.assertStatus(delete(SESSIONS + "/current", headers=bearer(token)), 204)
        self.assertEverywhere(token, 401, 401, "right after logout")
        self.assertStatus(get(ME, headers=self.admin.headers), 200, "other sessions live on")

    def test_customer_logout(self):
        acct = new_customer()
        self.assertEverywhere(acct.token, 200, 403, "customer before logout")
        self.assertStatus(delete(SESSIONS + "/current", headers=acct.headers), 204)
        self.assertEverywhere(acct.token, 401, 401, "customer right after logout")


class MemcachedDownTests(AuthTestCase):
    """`arcade svc stop memcached`: always started again, and the fleet healthy
    again, when a test ends."""

    def stop_memcached(self):
        self.addCleanup(self.ensure_memcached)
        arcade("svc", "stop", "memcached")

    def ensure_memcached(self):
        cp = arcade("svc", "start", "memcached", check=False)
        wait_until(fleet_healthy, timeout=20,
                   message="catalog and users healthy after `arcade svc start memcached` "
                           "(exit %d: %s)" % (cp.returncode, (cp.stderr or "").strip()[-300:]))

    def test_sessions_work_without_memcached(self):
        before = self.admin_session()
        customer = new_customer()
        self.assertEverywhere(before, 200, 201, "before the stop")
        self.stop_memcached()
        h = get(USERS_HEALTH)
        self.assertStatus(h, 200)
        self.assertEqual(h.json, {"status": "degraded",
                                  "checks": {"db": "ok", "cache": "unavailable"}},
                         "/health/users with memcached stopped")
        r = login_response(self.admin.email, self.admin.password)
        during = self.assertSession(r)
        self.assertEverywhere(during, 200, 201, "session made with memcached down")
        self.assertEverywhere(before, 200, 201, "session made before, memcached down")
        self.assertEverywhere(customer.token, 200, 403, "customer, memcached down")
        r = patch(ME, {"name": "Renamed while memcached is down"}, headers=customer.headers)
        self.assertStatus(r, 200)
        self.assertStatus(delete(SESSIONS + "/current", headers=bearer(during)), 204)
        self.assertEverywhere(during, 401, 401, "logged out with memcached down")
        self.assertEverywhere(before, 200, 201, "the other session, memcached down")

    def test_logout_while_memcached_is_down_stays_rejected(self):
        token = self.admin_session()
        self.assertEverywhere(token, 200, 201, "before the stop (cached)")
        self.stop_memcached()
        self.assertStatus(delete(SESSIONS + "/current", headers=bearer(token)), 204)
        self.assertEverywhere(token, 401, 401, "logged out with memcached down")
        arcade("svc", "start", "memcached")
        wait_until(fleet_healthy, timeout=20, message="health ok after memcached started")
        self.assertEverywhere(token, 401, 401, "after memcached came back")
        time.sleep(1)
        self.assertEverywhere(token, 401, 401, "a second later")


class InternalEndpointTests(AuthTestCase):

    def test_not_served_on_the_public_port(self):
        acct = new_customer()
        h = acct.headers
        exact = [INTERNAL_SESSION, "/api/v1/users/../../internal/v1/sessions/current",
                 "//internal/v1/sessions/current", "/./internal/v1/sessions/current",
                 "/api/v1/../internal/v1/sessions/current", "/internal//v1/sessions/current",
                 INTERNAL_SESSION + "?x=1", "/%69nternal/v1/sessions/current",
                 "/api/v1/users/me/../../../internal/v1/sessions/current"]
        for path in exact:
            with self.subTest(path=path):
                r = get(path, headers=h)
                self.assertStatus(r, 404)
                self.assertNotIn(b"user_id", r.body)
        for hdr in ({"ARCADE_INTERNAL": "1"}, {"Arcade-Internal": "1"},
                    {"X-Arcade-Internal": "1"}, {"Arcade_Internal": "1"}):
            with self.subTest(header=hdr):
                r = get(INTERNAL_SESSION, headers=dict(h, **hdr))
                self.assertStatus(r, 404)
                self.assertNotIn(b"user_id", r.body)
        others = ["/internal%2Fv1%2Fsessions%2Fcurrent",
                  "/api/v1/..%2F..%2Finternal/v1/sessions/current",
                  "/INTERNAL/v1/sessions/current", "/internal/v1/sessions/current/",
                  "/api/v1/internal/v1/sessions/current", "/internal/v1/sessions/current%00",
                  "/internal/v1/sessions/current;x",
                  "/api/v1/users/%2e%2e/%2e%2e/internal/v1/sessions/current"]
        for path in others:
            with self.subTest(path=path):
                r = get(path, headers=h)
                self.assertStatus(r, (400, 404))
                self.assertNotIn(b"user_id", r.body)
        # The internal listener's address as Host, and the absolute form.
        port = internal_url().rsplit(":", 1)[1]
        tok = acct.token.encode()
        for target, host in ((INTERNAL_SESSION, "127.0.0.1:" + port),
                             ("http://127.0.0.1:%s%s" % (port, INTERNAL_SESSION),
                              "127.0.0.1:" + port)):
            with self.subTest(target=target, host=host):
                raw = raw_request(b"GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                                  b"ARCADE_INTERNAL: 1\r\nConnection: close\r\n\r\n"
                                  % (target.encode(), host.encode(), tok))
                self.assertEqual(raw.status, 404, raw)
                self.assertNotIn(b"user_id", raw.body)

    def test_served_on_the_internal_listener(self):
        acct = new_customer()
        r = login_response(acct.email, acct.password)
        self.assertSession(r)
        token, exp = r.json["token"], self.assertTime(r.json["expires_at"])
        base = internal_url()
        i = get(INTERNAL_SESSION, headers=bearer(token), base=base)
        self.assertStatus(i, 200)
        self.assertJsonResponse(i)
        self.assertEqual(i.json, {"user_id": acct.id, "role": "customer",
                                  "expires_at": int(exp.timestamp())})
        a = get(INTERNAL_SESSION, headers=self.admin.headers, base=base)
        self.assertStatus(a, 200)
        self.assertEqual((a.json["user_id"], a.json["role"]), (self.admin.id, "admin"))
        # Fixed expiry: use does not extend it.
        time.sleep(1.1)
        self.assertStatus(get(ME, headers=bearer(token)), 200)
        again = get(INTERNAL_SESSION, headers=bearer(token), base=base)
        self.assertStatus(again, 200)
        self.assertEqual(again.json["expires_at"], i.json["expires_at"],
                         "sessions are not extended")
        for name, headers in (("none", {}), ("garbage", bearer("garbage")),
                              ("unknown", bearer("A" * 43))):
            with self.subTest(credentials=name):
                self.assertUnauthorized(get(INTERNAL_SESSION, headers=headers, base=base))
        self.assertStatus(delete(SESSIONS + "/current", headers=bearer(token)), 204)
        self.assertUnauthorized(get(INTERNAL_SESSION, headers=bearer(token), base=base),
                                "logged out")


class LogTests(UsersTestCase):

    def test_no_token_or_password_in_the_logs(self):
        files = log_files()
        self.assertTrue(any(f.endswith("/users.log") for f in files),
                        "no users.log among %r" % (files,))
        self.assertTrue(any(f.endswith("/catalog.log") for f in files),
                        "no catalog.log among %r" % (files,))
        self.assertGreater(len(SECRETS), 10)
        self.assertEqual(secrets_in_logs(SECRETS), [], "secrets written to the logs")


def load_tests(loader, standard_tests, pattern):
    """The log check runs last."""
    suite = unittest.TestSuite()
    for cls in (CatalogAuthTests, LogoutEverywhereTests, MemcachedDownTests,
                InternalEndpointTests, LogTests):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == "__main__":
    unittest.main()
