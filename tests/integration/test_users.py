"""Users service end to end (docs/users-api.md): accounts, sessions, /users/me,
addresses, admin endpoints, login throttling and health.

Every login failure counts against this host's address (REMOTE_ADDR 127.0.0.1),
and 20 within 15 minutes lock it: the tests keep their failures below that
(SessionTests 10; MeTests 2: an old password, a wrong current_password;
AccountThrottleTests 6 and locked attempts; test_auth none) and the address
throttling test runs last (load_tests below), waiting until the lock is over.
So the module needs a fleet whose address window is fresh (the ctest fleet, or
15 minutes after the last run): the service keeps counting within the window, so
once 20 failures are reached every further one locks the address again.
The throttling tests need a fleet with a short ARCADE_LOGIN_LOCK_SECONDS (3), and
per-address request limits (ARCADE_LOGIN_RATE, ARCADE_SIGNUP_RATE) above what the
module sends from 127.0.0.1 (the ctest fleet: 1000 a minute). The tests of limits
and lockouts send from other loopback addresses (other_address()), whose failures
do not count here.
"""

import concurrent.futures
import hashlib
import statistics
import time
import unittest

from arcadetest import (ADDRESSES, API, ME, OMIT, REFUSED_LOGINS, SECRETS, SESSIONS, USERS,
                        USERS_HEALTH, UsersTestCase, address_body, admin_headers, arcade,
                        bearer, delete, get, log_files, login, login_lock_seconds,
                        login_response, new_admin, new_customer, other_address, parallel,
                        patch, post, product_body, register, register_response, request,
                        resolve_location, secrets_in_logs, unique_email, unique_password,
                        users_db, users_limit, utcnow, wait_until)

PRODUCTS = API + "/products"
UNKNOWN_ID = 999_999_999
MAX_ADDRESSES = 20


def user_path(uid):
    return "%s/%s" % (USERS, uid)


def address_path(aid):
    return "%s/%s" % (ADDRESSES, aid)


class RegistrationTests(UsersTestCase):

    def test_created_user_shape_and_location(self):
        email, password = unique_email(), unique_password()
        before = utcnow().replace(microsecond=0)
        r = post(USERS, {"email": email, "password": password, "name": "Ada"})
        self.assertStatus(r, 201)
        self.assertJsonResponse(r)
        self.assertTraceparent(r)
        u = r.json
        self.assertUser(u, {"email": email, "name": "Ada", "role": "customer"})
        created = self.assertTime(u["created_at"])
        self.assertTrue(abs(created.timestamp() - before.timestamp()) <= 120,
                        "created_at %s is not now (%s) in UTC" % (u["created_at"], before))
        loc = r.header("Location")
        self.assertIsNotNone(loc, "no Location in %r" % (r,))
        self.assertEqual(resolve_location(loc), "%s/%d" % (USERS, u["id"]))
        self.assertNotIn("password", r.body.decode("utf-8"), "no password (hash) in the answer")
        # The operator sees the same user at the Location.
        g = get(resolve_location(loc), headers=admin_headers())
        self.assertStatus(g, 200)
        self.assertEqual(g.json, u)
        # And the account works.
        self.assertSession(login_response(email, password), u)

    def test_email_is_trimmed_and_lower_cased(self):
        local = "Mixed.Case-%s" % unique_email("x").split("@")[0]
        r, _ = register_response(email="  %s@Example.COM  " % local)
        self.assertStatus(r, 201)
        self.assertEqual(r.json["email"], "%s@example.com" % local.lower())

    def test_role_is_ignored(self):
        for role in ("admin", "customer", "superuser", 1):
            with self.subTest(role=role):
                r, body = register_response(role=role)
                self.assertStatus(r, 201)
                self.assertUser(r.json, {"role": "customer"})
                token = login(body["email"], body["password"])
                me = get(ME, headers=bearer(token))
                self.assertEqual(me.json["role"], "customer", me)
                self.assertForbidden(get(USERS, headers=bearer(token)))

    def test_duplicate_email_is_409(self):
        email = unique_email()
        self.assertStatus(register_response(email=email)[0], 201)
        for dup in (email, email.upper(), "  %s " % email, "  " + email.capitalize()):
            with self.subTest(email=dup):
                r, _ = register_response(email=dup)
                self.assertError(r, 409, "conflict")

    def test_bad_emails_are_422(self):
        base = unique_email().split("@")[0]
        bad = ["", "   ", "plainaddress", "%s" % base, "@example.com", "%s@" % base,
               "%s@@example.com" % base, "%s@a@example.com" % base, "%s@localhost" % base,
               "%s@examplecom" % base, "a b%s@example.com" % base, "%s@exa mple.com" % base,
               "a\t%s@example.com" % base, "a\x01%s@example.com" % base,
               "%s@example.com\x00" % base, "a\x7f%s@example.com" % base,
               "a\n%s@example.com" % base,
               "%s@example.com" % (base + "a" * (255 - len(base) - len("@example.com")))]
        for email in bad:
            with self.subTest(email=email):
                r, _ = register_response(email=email)
                self.assertError(r, 422, "validation_failed", "email")

    def test_email_length_limit(self):
        local = unique_email().split("@")[0]
        ok = (local + "a" * 254)[:254 - len("@example.com")] + "@example.com"
        self.assertEqual(len(ok), 254)
        r, _ = register_response(email="  %s  " % ok)
        self.assertStatus(r, 201, "an email of 254 characters (after trimming)")
        self.assertEqual(r.json["email"], ok)

    def test_password_rules(self):
        bad = ["", "aB3$xYz", "é" * 7, "😀" * 7, "x" * 1025, "é" * 1025, "password", "12345678",
               "Password", "PASSWORD", "PassWord"]
        for pw in bad:
            with self.subTest(password=pw[:20], length=len(pw)):
                r, _ = register_response(password=pw)
                self.assertError(r, 422, "validation_failed", "password")
        good = ["é" * 8, "😀" * 8, "aB3$xYz!", "x" * 1024, "é" * 1024, "ok pass phrase 42"]
        for pw in good:
            with self.subTest(password=pw[:20], length=len(pw)):
                r, body = register_response(password=pw)
                self.assertStatus(r, 201)
                self.assertSession(login_response(body["email"], pw), r.json)

    def test_name_rules(self):
        for name in ("", "n" * 101, "é" * 101):
            with self.subTest(length=len(name)):
                r = post(USERS, {"email": unique_email(), "password": unique_password(),
                                 "name": name})
                self.assertError(r, 422, "validation_failed", "name")
        for name in ("A", "n" * 100, "é" * 100, "日本 😀"):
            with self.subTest(name=name[:10]):
                r = post(USERS, {"email": unique_email(), "password": unique_password(),
                                 "name": name})
                self.assertStatus(r, 201)
                self.assertEqual(r.json["name"], name)

    def test_missing_and_wrong_typed_fields_are_422(self):
        def body():
            return {"email": unique_email(), "password": unique_password(), "name": "N"}
        for field in ("email", "password", "name"):
            with self.subTest(missing=field):
                b = body()
                del b[field]
                self.assertError(post(USERS, b), 422, "validation_failed", field)
        wrong = [("email", 5), ("email", None), ("email", ["a@example.com"]),
                 ("email", {"a": "b"}), ("email", True), ("password", 12345678),
                 ("password", None), ("password", ["Pw-long-enough"]), ("password", True),
                 ("name", 5), ("name", None), ("name", ["N"]), ("name", False)]
        for field, value in wrong:
            with self.subTest(field=field, value=value):
                b = body()
                b[field] = value
                self.assertError(post(USERS, b), 422, "validation_failed", field)
        r = post(USERS, {})
        self.assertError(r, 422, "validation_failed", fields=["email", "password", "name"])

    def test_malformed_json_and_media_type(self):
        for raw in ("{", '{"email":', "[]", "null", '"x"', "{} {}", "\xff"):
            with self.subTest(body=raw):
                r = post(USERS, body=raw.encode("latin-1"), content_type="application/json")
                self.assertError(r, 400, "invalid_json")
        good = '{"email":"%s","password":"%s","name":"N"}' % (unique_email(), unique_password())
        r = post(USERS, body=good, content_type="text/plain")
        self.assertError(r, 415, "unsupported_media_type")


