"""The fleet's side of the event backbone (docs/fleet.md, "Daemons" and "Events").

The manifest's daemons (`daemon:<service> <command>`) run under multiwatch with their
service's environment, show in `arcade status`, are restarted when killed
(`svc kill-daemon`), stop and start with `svc`; `arcade events` shows the outbox backlog,
the queues and the dead letters, and `events dead|replay` lists and replays them.

Dead letters are made here with a minimal AMQP 0-9-1 publisher on raw sockets (the frames
it needs are a few bytes), into scratch queues of this test that it deletes afterwards.
"""

import os
import re
import unittest

from arcadetest import (API, REPO, RUN_ID, Amqp, ArcadeTestCase, admin_headers, arcade,
                        env_value, fleet_env, patch, product_body, post, wait_until)


def manifest_daemons():
    """[(service, command)] of the manifest's daemon: lines whose service runs."""
    want = set((os.environ.get("ARCADE_SERVICES") or "").split())
    found = []
    with open(os.path.join(REPO, "httpd", "services"), encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if len(words) == 2 and words[0].startswith("daemon:"):
                svc = words[0][len("daemon:"):]
                if not want or svc in want:
                    found.append((svc, words[1]))
    return found


def run_dir():
    return os.path.dirname(env_value("ARCADE_DB_SOCKET"))


def multiwatch_pid(name):
    with open(os.path.join(run_dir(), name + ".pid"), encoding="ascii") as f:
        return int(f.read().strip())


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] not in "ZX":
            kids.append(int(d))
    return kids


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)


def outbox_waiting(service):
    """Rows in the service's outbox, from the `outbox` line of `arcade status`."""
    st = arcade("status", check=False)
    m = re.search(r"(?m)^outbox\s.*\b%s (\d+) waiting" % re.escape(service), st.stdout)
    if not m:
        raise AssertionError("no outbox line for %s in:\n%s" % (service, st.stdout))
    return int(m.group(1))


def envelope(i, key):
    eid = "%032x" % (int(RUN_ID, 16) * 1000 + i)
    body = ('{"id":"%s","type":"product.updated","occurred_at":"2026-11-23T21:18:36.123Z",'
            '"source":"catalog","key":"%s","version":%d,"data":{}}' % (eid, key, i))
    return eid, body.encode()


class DaemonTest(ArcadeTestCase):

    def setUp(self):
        self.daemons = manifest_daemons()
        self.assertTrue(self.daemons, "the manifest has daemons")

    def ensure_running(self):
        for svc, cmd in self.daemons:
            arcade("svc", "start", "%s-%s" % (svc, cmd), timeout=60)

    def test_status_rows(self):
        st = arcade("status", check=False)
        for svc, cmd in self.daemons:
            name = "%s-%s" % (svc, cmd)
            m = re.search(r"(?m)^%s\s+running\s+(\d+)\s+arcade-%s %s \(pid (\d+)\)\s+ok \(up \d+s\)"
                          % (re.escape(name), svc, cmd), st.stdout)
            self.assertIsNotNone(m, "%s row in:\n%s" % (name, st.stdout))
            self.assertEqual(int(m.group(1)), multiwatch_pid(name), "multiwatch's pid file")
            self.assertEqual(children(int(m.group(1))), [int(m.group(2))], "one child")
        self.assertRegex(st.stdout, r"(?m)^outbox\s+\S", "the outbox line")

    def test_environment(self):
        env = fleet_env(reload=True)
        for svc, cmd in self.daemons:
            name = "%s-%s" % (svc, cmd)
            mw = multiwatch_pid(name)
            with open("/proc/%d/cmdline" % mw, "rb") as f:
                argv = f.read().split(b"\0")[:-1]
            self.assertEqual(os.path.basename(argv[0]), b"multiwatch")
            self.assertEqual(argv[1:9], [b"-f", b"1", b"-s", b"TERM", b"-r", b"20", b"-t", b"1000"])
            self.assertEqual([os.path.basename(argv[-2]), argv[-1]],
                             [("arcade-" + svc).encode(), cmd.encode()])
            child = children(mw)[0]
            e = environ(child)
            self.assertEqual(e.get(b"ARCADE_DB_USER"), ("arcade_" + svc).encode())
            self.assertEqual(e.get(b"ARCADE_AMQP_URL"), env["ARCADE_AMQP_URL"].encode())
            self.assertEqual(e.get(b"ARCADE_CATALOG_URL"), env["ARCADE_CATALOG_URL"].encode())
            self.assertTrue(e.get(b"ARCADE_LOG_FILE", b"").endswith(("/log/%s.log" % svc).encode()))
            self.assertEqual(os.readlink("/proc/%d/fd/0" % child), "/dev/null", "stdin")

    def test_kill_daemon(self):
        self.addCleanup(self.ensure_running)
        for svc, cmd in self.daemons:
            name = "%s-%s" % (svc, cmd)
            mw = multiwatch_pid(name)
            before = children(mw)
            out = arcade("svc", "kill-daemon", name, timeout=60).stdout
            self.assertRegex(out, r"^\d+\n$", "only the pid")
            victim = int(out)
            self.assertEqual(before, [victim], "the killed pid was multiwatch's child")
            self.assertFalse(alive(victim), "dead when the command returns")
            after = wait_until(lambda: children(mw), timeout=10, message="a new %s" % name)
            self.assertNotIn(victim, after)
            self.assertEqual(multiwatch_pid(name), mw, "the same multiwatch")

    def test_relay_stopped_then_started(self):
        if ("catalog", "relay") not in self.daemons:
            self.skipTest("no catalog relay in this fleet")
        self.addCleanup(self.ensure_running)
        arcade("svc", "stop", "catalog-relay", timeout=60)
        st = arcade("status", check=False)
        self.assertRegex(st.stdout, r"(?m)^catalog-relay\s+stopped")
        self.assertEqual(st.returncode, 3, "a stopped daemon")
        r = post(API + "/products", product_body(), headers=admin_headers())
        self.assertEqual(r.status, 201, r)
        p = r.json
        r = patch("%s/products/%d" % (API, p["id"]), {"price": 4242}, headers=admin_headers())
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(outbox_waiting("catalog"), 2, "the events wait in the outbox")
        ev = arcade("events").stdout
        self.assertRegex(ev, r"(?m)^  catalog\s+[1-9]\d*\s+\d+\.\d s$")
        arcade("svc", "start", "catalog-relay", timeout=60)
        wait_until(lambda: outbox_waiting("catalog") == 0, timeout=20,
                   message="the relay to publish the backlog")

    def test_restart(self):
        self.addCleanup(self.ensure_running)
        for svc, cmd in self.daemons:
            name = "%s-%s" % (svc, cmd)
            old = multiwatch_pid(name)
            old_child = children(old)
            arcade("svc", "restart", name, timeout=60)
            self.assertFalse(alive(old), "the old multiwatch is gone")
            for c in old_child:
                self.assertFalse(alive(c), "its child too")
            self.assertTrue(children(multiwatch_pid(name)), "a new child")


