"""The users service answers a write from what its transaction wrote: no second
read of the account after the commit, and current_password is checked with one
query (issue 8).

The statements are counted by MariaDB itself: with userstat on, the server keeps
per-user counters (information_schema.USER_STATISTICS), and the users service
is the only client of its database user (arcade_users). e2e tests never run two
at a time, so nothing else moves the counter between two readings. Sessions
and user documents are warmed first (they are served from memcached and the
document cache), so a request's SELECTs are its own store's.
"""

import os
import subprocess
import time
import unittest

from arcadetest import (ME, USERS, UsersTestCase, admin_headers, bearer, fleet_env, get,
                        new_customer, patch, post, unique_email, unique_password)

DB_USER = "arcade_users"


def sql(query):
    env = fleet_env()
    cp = subprocess.run(
        ["mariadb", "--socket=" + env["ARCADE_DB_SOCKET"], "-uroot", "-N", "-B", "-e", query],
        env=dict(os.environ, MYSQL_PWD=env["ARCADE_DB_ROOT_PASSWORD"]),
        capture_output=True, text=True, timeout=30, check=True)
    return cp.stdout.strip()


def selects():
    """SELECT statements the users service has run so far."""
    time.sleep(0.2)  # counters are added up as each statement ends
    out = sql("SELECT SELECT_COMMANDS FROM information_schema.USER_STATISTICS "
              "WHERE USER = '%s'" % DB_USER)
    return int(out) if out else 0


class WritesAnswerFromTheirTransactionTests(UsersTestCase):

    @classmethod
    def setUpClass(cls):
        cls.userstat_was = sql("SELECT @@GLOBAL.userstat")
        sql("SET GLOBAL userstat = 1")

    @classmethod
    def tearDownClass(cls):
        sql("SET GLOBAL userstat = %d" % int(cls.userstat_was))

    def warm(self, account):
        for _ in range(2):
            self.assertStatus(get(ME, headers=bearer(account.token)), 200)

    def test_registration_reads_nothing(self):
        email = unique_email()
        before = selects()
        r = post(USERS, {"email": email, "password": unique_password(), "name": "Ada"})
        self.assertStatus(r, 201)
        self.assertUser(r.json, {"email": email, "name": "Ada", "role": "customer"})
        # The new row is what the INSERT wrote: no read of it. The one SELECT
        # is the request limits' (has the account logged in from this address
        # before? throttle.c, known_address).
        self.assertEqual(selects() - before, 1, "a SELECT after the INSERT")
        g = get("%s/%d" % (USERS, r.json["id"]), headers=admin_headers())
        self.assertEqual(g.json, r.json, "the answer is the row as stored")

    def test_name_change_reads_the_row_once_under_its_lock(self):
        a = new_customer(name="Before")
        self.warm(a)
        before = selects()
        r = patch(ME, {"name": "After"}, headers=bearer(a.token))
        self.assertStatus(r, 200)
        self.assertUser(r.json, {"id": a.user["id"], "name": "After",
                                 "created_at": a.user["created_at"]})
        self.assertEqual(selects() - before, 1, "only SELECT ... FOR UPDATE")
        self.assertEqual(get(ME, headers=bearer(a.token)).json, r.json)

    def test_role_change_reads_no_account_again(self):
        a = new_customer()
        self.warm(a)
        before = selects()
        r = patch("%s/%d" % (USERS, a.user["id"]), {"role": "admin"}, headers=admin_headers())
        self.assertStatus(r, 200)
        self.assertUser(r.json, {"id": a.user["id"], "role": "admin"})
        # The row lock and the user's sessions (their cached role ends).
        self.assertEqual(selects() - before, 2)
        g = get("%s/%d" % (USERS, a.user["id"]), headers=admin_headers())
        self.assertEqual(g.json, r.json)

    def test_password_change_reads_the_account_with_one_query(self):
        a = new_customer()
        self.warm(a)
        before = selects()
        r = patch(ME, {"password": unique_password(), "current_password": a.password},
                  headers=bearer(a.token))
        self.assertStatus(r, 200)
        self.assertUser(r.json, a.user)
        # current_password: the account with its hash (one query; the try is
        # taken with an upsert, not a read); the write: the row lock and the
        # other sessions.
        self.assertEqual(selects() - before, 3)


if __name__ == "__main__":
    unittest.main()
