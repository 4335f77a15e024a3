# shellcheck shell=bash
# fleet/pools.sh - FastCGI pools (spawn-fcgi + multiwatch) and daemons (multiwatch).
# Sourced by ./arcade: functions only.

# -------------------------------------------------------------------- pools --

service_bin() { printf '%s\n' "$BUILD/bin/arcade-$1"; }
pool_pid() { pid_running "$RUN/$1.pid" "arcade-$1"; }

# Every process of the pool, orphans included: they all hold the pool's
# listening socket as fd 0 (spawn-fcgi hands it over).
pool_pids() {
    local sock=$RUN/$1.sock inodes f link
    inodes=$(awk -v p="$sock" '$8 == p { printf " socket:[%s] ", $7 }' /proc/net/unix 2>/dev/null)
    [[ -n $inodes ]] || return 0
    for f in /proc/[0-9]*/fd/0; do
        link=$(readlink "$f" 2>/dev/null) || continue
        [[ $inodes == *" $link "* ]] || continue
        f=${f#/proc/}
        alive "${f%%/*}" && printf '%s\n' "${f%%/*}"
    done
    return 0
}
children_of() {
    local f line pid
    for f in /proc/[0-9]*/stat; do
        line=$(cat "$f" 2>/dev/null) || continue
        pid=${f#/proc/}
        pid=${pid%%/*}
        line=${line##*) }
        line=${line#* }
        [[ ${line%% *} == "$1" ]] && alive "$pid" && printf '%s\n' "$pid"
    done
    return 0
}

check_binaries() {
    local s missing=()
    for s in $(services); do
        [[ -x $(service_bin "$s") ]] || missing+=("$(service_bin "$s")")
    done
    if ((${#missing[@]})); then
        die "not built: ${missing[*]} (build with: $PROG up, or cmake --build $BUILD)"
    fi
}

# The environment of service s's processes, into SERVICE_ENV: the documented
# service variables and nothing else from the caller's shell (but sanitizer
# and tuning knobs when set).
service_env() {
    local s=$1 v var
    var=ARCADE_DB_PASSWORD_$(upper "$s")
    SERVICE_ENV=(PATH=/usr/local/bin:/usr/bin:/bin TZ=UTC LANG=C.UTF-8 HOME="$AHOME"
        ARCADE_SERVICE="$s" ARCADE_DB_SOCKET="$ARCADE_DB_SOCKET" ARCADE_DB_HOST=127.0.0.1
        ARCADE_DB_PORT="$ARCADE_DB_PORT" ARCADE_DB_USER="arcade_$s" ARCADE_DB_PASSWORD="${!var:-}"
        ARCADE_DB_NAME="arcade_$s" ARCADE_MEMCACHED_SERVERS="$ARCADE_MEMCACHED_SERVERS"
        ARCADE_ADMIN_KEY="$ARCADE_ADMIN_KEY" ARCADE_LOG_FILE="$LOG/$s.log" ARCADE_RUN_DIR="$RUN"
        ARCADE_USERS_URL="${ARCADE_USERS_URL:-http://127.0.0.1:$ARCADE_INTERNAL_PORT}"
        ARCADE_CATALOG_URL="${ARCADE_CATALOG_URL:-http://127.0.0.1:$ARCADE_INTERNAL_PORT}"
        ARCADE_AMQP_URL="${ARCADE_AMQP_URL:-}")
    for v in ARCADE_LOG_LEVEL ARCADE_CACHE_TIMEOUT_MS ARCADE_LOCAL_CACHE ARCADE_DB_CONNECT_TIMEOUT \
        ARCADE_DB_RW_TIMEOUT ARCADE_SESSION_TTL ARCADE_LOGIN_LOCK_SECONDS \
        ARCADE_PWHASH_CONCURRENCY ARCADE_LOGIN_RATE ARCADE_SIGNUP_RATE ARCADE_ACCOUNT_RATE \
        ARCADE_SESSIONS_MAX ARCADE_RELAY_POLL_MS ARCADE_CATALOG_TIMEOUT_MS \
        ARCADE_CATALOG_BREAKER_FAILURES ARCADE_CATALOG_BREAKER_COOLDOWN_MS ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [[ -n ${!v+x} ]] && SERVICE_ENV+=("$v=${!v}")
    done
    return 0
}

start_pool() {
    local s=$1 pid bin
    bin=$(service_bin "$s")
    if pid=$(pool_pid "$s"); then
        say "$(printf '%-10s' "$s") already running (pid $pid)"
        return 0
    fi
    [[ -x $bin ]] || die "$bin is not built"
    check_socket_path "$RUN/$s.sock"
    local leftovers
    mapfile -t leftovers < <(pool_pids "$s")
    ((${#leftovers[@]})) && terminate 10 "${leftovers[@]}"
    rm -f "$RUN/$s.sock" "$RUN/$s.pid"
    local sock_group=()
    ((IS_ROOT)) && id "$WEB_USER" >/dev/null 2>&1 && sock_group=(-G "$WEB_USER")
    local envs
    service_env "$s"
    envs=("${SERVICE_ENV[@]}")
    # multiwatch: asks workers to stop gracefully (Debian's 1.0 sends QUIT
    # whatever -s says; the accept loop treats TERM, QUIT, HUP, INT and USR1
    # alike: finish the request, then exit); a worker that dies
    # is forked again (a slot whose worker dies 20 times in a row, each within 1 s
    # of its start, is given up: a crash loop).
    env -i "${envs[@]}" spawn-fcgi -s "$RUN/$s.sock" -M 0660 "${sock_group[@]}" \
        -P "$RUN/$s.pid" -- /usr/bin/multiwatch -f "$POOL_SIZE" -s TERM -r 20 -t 1000 -- "$bin" \
        </dev/null >>"$LOG/$s.spawn.log" 2>&1 9>&- ||
        die "spawn-fcgi failed for $s (log: $LOG/$s.spawn.log)"
    local deadline=$((SECONDS + 5))
    until pid=$(pool_pid "$s"); do
        ((SECONDS >= deadline)) && die "pool $s did not start (log: $LOG/$s.spawn.log)"
        sleep 0.1
    done
    say "$(printf '%-10s' "$s") started (multiwatch pid $pid, $POOL_SIZE workers, $RUN/$s.sock)"
}
# stop_supervised label pid_fn pids_fn args...: stops what multiwatch
# ($(pid_fn args)) supervises: TERM to multiwatch, which asks its children to
# stop (Debian's multiwatch 1.0 sends QUIT whatever -s says; workers and
# daemons treat TERM, INT, QUIT and HUP alike: finish the request or event in
# hand, then exit) and exits when they are gone. The children are not
# signalled directly: one dying under multiwatch's feet would be forked again.
# Without multiwatch (killed?) its orphans ($(pids_fn args)) get the TERM.
# SIGKILL to whatever is left after 15 s.
stop_supervised() {
    local label=$1 pid_fn=$2 pids_fn=$3 pid="" pids=() left=() p
    shift 3
    mapfile -t pids < <("$pids_fn" "$@")
    if pid=$("$pid_fn" "$@"); then
        kill -TERM "$pid" 2>/dev/null || true
        [[ " ${pids[*]} " == *" $pid "* ]] || pids+=("$pid")
    else
        for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    fi
    ((${#pids[@]})) || return 0
    if ! wait_gone 15 "${pids[@]}"; then
        for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
        mapfile -t -O "${#left[@]}" left < <("$pids_fn" "$@")
        warn "$label did not stop within 15s: SIGKILL to ${left[*]}"
        for p in "${left[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        wait_gone 5 "${left[@]}" || warn "pids still alive: ${left[*]}"
    fi
    say "$(printf '%-24s' "$label") stopped"
}
stop_pool() {
    stop_supervised "$1" pool_pid pool_pids "$1"
    rm -f "$RUN/$1.pid" "$RUN/$1.sock"
}
# SIGKILLs the oldest child of multiwatch pid $1 ($2 names it in messages) and
# prints its pid, once it is dead and multiwatch has forked its replacement.
kill_child() {
    local pid=$1 what=$2 kids=() f k line start best="" victim="" deadline
    deadline=$((SECONDS + 3))
    # (Between two children a one-process multiwatch has none for a moment.)
    until mapfile -t kids < <(children_of "$pid") && ((${#kids[@]})); do
        ((SECONDS >= deadline)) && die "$what has no process (multiwatch pid $pid)"
        sleep 0.05
    done
    # The oldest: multiwatch gives a slot up after a few quick deaths, so
    # repeated kills should not hit the same young process.
    for k in "${kids[@]}"; do
        line=$(cat "/proc/$k/stat" 2>/dev/null) || continue
        line=${line##*) }
        read -r -a f <<<"$line"
        start=${f[19]} # field 22 (starttime); the array starts at field 3
        if [[ -z $best ]] || ((start < best)); then
            best=$start
            victim=$k
        fi
    done
    [[ -n $victim ]] || die "$what has no process (multiwatch pid $pid)"
    kill -KILL "$victim"
    # Return only once it is dead: until the victim is scheduled it can still
    # complete an accept() in progress and take a request down with it.
    wait_gone 5 "$victim" || die "$what: pid $victim did not die"
    # ... and once multiwatch has forked its replacement (best effort).
    deadline=$((SECONDS + 3))
    while (($(children_of "$pid" | wc -l) < ${#kids[@]} && SECONDS < deadline)); do
        sleep 0.05
    done
    printf '%s\n' "$victim"
}
kill_worker() {
    local pid
    pid=$(pool_pid "$1") || die "pool $1 is not running"
    kill_child "$pid" "pool $1"
}

# ------------------------------------------------------------------ daemons --

# A daemon (daemon:<service> <command> in the manifest: the outbox relay, an
# event consumer) is one process, `arcade-<service> <command>`, supervised like
# a pool's workers but without spawn-fcgi (it serves no socket): multiwatch
# forks it again when it dies. run/<service>-<command>.pid holds multiwatch's
# pid.

# multiwatch's pid, when the pid file names a live multiwatch running
# arcade-<service> <command>.
daemon_pid() { # service command
    local pid
    pid=$(pid_running "$RUN/$1-$2.pid" "/arcade-$1 $2 ") || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == multiwatch ]] || return 1
    printf '%s\n' "$pid"
}
# Every process of the daemon that this fleet started, orphans included (the
# child of a multiwatch that was killed): its command line ends in
# arcade-<service> <command> and its environment names this fleet's run/.
daemon_pids() { # service command
    local f pid args
    for f in /proc/[0-9]*/cmdline; do
        mapfile -d '' -t args 2>/dev/null <"$f" || continue
        ((${#args[@]} >= 2)) || continue
        [[ ${args[-2]} == */arcade-"$1" && ${args[-1]} == "$2" ]] || continue
        pid=${f#/proc/}
        pid=${pid%%/*}
        alive "$pid" || continue
        tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "ARCADE_RUN_DIR=$RUN" || continue
        printf '%s\n' "$pid"
    done
    return 0
}
# Seconds since pid started.
proc_age() {
    local line f up
    line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    line=${line##*) }
    read -r -a f <<<"$line"
    read -r up _ </proc/uptime
    printf '%s\n' $((${up%.*} - f[19] / $(getconf CLK_TCK)))
}

start_daemon() { # service command
    local s=$1 c=$2 name=$1-$2 pid bin leftovers
    bin=$(service_bin "$s")
    if pid=$(daemon_pid "$s" "$c"); then
        say "$(printf '%-24s' "$name") already running (pid $pid)"
        return 0
    fi
    [[ -x $bin ]] || die "$bin is not built"
    mapfile -t leftovers < <(daemon_pids "$s" "$c")
    ((${#leftovers[@]})) && terminate 15 "${leftovers[@]}"
    rm -f "$RUN/$name.pid"
    service_env "$s"
    # The service's own environment (DB user, broker, log file), stdin
    # /dev/null, a session of its own. multiwatch forks the daemon again when
    # it dies; 20 deaths in a row, each within 1 s of its start, is a crash
    # loop: multiwatch gives up and exits (status shows it stopped). Its own
    # messages and the daemon's stdout/stderr go to log/<name>.console.log.
    # (Without job control the background child is no process group leader,
    # so setsid does not fork: $! is multiwatch's pid.)
    setsid env -i "${SERVICE_ENV[@]}" /usr/bin/multiwatch -f 1 -s TERM -r 20 -t 1000 -- "$bin" "$c" \
        </dev/null >>"$LOG/$name.console.log" 2>&1 9>&- &
    printf '%s\n' "$!" >"$RUN/$name.pid"
    local deadline=$((SECONDS + 5))
    until pid=$(daemon_pid "$s" "$c") && [[ -n $(children_of "$pid") ]]; do
        if ((SECONDS >= deadline)); then
            tail -n 10 "$LOG/$name.console.log" >&2 2>/dev/null || true
            die "$name did not start (log: $LOG/$name.console.log)"
        fi
        sleep 0.05
    done
    say "$(printf '%-24s' "$name") started (multiwatch pid $pid, $(basename "$bin") $c)"
    STARTED_DAEMONS+=("$s $c")
}
stop_daemon() { # service command
    stop_supervised "$1-$2" daemon_pid daemon_pids "$1" "$2"
    rm -f "$RUN/$1-$2.pid"
}
# SIGKILLs the daemon's process (not multiwatch) and prints its pid; returns
# once it is dead and multiwatch has forked the next one.
kill_daemon() { # service command
    local pid
    pid=$(daemon_pid "$1" "$2") || die "$1-$2 is not running"
    kill_child "$pid" "$1-$2"
}
daemon_names() { ARCADE_BENCH=1 daemons | tr ' ' '-' | paste -sd ' ' -; }
# Resolves a daemon's name (<service>-<command>) into DAEMON_SVC and
# DAEMON_CMD; false when the fleet has no such daemon.
# shellcheck disable=SC2034 # (the caller's)
find_daemon() {
    local svc cmd
    while read -r svc cmd; do
        if [[ $1 == "$svc-$cmd" ]]; then
            DAEMON_SVC=$svc
            DAEMON_CMD=$cmd
            return 0
        fi
    done < <(ARCADE_BENCH=1 daemons)
    return 1
}

# Waits until every service answers its health check through lighttpd.
wait_healthy() { # [service...]: default every service with a health check
    local s code deadline=$((SECONDS + ${ARCADE_HEALTH_TIMEOUT:-20})) list
    list=${*:-$(db_services)}
    for s in $list; do
        while :; do
            code=$(http_code "$ARCADE_BASE_URL/health/$s" 2)
            [[ $code == 200 ]] && break
            if ((SECONDS >= deadline)); then
                tail -n 20 "$LOG/$s.log" >&2 2>/dev/null || true
                die "$s is not healthy (GET /health/$s: ${code:-no answer}); see $LOG/$s.log"
            fi
            sleep 0.2
        done
    done
}

# Daemons that die at once (a crash loop: multiwatch gives up) fail `up`.
check_started_daemons() { # started_at (now_us)
    ((${#STARTED_DAEMONS[@]})) || return 0
    local d s c rest_us=$(($1 + 500000 - $(now_us)))
    ((rest_us > 0)) && sleep "$(printf '0.%06d' "$rest_us")"
    for d in "${STARTED_DAEMONS[@]}"; do
        read -r s c <<<"$d"
        if ! daemon_pid "$s" "$c" >/dev/null; then
            tail -n 10 "$LOG/$s-$c.console.log" >&2 2>/dev/null || true
            tail -n 5 "$LOG/$s.log" >&2 2>/dev/null || true
            die "$s-$c stopped right after its start (logs: $LOG/$s-$c.console.log, $LOG/$s.log)"
        fi
    done
}
