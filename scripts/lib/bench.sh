# Shared by every scripts/bench-*.sh (sourced, not run).
#
# Smoke mode: `BENCH_SMOKE=1 scripts/bench-X.sh` runs the bench at a tiny scale, in seconds,
# built with the dev profile (`BENCH_PROFILE` overrides: the figures of a smoke run do not
# matter, only that the bench still runs and prints its figure line), and exits non-zero
# unless it printed that line with every field present and numeric. CI runs every bench
# this way (scripts/bench-smoke.sh), so a bench cannot rot unnoticed.
#
#   bench_smoke                      true in smoke mode
#   bench_cargo_build ARGS...        cargo build --quiet in the bench's profile (BENCH_BUILD=0:
#                                    use what is built)
#   bench_target_dir                 where that profile's binaries are (target/release, ...)
#   bench_check PREFIX FIELD...      filter: passes its input through, then checks the last
#                                    line starting with "PREFIX:" has FIELD=<number> for every
#                                    FIELD (FIELD? also takes NA: a figure another piece fills)

bench_smoke() { [ "${BENCH_SMOKE:-0}" = 1 ]; }

bench_profile() {
    if [ -n "${BENCH_PROFILE:-}" ]; then
        echo "$BENCH_PROFILE"
    elif bench_smoke; then
        echo dev
    else
        echo release
    fi
}

bench_cargo_build() {
    [ "${BENCH_BUILD:-1}" = 0 ] && return 0
    cargo build --quiet --profile "$(bench_profile)" "$@"
}

bench_target_dir() {
    case "$(bench_profile)" in
        dev) echo "${CARGO_TARGET_DIR:-target}/debug" ;;
        *) echo "${CARGO_TARGET_DIR:-target}/$(bench_profile)" ;;
    esac
}

# Check one figure line (the last one starting with "$1:") on stdin, passing stdin through.
bench_check() {
    local prefix=$1
    shift
    local line="" text
    while IFS= read -r text; do
        printf '%s\n' "$text"
        case "$text" in "$prefix:"*) line=$text ;; esac
    done
    bench_check_line "$prefix" "$line" "$@"
}

# bench_check_line PREFIX LINE FIELD...: 0 when LINE carries every FIELD as a number.
bench_check_line() {
    local prefix=$1 line=$2
    shift 2
    if [ -z "$line" ]; then
        echo "$prefix: no figure line printed" >&2
        return 1
    fi
    local field name value bad=0
    for field in "$@"; do
        name=${field%\?}
        value=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$name=//p" | tail -1)
        if [ -z "$value" ]; then
            echo "$prefix: figure line lacks $name=: $line" >&2
            bad=1
        elif [ "$name" != "$field" ] && [ "$value" = NA ]; then
            :
        elif ! printf '%s' "$value" | grep -Eq '^-?[0-9]+(\.[0-9]+)?$'; then
            echo "$prefix: $name=$value is not a number: $line" >&2
            bad=1
        fi
    done
    return "$bad"
}