class SessionTests(UsersTestCase):

    def test_login_shape(self):
        user, password = register()
        t1 = self.assertSession(login_response(user["email"], password), user)
        t2 = self.assertSession(login_response(user["email"], password), user)
        self.assertNotEqual(t1, t2, "every login is a new session")
        for t in (t1, t2):
            me = get(ME, headers=bearer(t))
            self.assertStatus(me, 200)
            self.assertEqual(me.json, user)

    def test_wrong_password_and_unknown_email_are_indistinguishable(self):
        # Fresh accounts, one failure each: no account gets near its lock.
        accounts = [register() for _ in range(5)]
        unknown_t, wrong_t, answers = [], [], []
        for user, password in accounts:
            for kind in ("unknown", "wrong"):
                if kind == "unknown":
                    email, pw = unique_email("nobody"), password
                else:
                    email, pw = user["email"], password + "x"
                t0 = time.monotonic()
                r = login_response(email, pw)
                (unknown_t if kind == "unknown" else wrong_t).append(time.monotonic() - t0)
                self.assertInvalidCredentials(r, kind)
                answers.append((kind, r))
        first = answers[0][1]
        self.assertEqual(first.json["error"]["message"], "email or password is wrong")
        for kind, r in answers:
            self.assertEqual(r.body, first.body, "%s: the same body for both" % kind)
            self.assertEqual(r.header("WWW-Authenticate"), first.header("WWW-Authenticate"))
            self.assertEqual(r.content_type, first.content_type)
        # An email that cannot exist is answered the same way, at once.
        for email in ("not-an-email",):  # one: it may count against the address
            t0 = time.monotonic()
            r = login_response(email, "Whatever-123")
            took = time.monotonic() - t0
            self.assertInvalidCredentials(r, email)
            self.assertEqual(r.body, first.body, "%r: the same body" % email)
            self.assertLess(took, statistics.median(wrong_t) / 2,
                            "%r: %.1f ms, a verified login %.1f ms"
                            % (email, took * 1e3, statistics.median(wrong_t) * 1e3))
        mu, mw = statistics.median(unknown_t), statistics.median(wrong_t)
        self.assertTrue(mu * 3 >= mw and mw * 3 >= mu,
                        "login timing tells accounts apart: median unknown email %.1f ms, "
                        "wrong password %.1f ms (%r / %r)"
                        % (mu * 1e3, mw * 1e3, unknown_t, wrong_t))

    def test_logout(self):
        acct = new_customer()
        other = login(acct.email, acct.password)
        self.assertStatus(get(ME, headers=acct.headers), 200)
        # A customer on a catalog admin endpoint: 403 while logged in.
        self.assertForbidden(post(PRODUCTS, product_body(), headers=acct.headers))
        r = delete(SESSIONS + "/current", headers=acct.headers)
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertUnauthorized(get(ME, headers=acct.headers), "/users/me after logout")
        self.assertUnauthorized(post(PRODUCTS, product_body(), headers=acct.headers),
                                "catalog admin call after logout")
        self.assertUnauthorized(delete(SESSIONS + "/current", headers=acct.headers),
                                "second logout")
        # Only that session ended.
        self.assertStatus(get(ME, headers=bearer(other)), 200)
        self.assertSession(login_response(acct.email, acct.password), acct.user)

    def test_missing_or_bad_credentials_are_401(self):
        acct = new_customer()
        creds = [None, "Bearer", "Bearer ", "Bearer garbage", "Bearer " + "A" * 43,
                 "Bearer " + acct.token[:-1], "Bearer " + acct.token + "A",
                 "Bearer " + acct.token.swapcase(), "Basic " + acct.token, acct.token,
                 "Bearer %s %s" % (acct.token, acct.token)]
        calls = [("GET", ME, None), ("PATCH", ME, {"name": "x"}), ("GET", ADDRESSES, None),
                 ("POST", ADDRESSES, address_body()), ("DELETE", address_path(1), None),
                 ("DELETE", SESSIONS + "/current", None), ("GET", USERS, None),
                 ("GET", user_path(acct.id), None), ("PATCH", user_path(acct.id),
                                                     {"role": "admin"})]
        for cred in creds:
            for method, path, body in calls:
                with self.subTest(credentials=cred and cred[:20], call=method + " " + path):
                    headers = {"Authorization": cred} if cred is not None else {}
                    if body is None:
                        r = request(method, path, headers=headers)
                    else:
                        r = request(method, path, headers=headers, json_body=body)
                    self.assertUnauthorized(r)
        me = get(ME, headers=acct.headers)
        self.assertStatus(me, 200, "the refused calls changed nothing")
        self.assertEqual(me.json, acct.user)

    def test_login_malformed_requests(self):
        r = post(SESSIONS, body="{", content_type="application/json")
        self.assertError(r, 400, "invalid_json")
        r = post(SESSIONS, body='{"email":"a@example.com","password":"x"}',
                 content_type="text/plain")
        self.assertError(r, 415, "unsupported_media_type")


