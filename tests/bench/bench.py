#!/usr/bin/env python3
"""The measurements of `./arcade bench` (docs/fleet.md, "Benchmark").

Python 3 standard library only. `./arcade bench` (fleet/bench.sh) prepares the
bench fleet (build/bench-fleet: ARCADE_BENCH=1, the floor pool, the static copy
of a product) and then runs

  bench.py run --home HOME --arcade ARCADE [--search] [--component NAME|PIDS]...
      wrk in interleaved rounds against the catalog, the FastCGI floor and the
      static file; the authenticated read and the login rate; with --search,
      the search mix over a grown catalog; checkouts from 32 customers (with
      --search, the search mix at rest and while they run; the components'
      CPU time meanwhile); last the time from a catalog write to its
      visibility in search. Raw wrk output goes to HOME/bench.log.
  bench.py memory NAME|PID PID... ...
      RSS and PSS of each component, read from /proc after the load.

The knobs are the ARCADE_BENCH_* variables of docs/fleet.md, read here from the
environment (wrk scripts read ARCADE_BENCH_MAX_ID themselves).
"""

import argparse
import calendar
import http.client
import json
import os
import random
import re
import socket
import statistics
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = "arcade"


def die(msg):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.exit(1)


def knob(name, default):
    """An ARCADE_BENCH_* (or other) setting from the environment, as text."""
    value = os.environ.get(name, "")
    return value if value != "" else str(default)


