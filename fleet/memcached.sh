# shellcheck shell=bash
# fleet/memcached.sh - The fleet's memcached.
# Sourced by ./arcade: functions only.

# ---------------------------------------------------------------- memcached --

memcached_pid() { pid_running "$RUN/memcached.pid" "$RUN/memcached.pid"; }
start_memcached() {
    local pid
    if pid=$(memcached_pid); then
        say "memcached  already running (pid $pid)"
        return 0
    fi
    port_bindable "$ARCADE_MEMCACHED_PORT" ||
        die "memcached port $ARCADE_MEMCACHED_PORT is taken by another program (edit $FLEET_ENV or down --purge)"
    local as_root=()
    ((IS_ROOT)) && as_root=(-u root)
    rm -f "$RUN/memcached.pid"
    memcached -l 127.0.0.1 -p "$ARCADE_MEMCACHED_PORT" -U 0 -m 64 -c 1024 \
        -P "$RUN/memcached.pid" -d "${as_root[@]}" </dev/null >>"$LOG/memcached.log" 2>&1 9>&- ||
        die "memcached did not start (log: $LOG/memcached.log)"
    local deadline=$((SECONDS + 10))
    until port_busy "$ARCADE_MEMCACHED_PORT" && memcached_pid >/dev/null; do
        ((SECONDS >= deadline)) && die "memcached did not start (log: $LOG/memcached.log)"
        sleep 0.1
    done
    say "memcached  started (pid $(memcached_pid), port $ARCADE_MEMCACHED_PORT)"
}
stop_memcached() {
    local pid
    if pid=$(memcached_pid); then
        terminate 10 "$pid"
        say "memcached  stopped"
    fi
    rm -f "$RUN/memcached.pid"
}
