#!/usr/bin/env bash
# The console benchmark (release build, examples/web_bench/): the real router served on
# loopback as the daemon serves it, over a SQLite store seeded with BENCH_PARCELS (50000)
# decided parcels and their declaration lists, with BENCH_GATES (2) idle gate lanes. Every
# client logs in over HTTP (session cookie + CSRF token) from its own loopback address.
# Each of ROUNDS (3) rounds runs three phases:
#
#   events:   BENCH_SSE_CLIENTS (50) consoles on GET /api/events while BENCH_EVENTS_PER_S (200)
#             parcel events a second are published for BENCH_EVENT_SECONDS (30); latency from
#             the send to each console's receipt; lost events and `resync`s counted.
#   api:      open-loop GETs at BENCH_API_RPS (500) a second for BENCH_API_SECONDS (20) over
#             the console's GETs (/api/parcels?limit=50, /api/me, /api/gates, /api/site, and
#             /api/stats, /api/parcels/search, /api/devices when this build answers them),
#             each timed from its planned instant (no coordinated omission); errors = non-2xx.
#             BENCH_API_SKIP=/api/stats,... leaves GETs out of the mix.
#   together: the events phase with the API load in its middle.
#
# Prints the machine, each phase of each round, the medians, and ends with one line: the
# together phase, medians over the rounds; event_p99_ms is over the events sent while the
# API load ran; api_rps counts 2xx answers per second, from the first planned request to the
# last answer (requests time out after 10 s):
#
#   web-bench: sse_clients=50 events_per_s=200 event_p99_ms=X api_rps=X api_p99_ms=X
#
# Server and load generator share this process on separate tokio runtimes (server: 2
# worker threads; load: 1), not pinned; each phase prints the CPU each side used.
# RUST_LOG=info shows the server's log.
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): 500 parcels, 3 consoles, one round of
# 2 s phases at 20 events and 20 requests a second, dev build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
# 50 streams and the API sessions' connections, both ends in this process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if bench_smoke; then
    export BENCH_PARCELS=${BENCH_PARCELS:-500} BENCH_GATES=${BENCH_GATES:-1} \
        BENCH_SSE_CLIENTS=${BENCH_SSE_CLIENTS:-3} BENCH_EVENTS_PER_S=${BENCH_EVENTS_PER_S:-20} \
        BENCH_EVENT_SECONDS=${BENCH_EVENT_SECONDS:-2} BENCH_API_RPS=${BENCH_API_RPS:-20} \
        BENCH_API_SECONDS=${BENCH_API_SECONDS:-2} ROUNDS=${ROUNDS:-1}
fi
bench_cargo_build --example web_bench
"$(bench_target_dir)/examples/web_bench" \
    | bench_check web-bench sse_clients events_per_s event_p99_ms api_rps api_p99_ms
