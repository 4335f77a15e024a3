# shellcheck shell=bash
# fleet/bench.sh - bench: a fleet of its own, measured with wrk.
# Sourced by ./arcade: functions only.

# ------------------------------------------------------------------- bench --

# A fleet of its own in build/bench-fleet (ARCADE_BENCH=1: the floor pool and
# the static route), prepared here; tests/bench/bench.py measures it
# (docs/fleet.md, "Benchmark") and reads the ARCADE_BENCH_* variables itself.
cmd_bench() {
    command -v wrk >/dev/null || die "wrk is not installed ($PROG deps)"
    cmd_build
    local home=$BUILD/bench-fleet
    # shellcheck disable=SC2064
    trap "ARCADE_HOME='$home' ARCADE_BUILD_DIR='$BUILD' '$REPO/arcade' down >/dev/null || true" EXIT
    # The login measurement sends far more than a client address may
    # (ARCADE_LOGIN_RATE), and the checkout signs up a customer per client
    # (ARCADE_SIGNUP_RATE).
    ARCADE_HOME=$home ARCADE_BUILD_DIR=$BUILD ARCADE_HTTP_PORT=auto ARCADE_BENCH=1 \
        ARCADE_LOGIN_RATE=${ARCADE_LOGIN_RATE:-1000000} \
        ARCADE_SIGNUP_RATE=${ARCADE_SIGNUP_RATE:-1000000} ARCADE_SKIP_DEPS=1 \
        "$REPO/arcade" up --no-build
    set_home "$home"
    load_env
    local base=$ARCADE_BASE_URL search=()
    mkdir -p "$WEB/bench/static"
    chmod 755 "$WEB/bench" "$WEB/bench/static"
    curl -fsS "$base/api/v1/products/1" -o "$WEB/bench/static/product.json" ||
        die "GET /api/v1/products/1 failed: no demo data?"
    chmod 644 "$WEB/bench/static/product.json"
    [[ $(http_code "$base/bench/static/product.json") == 200 ]] || die "static file not served"
    [[ $(http_code "$base/bench/floor") == 200 ]] || die "floor pool not answering"
    # What bench.py reads the database with: root's client file (the users
    # service's statement counters) and the catalog's (growing the catalog for search).
    root_cnf >/dev/null
    svc_cnf catalog >/dev/null
    is_service search && search=(--search)
    local rows=() row components=()
    mapfile -t rows < <(bench_components)
    for row in "${rows[@]}"; do components+=(--component "$row"); done
    ARCADE_BUILD_DIR=$BUILD python3 "$REPO/tests/bench/bench.py" --prog "$PROG" run \
        --home "$AHOME" --arcade "$REPO/arcade" "${search[@]}" "${components[@]}"
    mapfile -t rows < <(bench_components)
    python3 "$REPO/tests/bench/bench.py" --prog "$PROG" memory "${rows[@]}"
    say "raw wrk output: $AHOME/bench.log"
}

# The bench fleet's components, one "name|pid pid ..." line each (the
# processes of each: a pool's workers, a daemon's process, a server): bench.py
# reads their CPU time during the checkout and, after the load, their
# resident memory from /proc.
bench_components() {
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
    printf '%s\n' "${rows[@]}"
}
