# shellcheck shell=bash
# fleet/bench.sh - bench: a fleet of its own, measured with wrk.
# Sourced by ./arcade: functions only.

# ------------------------------------------------------------------- bench --

# wrk_run url [script]: prints "rps p50_ms p99_ms requests errors cpu_us_per_req p95_ms"
# (p95 when the script prints "p95_us: N" in its done(), else 0)
wrk_args() { # url [script]: the shared wrk options and the script, into WRK_ARGS
    WRK_ARGS=(-t"${ARCADE_BENCH_THREADS:-1}" -c"${ARCADE_BENCH_CONNECTIONS:-32}")
    [[ -n ${2:-} ]] && WRK_ARGS+=(-s "$2")
    [[ -n ${BENCH_TOKEN:-} ]] && WRK_ARGS+=(-H "Authorization: Bearer $BENCH_TOKEN")
    return 0
}
wrk_warm() { # url [script]
    wrk_args "$@"
    wrk "${WRK_ARGS[@]}" -d"${ARCADE_BENCH_WARMUP:-3}s" "$1" >/dev/null
}
wrk_run() {
    local url=$1 out s0 s1
    wrk_args "$@"
    s0=$(head -n1 /proc/stat)
    out=$(wrk "${WRK_ARGS[@]}" -d"${ARCADE_BENCH_DURATION:-10}s" --latency "$url")
    s1=$(head -n1 /proc/stat)
    printf '%s\n' "$out" >>"$BENCH_LOG"
    WRK_OUT=$out python3 - "$s0" "$s1" "$(getconf CLK_TCK)" <<'PY'
import os, re, sys
s0, s1, hz = sys.argv[1].split()[1:], sys.argv[2].split()[1:], int(sys.argv[3])
text = os.environ["WRK_OUT"]
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
cpu_us = (busy(s1) - busy(s0)) * 1e6 / hz / max(reqs, 1)
m = re.search(r"^p95_us: (\d+)$", text, re.M)
p95 = int(m.group(1)) / 1000 if m else 0
print("%.0f %.3f %.3f %d %d %.1f %.3f" % (rps, lat.get("50", 0), lat.get("99", 0), reqs, bad, cpu_us,
                                          p95))
PY
}

cmd_bench() {
    command -v wrk >/dev/null || die "wrk is not installed ($PROG deps)"
    cmd_build
    local home=$BUILD/bench-fleet
    # shellcheck disable=SC2064
    trap "ARCADE_HOME='$home' ARCADE_BUILD_DIR='$BUILD' '$REPO/arcade' down >/dev/null || true" EXIT
    ARCADE_HOME=$home ARCADE_BUILD_DIR=$BUILD ARCADE_HTTP_PORT=auto ARCADE_BENCH=1 \
        ARCADE_SKIP_DEPS=1 "$REPO/arcade" up --no-build
    set_home "$home"
    load_env
    local base=$ARCADE_BASE_URL max=${ARCADE_DEMO_PRODUCTS:-10000}
    mkdir -p "$WEB/bench/static"
    chmod 755 "$WEB/bench" "$WEB/bench/static"
    curl -fsS "$base/api/v1/products/1" -o "$WEB/bench/static/product.json" ||
        die "GET /api/v1/products/1 failed: no demo data?"
    chmod 644 "$WEB/bench/static/product.json"
    [[ $(http_code "$base/bench/static/product.json") == 200 ]] || die "static file not served"
    [[ $(http_code "$base/bench/floor") == 200 ]] || die "floor pool not answering"
    BENCH_LOG=$home/bench.log
    : >"$BENCH_LOG"
    say ""
    local rounds=${ARCADE_BENCH_ROUNDS:-3}
    say "wrk -t${ARCADE_BENCH_THREADS:-1} -c${ARCADE_BENCH_CONNECTIONS:-32} -d${ARCADE_BENCH_DURATION:-10}s --latency, $rounds interleaved rounds (medians), pool size $POOL_SIZE, $(nproc) CPUs"
    # Hot cache: every worker has to have seen every id once (its local
    # document cache); random ids over 4 workers need about 15 s for that.
    ARCADE_BENCH_MAX_ID=$max ARCADE_BENCH_WARMUP=${ARCADE_BENCH_CATALOG_WARMUP:-15} \
        wrk_warm "$base" "$REPO/tests/bench/random_product.lua"
    wrk_warm "$base/bench/floor/product"
    wrk_warm "$base/bench/static/product.json"
    local real=() floor=() static=() i
    for ((i = 0; i < rounds; i++)); do
        real+=("$(ARCADE_BENCH_MAX_ID=$max wrk_run "$base" "$REPO/tests/bench/random_product.lua")")
        floor+=("$(wrk_run "$base/bench/floor/product")")
        static+=("$(wrk_run "$base/bench/static/product.json")")
    done
    python3 - "$(printf '%s;' "${real[@]}")" "$(printf '%s;' "${floor[@]}")" \
        "$(printf '%s;' "${static[@]}")" <<'EOF'
import statistics, sys
names = ["catalog GET /products/{id}", "FastCGI floor", "static file (lighttpd)"]
def median_row(arg):
    runs = [list(map(float, r.split())) for r in arg.split(";") if r.strip()]
    return [statistics.median(col) for col in zip(*runs)], [r[0] for r in runs]
rows = [median_row(a) for a in sys.argv[1:4]]
print(f"{'':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>7}  req/s per round")
for name, (m, each) in zip(names, rows):
    rps, p50, p99, reqs, bad, cpu = m[:6]
    print(f"{name:28} {rps:9.0f} {p50:8.3f} {p99:8.3f} {cpu:11.1f} {int(bad):7d}  "
          + " ".join(f"{x:.0f}" for x in each))
real, floor, static = (r[0][0] for r in rows)
p99 = rows[0][0][2]
print()
print(f"real/floor   {real / floor:.2f}   (target >= 0.80: {'met' if real >= 0.8 * floor else 'NOT met'})")
print(f"floor/static {floor / static:.2f}")
print(f"catalog p99  {p99:.3f} ms (target < 3 ms: {'met' if p99 < 3 else 'NOT met'})")
print("CPU per request: busy jiffies of the whole machine (wrk included) / requests")
EOF
    bench_auth "$base"
    bench_search "$base"
    bench_memory
    say "raw wrk output: $BENCH_LOG"
}

