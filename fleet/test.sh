# shellcheck shell=bash
# fleet/test.sh - test: the build and ctest against a throwaway fleet.
# Sourced by ./arcade: functions only.

cmd_test() {
    cmd_build
    local home=$BUILD/test-fleet
    # Whatever happens, the throwaway fleet does not outlive the tests.
    # shellcheck disable=SC2064
    trap "ARCADE_HOME='$home' ARCADE_BUILD_DIR='$BUILD' '$REPO/arcade' down --purge >/dev/null || true" EXIT
    ARCADE_HOME=$home ARCADE_BUILD_DIR=$BUILD "$REPO/arcade" down --purge >/dev/null
    ctest --test-dir "$BUILD" --output-on-failure "$@"
}
