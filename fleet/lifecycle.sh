# shellcheck shell=bash
# fleet/lifecycle.sh - up, down and svc: starting and stopping the fleet and its parts.
# Sourced by ./arcade: functions only.

# ----------------------------------------------------------------- commands --

cmd_up() {
    local build=1 demo=1 a
    for a in "$@"; do
        case $a in
        --no-build) build=0 ;;
        --no-demo) demo=0 ;;
        *) die "up: unknown option $a" ;;
        esac
    done
    [[ ${ARCADE_DEMO_PRODUCTS:-10000} =~ ^[0-9]{1,7}$ ]] ||
        die "ARCADE_DEMO_PRODUCTS must be a number up to 1000000"
    [[ ${ARCADE_SKIP_DEPS:-0} == 1 ]] || cmd_deps
    ((build)) && cmd_build
    check_binaries
    [[ -n ${ARCADE_HTTP_PORT+x} ]] && export ARCADE_HTTP_PORT_REQUESTED=1
    init_home
    # The broker boots in about 5 s: it starts first and is awaited last.
    launch_rabbitmq
    start_mariadb
    setup_mariadb
    migrate
    ((demo)) && load_demo
    start_memcached
    start_gateway
    local s
    for s in $(services); do start_pool "$s"; done
    start_lighttpd
    wait_healthy
    await_rabbitmq
    # The relays and consumers once the broker answers (they would wait for
    # it, but a daemon that cannot connect early would only fill its log).
    local c started_at
    started_at=$(now_us)
    STARTED_DAEMONS=()
    while read -r s c; do start_daemon "$s" "$c"; done < <(daemons)
    maybe_reindex
    check_started_daemons "$started_at"
    say ""
    say "Arcade fleet is up (home: $AHOME)"
    say "  base URL   $ARCADE_BASE_URL"
    say "  admin key  $ARCADE_ADMIN_KEY"
    say "  try        curl $ARCADE_BASE_URL/api/v1/products/1"
    say "             curl $ARCADE_BASE_URL/health/catalog"
    say "  admin      curl -H 'Authorization: Bearer $ARCADE_ADMIN_KEY' ..."
    say "  settings   $FLEET_ENV"
}

cmd_down() {
    local purge=0 a s
    for a in "$@"; do
        case $a in
        --purge) purge=1 ;;
        *) die "down: unknown option $a" ;;
        esac
    done
    if [[ -d $AHOME ]]; then
        lock_home
        load_env || true
        local c
        while read -r s c; do stop_daemon "$s" "$c"; done < <(ARCADE_BENCH=1 ARCADE_SERVICES='' daemons)
        stop_lighttpd
        stop_apache
        for s in $(ARCADE_BENCH=1 ARCADE_SERVICES='' services); do stop_pool "$s"; done
        stop_gateway
        stop_rabbitmq
        stop_memcached
        stop_mariadb
    fi
    if ((purge)) && [[ -d $AHOME ]]; then
        if [[ ! -f $AHOME/.arcade-home ]]; then
            die "$AHOME does not look like an Arcade home (no .arcade-home): not purged"
        fi
        rm -rf -- "$DATA" "$RUN" "$LOG" "$WEBLOG" "$CONF" "$WEB/www" "$WEB/errors" "$WEB/bench" \
            "$WEB/no-static-files" "$AHOME/bench.log" "$FLEET_ENV" "$AHOME/.fleet.env."*
        [[ $WEB != "$AHOME" ]] && rmdir -- "$WEB" 2>/dev/null
        rm -f -- "$AHOME/.arcade-home" "$AHOME/.lock"
        rmdir -- "$AHOME" 2>/dev/null || warn "$AHOME kept: it holds files that are not the fleet's"
        say "purged $AHOME"
    fi
}

cmd_svc() {
    local action=${1:-} what=${2:-}
    [[ -n $action && -n $what ]] || die "usage: $PROG svc start|stop|restart|freeze|thaw <component> | svc kill-worker <service> | svc kill-daemon <service>-<command>"
    need_home
    case $action in
    kill-worker)
        is_service "$what" || die "unknown service '$what'"
        kill_worker "$what"
        return 0
        ;;
    kill-daemon)
        find_daemon "$what" || die "unknown daemon '$what' (daemons: $(daemon_names))"
        kill_daemon "$DAEMON_SVC" "$DAEMON_CMD"
        return 0
        ;;
    freeze | thaw)
        local pid sig=STOP
        [[ $action == thaw ]] && sig=CONT
        case $what in
        mariadb) pid=$(mariadb_pid) || die "mariadb is not running" ;;
        memcached) pid=$(memcached_pid) || die "memcached is not running" ;;
        rabbitmq) pid=$(rabbitmq_pid) || die "rabbitmq is not running" ;;
        *) die "freeze/thaw: mariadb, memcached or rabbitmq" ;;
        esac
        kill -"$sig" "$pid"
        say "$what: SIG$sig sent to pid $pid"
        return 0
        ;;
    start | stop | restart) ;;
    *) die "svc: unknown action '$action'" ;;
    esac
    local fn
    case $what in
    mariadb | memcached | rabbitmq | lighttpd | apache) fn=$what ;;
    *)
        if find_daemon "$what"; then
            fn=daemon
        else
            is_service "$what" || die "unknown component '$what'"
            fn=pool
        fi
        ;;
    esac
    if [[ $action == stop || $action == restart ]]; then
        case $fn in
        pool) stop_pool "$what" ;;
        daemon) stop_daemon "$DAEMON_SVC" "$DAEMON_CMD" ;;
        *) "stop_$fn" ;;
        esac
    fi
    if [[ $action == start || $action == restart ]]; then
        if [[ $fn == daemon ]]; then
            # shellcheck disable=SC2034 # (start_daemon's)
            STARTED_DAEMONS=()
            start_daemon "$DAEMON_SVC" "$DAEMON_CMD"
        elif [[ $fn == pool ]]; then
            start_pool "$what"
            # lighttpd keeps a backend it found dead disabled for a moment:
            # return once requests reach the pool again.
            if lighttpd_pid >/dev/null && [[ $'\n'$(db_services)$'\n' == *$'\n'$what$'\n'* ]]; then
                wait_healthy "$what"
            fi
        else
            "start_$fn"
            [[ $fn == mariadb ]] && setup_mariadb
        fi
    fi
    return 0
}