# The search service over ARCADE_BENCH_SEARCH_PRODUCTS (100,000) products: the
# bench catalog is grown to that size (the demo generator sql/catalog/demo.sql
# again, behind the catalog's API) and the read model rebuilt when rows were added or it
# holds fewer; then wrk with a mix of queries (tests/bench/search_mix.lua) in
# rounds, and the time from a catalog write to its visibility in search.
bench_search() {
    local base=$1 n=${ARCADE_BENCH_SEARCH_PRODUCTS:-100000} added total
    if ! is_service search; then
        say ""
        say "search: not in this fleet, skipped"
        return 0
    fi
    if [[ ! $n =~ ^[0-9]{1,7}$ ]] || ((n < 1 || n > 1000000)); then
        die "ARCADE_BENCH_SEARCH_PRODUCTS must be a number from 1 to 1000000"
    fi
    say ""
    # (SOURCE is a client command: it must start a line.)
    added=$(mariadb --defaults-file="$(svc_cnf catalog)" --batch --skip-column-names \
        -e "SET @demo_products=$n;
SOURCE $REPO/sql/catalog/demo.sql
SELECT ROW_COUNT();") || die "growing the bench catalog failed"
    total=$(search_total "$base")
    if ((added > 0 || total < n)); then
        say "search: $added products added to the catalog ($n); rebuilding the read model"
        run_reindex
        total=$(search_total "$base")
    fi
    ((total >= n)) || die "search finds $total products, not $n (see $LOG/search.log)"
    local script=$REPO/tests/bench/search_mix.lua runs=() i
    # Steady state: the mix repeats about a thousand distinct searches with
    # words, each 20-80 ms of full-text search the first time and then answered
    # from memcached until a change moves the read model's generation; the
    # warm-up lets every one of them be asked once (docs/search-api.md has the
    # cold figures).
    ARCADE_BENCH_WARMUP=${ARCADE_BENCH_SEARCH_WARMUP:-45} wrk_warm "$base" "$script"
    # Two loads, interleaved: saturation (the connections of every other
    # target: latency there is mostly queueing, connections / throughput) and
    # a moderate one (ARCADE_BENCH_SEARCH_CONNECTIONS, 8).
    local light=${ARCADE_BENCH_SEARCH_CONNECTIONS:-8} lruns=()
    for ((i = 0; i < ${ARCADE_BENCH_ROUNDS:-3}; i++)); do
        runs+=("$(wrk_run "$base" "$script")")
        lruns+=("$(ARCADE_BENCH_CONNECTIONS=$light wrk_run "$base" "$script")")
    done
    python3 - "$total" "${ARCADE_BENCH_CONNECTIONS:-32}" "$light" "$(printf '%s;' "${runs[@]}")" \
        "$(printf '%s;' "${lruns[@]}")" <<'PY'
import statistics, sys
total, conns = int(sys.argv[1]), sys.argv[2:4]
print(f"{'':28} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>7}  req/s per round")
verdicts = []
for c, arg in zip(conns, sys.argv[4:6]):
    runs = [list(map(float, r.split())) for r in arg.split(";") if r.strip()]
    rps, p50, p99, reqs, bad, cpu, p95 = (statistics.median(col) for col in zip(*runs))
    name = f"search mix, {c} connections"
    print(f"{name:28} {rps:9.0f} {p50:8.3f} {p95:8.3f} {p99:8.3f} {cpu:11.1f} {int(bad):7d}  "
          + " ".join(f"{r[0]:.0f}" for r in runs))
    verdicts.append(f"{p95:.3f} ms with {c} connections ({'met' if p95 < 20 else 'NOT met'})")
print(f"search p95   over {total} products, target < 20 ms: " + "; ".join(verdicts))
PY
    bench_visibility "$base" "$n"
}
# Active products the search service finds with no query.
search_total() {
    curl -fsS --max-time 10 "$1/api/v1/search?per_page=1" |
        python3 -c 'import json, sys; print(int(json.load(sys.stdin)["total"]))' ||
        die "GET /api/v1/search failed"
}
# From a catalog write (PATCH of a product's name to a new word, timed from its
# answer: committed) until GET /api/v1/search?q=<word> finds it, polled every 2
# ms, for ARCADE_BENCH_VISIBILITY_WRITES (200) writes one at a time on an
# otherwise idle fleet: median, p99, max.
bench_visibility() {
    local base=$1 n=$2 lo=1
    ((n > 10000)) && lo=10001 # products the catalog benchmark does not read
    python3 - "$base" "$ARCADE_ADMIN_KEY" "$lo" "$n" "${ARCADE_BENCH_VISIBILITY_WRITES:-200}" <<'PY'
import http.client, json, random, string, sys, time, urllib.parse
base, key, lo, hi, writes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
u = urllib.parse.urlsplit(base)
w = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
r = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
hdrs = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
lat, missed = [], 0
for _ in range(writes):
    pid = random.randint(lo, hi)
    word = "vis" + "".join(random.choice(string.ascii_lowercase) for _ in range(12))
    w.request("PATCH", "/api/v1/products/%d" % pid, body=json.dumps({"name": "Bench " + word}),
              headers=hdrs)
    resp = w.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit("PATCH /api/v1/products/%d: %d" % (pid, resp.status))
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
    sys.exit("no write became visible in search within 10 s")
ms = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
print("catalog write -> visible in search: median %.0f ms, p99 %.0f ms, max %.0f ms over %d writes"
      "%s (target: within 1 s: %s)" % (ms(0.5), ms(0.99), lat[-1] * 1000, len(lat),
      ", %d not visible within 10 s" % missed if missed else "",
      "met" if missed == 0 and lat[-1] < 1 else "NOT met"))
PY
}

# Resident memory of the bench fleet after the load: per component, RSS and PSS
# (proportional: shared pages such as libraries and the generation tables are
# divided among the processes that map them), from /proc.
bench_memory() {
    local rows=() s p pids
    for s in $(services) floor; do
        p=$(pool_pid "$s") || continue
        mapfile -t pids < <(children_of "$p")
        ((${#pids[@]})) && rows+=("$s workers|${pids[*]}")
    done
    local c
    while read -r s c; do
        p=$(daemon_pid "$s" "$c") || continue
        mapfile -t pids < <(children_of "$p")
        ((${#pids[@]})) && rows+=("$s-$c|${pids[*]}")
    done < <(daemons)
    p=$(lighttpd_pid) && rows+=("lighttpd|$p")
    p=$(memcached_pid) && rows+=("memcached|$p")
    p=$(mariadb_pid) && rows+=("mariadb|$p")
    p=$(rabbitmq_pid) && rows+=("rabbitmq|$p")
    say ""
    python3 - "${rows[@]}" <<'EOF'
import sys
def kib(pid, field, name):
    try:
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
print(f"{'memory after the load':28} {'processes':>9} {'RSS MiB each':>13} {'PSS MiB each':>13} {'PSS MiB total':>14}")
for row in sys.argv[1:]:
    name, pids = row.split("|")
    pids = pids.split()
    rss = [kib(p, "VmRSS", "status") for p in pids]
    pss = [kib(p, "Pss", "smaps_rollup") for p in pids]
    n = len(pids)
    print(f"{name:28} {n:9d} {sum(rss) / n / 1024:13.1f} {sum(pss) / n / 1024:13.1f} {sum(pss) / 1024:14.1f}")
EOF
}

# MariaDB's global count of statements received (bench fleet, as root over the socket).
db_questions() { sql_root -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{ print $2 }'; }

# The authenticated read (GET /api/v1/users/me with a customer's session; warm,
# the session is in memcached) and the login rate Argon2id allows.
bench_auth() {
    local base=$1 email pw body token
    # shellcheck disable=SC2034 # (root_cnf's)
    CONF=$AHOME/conf
    email="bench-$(random_hex 6)@example.com"
    pw="bench-$(random_hex 12)"
    body=$(printf '{"email":"%s","password":"%s","name":"Bench"}' "$email" "$pw")
    curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$body" "$base/api/v1/users" ||
        die "POST /api/v1/users failed"
    body=$(printf '{"email":"%s","password":"%s"}' "$email" "$pw")
    token=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$base/api/v1/sessions" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') ||
        die "POST /api/v1/sessions failed"
    [[ $(BENCH_TOKEN=$token http_code_auth "$base/api/v1/users/me") == 200 ]] ||
        die "GET /api/v1/users/me with the new session failed"
    local q0 q1 q2 cost run rps p50 p99 reqs bad cpu
    BENCH_TOKEN=$token wrk_warm "$base/api/v1/users/me"
    # What measuring costs: two reads in a row.
    q0=$(db_questions)
    q1=$(db_questions)
    cost=$((q1 - q0))
    q0=$(db_questions)
    run=$(BENCH_TOKEN=$token wrk_run "$base/api/v1/users/me")
    q1=$(db_questions)
    read -r rps p50 p99 reqs bad cpu _ <<<"$run"
    q2=$((q1 - q0 - cost))
    ((q2 < 0)) && q2=0
    say ""
    printf '%-28s %9s %8s %8s %11s %7s\n' "" req/s "p50 ms" "p99 ms" "CPU us/req" errors
    printf '%-28s %9s %8s %8s %11s %7s\n' "users GET /users/me (auth)" "$rps" "$p50" "$p99" "$cpu" "$bad"
    python3 -c 'import sys; q, n = int(sys.argv[1]), int(sys.argv[2]); print("DB queries per warm authenticated request: %.3f (target 0; %d queries / %d requests)" % (q / max(n, 1), q, n))' "$q2" "$reqs"
    # Logins: each verifies an Argon2id hash; as many clients as the service
    # hashes at once, for a few seconds.
    local par=${ARCADE_PWHASH_CONCURRENCY:-2} # the users service's default
    python3 - "$base/api/v1/sessions" "$email" "$pw" "$par" "${ARCADE_BENCH_LOGIN_SECONDS:-5}" <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
url, email, pw, par, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
body = json.dumps({"email": email, "password": pw}).encode()
counts = {"ok": 0, "other": 0}
lat = []
lock = threading.Lock()
end = time.monotonic() + secs
def worker():
    while time.monotonic() < end:
        t0 = time.monotonic()
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
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
ts = [threading.Thread(target=worker) for _ in range(par)]
for t in ts: t.start()
for t in ts: t.join()
elapsed = time.monotonic() - start
lat.sort()
p50 = lat[len(lat) // 2] * 1000 if lat else 0
print("logins (POST /sessions, Argon2id verify): %.1f logins/s with %d concurrent clients, p50 %.0f ms, %d failed"
      % (counts["ok"] / elapsed, par, p50, counts["other"]))
PY
}
http_code_auth() { # url: status of a GET with $BENCH_TOKEN
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $BENCH_TOKEN" "$1" 2>/dev/null || true
}
