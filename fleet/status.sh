# shellcheck shell=bash
# fleet/status.sh - status and logs.
# Sourced by ./arcade: functions only.

cmd_status() {
    need_home_readonly
    local s pid kids rc=0 code where
    printf '%-24s %-8s %-8s %-44s %s\n' COMPONENT STATE PID WHERE HEALTH
    row() { printf '%-24s %-8s %-8s %-44s %s\n' "$@"; }
    if pid=$(mariadb_pid); then
        row mariadb running "$pid" "127.0.0.1:$ARCADE_DB_PORT $ARCADE_DB_SOCKET" \
            "$(mariadb-admin --defaults-file="$CONF/mariadb-root.cnf" --connect-timeout=2 ping >/dev/null 2>&1 && echo ok || echo 'not answering')"
    else
        row mariadb stopped - "127.0.0.1:$ARCADE_DB_PORT" -
        rc=3
    fi
    if pid=$(memcached_pid); then
        row memcached running "$pid" "127.0.0.1:$ARCADE_MEMCACHED_PORT" "$(port_busy "$ARCADE_MEMCACHED_PORT" && echo ok || echo 'not answering')"
    else
        row memcached stopped - "127.0.0.1:$ARCADE_MEMCACHED_PORT" -
        rc=3
    fi
    if pid=$(rabbitmq_pid); then
        row rabbitmq running "$pid" "127.0.0.1:$ARCADE_AMQP_PORT (epmd $ARCADE_EPMD_PORT)" \
            "$(amqp_answers "$ARCADE_AMQP_PORT" 3 && echo ok || echo 'not answering')"
    else
        row rabbitmq stopped - "127.0.0.1:${ARCADE_AMQP_PORT:-?}" -
        rc=3
    fi
    if pid=$(gateway_pid); then
        row gateway running "$pid" "$ARCADE_GATEWAY_URL" \
            "$([[ $(http_code "$ARCADE_GATEWAY_URL/v1/balance") == 401 ]] && echo ok || echo 'not answering')"
    else
        row gateway stopped - "${ARCADE_GATEWAY_URL:-?}" -
        rc=3
    fi
    local web=""
    if pid=$(lighttpd_pid); then
        web=$ARCADE_BASE_URL
        row lighttpd running "$pid" "$ARCADE_BASE_URL" ok
    else
        row lighttpd stopped - "$ARCADE_BASE_URL" -
        rc=3
    fi
    # The internal listener: an internal route answers there (401 without a
    # credential) and is absent on the public port (404).
    if [[ -n ${ARCADE_INTERNAL_PORT:-} ]]; then
        local iurl=http://127.0.0.1:$ARCADE_INTERNAL_PORT probe="" icode pcode
        probe=$(internal_routes | awk 'NR == 1 { print $2 }')
        if [[ -z $web ]]; then
            row internal stopped - "$iurl" -
        elif [[ -z $probe ]]; then
            row internal running "$(lighttpd_pid)" "$iurl" "no internal routes"
        else
            icode=$(http_code "$iurl$probe/current" 3)
            pcode=$(http_code "$web$probe/current" 3)
            if [[ $icode == 401 && $pcode == 404 ]]; then
                row internal running "$(lighttpd_pid)" "$iurl" "ok ($probe: 401 here, 404 public)"
            else
                row internal running "$(lighttpd_pid)" "$iurl" "wrong ($probe: ${icode:-none} here, ${pcode:-none} public)"
                rc=1
            fi
        fi
    fi
    if [[ -n ${ARCADE_APACHE_PORT:-} ]]; then
        if pid=$(apache_pid); then
            row apache running "$pid" "http://127.0.0.1:$ARCADE_APACHE_PORT" ok
            [[ -n $web ]] || web=http://127.0.0.1:$ARCADE_APACHE_PORT
        else
            row apache stopped - "http://127.0.0.1:$ARCADE_APACHE_PORT" -
        fi
    fi
    local known
    known=$(db_services)
    for s in $(ARCADE_BENCH=1 services); do
        if pid=$(pool_pid "$s"); then
            mapfile -t kids < <(children_of "$pid")
            where="$RUN/$s.sock (${#kids[@]} workers)"
            code=-
            if [[ -n $web && $'\n'$known$'\n' == *$'\n'$s$'\n'* ]]; then
                code=$(http_code "$web/health/$s" 3)
                if [[ $code == 200 ]]; then
                    code="ok (200)"
                else
                    code="unhealthy (${code:-no answer})"
                    rc=1
                fi
            fi
            row "$s" running "$pid" "$where" "$code"
        elif [[ $'\n'$known$'\n' == *$'\n'$s$'\n'* ]]; then
            row "$s" stopped - "$RUN/$s.sock" -
            rc=3
        fi
    done
    # Daemons: multiwatch's pid; healthy while its child runs (its age shows
    # a daemon that keeps dying).
    local c child age
    while read -r s c; do
        if pid=$(daemon_pid "$s" "$c"); then
            child=$(children_of "$pid" | head -n 1)
            if [[ -n $child ]] && age=$(proc_age "$child"); then
                row "$s-$c" running "$pid" "arcade-$s $c (pid $child)" "ok (up ${age}s)"
            else
                row "$s-$c" running "$pid" "arcade-$s $c" "no process (restarting?)"
                rc=1
            fi
        else
            row "$s-$c" stopped - "arcade-$s $c" -
            rc=3
        fi
    done < <(daemons)
    say ""
    local backlog
    if backlog=$(outbox_backlog); then
        say "outbox     ${backlog:-no service has an outbox}"
    fi
    say "base URL   $ARCADE_BASE_URL"
    # What the services call each other at (ARCADE_USERS_URL, ARCADE_CATALOG_URL):
    # the internal listener on one machine, each its own host once they are apart.
    say "internal   catalog ${ARCADE_CATALOG_URL:-}, users ${ARCADE_USERS_URL:-}"
    say "admin key  $ARCADE_ADMIN_KEY"
    say "home       $AHOME"
    return "$rc"
}

