# shellcheck shell=bash
# fleet/admin.sh - admin create.
# Sourced by ./arcade: functions only.

# ------------------------------------------------------------------- admin --

# arcade admin create <email> [--password-stdin]: an admin account in the
# running fleet's users database. The password is generated (and printed once)
# or read from the first line of standard input, and handed to the users
# binary's admin-create command on its standard input (never on a command line).
cmd_admin() {
    local sub=${1:-} email="" from_stdin=0 a
    [[ $sub == create ]] || die "usage: $PROG admin create <email> [--password-stdin]"
    shift
    for a in "$@"; do
        case $a in
        --password-stdin) from_stdin=1 ;;
        -*) die "admin create: unknown option $a" ;;
        *)
            [[ -z $email ]] || die "admin create: one email"
            email=$a
            ;;
        esac
    done
    [[ -n $email ]] || die "usage: $PROG admin create <email> [--password-stdin]"
    need_home
    mariadb_pid >/dev/null || die "the fleet's MariaDB is not running ($PROG up)"
    is_service users || die "no users service in $MANIFEST"
    local bin pw="" generated=0 out id state normalized
    bin=$(service_bin users)
    [[ -x $bin ]] || die "$bin is not built ($PROG build)"
    if ((from_stdin)); then
        IFS= read -r pw || [[ -n $pw ]] || die "admin create: no password on standard input"
    else
        pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
        generated=1
    fi
    # The users binary does it, through the service's own rules, store, hashing
    # and cache invalidation (fcgi-bin/users/admin.c).
    service_env users
    out=$(printf '%s\n' "$pw" | env -i "${SERVICE_ENV[@]}" "$bin" admin-create "$email") ||
        die "admin create failed"
    read -r id state normalized <<<"$out"
    if [[ $state == created ]]; then
        say "admin      $normalized (user id $id, created)"
        if ((generated)); then
            say "password   $pw"
            say "           (shown once; change it with PATCH /api/v1/users/me)"
        fi
    else
        say "admin      $normalized (user id $id, existing account; role admin; password unchanged)"
    fi
}
