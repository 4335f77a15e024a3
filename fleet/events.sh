# shellcheck shell=bash
# fleet/events.sh - Events: outbox backlogs, queues, dead letters; the search reindex.
# Sourced by ./arcade: functions only.

# Lines "service rows oldest_ms" of every service whose schema has an outbox
# (events written, not yet published: the relay deletes a row once the broker
# has confirmed it). False when MariaDB does not answer. Read-only: the root
# client file of the last start.
outbox_rows() {
    local cnf=$CONF/mariadb-root.cnf s schemas sql=""
    [[ -r $cnf ]] && mariadb_pid >/dev/null || return 1
    local q=(mariadb --defaults-file="$cnf" --batch --skip-column-names --connect-timeout=2)
    schemas=$("${q[@]}" -e "SELECT table_schema FROM information_schema.tables
        WHERE table_name = 'outbox' AND table_schema LIKE 'arcade\\_%'" 2>/dev/null) || return 1
    for s in $(ARCADE_SERVICES='' db_services); do
        [[ $'\n'$schemas$'\n' == *$'\n'arcade_$s$'\n'* ]] || continue
        sql+="${sql:+ UNION ALL }SELECT '$s', COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND,
            MIN(created_at), UTC_TIMESTAMP(3)) DIV 1000, 0) FROM arcade_$s.outbox"
    done
    [[ -z $sql ]] || "${q[@]}" -e "$sql" 2>/dev/null
}
# One line: "catalog 0 waiting, users 3 waiting (oldest 1.2 s)".
outbox_backlog() {
    local rows s n ms out=""
    rows=$(outbox_rows) || return 1
    while read -r s n ms; do
        [[ -n $s ]] || continue
        out+="${out:+, }$s $n waiting"
        ((n > 0)) && out+=" (oldest $(fmt_ms "$ms"))"
    done <<<"$rows"
    printf '%s\n' "$out"
}
fmt_ms() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# ------------------------------------------------------------------- events --

# arcade events: what waits where - the outbox backlog of every publishing
# service (MariaDB), every queue of the fleet's broker with its depth
# (rabbitmqctl), and the dead letters. `events dead <queue>` lists the dead
# letters of <queue>.dead, `events replay <queue> [--max N]` moves them back to
# <queue>: both through build/bin/arcade-events (shared/tools/arcade-events.c).
cmd_events() {
    local sub=${1:-}
    case $sub in
    "")
        need_home_readonly
        events_overview
        ;;
    dead | replay)
        [[ -n ${2:-} ]] || die "usage: $PROG events $sub <queue> [--max N]"
        shift
        need_home
        events_tool "$sub" "$@"
        ;;
    *) die "usage: $PROG events [dead <queue> [--max N] | replay <queue> [--max N]]" ;;
    esac
}
events_overview() {
    local rows s n ms rc=0 fmt='  %-32s %8s %8s %10s\n'
    say "outbox (events committed, not yet confirmed by the broker)"
    if rows=$(outbox_rows); then
        if [[ -z $rows ]]; then
            say "  no service has an outbox"
        else
            printf '  %-32s %8s  %s\n' SERVICE ROWS OLDEST
            while read -r s n ms; do
                ((n > 0)) && ms=$(fmt_ms "$ms") || ms=-
                printf '  %-32s %8s  %s\n' "$s" "$n" "$ms"
            done <<<"$rows"
        fi
    else
        say "  unknown: MariaDB is not running"
        rc=3
    fi
    say ""
    say "queues (broker 127.0.0.1:${ARCADE_AMQP_PORT:-?})"
    if ! rabbitmq_pid >/dev/null; then
        say "  unknown: rabbitmq is not running"
        return 3
    fi
    local out q ready unacked consumers dead=()
    rabbitmq_env
    out=$(timeout 30 env -i "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmqctl" -q list_queues \
        --no-table-headers name messages_ready messages_unacknowledged consumers \
        </dev/null 2>>"$LOG/rabbitmq.console.log" 9>&-) ||
        die "rabbitmqctl list_queues failed (see $LOG/rabbitmq.console.log)"
    out=$(sort <<<"$out")
    if [[ -z $out ]]; then
        say "  no queues"
    else
        # shellcheck disable=SC2059
        printf "$fmt" QUEUE READY UNACKED CONSUMERS
        while IFS=$'\t' read -r q ready unacked consumers; do
            [[ -n $q ]] || continue
            # shellcheck disable=SC2059
            printf "$fmt" "$q" "$ready" "$unacked" "$consumers"
            [[ $q == *.dead ]] && dead+=("$q $((ready + unacked))")
        done <<<"$out"
    fi
    say ""
    say "dead letters"
    local d total=0
    for d in "${dead[@]}"; do
        read -r q n <<<"$d"
        ((n > 0)) || continue
        total=$((total + n))
        printf '  %-32s %8s   %s events dead %s | %s events replay %s\n' "$q" "$n" \
            "$PROG" "${q%.dead}" "$PROG" "${q%.dead}"
    done
    ((total > 0)) || say "  none"
    return "$rc"
}
events_tool() {
    local bin=$BUILD/bin/arcade-events
    [[ -x $bin ]] || die "$bin is not built ($PROG build)"
    rabbitmq_pid >/dev/null || die "the fleet's RabbitMQ is not running ($PROG svc start rabbitmq)"
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 TZ=UTC ARCADE_AMQP_URL="$ARCADE_AMQP_URL" \
        "$bin" "$@" </dev/null 9>&-
}

# ------------------------------------------------------------------ reindex --

# Rebuilds the search service's read model from the catalog: `arcade-search
# reindex`, with the search service's environment, pages the catalog's
# internal export (ARCADE_CATALOG_URL, through the web server's internal
# listener) and upserts every product (versions decide, so running it while
# the consumer runs is safe). data/search.reindexed records a complete run.
run_reindex() {
    local bin
    is_service search || die "reindex: no search service in this fleet ($MANIFEST, ARCADE_SERVICES)"
    is_service catalog || die "reindex: no catalog service in this fleet ($MANIFEST, ARCADE_SERVICES)"
    bin=$(service_bin search)
    [[ -x $bin ]] || die "$bin is not built ($PROG build)"
    mariadb_pid >/dev/null || die "the fleet's MariaDB is not running ($PROG up)"
    if ! pool_pid catalog >/dev/null || ! lighttpd_pid >/dev/null; then
        die "reindex reads the catalog through the web server: catalog and lighttpd must run ($PROG up)"
    fi
    service_env search
    env -i "${SERVICE_ENV[@]}" "$bin" reindex </dev/null 9>&- ||
        die "reindex failed (log: $LOG/search.log); the read model may be incomplete: run $PROG reindex again"
    : >"$DATA/search.reindexed"
}
# `up` rebuilds the read model when none was ever built in this fleet (a new
# fleet, or search added to an existing one) or when demo data went into a
# schema behind the services' backs since the last rebuild: events keep it
# current otherwise.
maybe_reindex() {
    if ! is_service search || ! is_service catalog || [[ -f $DATA/search.reindexed ]]; then
        return 0
    fi
    say "reindex    rebuilding the search read model from the catalog"
    run_reindex
}
cmd_reindex() {
    (($# == 0)) || die "usage: $PROG reindex"
    need_home
    run_reindex
}
