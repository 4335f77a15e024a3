# shellcheck shell=bash
# fleet/manifest.sh - httpd/services: the services, their routes, their daemons.
# Sourced by ./arcade: functions only.

# ----------------------------------------------------------------- manifest --

# Prints "service prefix..." per line; bench-only services only with ARCADE_BENCH=1.
# Internal prefixes (internal:<service>) are not part of it: internal_routes;
# nor are the daemons (daemon:<service>): daemons.
manifest() {
    [[ -r $MANIFEST ]] || die "missing $MANIFEST"
    local svc rest
    while read -r svc rest; do
        [[ -z $svc || $svc == \#* || $svc == internal:* || $svc == daemon:* ]] && continue
        if [[ $svc == bench:* ]]; then
            [[ ${ARCADE_BENCH:-0} == 1 ]] || continue
            svc=${svc#bench:}
        fi
        [[ $svc =~ ^[a-z][a-z0-9_]*$ ]] || die "$MANIFEST: bad service name '$svc'"
        printf '%s %s\n' "$svc" "$rest"
    done <"$MANIFEST"
}
# Prints "service prefix..." per internal:<service> line of a running service.
internal_routes() {
    [[ -r $MANIFEST ]] || die "missing $MANIFEST"
    local svc rest known
    known=$'\n'$(services)$'\n'
    while read -r svc rest; do
        [[ $svc == internal:* ]] || continue
        svc=${svc#internal:}
        [[ $svc =~ ^[a-z][a-z0-9_]*$ ]] || die "$MANIFEST: bad service name '$svc'"
        [[ $known == *$'\n'$svc$'\n'* ]] || continue
        local p
        for p in $rest; do
            [[ $p == /internal/* ]] || die "$MANIFEST: internal prefix '$p' must start with /internal/"
        done
        printf '%s %s\n' "$svc" "$rest"
    done <"$MANIFEST"
}
# Prints "service command" per daemon:<service> <command> line whose service is
# part of the fleet (services: ARCADE_SERVICES, ARCADE_BENCH). The daemon's
# name is <service>-<command> (service names have no '-').
daemons() {
    [[ -r $MANIFEST ]] || die "missing $MANIFEST"
    local svc cmd extra known all
    known=$'\n'$(services)$'\n'
    all=$'\n'$(ARCADE_BENCH=1 ARCADE_SERVICES='' services)$'\n'
    while read -r svc cmd extra; do
        [[ $svc == daemon:* ]] || continue
        svc=${svc#daemon:}
        [[ $all == *$'\n'$svc$'\n'* ]] || die "$MANIFEST: daemon of unknown service '$svc'"
        [[ $cmd =~ ^[a-z][a-z0-9_-]*$ && -z $extra ]] ||
            die "$MANIFEST: daemon:$svc takes one command word (got '$cmd${extra:+ $extra}')"
        [[ $known == *$'\n'$svc$'\n'* ]] || continue
        printf '%s %s\n' "$svc" "$cmd"
    done <"$MANIFEST"
}
services() {
    local svc rest want=" ${ARCADE_SERVICES:-} "
    manifest | while read -r svc rest; do
        [[ $want == "  " || $want == *" $svc "* ]] && printf '%s\n' "$svc"
    done
    return 0
}
# Services with their own schema and DB user (every manifest service that is
# not bench-only).
db_services() {
    local svc rest want=" ${ARCADE_SERVICES:-} "
    ARCADE_BENCH=0 manifest | while read -r svc rest; do
        [[ $want == "  " || $want == *" $svc "* ]] && printf '%s\n' "$svc"
    done
    return 0
}
is_service() {
    local s
    for s in $(ARCADE_BENCH=1 services); do [[ $s == "$1" ]] && return 0; done
    return 1
}
upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }
