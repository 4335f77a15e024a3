# shellcheck shell=bash
# fleet/home.sh - $ARCADE_HOME: fleet.env, its ports and passwords, the lock.
# Sourced by ./arcade: functions only.

# -------------------------------------------------------------- fleet.env --

env_set() { # KEY VALUE: sets (or replaces) one line of fleet.env
    local tmp
    tmp=$(mktemp "$AHOME/.fleet.env.XXXXXX")
    chmod 600 "$tmp"
    if [[ -f $FLEET_ENV ]]; then grep -v "^$1=" "$FLEET_ENV" >"$tmp" || true; fi
    printf '%s=%q\n' "$1" "$2" >>"$tmp"
    mv -f "$tmp" "$FLEET_ENV"
    printf -v "$1" '%s' "$2"
}
env_has() { [[ -f $FLEET_ENV ]] && grep -q "^$1=" "$FLEET_ENV"; }

load_env() {
    if [[ -f $FLEET_ENV ]]; then
        # shellcheck disable=SC1090
        source "$FLEET_ENV"
        return 0
    fi
    return 1
}

# Creates the layout and fleet.env on first up; completes it later.
init_home() {
    local want_http=${ARCADE_HTTP_PORT:-8080} want_key=${ARCADE_ADMIN_KEY:-}
    mkdir -p "$AHOME" "$DATA" "$WEB" "$RUN" "$LOG" "$WEBLOG" "$CONF"
    : >"$AHOME/.arcade-home"
    chmod 700 "$DATA" "$CONF"
    if ((IS_ROOT)); then
        # The web servers run as www-data: they must reach run/ (sockets) and
        # nothing else.
        chmod 711 "$AHOME" "$WEB" "$RUN"
    else
        chmod 700 "$AHOME" "$RUN"
    fi
    chmod 755 "$LOG" "$WEBLOG"
    lock_home
    load_env || true
    if ! env_has ARCADE_HTTP_PORT; then
        if [[ $want_http == auto ]]; then
            want_http=$(pick_port)
        elif [[ ! $want_http =~ ^[0-9]+$ ]] || ((want_http < 1 || want_http > 65535)); then
            die "ARCADE_HTTP_PORT must be a port number or 'auto' (got '$want_http')"
        elif ! port_bindable "$want_http"; then
            die "port $want_http is in use on 127.0.0.1: set ARCADE_HTTP_PORT to another port or 'auto'"
        fi
        env_set ARCADE_HTTP_PORT "$want_http"
    elif [[ $want_http != auto && $want_http != "$ARCADE_HTTP_PORT" && -n ${ARCADE_HTTP_PORT_REQUESTED:-} ]]; then
        warn "this fleet keeps HTTP port $ARCADE_HTTP_PORT (fleet.env); ARCADE_HTTP_PORT=$want_http ignored"
    fi
    env_has ARCADE_BASE_URL || env_set ARCADE_BASE_URL "http://127.0.0.1:$ARCADE_HTTP_PORT"
    env_has ARCADE_DB_PORT || env_set ARCADE_DB_PORT "$(pick_port "$ARCADE_HTTP_PORT")"
    env_has ARCADE_MEMCACHED_PORT ||
        env_set ARCADE_MEMCACHED_PORT "$(pick_port "$ARCADE_HTTP_PORT" "$ARCADE_DB_PORT")"
    env_has ARCADE_INTERNAL_PORT || env_set ARCADE_INTERNAL_PORT \
        "$(pick_port "$ARCADE_HTTP_PORT" "$ARCADE_DB_PORT" "$ARCADE_MEMCACHED_PORT")"
    # Where services resolve session tokens: the users service, through the
    # internal listener.
    env_has ARCADE_USERS_URL || env_set ARCADE_USERS_URL "http://127.0.0.1:$ARCADE_INTERNAL_PORT"
    # ... and where the search service pages the catalog's export (reindex).
    env_has ARCADE_CATALOG_URL || env_set ARCADE_CATALOG_URL "http://127.0.0.1:$ARCADE_INTERNAL_PORT"
    broker_settings
    gateway_settings
    env_has ARCADE_DB_SOCKET || env_set ARCADE_DB_SOCKET "$RUN/mariadb.sock"
    env_has ARCADE_MEMCACHED_SERVERS ||
        env_set ARCADE_MEMCACHED_SERVERS "127.0.0.1:$ARCADE_MEMCACHED_PORT"
    env_has ARCADE_DB_ROOT_PASSWORD || env_set ARCADE_DB_ROOT_PASSWORD "$(random_hex 16)"
    local s var
    for s in $(db_services); do
        var=ARCADE_DB_PASSWORD_$(upper "$s")
        env_has "$var" || env_set "$var" "$(random_hex 16)"
    done
    if ! env_has ARCADE_ADMIN_KEY; then
        [[ -n $want_key ]] || want_key=$(random_hex 24)
        env_set ARCADE_ADMIN_KEY "$want_key"
    elif [[ -n $want_key && $want_key != "$ARCADE_ADMIN_KEY" ]]; then
        warn "this fleet keeps its admin key (fleet.env); ARCADE_ADMIN_KEY from the environment ignored"
    fi
    chmod 600 "$FLEET_ENV"
    check_socket_path "$RUN/mariadb.sock"
}