class MeTests(UsersTestCase):

    def test_get_me(self):
        acct = new_customer()
        r = get(ME, headers=acct.headers)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(r.json, acct.user)

    def test_change_name(self):
        acct = new_customer()
        r = patch(ME, {"name": "Grace Hopper ☕"}, headers=acct.headers)
        self.assertStatus(r, 200)
        self.assertUser(r.json, {"id": acct.id, "email": acct.email, "name": "Grace Hopper ☕",
                                 "role": "customer", "created_at": acct.user["created_at"]})
        self.assertEqual(get(ME, headers=acct.headers).json, r.json)
        for bad in ("", "n" * 101, 5, None, ["x"]):
            with self.subTest(name=bad):
                self.assertError(patch(ME, {"name": bad}, headers=acct.headers), 422,
                                 "validation_failed", "name")
        self.assertEqual(get(ME, headers=acct.headers).json["name"], "Grace Hopper ☕")

    def test_role_and_email_cannot_be_patched_by_the_user(self):
        acct = new_customer()
        r = patch(ME, {"name": "Still customer", "role": "admin"}, headers=acct.headers)
        self.assertStatus(r, (200, 422))
        me = get(ME, headers=acct.headers).json
        self.assertEqual(me["role"], "customer", "PATCH /users/me must never grant a role")
        self.assertForbidden(get(USERS, headers=acct.headers))
        self.assertForbidden(post(PRODUCTS, product_body(), headers=acct.headers))

    def test_password_change(self):
        acct = new_customer()
        other = login(acct.email, acct.password)
        # The other session is used (and so possibly cached) before the change.
        self.assertStatus(get(ME, headers=bearer(other)), 200)
        self.assertForbidden(post(PRODUCTS, product_body(), headers=bearer(other)))
        new = unique_password()
        r = patch(ME, {"password": new}, headers=acct.headers)
        self.assertError(r, 422, "validation_failed", "current_password")
        r = patch(ME, {"password": new, "current_password": acct.password + "x"},
                  headers=acct.headers)
        REFUSED_LOGINS[0] += 1  # may count as a failed login (the address throttle test)
        self.assertError(r, 422, "validation_failed", "current_password")
        for weak in ("short", "password", "Password", "12345678", "x" * 1025, 12345678, None):
            with self.subTest(new_password=str(weak)[:12]):
                r = patch(ME, {"password": weak, "current_password": acct.password},
                          headers=acct.headers)
                self.assertError(r, 422, "validation_failed", "password")
        # Nothing changed so far: every session still works.
        self.assertStatus(get(ME, headers=bearer(other)), 200)
        r = patch(ME, {"password": new, "current_password": acct.password}, headers=acct.headers)
        self.assertStatus(r, 200)
        self.assertUser(r.json, {"id": acct.id, "email": acct.email})
        self.assertNotIn("password", r.json)
        # The other session ended at once, on every service; this one lives on.
        self.assertUnauthorized(get(ME, headers=bearer(other)), "other session after change")
        self.assertUnauthorized(post(PRODUCTS, product_body(), headers=bearer(other)),
                                "other session on the catalog after change")
        self.assertStatus(get(ME, headers=acct.headers), 200, "the session used for the change")
        self.assertInvalidCredentials(login_response(acct.email, acct.password), "old password")
        self.assertSession(login_response(acct.email, new))

    def test_malformed_patch(self):
        acct = new_customer()
        self.assertError(patch(ME, body="{", content_type="application/json",
                               headers=acct.headers), 400, "invalid_json")
        self.assertError(patch(ME, body='{"name":"x"}', content_type="text/plain",
                               headers=acct.headers), 415, "unsupported_media_type")


