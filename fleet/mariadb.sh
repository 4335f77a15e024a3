# shellcheck shell=bash
# fleet/mariadb.sh - The fleet's MariaDB: server, schemas and users, migrations, demo data.
# Sourced by ./arcade: functions only.

# ------------------------------------------------------------------ mariadb --

mariadb_pid() { pid_running "$RUN/mariadb.pid" "--datadir=$DATA/mariadb"; }
root_cnf() {
    local f=$CONF/mariadb-root.cnf
    printf '[client]\nuser=root\npassword=%s\nsocket=%s\n' \
        "$ARCADE_DB_ROOT_PASSWORD" "$ARCADE_DB_SOCKET" >"$f.tmp"
    chmod 600 "$f.tmp" && mv -f "$f.tmp" "$f"
    printf '%s\n' "$f"
}
svc_cnf() { # service: a client defaults file for the service's own user
    local s=$1 var f=$CONF/mariadb-$1.cnf
    var=ARCADE_DB_PASSWORD_$(upper "$s")
    printf '[client]\nuser=arcade_%s\npassword=%s\nsocket=%s\ndatabase=arcade_%s\n' \
        "$s" "${!var}" "$ARCADE_DB_SOCKET" "$s" >"$f.tmp"
    chmod 600 "$f.tmp" && mv -f "$f.tmp" "$f"
    printf '%s\n' "$f"
}
sql_root() { mariadb --defaults-file="$(root_cnf)" --batch --skip-column-names "$@"; }


start_mariadb() {
    local pid
    if pid=$(mariadb_pid); then
        say "mariadb    already running (pid $pid)"
        return 0
    fi
    check_socket_path "$ARCADE_DB_SOCKET"
    if [[ ! -d $DATA/mariadb/mysql ]]; then
        say "mariadb    initialising $DATA/mariadb"
        mkdir -p "$DATA/mariadb"
        mariadb-install-db --no-defaults --datadir="$DATA/mariadb" --user="$ME" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$LOG/mariadb-install.log" 2>&1 9>&- ||
            die "mariadb-install-db failed, see $LOG/mariadb-install.log"
    fi
    port_bindable "$ARCADE_DB_PORT" ||
        die "MariaDB port $ARCADE_DB_PORT is taken by another program (edit $FLEET_ENV or down --purge)"
    rm -f "$RUN/mariadb.pid" "$ARCADE_DB_SOCKET"
    setsid mariadbd --no-defaults --datadir="$DATA/mariadb" --socket="$ARCADE_DB_SOCKET" \
        --port="$ARCADE_DB_PORT" --bind-address=127.0.0.1 --pid-file="$RUN/mariadb.pid" \
        --log-error="$LOG/mariadb.err" --user="$ME" --skip-name-resolve \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-buffer-pool-size=128M --innodb-log-file-size=48M \
        --innodb-flush-log-at-trx-commit=2 --max-connections=300 --local-infile=0 \
        --skip-symbolic-links --tmpdir="$DATA" \
        </dev/null >>"$LOG/mariadb.err" 2>&1 9>&- &
    local launched=$! deadline=$((SECONDS + 60))
    # ping answers 0 even when the password is refused (before the first setup).
    until mariadb-admin --defaults-file="$(root_cnf)" --connect-timeout=1 ping >/dev/null 2>&1; do
        if ! alive "$launched" || ((SECONDS >= deadline)); then
            tail -n 20 "$LOG/mariadb.err" >&2 || true
            die "mariadb did not start (log: $LOG/mariadb.err)"
        fi
        sleep 0.2
    done
    say "mariadb    started (pid $(cat "$RUN/mariadb.pid" 2>/dev/null || echo "$launched"), port $ARCADE_DB_PORT)"
}