# One command at a time per fleet. The lock fd must not leak into daemons.
lock_home() {
    [[ -n ${ARCADE_LOCK_HELD:-} ]] && return 0
    exec 9>"$AHOME/.lock"
    flock -w 600 9 || die "another $PROG command holds $AHOME/.lock"
    export ARCADE_LOCK_HELD=1
}

need_home() {
    [[ -f $FLEET_ENV ]] || die "no fleet in $AHOME (run: $PROG up)"
    lock_home
    load_env
    # A fleet made before the internal listener existed gets its port now.
    env_has ARCADE_INTERNAL_PORT || env_set ARCADE_INTERNAL_PORT \
        "$(pick_port "$ARCADE_HTTP_PORT" "$ARCADE_DB_PORT" "$ARCADE_MEMCACHED_PORT")"
    env_has ARCADE_USERS_URL || env_set ARCADE_USERS_URL "http://127.0.0.1:$ARCADE_INTERNAL_PORT"
    env_has ARCADE_CATALOG_URL || env_set ARCADE_CATALOG_URL "http://127.0.0.1:$ARCADE_INTERNAL_PORT"
    # ... and one made before the broker, its ports and user, or the gateway.
    broker_settings
    gateway_settings
}

# The broker's ports (AMQP, Erlang distribution, epmd) and its application
# user, picked once. The URL names the default vhost "/" as %2f (RabbitMQ's URI
# spec; rabbitmq-c reads a bare trailing / as the empty vhost).
broker_settings() {
    local taken=("$ARCADE_HTTP_PORT" "$ARCADE_DB_PORT" "$ARCADE_MEMCACHED_PORT" "$ARCADE_INTERNAL_PORT")
    env_has ARCADE_AMQP_PORT || env_set ARCADE_AMQP_PORT "$(pick_port "${taken[@]}")"
    taken+=("$ARCADE_AMQP_PORT")
    env_has ARCADE_AMQP_DIST_PORT || env_set ARCADE_AMQP_DIST_PORT "$(pick_port "${taken[@]}")"
    taken+=("$ARCADE_AMQP_DIST_PORT")
    env_has ARCADE_EPMD_PORT || env_set ARCADE_EPMD_PORT "$(pick_port "${taken[@]}")"
    env_has ARCADE_AMQP_USER || env_set ARCADE_AMQP_USER arcade
    env_has ARCADE_AMQP_PASSWORD || env_set ARCADE_AMQP_PASSWORD "$(random_hex 16)"
    env_has ARCADE_AMQP_URL || env_set ARCADE_AMQP_URL \
        "amqp://$ARCADE_AMQP_USER:$ARCADE_AMQP_PASSWORD@127.0.0.1:$ARCADE_AMQP_PORT/%2f"
}

check_socket_path() {
    ((${#1} < 100)) || die "socket path too long for a Unix socket ($1): use a shorter ARCADE_HOME"
}

# As root the web servers run as $WEB_USER: can it reach the pools' sockets?
web_user_reaches_run() {
    ((IS_ROOT)) || return 0
    id "$WEB_USER" >/dev/null 2>&1 || return 1
    setpriv --reuid="$WEB_USER" --regid="$WEB_USER" --clear-groups test -x "$RUN" 2>/dev/null
}

need_home_readonly() {
    [[ -f $FLEET_ENV ]] || { say "no fleet in $AHOME (run: $PROG up)"; exit 3; }
    load_env
}
