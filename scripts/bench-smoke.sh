#!/usr/bin/env bash
# Every benchmark in smoke mode (BENCH_SMOKE=1: seconds, a tiny scale, a dev build; see
# scripts/lib/bench.sh), one after the other, each timed. Fails when any bench fails or
# does not print its figure line with every field numeric: a bench cannot rot unnoticed.
# A bench script that does not source scripts/lib/bench.sh has no smoke mode and fails.
#
#   scripts/bench-smoke.sh                 every scripts/bench-*.sh
#   BENCH_SMOKE_ONLY="line abuse" ...      only those (bench-line.sh, bench-abuse.sh)
#   BENCH_SMOKE_SKIP="site" ...            all but those
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
started=$SECONDS
for script in scripts/bench-*.sh; do
    name=${script#scripts/bench-}
    name=${name%.sh}
    [ "$name" = smoke ] && continue
    if [ -n "${BENCH_SMOKE_ONLY:-}" ] && [[ " $BENCH_SMOKE_ONLY " != *" $name "* ]]; then
        continue
    fi
    [[ " ${BENCH_SMOKE_SKIP:-} " == *" $name "* ]] && continue
    if ! grep -q 'scripts/lib/bench.sh' "$script"; then
        echo "== bench-$name: no smoke mode (does not source scripts/lib/bench.sh)" >&2
        failed+=("$name")
        continue
    fi
    echo "== bench-$name (smoke)"
    t0=$SECONDS
    if BENCH_SMOKE=1 bash "$script" > "target/bench-smoke-$name.log" 2>&1; then
        grep -E "^[a-z]+-bench: [a-z_]+=" "target/bench-smoke-$name.log" | tail -1
        echo "   ok in $((SECONDS - t0)) s"
    else
        tail -25 "target/bench-smoke-$name.log" >&2
        echo "   FAILED in $((SECONDS - t0)) s (log: target/bench-smoke-$name.log)" >&2
        failed+=("$name")
    fi
done
echo "== bench smoke: $((SECONDS - started)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "bench smoke failed: ${failed[*]}" >&2
    exit 1
fi