def fleet_env(home):
    """KEY=VALUE lines of HOME/fleet.env (the values arcade writes need no quoting)."""
    env = {}
    try:
        with open(os.path.join(home, "fleet.env"), encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    env[key] = value
    except OSError as e:
        die("no bench fleet in %s: %s" % (home, e))
    return env


# --- wrk ---------------------------------------------------------------------

class Wrk:
    """wrk with the shared options; every measured run is appended to the log."""

    def __init__(self, log_path, token=None):
        self.log_path = log_path
        self.token = token

    def args(self, script=None, connections=None):
        args = ["wrk", "-t" + knob("ARCADE_BENCH_THREADS", 1),
                "-c" + (connections or knob("ARCADE_BENCH_CONNECTIONS", 32))]
        if script:
            args += ["-s", script]
        if self.token:
            args += ["-H", "Authorization: Bearer " + self.token]
        return args

    def warm(self, url, script=None, seconds=None, env=None):
        seconds = seconds or knob("ARCADE_BENCH_WARMUP", 3)
        self._wrk(self.args(script) + ["-d%ss" % seconds, url], env)

    def run(self, url, script=None, connections=None, env=None, seconds=None):
        """One measured run: [rps, p50_ms, p99_ms, requests, errors, cpu_us_per_req,
        p95_ms] (p95 when the script prints "p95_us: N" in its done(), else 0).
        self.cpu_s is then the CPU time wrk itself used."""
        args = self.args(script, connections) + [
            "-d%ss" % (seconds or knob("ARCADE_BENCH_DURATION", 10)), "--latency", url]
        s0 = proc_stat()
        text = self._wrk(args, env)
        s1 = proc_stat()
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        return parse_wrk(text, s0, s1)

    def _wrk(self, args, env):
        full = dict(os.environ)
        full.update(env or {})
        p = subprocess.Popen(args, env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             text=True)
        out = p.stdout.read()
        p.stdout.close()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_s = usage.ru_utime + usage.ru_stime
        if p.returncode != 0:
            die("%s failed (status %d)" % (" ".join(args), p.returncode))
        return out


def proc_stat():
    with open("/proc/stat", encoding="ascii") as f:
        return f.readline().split()[1:]


def parse_wrk(text, s0, s1):
    def busy(f):  # user nice system irq softirq steal
        return sum(int(f[i]) for i in (0, 1, 2, 5, 6, 7))

    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {m.group(1): ms(m.group(2), m.group(3))
           for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
    reqs = int(re.search(r"(\d+) requests in", text).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    bad += sum(int(x) for x in m.groups()) if m else 0
    cpu_us = (busy(s1) - busy(s0)) * 1e6 / os.sysconf("SC_CLK_TCK") / max(reqs, 1)
    m = re.search(r"^p95_us: (\d+)$", text, re.M)
    p95 = int(m.group(1)) / 1000 if m else 0
    # The figures at the precision they are reported with (medians of these).
    row = "%.0f %.3f %.3f %d %d %.1f %.3f" % (rps, lat.get("50", 0), lat.get("99", 0), reqs, bad,
                                             cpu_us, p95)
    return [float(x) for x in row.split()]


def medians(runs):
    return [statistics.median(col) for col in zip(*runs)]


# --- HTTP --------------------------------------------------------------------

def request(method, url, body=None, headers=None, timeout=10):
    """(status, body bytes); status 0 when there is no answer."""
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def http_ok(method, url, body=None, headers=None, what=None):
    status, data = request(method, url, body, headers)
    if not 200 <= status < 300:
        die("%s failed (%s)" % (what or "%s %s" % (method, urllib.parse.urlsplit(url).path),
                                status or "no answer"))
    return data


# --- the catalog, the floor and the static file ------------------------------

def bench_targets(base, wrk, rounds):
    max_id = {"ARCADE_BENCH_MAX_ID": knob("ARCADE_DEMO_PRODUCTS", 10000)}
    product = os.path.join(HERE, "random_product.lua")
    # Hot cache: every worker has to have seen every id once (its local
    # document cache); random ids over 4 workers need about 15 s for that.
    wrk.warm(base, product, knob("ARCADE_BENCH_CATALOG_WARMUP", 15), max_id)
    wrk.warm(base + "/bench/floor/product")
    wrk.warm(base + "/bench/static/product.json")
    real, floor, static = [], [], []
    for _ in range(rounds):
        real.append(wrk.run(base, product, env=max_id))
        floor.append(wrk.run(base + "/bench/floor/product"))
        static.append(wrk.run(base + "/bench/static/product.json"))
    names = ["catalog GET /products/{id}", "FastCGI floor", "static file (lighttpd)"]
    rows = [(medians(runs), [r[0] for r in runs]) for runs in (real, floor, static)]
    print(f"{'':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>7}"
          "  req/s per round")
    for name, (m, each) in zip(names, rows):
        rps, p50, p99, _, bad, cpu = m[:6]
        print(f"{name:28} {rps:9.0f} {p50:8.3f} {p99:8.3f} {cpu:11.1f} {int(bad):7d}  "
              + " ".join(f"{x:.0f}" for x in each))
    real, floor, static = (r[0][0] for r in rows)
    p99 = rows[0][0][2]
    print()
    print(f"real/floor   {real / floor:.2f}   "
          f"(target >= 0.80: {'met' if real >= 0.8 * floor else 'NOT met'})")
    print(f"floor/static {floor / static:.2f}")
    print(f"catalog p99  {p99:.3f} ms (target < 3 ms: {'met' if p99 < 3 else 'NOT met'})")
    print("CPU per request: busy jiffies of the whole machine (wrk included) / requests")


# --- the authenticated read and logins ---------------------------------------

def db_sql(root_cnf, sql):
    """One statement as root over the socket; its output, or die."""
    p = subprocess.run(["mariadb", "--defaults-file=" + root_cnf, "--batch",
                        "--skip-column-names", "-e", sql],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, check=False)
    if p.returncode != 0:
        die("MariaDB refused: " + sql)
    return p.stdout.strip()


def db_statements(root_cnf, user):
    """Statements MariaDB has run for one database user (userstat's counters,
    on while measuring): the users service is the only client of arcade_users,
    so the relays' and consumers' polling does not count."""
    out = db_sql(root_cnf, "SELECT SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS "
                           "FROM information_schema.USER_STATISTICS WHERE USER = '%s'" % user)
    return int(out) if out else 0


def bench_auth(base, home, log_path):
    """GET /api/v1/users/me with a customer's session (warm: the session is in
    memcached) and the login rate Argon2id allows."""
    email = "bench-%s@example.com" % os.urandom(6).hex()
    pw = "bench-%s" % os.urandom(12).hex()
    http_ok("POST", base + "/api/v1/users", {"email": email, "password": pw, "name": "Bench"},
            what="POST /api/v1/users")
    data = http_ok("POST", base + "/api/v1/sessions", {"email": email, "password": pw},
                   what="POST /api/v1/sessions")
    try:
        token = json.loads(data)["token"]
    except (ValueError, KeyError, TypeError):
        die("POST /api/v1/sessions failed (no token)")
    me = base + "/api/v1/users/me"
    if request("GET", me, headers={"Authorization": "Bearer " + token}, timeout=5)[0] != 200:
        die("GET /api/v1/users/me with the new session failed")
    wrk = Wrk(log_path, token)
    wrk.warm(me)
    root_cnf = os.path.join(home, "conf", "mariadb-root.cnf")
    userstat = db_sql(root_cnf, "SELECT @@GLOBAL.userstat")
    db_sql(root_cnf, "SET GLOBAL userstat = 1")
    q0 = db_statements(root_cnf, "arcade_users")
    rps, p50, p99, reqs, bad, cpu, _ = wrk.run(me)
    queries = db_statements(root_cnf, "arcade_users") - q0
    db_sql(root_cnf, "SET GLOBAL userstat = %d" % int(userstat))
    print()
    print("%-28s %9s %8s %8s %11s %7s" % ("", "req/s", "p50 ms", "p99 ms", "CPU us/req", "errors"))
    print("%-28s %9.0f %8.3f %8.3f %11.1f %7d" % ("users GET /users/me (auth)", rps, p50, p99, cpu,
                                                 bad))
    print("users DB statements per warm authenticated request: %.3f (target 0; %d / %d requests)"
          % (queries / max(reqs, 1), queries, reqs))
    # Logins: each verifies an Argon2id hash; as many clients as the service
    # hashes at once (its default: 2), for a few seconds.
    bench_logins(base + "/api/v1/sessions", email, pw, int(knob("ARCADE_PWHASH_CONCURRENCY", 2)),
                 float(knob("ARCADE_BENCH_LOGIN_SECONDS", 5)))
    return email, pw


def bench_cart(base, email, pw, log_path):
    """GET /api/v1/cart of a customer with three lines: the session from
    memcached, the lines from the orders database, and their prices and
    availability from the catalog's internal lookup (one HTTP call per read).
    A session of its own: the login measurement ended the older ones (the
    users service keeps ARCADE_SESSIONS_MAX per account)."""
    data = http_ok("POST", base + "/api/v1/sessions", {"email": email, "password": pw},
                   what="POST /api/v1/sessions")
    token = json.loads(data)["token"]
    auth = {"Authorization": "Bearer " + token}
    for pid in (1, 2, 3):
        http_ok("PUT", "%s/api/v1/cart/items/%d" % (base, pid), {"quantity": pid}, headers=auth,
                what="PUT /api/v1/cart/items/%d" % pid)
    cart = base + "/api/v1/cart"
    status, body = request("GET", cart, headers=auth, timeout=5)
    if status != 200 or json.loads(body)["count"] != 3:
        die("GET /api/v1/cart with three lines failed")
    wrk = Wrk(log_path, token)
    wrk.warm(cart)
    rps, p50, p99, _, bad, cpu, _ = wrk.run(cart)
    print("%-28s %9.0f %8.3f %8.3f %11.1f %7d" % ("orders GET /cart (3 lines)", rps, p50, p99, cpu,
                                                 bad))


def bench_logins(url, email, pw, par, secs):
    body = json.dumps({"email": email, "password": pw}).encode()
    counts = {"ok": 0, "other": 0}
    lat = []
    lock = threading.Lock()
    end = time.monotonic() + secs

    def worker():
        while time.monotonic() < end:
            t0 = time.monotonic()
            req = urllib.request.Request(url, data=body,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    ok = r.status == 201
                    r.read()
            except (urllib.error.URLError, OSError):
                ok = False
            with lock:
                counts["ok" if ok else "other"] += 1
                lat.append(time.monotonic() - t0)

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    lat.sort()
    p50 = lat[len(lat) // 2] * 1000 if lat else 0
    print("logins (POST /sessions, Argon2id verify): %.1f logins/s with %d concurrent clients, "
          "p50 %.0f ms, %d failed" % (counts["ok"] / elapsed, par, p50, counts["other"]))


# --- search ------------------------------------------------------------------

def search_total(base):
    """Active products the search service finds with no query."""
    data = http_ok("GET", base + "/api/v1/search?per_page=1", what="GET /api/v1/search")
    try:
        return int(json.loads(data)["total"])
    except (ValueError, KeyError, TypeError):
        die("GET /api/v1/search failed (no total)")


def search_products():
    n = knob("ARCADE_BENCH_SEARCH_PRODUCTS", 100000)
    if not re.fullmatch(r"[0-9]{1,7}", n) or not 1 <= int(n) <= 1000000:
        die("ARCADE_BENCH_SEARCH_PRODUCTS must be a number from 1 to 1000000")
    return int(n)


def grow_catalog(home, n):
    """The demo generator again, as the catalog's user: existing ids are left
    alone; prints how many products it added. (SOURCE is a client command: it
    must start a line.)"""
    p = subprocess.run(
        ["mariadb", "--defaults-file=" + os.path.join(home, "conf", "mariadb-catalog.cnf"),
         "--batch", "--skip-column-names", "-e",
         "SET @demo_products=%d;\nSOURCE %s\nSELECT ROW_COUNT();"
         % (n, os.path.normpath(os.path.join(HERE, "..", "..", "sql", "catalog", "demo.sql")))],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, check=False)
    lines = p.stdout.split()
    if p.returncode != 0 or not lines or not re.fullmatch(r"-?[0-9]+", lines[-1]):
        die("growing the bench catalog failed")
    return int(lines[-1])


def bench_search(base, home, arcade, wrk, rounds):
    """The search service over ARCADE_BENCH_SEARCH_PRODUCTS products: the bench
    catalog grown to that size and the read model rebuilt when rows were added
    or it holds fewer; then wrk with a mix of queries in rounds. Returns the
    arguments of bench_visibility (the time from a catalog write to its
    visibility in search), which run() calls after the checkout."""
    n = search_products()
    print()
    added = grow_catalog(home, n)
    total = search_total(base)
    if added > 0 or total < n:
        print("search: %d products added to the catalog (%d); rebuilding the read model"
              % (added, n))
        env = dict(os.environ, ARCADE_HOME=home)
        if subprocess.run([arcade, "reindex"], env=env, stdin=subprocess.DEVNULL,
                          check=False).returncode != 0:
            sys.exit(1)  # arcade said why
        total = search_total(base)
    if total < n:
        die("search finds %d products, not %d (see %s)" % (total, n,
                                                           os.path.join(home, "log", "search.log")))
    script = os.path.join(HERE, "search_mix.lua")
    # Steady state: the mix repeats about a thousand distinct searches with
    # words, each 20-80 ms of full-text search the first time and then answered
    # from memcached until a change moves the read model's generation; the
    # warm-up lets every one of them be asked once (docs/search-api.md has the
    # cold figures).
    wrk.warm(base, script, knob("ARCADE_BENCH_SEARCH_WARMUP", 45))
    # Two loads, interleaved: saturation (the connections of every other
    # target: latency there is mostly queueing, connections / throughput) and
    # a moderate one (ARCADE_BENCH_SEARCH_CONNECTIONS, 8).
    conns = [knob("ARCADE_BENCH_CONNECTIONS", 32), knob("ARCADE_BENCH_SEARCH_CONNECTIONS", 8)]
    loads = [[], []]
    for _ in range(rounds):
        for runs, c in zip(loads, conns):
            runs.append(wrk.run(base, script, connections=c))
    print(f"{'':28} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'CPU us/req':>11}"
          f" {'errors':>7}  req/s per round")
    verdicts = []
    for c, runs in zip(conns, loads):
        rps, p50, p99, _, bad, cpu, p95 = medians(runs)
        name = f"search mix, {c} connections"
        print(f"{name:28} {rps:9.0f} {p50:8.3f} {p95:8.3f} {p99:8.3f} {cpu:11.1f} {int(bad):7d}  "
              + " ".join(f"{r[0]:.0f}" for r in runs))
        verdicts.append(f"{p95:.3f} ms with {c} connections ({'met' if p95 < 20 else 'NOT met'})")
    print(f"search p95   over {total} products, target < 20 ms: " + "; ".join(verdicts))
    lo = 10001 if n > 10000 else 1  # products the catalog benchmark does not read
    # The arguments of bench_visibility, run last: its writes change what
    # searches show, and so drop every cached answer.
    return (base, fleet_env(home)["ARCADE_ADMIN_KEY"], lo, n,
            int(knob("ARCADE_BENCH_VISIBILITY_WRITES", 200)))


def bench_visibility(base, key, lo, hi, writes):
    """From a catalog write (PATCH of a product's name to a new word, timed from
    its answer: committed) until GET /api/v1/search?q=<word> finds it, polled
    every 2 ms, for `writes` writes one at a time on an otherwise idle fleet."""
    u = urllib.parse.urlsplit(base)
    w = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    r = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    hdrs = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    lat, missed = [], 0
    for _ in range(writes):
        pid = random.randint(lo, hi)
        word = "vis" + "".join(random.choice(string.ascii_lowercase) for _ in range(12))
        w.request("PATCH", "/api/v1/products/%d" % pid,
                  body=json.dumps({"name": "Bench " + word}), headers=hdrs)
        resp = w.getresponse()
        resp.read()
        if resp.status != 200:
            die("PATCH /api/v1/products/%d: %d" % (pid, resp.status))
        t0 = time.monotonic()
        while True:
            r.request("GET", "/api/v1/search?per_page=1&q=" + word)
            resp = r.getresponse()
            body = resp.read()
            if resp.status == 200 and [i["id"] for i in json.loads(body)["items"]] == [pid]:
                lat.append(time.monotonic() - t0)
                break
            if time.monotonic() - t0 > 10:
                missed += 1
                break
            time.sleep(0.002)
        time.sleep(0.02)
    lat.sort()
    if not lat:
        die("no write became visible in search within 10 s")

    def ms(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000

    print("catalog write -> visible in search: median %.0f ms, p99 %.0f ms, max %.0f ms over %d "
          "writes%s (target: within 1 s: %s)"
          % (ms(0.5), ms(0.99), lat[-1] * 1000, len(lat),
             ", %d not visible within 10 s" % missed if missed else "",
             "met" if missed == 0 and lat[-1] < 1 else "NOT met"))


# --- checkout ----------------------------------------------------------------

ADDRESS = {"name": "Bench Buyer", "line1": "1 Bench Street", "line2": "", "city": "Berlin",
           "postal_code": "10115", "country": "DE", "phone": "+49 30 123456"}


def pct(values, q):
    """The q-quantile (0..1) of values, sorted here: nearest rank."""
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0.0


class Conn:
    """One keep-alive connection (http.client) that reconnects after a failure."""

    def __init__(self, base, headers=None):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.headers = dict(headers or {})
        self.c = None

    def call(self, method, path, body=None, headers=None):
        """(status, parsed JSON or None); status 0 when there is no answer."""
        hdrs = dict(self.headers)
        hdrs.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=15)
            try:
                self.c.request(method, path, body=data, headers=hdrs)
                r = self.c.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException):
                self.c.close()
                self.c = None
                if attempt or method == "POST":  # a POST is not repeated blindly
                    return 0, None
                continue
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, None
        return 0, None


def parallel_map(fn, items, workers=8):
    """fn(item) for every item, from `workers` threads; the results in order."""
    out = [None] * len(items)
    it = iter(enumerate(items))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                nxt = next(it, None)
            if nxt is None:
                return
            out[nxt[0]] = fn(nxt[1])

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def signed_up_customers(base, n):
    """n customers, each signed up and logged in through the API (two Argon2id
    hashes each, as many at once as the users service hashes: 2 by default)."""
    tag = os.urandom(5).hex()

    def one(i):
        email = "bench-buyer-%s-%d@example.com" % (tag, i)
        pw = "bench-%s" % os.urandom(12).hex()
        http_ok("POST", base + "/api/v1/users", {"email": email, "password": pw,
                                                 "name": "Buyer %d" % i},
                what="POST /api/v1/users (checkout customer)")
        data = http_ok("POST", base + "/api/v1/sessions", {"email": email, "password": pw},
                       what="POST /api/v1/sessions (checkout customer)")
        return json.loads(data)["token"]

    return parallel_map(one, list(range(n)), int(knob("ARCADE_PWHASH_CONCURRENCY", 2)))


def inventories(base, key, pids):
    """{product id: its inventory} (admin GET …/inventory, 8 connections)."""
    conns = {}

    def one(pid):
        c = conns.setdefault(threading.get_ident(),
                             Conn(base, {"Authorization": "Bearer " + key}))
        status, inv = c.call("GET", "/api/v1/products/%d/inventory" % pid)
        if status != 200:
            die("GET /api/v1/products/%d/inventory failed (%s)" % (pid, status or "no answer"))
        return inv

    return dict(zip(pids, parallel_map(one, pids)))


def stock_up(base, key, pids, floor):
    """Every product of pids with at least `floor` units available (PUT
    …/inventory where it has fewer): no checkout of the run can be refused."""
    inv = inventories(base, key, pids)
    low = [p for p in pids if inv[p]["available"] < floor]
    conns = {}

    def one(pid):
        c = conns.setdefault(threading.get_ident(),
                             Conn(base, {"Authorization": "Bearer " + key}))
        status, _ = c.call("PUT", "/api/v1/products/%d/inventory" % pid,
                           {"on_hand": inv[pid]["reserved"] + floor})
        if status != 200:
            die("PUT /api/v1/products/%d/inventory failed (%s)" % (pid, status or "no answer"))

    parallel_map(one, low)
    return len(low)


def search_drained(base, timeout=120):
    """Waits until the search consumer has no event waiting (its health's lag)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status, body = request("GET", base + "/health/search", timeout=5)
        try:
            lag = json.loads(body)["details"]["lag"]["events"]
        except (ValueError, KeyError, TypeError):
            lag = None
        if status == 200 and lag == 0:
            return
        time.sleep(0.2)
    die("the search consumer did not catch up within %d s" % timeout)


def memcached_stats(servers):
    """memcached's "stats" of the first server, as {name: int}."""
    host, _, port = servers.split(",")[0].strip().rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"stats\r\n")
        buf = b""
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    out = {}
    for line in buf.decode("ascii", "replace").splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "STAT" and re.fullmatch(r"[0-9]+", f[2]):
            out[f[1]] = int(f[2])
    return out


def cpu_ticks(pids):
    """utime + stime of the processes pids (clock ticks; gone processes: 0)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%s/stat" % pid, encoding="ascii") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def cpu_snapshot(components):
    """{component: ticks} for "name|pid pid …" rows, this process (the
    checkout clients) included, and the machine's busy ticks."""
    snap = {name: cpu_ticks(pids.split()) for name, _, pids in
            (row.partition("|") for row in components)}
    snap["bench.py (checkout clients)"] = cpu_ticks([os.getpid()])
    f = proc_stat()
    snap[None] = sum(int(f[i]) for i in (0, 1, 2, 5, 6, 7))
    return snap


def print_cpu(s0, s1, seconds, wrk_cpu_s):
    """Each component's share of the machine's CPU over the run (cores: 1.0 is
    one core busy the whole time), and what the rest of the machine used."""
    hz = os.sysconf("SC_CLK_TCK")
    rows = [(name, (s1[name] - s0.get(name, 0)) / hz / seconds) for name in s1 if name]
    if wrk_cpu_s is not None:
        rows.append(("wrk (search mix)", wrk_cpu_s / seconds))
    rows.sort(key=lambda r: -r[1])
    busy = (s1[None] - s0[None]) / hz / seconds
    ours = sum(r[1] for r in rows)
    print("CPU during the checkout (cores busy on average; the machine has %d):"
          % os.cpu_count())
    print("  " + ", ".join("%s %.2f" % r for r in rows if r[1] >= 0.005))
    print("  machine busy %.2f cores; outside the bench fleet and its clients (other "
          "users of the machine) %.2f" % (busy, max(0.0, busy - ours)))


def search_generation(root_cnf):
    out = db_sql(root_cnf, "SELECT generation FROM arcade_search.search_state WHERE id = 1")
    return int(out) if out else 0


def versions(root_cnf, schema, pids):
    """The sum of the products' versions in a schema (the catalog's, or the
    read model's copy): how many changes the products had, or search applied."""
    out = db_sql(root_cnf, "SELECT COALESCE(SUM(version), 0) FROM %s.products WHERE id BETWEEN "
                           "%d AND %d" % (schema, min(pids), max(pids)))
    return int(out)


def probe_paths():
    """Searches with words (the kind search caches), some of them filtered by
    stock, from the vocabulary of the search mix: a fixed set, so that the
    same answers can be asked for before and after the checkouts."""
    nouns = ["headphones", "laptop", "kettle", "novel", "tent", "puzzle", "speaker", "blender"]
    adjectives = ["classic", "compact", "deluxe", "eco", "pro", "smart", "travel", "ultra"]
    paths = ["/api/v1/search?q=" + n for n in nouns]
    paths += ["/api/v1/search?q=%s&in_stock=true&sort=price" % a for a in adjectives]
    paths += ["/api/v1/search?q=%s+%s&page=2" % (a, n) for a, n in zip(adjectives, nouns)]
    paths += ["/api/v1/search/suggest?q=" + n[:3] for n in nouns]
    return paths


def probe(base, servers, paths):
    """Asks each of paths once, one at a time, on an otherwise idle fleet:
    memcached's (hits, misses) over the pass are the search service's own,
    one get per request (an answer with words is looked up once, then stored
    on a miss)."""
    c = Conn(base)
    m0 = memcached_stats(servers)
    for path in paths:
        status, _ = c.call("GET", path)
        if status != 200:
            die("GET %s failed (%s)" % (path, status or "no answer"))
    m1 = memcached_stats(servers)
    return (m1.get("get_hits", 0) - m0.get("get_hits", 0),
            m1.get("get_misses", 0) - m0.get("get_misses", 0))


def service_ms(log_path, t0, t1):
    """duration_ms of the search requests (GET /api/v1/search…) that the
    search service's log says ended between t0 and t1 (seconds since the
    epoch): the time in the worker, without lighttpd's and the client's."""
    out = []
    lo = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0))
    hi = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t1 + 1))
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if '"/api/v1/search' not in line or '"duration_ms"' not in line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if lo <= rec.get("ts", "")[:19] < hi and rec.get("msg") == "request":
                    out.append(float(rec["duration_ms"]))
    except OSError:
        pass
    return out