class AddressTests(UsersTestCase):

    def create(self, acct, **fields):
        r = post(ADDRESSES, address_body(**fields), headers=acct.headers)
        if r.status != 201:
            raise AssertionError("creating an address failed: %r" % (r,))
        return r.json

    def listing(self, acct):
        r = get(ADDRESSES, headers=acct.headers)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(set(r.json), {"items"}, r)
        for a in r.json["items"]:
            self.assertAddress(a)
        return r.json["items"]

    def test_create_with_all_fields(self):
        acct = new_customer()
        body = address_body(name="Ada Lovelace", line1="12 Test Street", line2="Flat 3",
                            city="Berlin", postal_code="10115", country="DE",
                            phone="+49 (30) 123-456.78")
        r = post(ADDRESSES, body, headers=acct.headers)
        self.assertStatus(r, 201)
        self.assertJsonResponse(r)
        self.assertAddress(r.json, body)
        loc = r.header("Location")
        self.assertIsNotNone(loc, "no Location in %r" % (r,))
        self.assertEqual(resolve_location(loc), address_path(r.json["id"]))
        g = get(resolve_location(loc), headers=acct.headers)
        self.assertStatus(g, 200)
        self.assertJsonResponse(g)
        self.assertEqual(g.json, r.json)
        self.assertEqual(self.listing(acct), [r.json])

    def test_optional_fields_default_to_empty(self):
        acct = new_customer()
        a = self.create(acct, line2=OMIT, phone=OMIT)
        self.assertEqual((a["line2"], a["phone"]), ("", ""))
        b = self.create(acct, line2="", phone="")
        self.assertEqual((b["line2"], b["phone"]), ("", ""))

    def test_list_oldest_first_and_only_mine(self):
        acct, other = new_customer(), new_customer()
        mine = [self.create(acct, line1="Street %d" % i) for i in range(3)]
        self.create(other)
        self.assertEqual(self.listing(acct), mine)
        self.assertEqual(len(self.listing(other)), 1)
        self.assertEqual(self.listing(new_customer()), [])

    def test_country(self):
        acct = new_customer()
        for c in ("DE", "US", "GB", "JP", "FR", "BR"):
            with self.subTest(country=c):
                self.assertEqual(self.create(acct, country=c)["country"], c)
        for c in ("de", "De", "XX", "ZZ", "DEU", "D", "", "1A", 49, None):
            with self.subTest(country=c):
                r = post(ADDRESSES, address_body(country=c), headers=acct.headers)
                self.assertError(r, 422, "validation_failed", "country")

    def test_phone(self):
        acct = new_customer()
        for ph in ("+49 30 123456", "(030) 123-45.67", "0123456789", "1" * 32):
            with self.subTest(phone=ph):
                self.assertEqual(self.create(acct, phone=ph)["phone"], ph)
        for ph in ("abc", "123x", "+49#30", "12;34", "1" * 33, "+49 30\n1", "１２３", 123,
                   "+", "()", " ", "-.-", "+ ( ) - ."):
            with self.subTest(phone=ph):
                r = post(ADDRESSES, address_body(phone=ph), headers=acct.headers)
                self.assertError(r, 422, "validation_failed", "phone")

    def test_field_lengths(self):
        acct = new_customer()
        limits = {"name": (1, 100), "line1": (1, 200), "line2": (0, 200), "city": (1, 100),
                  "postal_code": (1, 20)}
        for field, (lo, hi) in limits.items():
            with self.subTest(field=field, length=hi):
                a = self.create(acct, **{field: "é" * hi})
                self.assertEqual(a[field], "é" * hi)
                self.assertStatus(delete(address_path(a["id"]), headers=acct.headers), 204)
            for bad in (["x" * (hi + 1), "é" * (hi + 1), 5, ["x"]] + (["", None] if lo else [])):
                with self.subTest(field=field, value=str(bad)[:10], length=len(str(bad))):
                    r = post(ADDRESSES, address_body(**{field: bad}), headers=acct.headers)
                    self.assertError(r, 422, "validation_failed", field)
        for field in ("name", "line1", "city", "postal_code", "country"):
            with self.subTest(missing=field):
                r = post(ADDRESSES, address_body(**{field: OMIT}), headers=acct.headers)
                self.assertError(r, 422, "validation_failed", field)
        self.assertEqual(self.listing(acct), [], "no refused address was stored")

    def test_delete(self):
        acct = new_customer()
        a, b = self.create(acct), self.create(acct)
        r = delete(address_path(a["id"]), headers=acct.headers)
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.listing(acct), [b])
        self.assertError(delete(address_path(a["id"]), headers=acct.headers), 404, "not_found")
        self.assertError(get(address_path(a["id"]), headers=acct.headers), 404, "not_found")
        self.assertEqual(get(address_path(b["id"]), headers=acct.headers).json, b)

    def test_someone_elses_address_is_404(self):
        owner, thief = new_customer(), new_customer()
        a = self.create(owner)
        self.assertError(get(address_path(a["id"]), headers=thief.headers), 404, "not_found")
        self.assertError(delete(address_path(a["id"]), headers=thief.headers), 404, "not_found")
        self.assertEqual(self.listing(owner), [a], "the owner's address is still there")
        self.assertEqual(self.listing(thief), [])

    def test_unknown_and_bad_ids(self):
        acct = new_customer()
        self.assertError(delete(address_path(UNKNOWN_ID), headers=acct.headers), 404, "not_found")
        self.assertError(get(address_path(UNKNOWN_ID), headers=acct.headers), 404, "not_found")
        for bad in ("abc", "1.5", "-1", "0", "0x10", "1a", "99999999999999999999999"):
            with self.subTest(id=bad):
                self.assertError(delete(address_path(bad), headers=acct.headers), 400,
                                 "invalid_parameter")
                self.assertError(get(address_path(bad), headers=acct.headers), 400,
                                 "invalid_parameter")

    def test_at_most_20(self):
        acct = new_customer()
        made = [self.create(acct, line1="Street %d" % i) for i in range(MAX_ADDRESSES)]
        r = post(ADDRESSES, address_body(), headers=acct.headers)
        self.assertError(r, 422, "validation_failed", "addresses")
        self.assertEqual([a["id"] for a in self.listing(acct)], [a["id"] for a in made])
        self.assertStatus(delete(address_path(made[0]["id"]), headers=acct.headers), 204)
        self.create(acct)
        self.assertEqual(len(self.listing(acct)), MAX_ADDRESSES)

    def test_malformed_bodies(self):
        acct = new_customer()
        self.assertError(post(ADDRESSES, body="{", content_type="application/json",
                              headers=acct.headers), 400, "invalid_json")
        self.assertError(post(ADDRESSES, body="{}", content_type="text/plain",
                              headers=acct.headers), 415, "unsupported_media_type")


