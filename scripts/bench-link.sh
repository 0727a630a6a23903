#!/usr/bin/env bash
# The platform-link benchmark (issue 19), release build: the controller against the line
# simulator, a real Mosquitto with persistence and the platform simulator; the broker is
# stopped for an outage mid-run and started again on the same port. One run per outage in
# BENCH_OUTAGES (seconds; "30 120"), each from a fresh start, each ending with one line:
#
#   link-bench: outage_s=N produced=N delivered=N lost=N duplicates_applied=N reordered=N
#     recover_s=X telemetry_p50_ms=X telemetry_p99_ms=X cpu_pct=X rss_mb=X
#
# recover_s: from the broker accepting connections again to the last decisions message
# written before that applied at the platform simulator. Telemetry latency: from the
# simulated PLC's heartbeat taking a value to a subscriber of the broker receiving it,
# before the outage (BENCH_TELEMETRY_S, 20 s). See examples/link_bench.rs for every field.
#
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): one 3 s outage, 3 s of telemetry, dev
# build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh

OUTAGES=${BENCH_OUTAGES:-30 120}
if bench_smoke; then
    OUTAGES=${BENCH_OUTAGES:-3}
    export BENCH_TELEMETRY_S=${BENCH_TELEMETRY_S:-3}
fi

[ -x /usr/sbin/mosquitto ] || bash scripts/setup.sh
bench_cargo_build --bin customs-edge --example link_bench
BIN=$(bench_target_dir)

for outage in $OUTAGES; do
    echo "link-bench: outage of ${outage}s" >&2
    "$BIN/examples/link_bench" "$BIN/customs-edge" "$outage" \
        | bench_check link-bench outage_s produced delivered lost duplicates_applied reordered \
            recover_s telemetry_p50_ms telemetry_p99_ms cpu_pct rss_mb
done
