#!/usr/bin/env python3
"""The measurements of `./arcade bench` (docs/fleet.md, "Benchmark").

Python 3 standard library only. `./arcade bench` (fleet/bench.sh) prepares the
bench fleet (build/bench-fleet: ARCADE_BENCH=1, the floor pool, the static copy
of a product) and then runs

  bench.py run --home HOME --arcade ARCADE [--search]
      wrk in interleaved rounds against the catalog, the FastCGI floor and the
      static file; the authenticated read and the login rate; with --search,
      the search mix over a grown catalog and the time from a catalog write to
      its visibility in search. Raw wrk output goes to HOME/bench.log.
  bench.py memory NAME|PID PID... ...
      RSS and PSS of each component, read from /proc after the load.

The knobs are the ARCADE_BENCH_* variables of docs/fleet.md, read here from the
environment (wrk scripts read ARCADE_BENCH_MAX_ID themselves).
"""

import argparse
import http.client
import json
import os
import random
import re
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

    def run(self, url, script=None, connections=None, env=None):
        """One measured run: [rps, p50_ms, p99_ms, requests, errors, cpu_us_per_req,
        p95_ms] (p95 when the script prints "p95_us: N" in its done(), else 0)."""
        args = self.args(script, connections) + [
            "-d%ss" % knob("ARCADE_BENCH_DURATION", 10), "--latency", url]
        s0 = proc_stat()
        text = self._wrk(args, env)
        s1 = proc_stat()
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        return parse_wrk(text, s0, s1)

    @staticmethod
    def _wrk(args, env):
        full = dict(os.environ)
        full.update(env or {})
        p = subprocess.run(args, env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           text=True, check=False)
        if p.returncode != 0:
            die("%s failed (status %d)" % (" ".join(args), p.returncode))
        return p.stdout


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
    or it holds fewer; then wrk with a mix of queries in rounds, and the time
    from a catalog write to its visibility in search."""
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
    bench_visibility(base, fleet_env(home)["ARCADE_ADMIN_KEY"], lo, n,
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
    bench_targets(base, wrk, rounds)
    email, pw = bench_auth(base, home, log_path)
    bench_cart(base, email, pw, log_path)
    if args.search:
        bench_search(base, home, args.arcade, wrk, rounds)
    else:
        print()
        print("search: not in this fleet, skipped")


def main():
    global PROG
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prog", default=PROG, help="the name errors are reported under")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="every measurement but memory")
    p.add_argument("--home", required=True, help="the bench fleet's ARCADE_HOME")
    p.add_argument("--arcade", required=True, help="the arcade script (for reindex)")
    p.add_argument("--search", action="store_true", help="the fleet runs the search service")
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
