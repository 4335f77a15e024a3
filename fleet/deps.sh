# shellcheck shell=bash
# fleet/deps.sh - The Debian packages (deps) and the build (build).
# Sourced by ./arcade: settings and functions.

PACKAGES=(build-essential cmake pkg-config libfcgi-dev libjson-c-dev libmariadb-dev
    libmemcached-dev librabbitmq-dev libcurl4-openssl-dev libsodium-dev libcmocka-dev
    mariadb-server mariadb-client memcached rabbitmq-server lighttpd apache2 spawn-fcgi
    multiwatch wrk curl python3 ca-certificates)

# --------------------------------------------------------------- packages --

missing_packages() {
    command -v dpkg-query >/dev/null || return 0
    local p st
    for p in "${PACKAGES[@]}" "$@"; do
        st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        [[ $st == ii* ]] || printf '%s\n' "$p"
    done
}
cmd_deps() {
    if ! command -v dpkg-query >/dev/null; then
        warn "not a Debian system: install the equivalents of: ${PACKAGES[*]}"
        return 0
    fi
    local missing
    mapfile -t missing < <(missing_packages "$@")
    ((${#missing[@]} == 0)) && return 0
    if ((!IS_ROOT)); then
        say "Missing Debian packages: ${missing[*]}" >&2
        say "Install them with:" >&2
        say "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    say "Installing: ${missing[*]}"
    # A package may start a system instance of its server (not on machines
    # whose policy-rc.d forbids it); the fleet never uses those.
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# -------------------------------------------------------------------- build --

cmd_build() {
    local werror=OFF sanitize=OFF
    [[ ${CI:-} == true ]] && werror=ON
    [[ ${ARCADE_SANITIZE:-0} == 1 ]] && sanitize=ON
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE="${ARCADE_BUILD_TYPE:-RelWithDebInfo}" \
        -DARCADE_WERROR="$werror" -DARCADE_SANITIZE="$sanitize"
    cmake --build "$BUILD" -j "$(nproc)"
}