class AdminTests(UsersTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_admin()

    def test_cli_admin(self):
        me = get(ME, headers=self.admin.headers)
        self.assertStatus(me, 200)
        self.assertUser(me.json, {"role": "admin", "email": self.admin.email})

    def test_cli_promotes_an_existing_account(self):
        acct = new_customer()
        arcade("admin", "create", acct.email, "--password-stdin",
               input=unique_password() + "\n", timeout=60)
        g = get(user_path(acct.id), headers=self.admin.headers)
        self.assertStatus(g, 200)
        self.assertEqual(g.json["role"], "admin")

    def test_list_users(self):
        accts = [new_customer() for _ in range(3)]
        r = get(USERS, headers=self.admin.headers)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(set(r.json), {"items", "page", "per_page", "total"})
        self.assertEqual((r.json["page"], r.json["per_page"]), (1, 20))
        total = r.json["total"]
        self.assertGreaterEqual(total, 4)
        self.assertEqual(len(r.json["items"]), min(20, total))
        for u in r.json["items"]:
            self.assertUser(u)
        ids = [u["id"] for u in r.json["items"]]
        self.assertEqual(ids, sorted(ids), "by id")
        for asked, served in ((1, 1), (100, 100), (101, 100), (10**9, 100)):
            with self.subTest(per_page=asked):
                p = get("%s?per_page=%d" % (USERS, asked), headers=self.admin.headers)
                self.assertStatus(p, 200)
                self.assertEqual(p.json["per_page"], served)
                self.assertEqual(len(p.json["items"]), min(served, total))
        a = get(USERS + "?per_page=4&page=1", headers=self.admin.headers).json["items"]
        b1 = get(USERS + "?per_page=2&page=1", headers=self.admin.headers).json
        b2 = get(USERS + "?per_page=2&page=2", headers=self.admin.headers).json
        self.assertEqual(b2["page"], 2)
        self.assertEqual(b1["items"] + b2["items"], a)
        # The newest accounts are the last ones.
        for back, x in enumerate(reversed(accts)):
            t = get("%s?per_page=1&page=%d" % (USERS, total - back), headers=self.admin.headers)
            self.assertStatus(t, 200)
            self.assertEqual(t.json["items"], [x.user], "page %d of 1" % (total - back))
        past = get("%s?per_page=100&page=%d" % (USERS, (total + 99) // 100 + 1),
                   headers=self.admin.headers)
        self.assertStatus(past, 200)
        self.assertEqual(past.json["items"], [])
        for bad in ("page=0", "page=-1", "page=x", "per_page=0", "per_page=x"):
            with self.subTest(query=bad):
                self.assertError(get(USERS + "?" + bad, headers=self.admin.headers), 400,
                                 "invalid_parameter")

    def test_get_user(self):
        acct = new_customer()
        r = get(user_path(acct.id), headers=self.admin.headers)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, acct.user)
        self.assertError(get(user_path(UNKNOWN_ID), headers=self.admin.headers), 404, "not_found")
        for bad in ("abc", "0", "-1", "1.5", "99999999999999999999999"):
            with self.subTest(id=bad):
                self.assertError(get(user_path(bad), headers=self.admin.headers), 400,
                                 "invalid_parameter")
        self.assertError(patch(user_path(UNKNOWN_ID), {"role": "admin"},
                               headers=self.admin.headers), 404, "not_found")

    def test_promote_and_demote_take_effect_at_once(self):
        acct = new_customer()
        # Used (and so possibly cached) on both services as a customer.
        self.assertForbidden(post(PRODUCTS, product_body(), headers=acct.headers))
        self.assertForbidden(get(USERS, headers=acct.headers))
        r = patch(user_path(acct.id), {"role": "admin"}, headers=self.admin.headers)
        self.assertStatus(r, 200)
        self.assertUser(r.json, {"id": acct.id, "role": "admin", "email": acct.email})
        p = post(PRODUCTS, product_body(), headers=acct.headers)
        self.assertStatus(p, 201, "the promoted user's existing session is admin at once")
        self.assertStatus(get(USERS, headers=acct.headers), 200)
        self.assertEqual(get(ME, headers=acct.headers).json["role"], "admin")
        r = patch(user_path(acct.id), {"role": "customer"}, headers=self.admin.headers)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["role"], "customer")
        self.assertForbidden(post(PRODUCTS, product_body(), headers=acct.headers),
                             "demoted: 403 at once")
        self.assertForbidden(get(USERS, headers=acct.headers))
        self.assertEqual(get(ME, headers=acct.headers).json["role"], "customer")

    def test_customer_is_forbidden(self):
        acct, other = new_customer(), new_customer()
        self.assertForbidden(get(USERS, headers=acct.headers))
        self.assertForbidden(get(user_path(other.id), headers=acct.headers))
        self.assertForbidden(get(user_path(acct.id), headers=acct.headers))
        self.assertForbidden(patch(user_path(acct.id), {"role": "admin"}, headers=acct.headers))
        self.assertForbidden(patch(user_path(other.id), {"role": "admin"}, headers=acct.headers))
        self.assertEqual(get(ME, headers=acct.headers).json["role"], "customer")
        self.assertEqual(get(user_path(other.id), headers=self.admin.headers).json["role"],
                         "customer")

    def test_operator_key(self):
        acct = new_customer()
        self.assertStatus(get(USERS, headers=admin_headers()), 200)
        g = get(user_path(acct.id), headers=admin_headers())
        self.assertStatus(g, 200)
        self.assertEqual(g.json, acct.user)
        r = patch(user_path(acct.id), {"role": "admin"}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual(r.json["role"], "admin")
        r = patch(user_path(acct.id), {"role": "customer"}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertEqual(r.json["role"], "customer")

    def test_operator_key_has_no_account(self):
        for method, path, body in (("GET", ME, None), ("PATCH", ME, {"name": "x"}),
                                   ("GET", ADDRESSES, None), ("POST", ADDRESSES, address_body()),
                                   ("GET", address_path(1), None),
                                   ("DELETE", address_path(1), None),
                                   ("DELETE", SESSIONS + "/current", None)):
            with self.subTest(call=method + " " + path):
                if body is None:
                    r = request(method, path, headers=admin_headers())
                else:
                    r = request(method, path, headers=admin_headers(), json_body=body)
                self.assertForbidden(r)
        self.assertStatus(get(USERS, headers=admin_headers()), 200, "the key still works")

    def test_bad_role_is_422(self):
        acct = new_customer()
        for role in ("superuser", "", "Admin", "ADMIN", " admin", 1, None, ["admin"], True):
            with self.subTest(role=role):
                r = patch(user_path(acct.id), {"role": role}, headers=self.admin.headers)
                self.assertError(r, 422, "validation_failed", "role")
        self.assertEqual(get(user_path(acct.id), headers=self.admin.headers).json, acct.user)


class HealthTests(UsersTestCase):

    def test_shape_when_healthy(self):
        r = get(USERS_HEALTH)
        self.assertStatus(r, 200)
        self.assertJsonResponse(r)
        self.assertEqual(r.json, {"status": "ok", "checks": {"db": "ok", "cache": "ok"}})
        self.assertTraceparent(r)
        self.assertIn("no-store", (r.header("Cache-Control") or "").lower(), "never cached")


BUSY = "too many password checks at once, try again"
PAIR_LIMIT = 5  # password tries per account and address (docs/users-api.md)


def limit_key(*parts):
    """login_limits.key: hex SHA-256 of the parts joined by a newline."""
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


class LoginLoadTests(UsersTestCase):

    def test_reads_stay_fast_while_logins_run(self):
        """20 parallel valid logins of one account: every worker that finds no
        hashing slot answers 503 at once, so /users/me keeps being served."""
        acct = new_customer()
        src = other_address()
        self.assertSession(login_response(acct.email, acct.password, source=src))
        for _ in range(3):
            self.assertStatus(get(ME, headers=acct.headers), 200)

        def logins(_):
            out = []
            for _ in range(3):
                t0 = time.monotonic()
                r = login_response(acct.email, acct.password, source=src)
                out.append((r, time.monotonic() - t0))
            return out

        reads = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
            futures = [ex.submit(logins, i) for i in range(20)]
            while not all(f.done() for f in futures):
                t0 = time.monotonic()
                r = get(ME, headers=acct.headers)
                reads.append(time.monotonic() - t0)
                self.assertStatus(r, 200, "GET /users/me while logins run")
        answers = [a for f in futures for a in f.result()]
        busy = [(r, took) for r, took in answers if r.status == 503]
        for r, took in answers:
            self.assertStatus(r, (201, 503, 429), "a login while 20 run at once")
        self.assertTrue(busy, "20 parallel logins on %s hashing slots: some must find none "
                        "(statuses %r)" % (fleet_pwhash(), sorted(r.status for r, _ in answers)))
        for r, took in busy:
            self.assertError(r, 503, "unavailable")
            self.assertEqual(r.json["error"]["message"], BUSY)
            self.assertEqual(r.header("Retry-After"), "1")
            self.assertLess(took, 1.0, "a busy login is answered at once, not after a wait")
        self.assertGreaterEqual(len(reads), 5, "reads measured while the logins ran")
        p50 = statistics.median(reads)
        self.assertLess(p50, 0.25, "GET /users/me p50 %.1f ms while logins ran (%d reads)"
                        % (p50 * 1e3, len(reads)))


def fleet_pwhash():
    return users_limit("ARCADE_PWHASH_CONCURRENCY", 2)


class RequestLimitTests(UsersTestCase):
    """Per client address (logins, registrations) and per account, successful
    or not; each test sends from addresses of its own."""

    def assertLimited(self, r, what):
        secs = self.assertRetryAfter(r, upper=60)
        self.assertEqual(r.json["error"]["code"], "too_many_requests", what)
        return secs

    def fill(self, path, limit, src):
        """limit cheap requests (malformed JSON: counted, never hashed) from src."""
        rs = parallel(lambda _: post(path, body="{", content_type="application/json",
                                     source=src), range(limit), workers=8)
        bad = [r for r in rs if isinstance(r, Exception) or r.status != 400]
        self.assertEqual(bad, [], "the first %d requests from %s pass" % (limit, src))

    def test_logins_per_address(self):
        limit, src = users_limit("ARCADE_LOGIN_RATE", 30), other_address()
        acct = new_customer()
        self.fill(SESSIONS, limit, src)
        self.assertLimited(login_response(acct.email, acct.password, source=src),
                           "a valid login beyond the limit")
        self.assertLimited(post(SESSIONS, body="{", content_type="application/json",
                                source=src), "a malformed one")
        self.assertSession(login_response(acct.email, acct.password, source=other_address()),
                           acct.user)
        self.assertSession(login_response(acct.email, acct.password), acct.user)

    def test_registrations_per_address(self):
        limit, src = users_limit("ARCADE_SIGNUP_RATE", 5), other_address()
        self.fill(USERS, limit, src)
        body = {"email": unique_email(), "password": unique_password(), "name": "Late"}
        self.assertLimited(post(USERS, body, source=src), "a registration beyond the limit")
        self.assertStatus(post(USERS, body, source=other_address()), 201,
                          "the same registration from elsewhere")

    def test_requests_per_account(self):
        """ARCADE_ACCOUNT_RATE logins and registrations per account from
        addresses it never logged in from; the owner's own address is exempt."""
        limit = users_limit("ARCADE_ACCOUNT_RATE", 10)
        user, password = register()  # 1
        self.assertSession(login_response(user["email"], password), user)  # 2, now known
        for i in range(limit - 2):
            self.assertInvalidCredentials(
                login_response(user["email"], password + "x", source=other_address()),
                "guess %d from a new address" % (i + 1))
        self.assertLimited(login_response(user["email"], password, source=other_address()),
                           "even the right password from a new address")
        self.assertLimited(post(USERS, {"email": user["email"], "password": unique_password(),
                                        "name": "N"}, source=other_address()),
                           "a registration of the email from a new address")
        for _ in range(3):
            self.assertSession(login_response(user["email"], password), user)


class LockoutTests(UsersTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lock = login_lock_seconds()

    def test_failures_elsewhere_do_not_lock_the_owner_out(self):
        acct = new_customer()  # logged in from 127.0.0.1 (a known address)
        attacker = other_address()
        for i in range(PAIR_LIMIT):
            self.assertInvalidCredentials(
                login_response(acct.email, "Wrong-%d-%s" % (i, acct.password), source=attacker),
                "failure %d" % (i + 1))
        first = self.assertRetryAfter(login_response(acct.email, acct.password, source=attacker),
                                      upper=self.lock + 1)
        # The owner, from their own address, is not affected at all.
        self.assertSession(login_response(acct.email, acct.password), acct.user)
        new = unique_password()
        r = patch(ME, {"password": new, "current_password": acct.password}, headers=acct.headers)
        self.assertStatus(r, 200, "a password change by the owner while others are locked")
        # Growing delays: after the lock, one more failure locks twice as long.
        time.sleep(first + 0.2)
        self.assertInvalidCredentials(login_response(acct.email, "Wrong-x", source=attacker))
        second = self.assertRetryAfter(login_response(acct.email, new, source=attacker),
                                       upper=2 * self.lock + 1)
        self.assertGreater(second, first, "the second lock is longer")
        self.assertSession(login_response(acct.email, new), acct.user)
        # (Every request from an address the account never logged in from
        # counted against ARCADE_ACCOUNT_RATE too: the attacker has spent it.)
        self.assertRetryAfter(login_response(acct.email, new, source=other_address()), upper=60)


class RaceTests(UsersTestCase):

    def test_parallel_wrong_passwords_take_exactly_the_limit(self):
        acct = new_customer()
        src = other_address()
        # A success from src first: the per-account request limit exempts it,
        # so only the password tries decide.
        self.assertSession(login_response(acct.email, acct.password, source=src))
        rs = parallel(lambda i: login_response(acct.email, "Wrong-%d-%s" % (i, acct.password),
                                               source=src), range(50), workers=50)
        statuses = [r.status if not isinstance(r, Exception) else repr(r) for r in rs]
        for r in rs:
            if isinstance(r, Exception):
                self.fail(repr(r))
            self.assertIn(r.status, (401, 429, 503), r)
            if r.status == 503:
                self.assertEqual(r.json["error"]["message"], BUSY)
        failed = statuses.count(401)
        self.assertLessEqual(failed, PAIR_LIMIT, "password checks that failed: %r" % statuses)
        self.assertGreaterEqual(statuses.count(429), 50 - PAIR_LIMIT - statuses.count(503))
        rows = users_db("SELECT tries, locked_until IS NOT NULL FROM login_limits "
                        "WHERE scope = 4 AND `key` = '%s'" % limit_key(acct.email, src))
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(int(rows[0][0]), failed, "tries held = the failures (none in flight)")
        self.assertEqual(rows[0][1], "1" if failed == PAIR_LIMIT else "0", rows)
        # A try a 503 never used was given back: exactly the limit fail in all.
        for i in range(PAIR_LIMIT - failed):
            self.assertInvalidCredentials(
                login_response(acct.email, "Late-%d" % i, source=src))
        self.assertRetryAfter(login_response(acct.email, acct.password, source=src))
        rows = users_db("SELECT tries FROM login_limits WHERE scope = 4 AND `key` = '%s'"
                        % limit_key(acct.email, src))
        self.assertEqual(rows, [[str(PAIR_LIMIT)]])


class SessionCapTests(UsersTestCase):

    def test_oldest_sessions_end_beyond_the_cap(self):
        cap = users_limit("ARCADE_SESSIONS_MAX", 10)
        acct = new_customer()
        tokens = [acct.token] + [login(acct.email, acct.password) for _ in range(cap + 1)]
        for t in tokens:  # used (and so cached) on both services first
            self.assertStatus(get(ME, headers=bearer(t)), (200, 401))
        ended, live = tokens[:2], tokens[2:]
        for t in ended:
            self.assertUnauthorized(get(ME, headers=bearer(t)), "one of the two oldest")
            self.assertUnauthorized(post(PRODUCTS, product_body(), headers=bearer(t)),
                                    "one of the two oldest, on the catalog")
        for t in live:
            self.assertStatus(get(ME, headers=bearer(t)), 200, "one of the newest %d" % cap)
        rows = users_db("SELECT COUNT(*) FROM sessions WHERE user_id = %d" % acct.id)
        self.assertEqual(rows, [[str(cap)]])


class DatabaseDownTests(UsersTestCase):
    """MariaDB stopped the way test_faults does it; started again (and the
    service healthy) in a cleanup."""

    def ensure_up(self):
        arcade("svc", "start", "mariadb", check=False)
        wait_until(lambda: get(USERS_HEALTH).status == 200, timeout=30,
                   message="users healthy after `arcade svc start mariadb`")

    def test_database_down_is_not_too_many_password_checks(self):
        acct = new_customer()
        self.assertStatus(get(ME, headers=acct.headers), 200)  # cached session
        self.addCleanup(self.ensure_up)
        arcade("svc", "stop", "mariadb")
        calls = [("login", lambda: login_response(acct.email, acct.password)),
                 ("registration", lambda: register_response()[0]),
                 ("password change", lambda: patch(ME, {"password": unique_password(),
                                                        "current_password": acct.password},
                                                   headers=acct.headers))]
        for name, call in calls:
            with self.subTest(name):
                r = call()
                self.assertError(r, 503, "unavailable")
                self.assertNotEqual(r.json["error"]["message"], BUSY)
                self.assertNotIn("password", r.json["error"]["message"])
                self.assertRegex(r.header("Retry-After") or "", r"^\d+$")
        self.ensure_up()
        self.assertSession(login_response(acct.email, acct.password), acct.user)


class ThrottleTestCase(UsersTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lock = login_lock_seconds()

    def setUp(self):
        if self.lock > 10:
            self.fail("the throttling tests need a fleet with a short ARCADE_LOGIN_LOCK_SECONDS "
                      "(3 in the test fleet); this one locks for %d s" % self.lock)


class AccountThrottleTests(ThrottleTestCase):

    def test_five_failures_lock_the_account_from_that_address(self):
        user, password = register()
        session = login(user["email"], password)
        took = []
        for i in range(5):
            t0 = time.monotonic()
            r = login_response(user["email"], password + "x")
            took.append(time.monotonic() - t0)
            self.assertInvalidCredentials(r, "failure %d" % (i + 1))
        t0 = time.monotonic()
        r = login_response(user["email"], password)
        locked_took = time.monotonic() - t0
        secs = self.assertRetryAfter(r, upper=self.lock + 1)
        # Checked before the password is verified: a locked account costs no hashing.
        self.assertLess(locked_took, statistics.median(took) / 2,
                        "a locked login took %.1f ms, a verified one %.1f ms (median)"
                        % (locked_took * 1e3, statistics.median(took) * 1e3))
        # A password change (current_password) from the same address is under
        # the same lock.
        r = patch(ME, {"password": unique_password(), "current_password": password},
                  headers=bearer(session))
        self.assertRetryAfter(r, upper=self.lock + 1)
        # Another account is not affected, nor this one from another address.
        other, other_pw = register()
        self.assertSession(login_response(other["email"], other_pw), other)
        self.assertSession(login_response(user["email"], password, source=other_address()),
                           user)
        time.sleep(secs + 0.2)
        # Within the window, one further failure locks it again, twice as long.
        self.assertInvalidCredentials(login_response(user["email"], password + "y"),
                                      "first failure after the lock")
        again = self.assertRetryAfter(login_response(user["email"], password),
                                      upper=2 * self.lock + 1)
        self.assertGreater(again, secs, "a growing delay")
        time.sleep(again + 0.2)
        self.assertSession(login_response(user["email"], password), user)
        self.assertStatus(get(ME, headers=bearer(session)), 200, "sessions survive the lock")


class AddressThrottleTests(ThrottleTestCase):
    """Runs last: it locks this host's address, then waits until it is free."""

    def test_twenty_failures_lock_the_address(self):
        fresh, password = register()
        for i in range(20):
            before = REFUSED_LOGINS[0]
            r = login_response(unique_email("nobody"), unique_password())
            if r.status == 429:
                # Earlier failures of this run count too, but not fewer than 20.
                self.assertGreaterEqual(
                    before, 20, "the address was locked after %d refused logins from this "
                    "process (a fresh fleet has seen no others): %r" % (before, r))
                break
            self.assertInvalidCredentials(r, "failure %d from this address" % (i + 1))
        r = login_response(fresh["email"], password)
        secs = self.assertRetryAfter(r, upper=self.lock + 1)
        time.sleep(secs + 0.2)
        self.assertSession(login_response(fresh["email"], password), fresh)
        # Within the window, one further failure locks the address again
        # (twice as long).
        self.assertInvalidCredentials(login_response(unique_email("nobody"), "Wrong-pass-1"))
        secs = self.assertRetryAfter(login_response(fresh["email"], password),
                                     upper=2 * self.lock + 1)
        time.sleep(secs + 0.2)
        self.assertSession(login_response(fresh["email"], password), fresh)


class LogTests(UsersTestCase):

    def test_no_token_or_password_in_the_logs(self):
        files = log_files()
        self.assertTrue(any(f.endswith("/users.log") for f in files),
                        "no users.log among %r" % (files,))
        self.assertGreater(len(SECRETS), 20)
        found = secrets_in_logs(SECRETS)
        self.assertEqual(found, [], "secrets written to the logs")


def load_tests(loader, standard_tests, pattern):
    """The address throttling test and the log check run last."""
    suite = unittest.TestSuite()
    for cls in (RegistrationTests, SessionTests, MeTests, AddressTests, AdminTests, HealthTests,
                LoginLoadTests, RequestLimitTests, LockoutTests, RaceTests, SessionCapTests,
                DatabaseDownTests, AccountThrottleTests, AddressThrottleTests, LogTests):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


if __name__ == "__main__":
    unittest.main()