class DeadLetterTest(ArcadeTestCase):

    def setUp(self):
        self.queue = "fleettest-%s.q" % RUN_ID
        self.amqp = Amqp()
        self.addCleanup(self.amqp.close)
        for q in (self.queue, self.queue + ".dead"):
            self.amqp.declare(q)
            self.addCleanup(self.amqp.delete, q)

    def assertDepth(self, queue, n):
        """Messages ready in queue become n (the broker counts asynchronously)."""
        wait_until(lambda: self.amqp.declare(queue, passive=True) == n, timeout=5,
                   message="%d messages ready in %s" % (n, queue))

    def test_list_and_replay(self):
        dead = self.queue + ".dead"
        ids = []
        for i in range(1, 5):
            eid, body = envelope(i, "product:%d" % i)
            self.amqp.publish(dead, body, eid, "product.updated")
            ids.append(eid)
        self.amqp.publish(dead, b"not json", "f" * 32, "product.updated")
        self.assertDepth(dead, 5)

        ev = arcade("events").stdout
        self.assertRegex(ev, r"(?m)^  %s\s+5\s+0\s+0$" % re.escape(dead), "queue depths")
        self.assertRegex(ev, r"(?ms)^dead letters$.*^  %s\s+5\s" % re.escape(dead))

        out = arcade("events", "dead", self.queue).stdout
        for i, eid in enumerate(ids, 1):
            # published here straight into .dead: no attempts or reason recorded
            self.assertRegex(out, r"(?m)^%s\s+product\.updated\s+product:%d\s+%d\s+0\s+-$"
                             % (eid, i, i))
        self.assertRegex(out, r"(?m)^f{32}\s+product\.updated\s+\(not an envelope\)\s+-\s+0\s+-$")
        self.assertDepth(dead, 5)  # the listed letters are back
        out = arcade("events", "dead", dead, "--max", "2").stdout
        self.assertEqual(len(re.findall(r"(?m)^[0-9a-f]{32}\s", out)), 2, out)

        out = arcade("events", "replay", self.queue, "--max", "2").stdout
        self.assertIn("replayed 2 message(s)", out)
        self.assertDepth(self.queue, 2)
        self.assertDepth(dead, 3)
        out = arcade("events", "replay", dead).stdout
        self.assertIn("replayed 3 message(s)", out)
        self.assertDepth(self.queue, 5)
        self.assertDepth(dead, 0)
        ev = arcade("events").stdout
        self.assertNotRegex(ev, r"(?m)^  %s\s+\d+\s+arcade" % re.escape(dead))

    def test_errors(self):
        cp = arcade("events", "replay", "fleettest-none-%s" % RUN_ID, check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("no queue", cp.stderr)
        cp = arcade("events", "dead", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("usage", cp.stderr)
        out = arcade("events", "replay", self.queue).stdout
        self.assertIn("no dead letters", out)


if __name__ == "__main__":
    unittest.main()