cmd_logs() {
    local files=() what=${1:-}
    [[ -d $LOG ]] || die "no logs in $LOG"
    case $what in
    "") mapfile -t files < <(find "$LOG" "$WEBLOG" -maxdepth 1 -type f \( -name '*.log' -o -name '*.err' \) | sort -u) ;;
    mariadb) files=("$LOG/mariadb.err") ;;
    memcached) files=("$LOG/memcached.log") ;;
    rabbitmq) files=("$LOG/rabbitmq.log" "$LOG/rabbitmq.console.log") ;;
    lighttpd) files=("$WEBLOG/lighttpd.error.log") && [[ -f $WEBLOG/lighttpd.access.log ]] && files+=("$WEBLOG/lighttpd.access.log") ;;
    apache) files=("$WEBLOG/apache.error.log") ;;
    *)
        if find_daemon "$what"; then
            # The daemon logs into its service's log, next to the pool.
            files=("$LOG/$DAEMON_SVC.log" "$LOG/$what.console.log")
        else
            is_service "$what" || die "logs: unknown component '$what'"
            files=("$LOG/$what.log")
            [[ -f $LOG/$what.spawn.log ]] && files+=("$LOG/$what.spawn.log")
            local f
            for f in "$LOG/$what"-*.console.log; do [[ -f $f ]] && files+=("$f"); done
        fi
        ;;
    esac
    local f existing=()
    for f in "${files[@]}"; do [[ -f $f ]] && existing+=("$f"); done
    ((${#existing[@]})) || die "no log yet: ${files[*]}"
    files=("${existing[@]}")
    if [[ -t 1 ]]; then
        exec tail -n "${ARCADE_LOG_LINES:-50}" -F "${files[@]}"
    else
        tail -n "${ARCADE_LOG_LINES:-50}" "${files[@]}"
    fi
}
