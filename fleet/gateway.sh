# shellcheck shell=bash
# fleet/gateway.sh - The payment gateway emulator (gateway/arcade-gateway, docs/gateway.md).
# Sourced by ./arcade: functions only.

# ------------------------------------------------------------------ gateway --

# Its settings, written to fleet.env once (like the admin key): the port, the
# URL the payments service uses, the test secret key, the webhook secret, and
# where it posts webhooks (the payments service behind the web server).
gateway_settings() {
    env_has ARCADE_GATEWAY_PORT || env_set ARCADE_GATEWAY_PORT \
        "$(pick_port "$ARCADE_HTTP_PORT" "$ARCADE_DB_PORT" "$ARCADE_MEMCACHED_PORT" \
            "$ARCADE_INTERNAL_PORT" "${ARCADE_AMQP_PORT:-}" "${ARCADE_EPMD_PORT:-}")"
    env_has ARCADE_GATEWAY_URL || env_set ARCADE_GATEWAY_URL "http://127.0.0.1:$ARCADE_GATEWAY_PORT"
    env_has ARCADE_GATEWAY_SECRET_KEY || env_set ARCADE_GATEWAY_SECRET_KEY "sk_test_$(random_hex 24)"
    env_has ARCADE_GATEWAY_WEBHOOK_SECRET || env_set ARCADE_GATEWAY_WEBHOOK_SECRET "whsec_$(random_hex 24)"
    env_has ARCADE_GATEWAY_WEBHOOK_URL ||
        env_set ARCADE_GATEWAY_WEBHOOK_URL "http://127.0.0.1:$ARCADE_HTTP_PORT/api/v1/webhooks/gateway"
}

gateway_pid() { pid_running "$RUN/gateway.pid" "gateway/arcade-gateway"; }
start_gateway() {
    local pid
    if pid=$(gateway_pid); then
        say "gateway    already running (pid $pid)"
        return 0
    fi
    port_bindable "$ARCADE_GATEWAY_PORT" ||
        die "gateway port $ARCADE_GATEWAY_PORT is taken by another program (edit $FLEET_ENV or down --purge)"
    rm -f "$RUN/gateway.pid"
    ARCADE_GATEWAY_PORT="$ARCADE_GATEWAY_PORT" ARCADE_GATEWAY_URL="$ARCADE_GATEWAY_URL" \
        ARCADE_GATEWAY_SECRET_KEY="$ARCADE_GATEWAY_SECRET_KEY" \
        ARCADE_GATEWAY_WEBHOOK_SECRET="$ARCADE_GATEWAY_WEBHOOK_SECRET" \
        ARCADE_GATEWAY_WEBHOOK_URL="$ARCADE_GATEWAY_WEBHOOK_URL" \
        ARCADE_GATEWAY_STATE_DIR="$DATA/gateway" ARCADE_GATEWAY_PIDFILE="$RUN/gateway.pid" \
        ARCADE_GATEWAY_LOG="$LOG/gateway.log" \
        setsid "$REPO/gateway/arcade-gateway" </dev/null >>"$LOG/gateway.err" 2>&1 9>&- &
    local deadline=$((SECONDS + 10))
    until port_busy "$ARCADE_GATEWAY_PORT" && gateway_pid >/dev/null; do
        ((SECONDS >= deadline)) && die "the gateway emulator did not start (logs: $LOG/gateway.log, $LOG/gateway.err)"
        sleep 0.1
    done
    say "gateway    started (pid $(gateway_pid), $ARCADE_GATEWAY_URL)"
}
stop_gateway() {
    local pid
    if pid=$(gateway_pid); then
        terminate 10 "$pid"
        say "gateway    stopped"
    fi
    rm -f "$RUN/gateway.pid"
}