class Checkouts:
    """The clients of the checkout measurement: each a customer of its own, on
    one keep-alive connection, buying 1 unit of a random product of pids per
    order, with no pause, until the end."""

    def __init__(self, base, tokens, pids):
        self.base, self.tokens, self.pids = base, tokens, pids
        self.lock = threading.Lock()
        self.orders = []  # (token, order id)
        self.post_ms = []
        self.statuses = {}

    def client(self, token, end):
        c = Conn(self.base, {"Authorization": "Bearer " + token})
        rnd = random.Random()
        mine, lat, st = [], [], {}
        while time.monotonic() < end:
            body = {"shipping_address": ADDRESS,
                    "items": [{"product_id": rnd.choice(self.pids), "quantity": 1}]}
            t0 = time.monotonic()
            status, o = c.call("POST", "/api/v1/orders", body,
                               {"Idempotency-Key": os.urandom(16).hex()})
            lat.append((time.monotonic() - t0) * 1000)
            st[status] = st.get(status, 0) + 1
            if status == 201 and isinstance(o, dict) and "id" in o:
                mine.append((token, o["id"]))
        with self.lock:
            self.orders += mine
            self.post_ms += lat
            for k, v in st.items():
                self.statuses[k] = self.statuses.get(k, 0) + v

    def run(self, seconds):
        end = time.monotonic() + seconds
        threads = [threading.Thread(target=self.client, args=(t, end)) for t in self.tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def timelines(base, orders, timeout):
    """{order id: {status: time (s since the epoch)}} from each order's
    timeline (GET /orders/{id}/timeline as its customer), once no order is
    pending any more (asked again until then, at most `timeout` seconds)."""
    conns = {}
    out = {}
    todo = list(orders)
    end = time.monotonic() + timeout

    def one(item):
        token, oid = item
        c = conns.setdefault((threading.get_ident(), token),
                             Conn(base, {"Authorization": "Bearer " + token}))
        status, tl = c.call("GET", "/api/v1/orders/%d/timeline" % oid)
        if status != 200:
            return None
        return {i["status"]: parse_rfc3339(i["at"]) for i in tl["items"]}

    while todo:
        got = parallel_map(one, todo)
        left = []
        for item, t in zip(todo, got):
            if t is None or set(t) == {"pending"}:
                left.append(item)
            else:
                out[item[1]] = t
        todo = left
        if todo and time.monotonic() > end:
            break
        if todo:
            time.sleep(0.5)
    return out, len(todo)


def parse_rfc3339(s):
    """"2026-12-04T18:30:57.643Z" -> seconds since the epoch."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z", s)
    if not m:
        die("not an RFC 3339 UTC time: %r" % s)
    whole = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return whole + (float("0." + m.group(7)) if m.group(7) else 0.0)


def held_by_orders(root_cnf, pids):
    """{product id: units} that awaiting_payment orders hold (the orders
    database, every order: the catalog's reserved must be exactly this)."""
    out = db_sql(root_cnf, "SELECT i.product_id, SUM(i.quantity) FROM arcade_orders.order_items i "
                           "JOIN arcade_orders.orders o ON o.id = i.order_id WHERE o.status = "
                           "'awaiting_payment' AND i.product_id BETWEEN %d AND %d "
                           "GROUP BY i.product_id" % (min(pids), max(pids)))
    held = {}
    for line in out.splitlines():
        pid, units = line.split()
        held[int(pid)] = int(units)
    return held


def checkout_pids():
    n = knob("ARCADE_BENCH_CHECKOUT_PRODUCTS", 1000)
    if not re.fullmatch(r"[0-9]{1,6}", n) or not 1 <= int(n) <= 100000:
        die("ARCADE_BENCH_CHECKOUT_PRODUCTS must be a number from 1 to 100000")
    # Ids the catalog and cart benchmarks read from time to time only; they
    # exist in the demo catalog of 10,000 (and more) products.
    first = int(knob("ARCADE_BENCH_CHECKOUT_FIRST_ID", 5001))
    return list(range(first, first + int(n)))


def prepare_checkout(base, home):
    """What the checkout needs before the search load: its customers and its
    products' stock (the stock-up is a write stream of its own, and a product
    coming back in stock moves search's generation: done before search warms
    its cache)."""
    key = fleet_env(home)["ARCADE_ADMIN_KEY"]
    pids = checkout_pids()
    clients = int(knob("ARCADE_BENCH_CHECKOUT_CLIENTS", 32))
    t0 = time.monotonic()
    tokens = signed_up_customers(base, clients)
    stocked = stock_up(base, key, pids, int(knob("ARCADE_BENCH_CHECKOUT_STOCK", 1000)))
    print()
    print("checkout: %d customers signed up and logged in, %d of %d products stocked up, "
          "in %.1f s" % (clients, stocked, len(pids), time.monotonic() - t0))
    return {"key": key, "pids": pids, "tokens": tokens}


def bench_checkout(base, home, log_path, prep, search, components):
    """Checkouts for ARCADE_BENCH_CHECKOUT_SECONDS from the prepared customers,
    each order 1 unit of a random product among the prepared ones; with
    search, the search mix (wrk, ARCADE_BENCH_SEARCH_CONNECTIONS) first at
    rest and then while the checkouts run, the same length each. Then the
    orders' timelines (saga latency) and the oversell check."""
    env = fleet_env(home)
    root_cnf = os.path.join(home, "conf", "mariadb-root.cnf")
    pids, key = prep["pids"], prep["key"]
    secs_text = knob("ARCADE_BENCH_CHECKOUT_SECONDS", 20)
    if not re.fullmatch(r"[0-9]{1,4}", secs_text) or int(secs_text) < 1:
        die("ARCADE_BENCH_CHECKOUT_SECONDS must be a number of seconds")
    secs = int(secs_text)
    wrk = Wrk(log_path)
    script = os.path.join(HERE, "search_mix.lua")
    conns = knob("ARCADE_BENCH_SEARCH_CONNECTIONS", 8)
    servers = env["ARCADE_MEMCACHED_SERVERS"]
    search_log = os.path.join(home, "log", "search.log")
    if search:
        search_drained(base)
        t0 = time.time()
        rest = wrk.run(base, script, connections=conns, seconds=secs)
        rest_ms = service_ms(search_log, t0, time.time())
        paths = probe_paths()
        probe(base, servers, paths)  # now each is cached
        probe_rest = probe(base, servers, paths)
    before = inventories(base, key, pids)
    gen0 = search_generation(root_cnf) if search else 0
    cat0 = versions(root_cnf, "arcade_catalog", pids)
    srch0 = versions(root_cnf, "arcade_search", pids) if search else 0
    mc0 = memcached_stats(servers)

    co = Checkouts(base, prep["tokens"], pids)
    result = {}
    s0 = cpu_snapshot(components)
    t_start = time.time()
    if search:
        w = threading.Thread(target=lambda: result.update(
            during=wrk.run(base, script, connections=conns, seconds=secs)))
        w.start()
    co.run(secs)
    t_end = time.time()
    s1 = cpu_snapshot(components)
    if search:
        w.join()
    mc1 = memcached_stats(servers)

    if search:
        during_ms = service_ms(search_log, t_start, t_end)
    tl, pending = timelines(base, co.orders, timeout=300)
    t_settled = max((max(t.values()) for t in tl.values()), default=t_end)
    if search:
        search_drained(base)
        probe_after = probe(base, servers, paths)
    gen1 = search_generation(root_cnf) if search else 0
    cat1 = versions(root_cnf, "arcade_catalog", pids)
    srch1 = versions(root_cnf, "arcade_search", pids) if search else 0
    after = inventories(base, key, pids)
    held = held_by_orders(root_cnf, pids)

    awaiting = [t for t in tl.values() if "awaiting_payment" in t]
    saga_ms = [(t["awaiting_payment"] - t["pending"]) * 1000 for t in awaiting if "pending" in t]
    in_window = sum(1 for t in awaiting if t["awaiting_payment"] <= t_end)
    other = {}
    for t in tl.values():
        if "awaiting_payment" not in t:
            s = "/".join(sorted(t))
            other[s] = other.get(s, 0) + 1
    placed = len(co.orders)
    errors = sum(v for k, v in co.statuses.items() if k != 201)

    print()
    print("checkout: %d clients (one customer each) x %.0f s, 1 unit of a random product of "
          "%d per order, POST /api/v1/orders with no pause" % (len(prep["tokens"]), secs,
                                                               len(pids)))
    print(f"{'':34} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'count':>7}")
    print(f"{'POST /orders answered 201':34} {placed / secs:8.1f} {pct(co.post_ms, .5):8.1f} "
          f"{pct(co.post_ms, .99):8.1f} {placed:7d}")
    print(f"{'saga: POST -> awaiting_payment':34} {in_window / secs:8.1f} "
          f"{pct(saga_ms, .5):8.1f} {pct(saga_ms, .99):8.1f} {len(awaiting):7d}")
    print("  orders/s end to end = awaiting_payment reached within the %.0f s; all %d reached "
          "it %.1f s after the end%s" % (secs, len(awaiting), max(0.0, t_settled - t_end),
                                         "" if not pending else
                                         " (%d still pending after 300 s)" % pending))
    print("  saga latency from the orders' timelines (pending row -> awaiting_payment row, the "
          "database's clock, ms)")
    if errors or other:
        print("  POST answers other than 201: %s; orders not awaiting payment: %s"
              % (", ".join("%s x%d" % (k or "no answer", v) for k, v in
                           sorted(co.statuses.items()) if k != 201) or "none",
                 ", ".join("%s x%d" % kv for kv in sorted(other.items())) or "none"))
    check_oversell(pids, before, after, held)
    print_cpu(s0, s1, t_end - t_start, wrk.cpu_s if search else None)
    hits = mc1.get("get_hits", 0) - mc0.get("get_hits", 0)
    misses = mc1.get("get_misses", 0) - mc0.get("get_misses", 0)
    print("memcached during the checkout (every service's keys): %d gets, %.1f %% hits, "
          "%d evictions (%d of them never fetched), %d expired unfetched"
          % (hits + misses, 100.0 * hits / max(hits + misses, 1),
             mc1.get("evictions", 0) - mc0.get("evictions", 0),
             mc1.get("evicted_unfetched", 0) - mc0.get("evicted_unfetched", 0),
             mc1.get("expired_unfetched", 0) - mc0.get("expired_unfetched", 0)))
    if not search:
        print("search: not in this fleet, no search under checkout")
        return
    print(f"{'':34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
          "  in the worker: p50, p95 ms")
    for name, r, ms in (("search mix at rest", rest, rest_ms),
                        ("search mix during checkout", result["during"], during_ms)):
        rps, p50, p99, _, bad, _, p95 = r[:7]
        print(f"{name + ', ' + conns + ' conn.':34} {rps:8.0f} {p50:8.3f} {p95:8.3f} {p99:8.3f} "
              f"{int(bad):7d}  {pct(ms, .5):.3f}, {pct(ms, .95):.3f}")
    p95 = result["during"][6]
    print("search p95 during checkout: %.3f ms (target <= 20 ms: %s)"
          % (p95, "met" if p95 <= 20 else "NOT met"))
    print("stock changes: %d on the catalog's %d products (versions), %d applied by search; "
          "search's generation moved %d times (cached answers dropped by those only)"
          % (cat1 - cat0, len(pids), srch1 - srch0, gen1 - gen0))
    print("cached answers: %d searches with words asked one at a time on the idle fleet, "
          "memcached hits/misses: %d/%d before the checkouts, %d/%d after them (drained)"
          % (len(paths), probe_rest[0], probe_rest[1], probe_after[0], probe_after[1]))


def check_oversell(pids, before, after, held):
    """Zero oversell: available >= 0, reserved == the units awaiting_payment
    orders hold, on_hand + sold as before (the saga moves neither)."""
    bad = []
    for pid in pids:
        a, b = after[pid], before[pid]
        if a["available"] < 0:
            bad.append("%d: available %d" % (pid, a["available"]))
        if a["reserved"] != held.get(pid, 0):
            bad.append("%d: reserved %d, orders hold %d" % (pid, a["reserved"], held.get(pid, 0)))
        if a["on_hand"] + a["sold"] != b["on_hand"] + b["sold"]:
            bad.append("%d: on_hand + sold %d, was %d" % (pid, a["on_hand"] + a["sold"],
                                                          b["on_hand"] + b["sold"]))
    reserved = sum(after[p]["reserved"] - before[p]["reserved"] for p in pids)
    print("oversell check over %d products: %s (reserved +%d units; available >= 0, reserved "
          "== units held by awaiting_payment orders, on_hand + sold unchanged)"
          % (len(pids), "OK, none" if not bad else "FAILED: " + "; ".join(bad[:10]), reserved))
    if bad:
        die("oversell check failed")


# --- memory ------------------------------------------------------------------

def kib(pid, field, name):
    try:
        with open(f"/proc/{pid}/{name}", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(rows):
    """Resident memory per component: RSS and PSS (proportional: shared pages
    such as libraries and the generation tables are divided among the
    processes that map them). rows: "name|pid pid ..."."""
    print()
    print(f"{'memory after the load':28} {'processes':>9} {'RSS MiB each':>13} "
          f"{'PSS MiB each':>13} {'PSS MiB total':>14}")
    for row in rows:
        name, pids = row.split("|")
        pids = pids.split()
        rss = [kib(p, "VmRSS", "status") for p in pids]
        pss = [kib(p, "Pss", "smaps_rollup") for p in pids]
        n = len(pids)
        print(f"{name:28} {n:9d} {sum(rss) / n / 1024:13.1f} {sum(pss) / n / 1024:13.1f} "
              f"{sum(pss) / 1024:14.1f}")


# --- main --------------------------------------------------------------------

def run(args):
    home = os.path.abspath(args.home)
    base = fleet_env(home)["ARCADE_BASE_URL"].rstrip("/")
    rounds_text = knob("ARCADE_BENCH_ROUNDS", 3)
    if not rounds_text.isdigit():
        die("ARCADE_BENCH_ROUNDS must be a number")
    rounds = int(rounds_text)
    if args.search:
        search_products()  # a bad setting fails now, not after the first benchmarks
    log_path = os.path.join(home, "bench.log")
    open(log_path, "w", encoding="utf-8").close()
    print()
    print("wrk -t%s -c%s -d%ss --latency, %d interleaved rounds (medians), pool size %s, %d CPUs"
          % (knob("ARCADE_BENCH_THREADS", 1), knob("ARCADE_BENCH_CONNECTIONS", 32),
             knob("ARCADE_BENCH_DURATION", 10), rounds, knob("ARCADE_POOL_SIZE", 4),
             len(os.sched_getaffinity(0))))
    wrk = Wrk(log_path)
    if not args.only_checkout:
        bench_targets(base, wrk, rounds)
        email, pw = bench_auth(base, home, log_path)
        bench_cart(base, email, pw, log_path)
    # The checkout's preparation writes stock: before search warms its cache.
    prep = prepare_checkout(base, home)
    if args.search and not args.only_checkout:
        visibility = bench_search(base, home, args.arcade, wrk, rounds)
    elif not args.search:
        print()
        print("search: not in this fleet, skipped")
    bench_checkout(base, home, log_path, prep, args.search, args.component)
    if args.search and not args.only_checkout:
        bench_visibility(*visibility)


def main():
    global PROG
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prog", default=PROG, help="the name errors are reported under")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="every measurement but memory")
    p.add_argument("--home", required=True, help="the bench fleet's ARCADE_HOME")
    p.add_argument("--arcade", required=True, help="the arcade script (for reindex)")
    p.add_argument("--search", action="store_true", help="the fleet runs the search service")
    p.add_argument("--component", action="append", default=[], metavar="NAME|PIDS",
                   help="a component of the fleet whose CPU time the checkout reports")
    p.add_argument("--only-checkout", action="store_true",
                   help="the checkout measurement alone (search must be warm already)")
    p = sub.add_parser("memory", help="RSS and PSS per component")
    p.add_argument("rows", nargs="*", metavar="NAME|PIDS")
    args = parser.parse_args()
    PROG = args.prog
    sys.stdout.reconfigure(line_buffering=True)
    if args.cmd == "run":
        run(args)
    else:
        memory(args.rows)


if __name__ == "__main__":
    main()
