#!/usr/bin/env bash
# The site benchmark, for sizing: the whole site on this box at once against the release
# controller (examples/site_bench/main.rs says what runs and what each figure means):
# 10 lines at 2 parcels/s, 8 gate lanes with a truck every 20 s each, 16 cameras at 720p
# 10 fps, 50 live consoles, the platform link draining a 1,000,000-message backlog and
# ingesting 1,000,000 lists, for 10 minutes. Ends with one line:
#
#   site-bench: lines=10 gates=8 cameras=16 consoles=50 wrong_lane=N wrong_verdict=N
#     line_p99_ms=X gate_p99_ms=X event_p99_ms=X drain_msgs_per_s=X cpu_pct=X rss_mb=X
#     disk_mb_per_hour=X parcels=N missed=N trucks=N events=N lost_events=N drained=N
#     lists_in=N ingest_rows_per_s=X
#
# Scale with BENCH_LINES, BENCH_RATE, BENCH_GATES, BENCH_TRUCK_EVERY_S, BENCH_CAMERAS,
# BENCH_CONSOLES, BENCH_BACKLOG, BENCH_LISTS, BENCH_SECONDS; BENCH_KEEP=1 keeps the data
# directory and the controller's log. Exits 1 when a parcel fell into a wrong lane or a
# barrier gave a wrong verdict.
#
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): 1 line, 1 gate lane, 1 camera,
# 2 consoles, 1,000 backlog messages and lists, 30 s of a parcel a second on a belt at
# 0.7 m/s (BENCH_BELT_MM_S; 2 m/s otherwise), dev build: the slower belt gives a dev
# build's decision slack, and the 30 s leave parcels to decide once the consoles are in.
# scripts/test.sh runs it after the tests, not beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh

if bench_smoke; then
    export BENCH_LINES=${BENCH_LINES:-1} BENCH_GATES=${BENCH_GATES:-1} \
        BENCH_CAMERAS=${BENCH_CAMERAS:-1} BENCH_CONSOLES=${BENCH_CONSOLES:-2} \
        BENCH_BACKLOG=${BENCH_BACKLOG:-1000} BENCH_LISTS=${BENCH_LISTS:-1000} \
        BENCH_SECONDS=${BENCH_SECONDS:-30} BENCH_TRUCK_EVERY_S=${BENCH_TRUCK_EVERY_S:-5} \
        BENCH_RATE=${BENCH_RATE:-1} BENCH_BELT_MM_S=${BENCH_BELT_MM_S:-700}
fi
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || bash scripts/setup.sh
# 50 consoles, 16 cameras and the simulators' sockets: more than 1,024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_cargo_build --bin customs-edge && bench_cargo_build --features demo --example site_bench
BIN=$(bench_target_dir)
line=$("$BIN/examples/site_bench" "$BIN/customs-edge" \
    | bench_check site-bench lines gates cameras consoles wrong_lane wrong_verdict line_p99_ms \
        gate_p99_ms event_p99_ms drain_msgs_per_s cpu_pct rss_mb disk_mb_per_hour)
echo "$line"
case "$line" in
    *" wrong_lane=0 wrong_verdict=0 "*) ;;
    *) echo "site-bench: wrong lanes or verdicts" >&2; exit 1 ;;
esac
