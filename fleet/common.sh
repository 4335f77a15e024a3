# shellcheck shell=bash
# fleet/common.sh - Settings, the fleet's paths (set_home) and the helpers every part uses.
# Sourced by ./arcade, first.
# The settings are the other parts':
# shellcheck disable=SC2034

# ---------------------------------------------------------------- settings --

if [[ ${ARCADE_SANITIZE:-0} == 1 ]]; then
    BUILD=${ARCADE_BUILD_DIR:-$REPO/build-sanitize}
else
    BUILD=${ARCADE_BUILD_DIR:-$REPO/build}
fi
BUILD=$(realpath -m -- "$BUILD")
MANIFEST=$REPO/httpd/services
POOL_SIZE=${ARCADE_POOL_SIZE:-4}
HTTP_BIND=${ARCADE_HTTP_BIND:-127.0.0.1}
APACHE_MODULES=${ARCADE_APACHE_MODULES:-/usr/lib/apache2/modules}
WEB_USER=www-data # the user the web servers drop to when started as root

IS_ROOT=0
[[ $(id -u) == 0 ]] && IS_ROOT=1

# What the web servers must reach: run/ (sockets, pid files), the JSON error
# pages, the empty document root, the bench's static file. Under ARCADE_HOME,
# except as root: the web servers then run as www-data, which cannot traverse
# every home (a checkout under /root), and a Unix socket path is short (107
# bytes). So as root they live in /run/arcade-<hash of ARCADE_HOME>.
web_dir_for() { # home
    if ((IS_ROOT)) && [[ -d /run && -w /run ]]; then
        printf '/run/arcade-%s\n' "$(printf '%s' "$1" | sha256sum | cut -c1-12)"
    else
        printf '%s\n' "$1"
    fi
}

# Every path of the fleet whose ARCADE_HOME is $1 (also used by `bench`, which
# works on a fleet of its own).
set_home() {
    AHOME=$1
    DATA=$AHOME/data
    LOG=$AHOME/log
    CONF=$AHOME/conf
    FLEET_ENV=$AHOME/fleet.env
    WEB=$(web_dir_for "$AHOME")
    RUN=$WEB/run
    WEBLOG=$WEB/log # the web servers' own logs (lighttpd opens them as www-data)
    RABBIT_NODE=arcade-$(printf '%s' "$AHOME" | sha256sum | cut -c1-12)@localhost
    RABBIT_DATA=$DATA/rabbitmq
}
set_home "$(realpath -m -- "${ARCADE_HOME:-$REPO/.arcade}")"
ME=$(id -un)

# ----------------------------------------------------------------- helpers --

say() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
usage() {
    sed -n '2,12s/^# \{0,1\}//p' "$REPO/arcade"
    exit "${1:-0}"
}

# Escapes a value for the replacement side of a sed s|||.
sed_repl() { printf '%s' "$1" | sed -z -e 's/[\\|&]/\\&/g; s/\n/\\n/g'; }

# The process's state letter (R, S, Z, ...), empty when it is gone.
proc_state() {
    local line
    line=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    line=${line##*) }
    printf '%s' "${line%% *}"
}
# True while pid exists and is not a zombie (our daemons' parent may be an init
# that does not reap them).
alive() {
    local st
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    st=$(proc_state "$1")
    [[ -n $st && $st != Z && $st != X ]]
}
cmdline_of() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }
# Prints the pid recorded in pidfile when that process is alive and its command
# line contains pattern (guards against a recycled pid).
pid_running() {
    local pidfile=$1 pattern=$2 pid
    [[ -r $pidfile ]] || return 1
    pid=$(head -c 20 "$pidfile" 2>/dev/null | tr -dc '0-9')
    alive "$pid" || return 1
    [[ $(cmdline_of "$pid") == *"$pattern"* ]] || return 1
    printf '%s\n' "$pid"
}
# Waits until none of the pids is alive; false after timeout seconds.
wait_gone() {
    local timeout=$1 p left
    shift
    local deadline=$((SECONDS + timeout))
    while :; do
        left=0
        for p in "$@"; do alive "$p" && left=1; done
        ((left == 0)) && return 0
        ((SECONDS >= deadline)) && return 1
        sleep 0.1
    done
}
# TERM, wait up to timeout seconds, then KILL whatever is left.
terminate() {
    local timeout=$1 p
    shift
    (($# == 0)) && return 0
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    wait_gone "$timeout" "$@" && return 0
    for p in "$@"; do
        if alive "$p"; then
            warn "pid $p did not stop within ${timeout}s: SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    wait_gone 5 "$@" || warn "pids still alive: $*"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# True when the port can be bound on loopback right now.
port_bindable() {
    python3 -c 'import socket,sys
s=socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
try: s.bind(("127.0.0.1",int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}
# A free loopback port below the ephemeral range, not one of the arguments.
pick_port() {
    local p i x taken
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        taken=0
        for x in "$@"; do [[ $x == "$p" ]] && taken=1; done
        ((taken)) && continue
        port_bindable "$p" && { printf '%s\n' "$p"; return 0; }
    done
    die "no free loopback port found"
}
now_us() { printf '%s\n' "${EPOCHREALTIME//[!0-9]/}"; }
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-3}" "$1" 2>/dev/null || true; }