# Root password (first start), one schema and one user per service.
setup_mariadb() {
    if ! sql_root -e 'SELECT 1' >/dev/null 2>&1; then
        # First start: root has no password yet.
        mariadb --no-defaults --socket="$ARCADE_DB_SOCKET" -u root --batch -e \
            "ALTER USER 'root'@'localhost' IDENTIFIED BY '$ARCADE_DB_ROOT_PASSWORD';" \
            2>"$LOG/mariadb-setup.log" ||
            die "cannot log in to MariaDB as root (see $LOG/mariadb-setup.log; $PROG down --purge starts afresh)"
    fi
    # mariadb-install-db also makes password-less root accounts for TCP and
    # anonymous ones: only root@localhost (socket) stays.
    local host s var sql=""
    host=$(hostname)
    for s in "'root'@'127.0.0.1'" "'root'@'::1'" "'root'@'$host'" "''@'localhost'" "''@'$host'"; do
        sql+="DROP USER IF EXISTS $s;"
    done
    for s in $(db_services); do
        var=ARCADE_DB_PASSWORD_$(upper "$s")
        sql+="CREATE DATABASE IF NOT EXISTS arcade_$s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
        local h
        for h in localhost 127.0.0.1; do
            sql+="CREATE USER IF NOT EXISTS 'arcade_$s'@'$h' IDENTIFIED BY '${!var}';"
            sql+="ALTER USER 'arcade_$s'@'$h' IDENTIFIED BY '${!var}';"
            sql+="GRANT ALL ON arcade_$s.* TO 'arcade_$s'@'$h';"
        done
    done
    sql_root -e "$sql" || die "MariaDB setup failed"
}

# Runs an arcade service's DB tool with the service's own credentials.
with_db_env() {
    local s=$1 var
    shift
    var=ARCADE_DB_PASSWORD_$(upper "$s")
    ARCADE_DB_SOCKET=$ARCADE_DB_SOCKET ARCADE_DB_HOST=127.0.0.1 ARCADE_DB_PORT=$ARCADE_DB_PORT \
        ARCADE_DB_USER=arcade_$s ARCADE_DB_PASSWORD=${!var} ARCADE_DB_NAME=arcade_$s "$@"
}

migrate() {
    local s
    for s in $(db_services); do
        compgen -G "$REPO/sql/$s/[0-9]*.sql" >/dev/null || continue
        [[ -x $BUILD/bin/arcade-migrate ]] ||
            die "$BUILD/bin/arcade-migrate is missing: build first ($PROG up without --no-build)"
        with_db_env "$s" "$BUILD/bin/arcade-migrate" "$s" "$REPO/sql/$s" 9>&- ||
            die "migrations of $s failed"
    done
}

load_demo() {
    local s cnf n
    for s in $(db_services); do
        [[ -f $REPO/sql/$s/demo.sql ]] || continue
        cnf=$(svc_cnf "$s")
        case $s in
        catalog)
            if ! n=$(mariadb --defaults-file="$cnf" --batch --skip-column-names \
                -e 'SELECT COUNT(*) FROM products' 2>/dev/null); then
                warn "catalog: no products table, demo data skipped"
                continue
            fi
            [[ $n == 0 ]] || continue
            ;;
        *)
            [[ -f $DATA/demo-$s.loaded ]] && continue
            ;;
        esac
        say "demo       loading sql/$s/demo.sql (${ARCADE_DEMO_PRODUCTS:-10000} products)"
        # (SOURCE is a client command: it must start a line.)
        mariadb --defaults-file="$cnf" --batch -e "SET @demo_products=${ARCADE_DEMO_PRODUCTS:-10000};
SOURCE $REPO/sql/$s/demo.sql" ||
            die "demo data of $s failed"
        : >"$DATA/demo-$s.loaded"
        # Written straight into the schema: no events announce it, so the
        # search read model must be rebuilt (maybe_reindex).
        rm -f "$DATA/search.reindexed"
    done
}

stop_mariadb() {
    local pid
    if pid=$(mariadb_pid); then
        terminate 60 "$pid"
        say "mariadb    stopped"
    fi
    rm -f "$RUN/mariadb.pid"
}
